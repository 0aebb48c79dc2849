#!/usr/bin/env python3
"""Make the one-file copy of a finding's script, the one to send upstream:

    python3 findings/bundle.py NAME [-o FILE]

NAME is a script in findings/ (with or without .py).  The scripts import
their common part from findings/_repro.py, on one line (`from _repro
import ...`).  The copy has the import lines of both, merged, where the
script's stood, then the module's definitions the script imports (and
those they use), then the script's own code.  It needs nothing but CPython
3.6+ (and uvloop for a uvloop script) and gives the same exit status as
the script: findings/run_all.py checks that for every script.  Written to
FILE, or to standard output.  bundle.py itself needs CPython 3.8+.
"""
import ast
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = "_repro"


def split_docstring(lines):
    """(docstring lines, the rest) of a file's lines: the shebang, if any,
    counts with the docstring."""
    i = 1 if lines and lines[0].startswith("#!") else 0
    if i < len(lines) and lines[i].startswith('"""'):
        j = i if lines[i].count('"""') >= 2 else i + 1
        while '"""' not in lines[j]:
            j += 1
        return lines[:j + 1], lines[j + 1:]
    return lines[:i], lines[i:]


def module_parts(names):
    """The module's definitions that names need (they and what they use,
    in the module's order) as lines, and the import lines those use."""
    with open(os.path.join(HERE, MODULE + ".py")) as f:
        lines = f.read().splitlines()
    tree = ast.parse("\n".join(lines))
    defs = {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    imports = {alias.asname or alias.name: lines[node.lineno - 1] for node in tree.body
               if isinstance(node, ast.Import) for alias in node.names}
    used = {name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for name, node in defs.items()}
    wanted, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in defs:
            raise SystemExit("bundle.py: %s has no %s" % (MODULE, name))
        if name not in wanted:
            wanted.add(name)
            todo += [n for n in used[name] if n in defs]
    code = []
    for name, node in defs.items():
        if name in wanted:
            code += lines[node.lineno - 1:node.end_lineno] + ["", ""]
    needed = set().union(*(used[name] for name in wanted))
    return code[:-2], [line for name, line in imports.items() if name in needed]


def is_import(line):
    return line.startswith("import ") or line.startswith("from ")


def bundle(name):
    """The text of the one-file copy of findings/NAME."""
    path = os.path.join(HERE, name if name.endswith(".py") else name + ".py")
    with open(path) as f:
        script = f.read().splitlines()
    head, body = split_docstring(script)
    marker = "from %s import " % MODULE
    uses = [i for i, line in enumerate(body) if line.startswith(marker)]
    if not uses:
        return "\n".join(script) + "\n"
    if len(uses) > 1 or any(line.startswith("import " + MODULE) for line in body):
        raise SystemExit("bundle.py: %s: import %s once, on one line: `%s...`"
                         % (name, MODULE, marker))
    code, module_imports = module_parts(body[uses[0]][len(marker):].replace(" ", "").split(","))
    first = next(i for i, line in enumerate(body) if is_import(line))
    rest = [line for line in body[first:] if not is_import(line)]
    while rest and not rest[0].strip():
        rest.pop(0)
    imports = sorted(set(line for line in body if is_import(line) and not line.startswith(marker))
                     | set(module_imports),
                     key=lambda line: (line.startswith("from "), line))
    out = head + body[:first] + imports + ["", ""]
    out += ["# From findings/%s.py (the finding scripts' common part)." % MODULE, ""]
    out += code + ["", ""] + rest
    return "\n".join(out) + "\n"


def main(argv):
    if not argv or argv[0].startswith("-") or len(argv) not in (1, 3) \
            or (len(argv) == 3 and argv[1] != "-o"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    text = bundle(argv[0])
    if len(argv) == 3:
        with open(argv[2], "w") as f:
            f.write(text)
        os.chmod(argv[2], 0o755)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
