#!/usr/bin/env python3
"""Mutation testing of asyncio's UNIX pipe transports: pipecheck beside CPython's tests.

Makes mutants of CPython's own source - _UnixReadPipeTransport and
_UnixWritePipeTransport in Lib/asyncio/unix_events.py, and the pipe parts
of Lib/asyncio/base_subprocess.py - for the interpreter given with
--python, and runs two suites against each one:

  cpython    CPython's test cases of test_asyncio.test_unix_events,
             test_asyncio.test_events and test_asyncio.test_subprocess
             (tools/mutate_cpython.py, a plain unittest run; with
             --no-select: python -m test --failfast on the three modules)
  pipecheck  pipecheck --subject asyncio --python PY --fail-fast
             --expect BASELINE

    tools/mutate.py list [--diff]            the mutants, one ID a line
    tools/mutate.py show ID...               a mutant's unified diff
    tools/mutate.py run [--sample N --seed S] [-j N] [--json FILE] [ID...]
    tools/mutate.py report FILE.json...      a run's report again (or one made of
                                             a run per suite), with the
                                             equivalent list as it is now

A mutant is a patched copy of the whole asyncio package in a directory of
its own, put ahead of the standard library with PYTHONPATH (neither suite
runs the interpreter with -I or -E; the run checks that the copy is the
one imported).  A suite KILLS a mutant when it fails on the mutant and
passes on the unmutated copy; a suite that runs past its time limit on a
mutant kills it too and is reported as a timeout.

Test selection by coverage (the default): each suite runs once on the
unmutated code and records, per test (a CPython test case, a pipecheck
instance), the lines of unix_events.py and base_subprocess.py it runs
(sys.monitoring: CPython 3.12+).  A mutant then runs only the tests that
run one of its lines - those that killed most mutants so far first, then
the quickest - and stops at the first failure; a mutant no test of a
suite runs is "not covered" by it (a survivor).  A mutant of a class
attribute runs every test.

"Passes" for pipecheck: asyncio has known failures in pipecheck's matrix,
so the run first records the unmutated code's verdict (pass, fail or
skip) and failure message for every test instance - twice, and an
instance whose verdict differs between the two baseline runs is left out
as unstable - and writes the verdicts to a file that pipecheck reads with
--expect: pipecheck then fails (and with --fail-fast stops) at the first
instance whose verdict differs from the baseline's.  A known failure
whose message (normalised: no paths, durations, pids, fd numbers or
addresses) was the same in both baseline runs kills too when the mutant
makes it fail with another message.  Every pipecheck kill is confirmed:
the killing instance is run again on the mutant (it must differ again)
and on the unmutated copy (it must not); otherwise the search goes on
with the other instances, and a mutant that none of them kills for sure
is "unconfirmed" and counts as a survivor.

Mutant IDs are FILE:LINE:OPERATOR, with :N added for the N-th mutant of
that operator on that line (N >= 2); they are stable for one version of
the source.  Only the standard library is used.
"""

import argparse
import ast
import concurrent.futures
import difflib
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# What is mutated: per file, the classes and (None: all) their methods.
# __repr__ is left out: its text is for debugging, no behaviour of the
# spec; so are "if self._loop.get_debug(): logger..." blocks; assert
# statements are left out: they state invariants, and removing or
# weakening one changes nothing a correct caller can see.
SCOPE = {
    "unix_events.py": {
        "_UnixReadPipeTransport": None,
        "_UnixWritePipeTransport": None,
    },
    "base_subprocess.py": {
        "BaseSubprocessTransport": (
            "close", "get_pipe_transport", "_connect_pipes", "_call",
            "_pipe_connection_lost", "_pipe_data_received", "_try_finish"),
        "WriteSubprocessPipeProto": None,
        "ReadSubprocessPipeProto": None,
    },
}
SKIP_METHODS = ("__repr__",)

OPERATORS = {
    "negate": "negate a condition (if/while/conditional expression)",
    "cond_true": "a condition replaced by True",
    "cond_false": "a condition replaced by False",
    "drop_operand": "drop one operand of an and/or",
    "andor": "swap and/or",
    "cmp": "change a comparison (< <=, > >=, == !=, is/is not, in/not in)",
    "del_stmt": "remove a statement (a call, an assignment, a return, a raise)",
    "swap_stmt": "swap two adjacent statements",
    "const": "replace a constant (numbers by 0 or 1, True/False flipped)",
    "return_early": "return at the start of a method",
}

CMP_SWAP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot,
    ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}

SIMPLE_STMTS = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign,
                ast.Return, ast.Raise, ast.Delete)

ADAPTER = os.path.join(HERE, "pipecheck_subject.py")
CPYTHON_WRAPPER = os.path.join(HERE, "mutate_cpython.py")

CPYTHON_TESTS = ("test_asyncio.test_unix_events", "test_asyncio.test_events",
                 "test_asyncio.test_subprocess")


# ---- making mutants ---------------------------------------------------------

class Mutant:
    def __init__(self, filename, line, op, start, end, text, where):
        self.filename = filename
        self.line = line
        self.op = op
        self.start = start      # byte offsets into the source
        self.end = end
        self.text = text        # replacement bytes
        self.where = where      # Class.method
        self.id = None
        self.cls = where.split(".")[0]
        self.rule = None        # why it is equivalent by construction

    def apply(self, source):
        return source[:self.start] + self.text + source[self.end:]

    def diff(self, source):
        old = source.decode("utf-8").splitlines(True)
        new = self.apply(source).decode("utf-8").splitlines(True)
        return "".join(difflib.unified_diff(
            old, new, "a/Lib/asyncio/" + self.filename,
            "b/Lib/asyncio/" + self.filename, n=2))


class Maker:
    def __init__(self, filename, source):
        self.filename = filename
        self.source = source
        self.line_starts = [0]
        for i, b in enumerate(source):
            if b == 0x0A:
                self.line_starts.append(i + 1)
        self.mutants = []

    def off(self, line, col):
        return self.line_starts[line - 1] + col

    def span(self, node):
        return (self.off(node.lineno, node.col_offset),
                self.off(node.end_lineno, node.end_col_offset))

    def text(self, node):
        a, b = self.span(node)
        return self.source[a:b]

    def add(self, node, op, replacement, where, span=None):
        a, b = span if span else self.span(node)
        if isinstance(replacement, str):
            replacement = replacement.encode("utf-8")
        if self.source[a:b] == replacement:
            return
        self.mutants.append(Mutant(self.filename, node.lineno, op, a, b,
                                   replacement, where))

    def condition(self, test, where):
        src = self.text(test).decode("utf-8")
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.add(test, "negate", self.text(test.operand), where)
        else:
            self.add(test, "negate", "not (%s)" % src, where)
        self.add(test, "cond_true", "True", where)
        self.add(test, "cond_false", "False", where)

    def expressions(self, root, where):
        for node in ast.walk(root):
            if isinstance(node, ast.BoolOp):
                other = "or" if isinstance(node.op, ast.And) else "and"
                parts = [self.text(v).decode("utf-8") for v in node.values]
                wrap = ["(%s)" % p if isinstance(v, ast.BoolOp) else p
                        for p, v in zip(parts, node.values)]
                self.add(node, "andor", "(%s)" % (" %s " % other).join(wrap), where)
                for i in range(len(node.values)):
                    rest = wrap[:i] + wrap[i + 1:]
                    kw = " and " if isinstance(node.op, ast.And) else " or "
                    self.add(node, "drop_operand", "(%s)" % kw.join(rest), where)
            elif isinstance(node, ast.Compare) and len(node.ops) == 1:
                swap = CMP_SWAP.get(type(node.ops[0]))
                if swap:
                    new = ast.Compare(left=node.left, ops=[swap()],
                                      comparators=node.comparators)
                    self.add(node, "cmp", "(%s)" % ast.unparse(new), where)
            elif isinstance(node, ast.IfExp):
                self.condition(node.test, where)
            elif isinstance(node, ast.Constant):
                v = node.value
                if isinstance(v, bool):
                    self.add(node, "const", repr(not v), where)
                elif isinstance(v, int):
                    for new in (0, 1):
                        if v != new:
                            self.add(node, "const", str(new), where)

    def body(self, stmts, where):
        for i, st in enumerate(stmts):
            if isinstance(st, ast.Assert) or is_debug_block(st):
                continue
            if i == 0 and isinstance(st, ast.Expr) and isinstance(
                    getattr(st, "value", None), ast.Constant) and isinstance(
                    st.value.value, str):
                continue  # a docstring
            if isinstance(st, SIMPLE_STMTS):
                self.add(st, "del_stmt", "pass", where)
                self.expressions(st, where)
            if isinstance(st, (ast.If, ast.While)):
                self.condition(st.test, where)
                self.expressions(st.test, where)
            if isinstance(st, (ast.For, ast.AsyncFor)):
                self.expressions(st.iter, where)
            if isinstance(st, ast.Try):
                for h in st.handlers:
                    self.body(h.body, where)
                self.body(st.orelse, where)
                self.body(st.finalbody, where)
            for field in ("body", "orelse"):
                if not isinstance(st, ast.Try) or field == "body":
                    sub = getattr(st, field, None)
                    if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                        self.body(sub, where)
            if isinstance(st, (ast.With, ast.AsyncWith)):
                pass  # its body is handled above
        # Adjacent simple statements on lines of their own, swapped.
        for a, b in zip(stmts, stmts[1:]):
            if (isinstance(a, SIMPLE_STMTS) and isinstance(b, SIMPLE_STMTS)
                    and not isinstance(a, (ast.Return, ast.Raise))
                    and a.end_lineno < b.lineno):
                sa, ea = self.span(a)
                sb, eb = self.span(b)
                ta, tb = self.source[sa:ea], self.source[sb:eb]
                if ta != tb:
                    self.add(a, "swap_stmt", tb + self.source[ea:sb] + ta, where,
                             span=(sa, eb))
                    if independent(a, b):
                        self.mutants[-1].rule = ("swaps two assignments that neither "
                                                 "read nor write each other's targets")

    def function(self, fn, where):
        self.body(fn.body, where)
        first = fn.body[0]
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str) and len(fn.body) > 1):
            first = fn.body[1]
        a = self.off(first.lineno, first.col_offset)
        indent = b" " * first.col_offset
        self.mutants.append(Mutant(self.filename, first.lineno, "return_early", a, a,
                                   b"return\n" + indent, where))

    def run(self, scope):
        tree = ast.parse(self.source)
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef) or cls.name not in scope:
                continue
            wanted = scope[cls.name]
            for item in cls.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if item.name in SKIP_METHODS:
                        continue
                    if wanted is not None and item.name not in wanted:
                        continue
                    self.function(item, "%s.%s" % (cls.name, item.name))
                elif isinstance(item, ast.Assign) and wanted is None:
                    self.expressions(item.value, "%s.<class>" % cls.name)
        return self.mutants


def dotted(node):
    """'self._loop' for self._loop, self._loop[...] and self._loop.x(); or None."""
    while isinstance(node, (ast.Subscript, ast.Call)):
        node = node.value if isinstance(node, ast.Subscript) else node.func
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts[::-1][:1])


def independent(a, b):
    """Two assignments whose order cannot matter: neither reads or writes
    what the other writes, and at most one of them calls anything (a call
    that raises would otherwise leave a different half-made object)."""
    if not (isinstance(a, ast.Assign) and isinstance(b, ast.Assign)):
        return False
    def targets(st):
        return {dotted(t) for t in st.targets}
    def reads(st):
        return {dotted(n) for n in ast.walk(st.value)
                if isinstance(n, (ast.Name, ast.Attribute))}
    ta, tb = targets(a), targets(b)
    if None in ta or None in tb:
        return False
    if ta & tb or ta & reads(b) or tb & reads(a):
        return False
    calls = sum(any(isinstance(n, ast.Call) for n in ast.walk(st)) for st in (a, b))
    return calls <= 1


def is_debug_block(st):
    """'if self._loop.get_debug(): log...': debug logging, left alone."""
    return (isinstance(st, ast.If) and not st.orelse and isinstance(st.test, ast.Call)
            and isinstance(st.test.func, ast.Attribute)
            and st.test.func.attr == "get_debug")


def stdlib_dir(python):
    out = subprocess.run(
        [python, "-c", "import sysconfig, sys; print(sysconfig.get_paths()['stdlib']);"
         " print('%d.%d.%d' % sys.version_info[:3])"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    return out[0], out[1]


def make_mutants(python):
    lib, _version = stdlib_dir(python)
    sources, mutants = {}, []
    for filename, scope in SCOPE.items():
        with open(os.path.join(lib, "asyncio", filename), "rb") as f:
            source = f.read()
        sources[filename] = source
        made = Maker(filename, source).run(scope)
        made.sort(key=lambda m: (m.line, m.start, m.op, m.end, m.text))
        seen = {}
        for m in made:
            try:
                compile(m.apply(source), filename, "exec")
            except SyntaxError:
                continue
            key = (m.filename, m.line, m.op)
            seen[key] = seen.get(key, 0) + 1
            m.id = "%s:%d:%s" % key + ("" if seen[key] == 1 else ":%d" % seen[key])
            # The lines it changes, as coverage names them.
            first = source.count(b"\n", 0, m.start) + 1
            last = source.count(b"\n", 0, max(m.start, m.end - 1)) + 1
            m.lines = {"%s:%d" % (filename, n) for n in range(first, last + 1)}
            mutants.append(m)
    return lib, sources, mutants


# ---- running the suites -------------------------------------------------------

def default_python():
    found = sorted(glob.glob("/root/.pyenv/versions/3.13*/bin/python3"))
    return found[-1] if found else "python3"


def run_limited(argv, env, cwd, limit, log):
    """Run argv in its own process group; (status, seconds, timed_out)."""
    start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            rc = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return rc, time.monotonic() - start, timed_out


class Runner:
    def __init__(self, opts, lib, sources):
        self.opts = opts
        self.lib = lib
        self.sources = sources
        self.work = tempfile.mkdtemp(prefix="pipecheck-mutants-")
        self.expect = os.path.join(self.work, "baseline.expect")
        self.limits = {}
        self.stopping = False
        # Coverage-based selection (the default): what each test runs on
        # the unmutated code, and how many mutants each test has killed so
        # far (a test that kills often goes first).
        self.cover = {"cpython": {}, "pipecheck": {}}
        self.kills = {"cpython": {}, "pipecheck": {}}
        self.messages = {}
        self.original = None
        self.failfast = []
        if not opts.select and "cpython" in opts.suites:
            regrtest_help = subprocess.run([opts.python, "-m", "test", "--help"],
                                           capture_output=True, text=True).stdout
            self.failfast = (["-W", "--failfast"] if "--failfast" in regrtest_help else [])

    def package(self, name, mutant):
        """A copy of asyncio (mutated if mutant) in its own dir; its path."""
        root = os.path.join(self.work, name)
        pkg = os.path.join(root, "asyncio")
        shutil.copytree(os.path.join(self.lib, "asyncio"), pkg)
        if mutant is not None:
            target = os.path.join(pkg, mutant.filename)
            with open(target, "wb") as f:
                f.write(mutant.apply(self.sources[mutant.filename]))
            # The copy's compiled file is for the original source.
            for pyc in glob.glob(os.path.join(pkg, "__pycache__",
                                              mutant.filename[:-3] + ".*")):
                os.unlink(pyc)
        return root

    def env(self, root):
        env = dict(os.environ)
        env["PYTHONPATH"] = root
        env.pop("PYTHONHOME", None)
        env.pop("PYTHONSAFEPATH", None)
        env["NO_COLOR"] = "1"
        return env

    def cpython_argv(self):
        return [self.opts.python, "-m", "test"] + self.failfast + list(CPYTHON_TESTS)

    def pipecheck_argv(self, expect, json_path=None, jobs=None, filters=True):
        argv = [self.opts.pipecheck, "--subject", "asyncio", "--python", self.opts.python,
                "--backend", self.opts.backend, "-j", str(jobs or self.opts.pipecheck_jobs),
                "--timeout-multiplier", str(self.opts.timeout_multiplier)]
        for glob_ in self.opts.pipecheck_filter if filters else ():
            argv += ["--filter", glob_]
        if expect:
            argv += ["--fail-fast", "--expect", self.expect]
        if json_path:
            argv += ["--json", json_path]
        return argv

    def original_root(self):
        """The unmutated copy, kept for the whole run (kills are confirmed on it)."""
        if self.original is None:
            self.original = self.package("original", None)
            env = self.env(self.original)
            where = subprocess.run(
                [self.opts.python, "-c", "import asyncio; print(asyncio.__file__)"],
                env=env, capture_output=True, text=True).stdout.strip()
            if not where.startswith(self.original):
                sys.exit("mutate.py: the copy of asyncio is not the one imported "
                         "(got %s): is PYTHONPATH ignored?" % where)
        return self.original

    def baseline(self):
        cache = self.opts.baseline_cache
        key = {"python": self.opts.python, "pipecheck": self.opts.pipecheck,
               "pipecheck_mtime": os.stat(self.opts.pipecheck).st_mtime,
               "adapter_mtime": os.stat(ADAPTER).st_mtime,
               "wrapper_mtime": os.stat(CPYTHON_WRAPPER).st_mtime,
               "suites": self.opts.suites, "backend": self.opts.backend,
               "select": self.opts.select, "baseline_runs": self.opts.baseline_runs,
               "timeout_multiplier": self.opts.timeout_multiplier}
        if self.opts.pipecheck_filter:
            key["pipecheck_filter"] = self.opts.pipecheck_filter
        self.original_root()
        if cache and os.path.exists(cache):
            with open(cache) as f:
                saved = json.load(f)
            if saved["key"] == key:
                print("baseline: from %s" % cache, file=sys.stderr)
                with open(self.expect, "w") as f:
                    f.write(saved["expect"])
                self.limits = saved["limits"]
                self.cover = saved["cover"]
                self.messages = saved["messages"]
                return saved["base"]
            print("baseline: %s is for another setup; made anew" % cache, file=sys.stderr)
        base = self.make_baseline()
        if cache:
            with open(self.expect) as f:
                expect = f.read()
            with open(cache, "w") as f:
                json.dump({"key": key, "expect": expect, "limits": self.limits,
                           "cover": self.cover, "messages": self.messages,
                           "base": base}, f, indent=0)
        return base

    def make_baseline(self):
        root = self.original_root()
        env = self.env(root)
        rc, secs = 0, 0.0
        if "cpython" in self.opts.suites:
            log = os.path.join(self.work, "cpython-baseline.log")
            if self.opts.select:
                out = os.path.join(self.work, "cpython-cover.json")
                argv = [self.opts.python, CPYTHON_WRAPPER, "cover", out] + [
                    "test." + m for m in CPYTHON_TESTS]
            else:
                argv = self.cpython_argv()
            rc, secs, timed_out = run_limited(argv, env, root, 3600, log)
            print("baseline: CPython's tests %s in %.0f s" % (
                "pass" if rc == 0 else "FAIL", secs), file=sys.stderr)
            if rc != 0:
                sys.exit("mutate.py: CPython's tests fail on the unmutated code (see %s)" % log)
            if self.opts.select:
                with open(out) as f:
                    tests = json.load(f)["tests"]
                self.cover["cpython"] = {t: {"lines": e["lines"], "seconds": e["seconds"]}
                                         for t, e in tests.items() if e["outcome"] == "pass"}
        self.cpython_seconds = secs
        self.limits["cpython"] = max(self.opts.min_limit, secs * self.opts.limit_factor)
        verdicts, messages, slowest = [], [], 0.0
        seconds, lines = {}, {}
        for i in range(self.opts.baseline_runs if "pipecheck" in self.opts.suites else 0):
            log = os.path.join(self.work, "pipecheck-%d.log" % i)
            js = os.path.join(self.work, "pipecheck-%d.json" % i)
            covdir = os.path.join(self.work, "cover-%d" % i)
            os.mkdir(covdir)
            penv = dict(env, PIPECHECK_SUBJECT_COVERAGE=covdir)
            rc, secs, timed_out = run_limited(self.pipecheck_argv(False, js, self.opts.jobs),
                                              penv, root, 3600, log)
            slowest = max(slowest, secs)
            try:
                with open(js) as f:
                    report = json.load(f)
            except (OSError, ValueError):
                sys.exit("mutate.py: pipecheck did not run on the unmutated code "
                         "(exit %s; see %s)" % (rc, log))
            verdicts.append(instance_verdicts(report))
            messages.append({r["test"]: normalise(r["message"]) for r in report["results"]})
            for r in report["results"]:
                seconds[r["test"]] = max(seconds.get(r["test"], 0.0), r.get("seconds") or 0.0)
            by_file = {file_name(t): t for t in verdicts[-1]}
            for name in os.listdir(covdir):
                test = by_file.get(name.rsplit(".", 1)[0])
                if test is None:
                    continue
                with open(os.path.join(covdir, name)) as f:
                    lines.setdefault(test, set()).update(f.read().split())
            print("baseline %d: pipecheck in %.0f s: %d instances, %d fail" % (
                i + 1, secs, len(verdicts[-1]),
                sum(v == "fail" for v in verdicts[-1].values())), file=sys.stderr)
        first = verdicts[0] if verdicts else {}
        unstable = sorted(set(n for v in verdicts[1:] for n in set(first) | set(v)
                              if first.get(n) != v.get(n)))
        with open(self.expect, "w") as f:
            f.write("# pipecheck --expect: the unmutated code's verdicts\n")
            for name in sorted(first):
                if name not in unstable:
                    f.write("%s %s\n" % (first[name], name))
            for name in unstable:
                f.write("any %s\n" % name)
        # A known failure's message, where every baseline run gave the same
        # one (normalised): a mutant that changes how it fails kills.
        self.messages = {n: messages[0][n] for n, v in first.items()
                         if v == "fail" and n not in unstable
                         and all(m.get(n) == messages[0][n] for m in messages)}
        self.cover["pipecheck"] = {t: {"lines": sorted(lines.get(t, ())),
                                       "seconds": round(seconds.get(t, 0.0), 3)}
                                   for t in first if t not in unstable}
        # The baseline ran with -j JOBS, a mutant's run with --pipecheck-jobs.
        slowest *= max(1.0, self.opts.jobs / self.opts.pipecheck_jobs)
        self.limits["pipecheck"] = max(self.opts.min_limit, slowest * self.opts.limit_factor)
        # Check the expectation on the original itself (a third run: with
        # fewer baseline runs, as in CI, there is no check).
        rc, secs = 0, 0.0
        if self.opts.baseline_runs > 1 and "pipecheck" in self.opts.suites:
            rc, secs, _ = run_limited(self.pipecheck_argv(True, None, self.opts.jobs), env, root,
                                      3600, os.path.join(self.work, "pipecheck-expect.log"))
        if rc != 0:
            sys.exit("mutate.py: pipecheck --expect fails on the unmutated code "
                     "(see %s)" % os.path.join(self.work, "pipecheck-expect.log"))
        return {"cpython_seconds": round(self.cpython_seconds, 1),
                "pipecheck_seconds": slowest,
                "instances": len(first), "baseline_fail": sorted(
                    n for n, v in first.items() if v == "fail" and n not in unstable),
                "baseline_fail_messages": len(self.messages),
                "unstable": unstable}

    def count_kill(self, suite, entry):
        """Rank the test that made this kill higher (a pipecheck test over
        all its kinds)."""
        by = entry.get("by", "")
        if entry.get("verdict") not in ("killed", "timeout") or not by:
            return
        if suite == "cpython":
            test = by.split()[1] if by.startswith("FAILED ") else by
        elif by.startswith("unexpected: "):
            test = by[len("unexpected: "):].rsplit(": ", 1)[0]
        elif by.startswith("message: "):
            test = by[len("message: "):].split(": ", 1)[0]
        else:
            return
        test = test.split("@")[0]
        self.kills[suite][test] = self.kills[suite].get(test, 0) + 1

    def selected(self, suite, mutant):
        """The tests that run the mutant's lines, killers and quick ones first."""
        cover = self.cover[suite]
        if mutant.where.endswith(".<class>"):
            chosen = list(cover)  # a class attribute: set at import, used anywhere
        else:
            lines = mutant.lines
            chosen = [t for t, e in cover.items() if lines.intersection(e["lines"])]
        kills = self.kills[suite]
        # A pipecheck test's kills count for all its instances (kinds).
        chosen.sort(key=lambda t: (-kills.get(t.split("@")[0], 0), cover[t]["seconds"], t))
        return chosen

    def run_cpython_selected(self, mutant, root, env):
        tests = self.selected("cpython", mutant)
        if not tests:
            return {"verdict": "not covered", "seconds": 0, "tests": 0}
        cover = self.cover["cpython"]
        specs = ["%g:%s" % (max(self.opts.test_limit, self.opts.limit_factor * cover[t]["seconds"]),
                            t) for t in tests]
        limit = 60 + sum(float(x.split(":", 1)[0]) for x in specs)
        log = os.path.join(root, "cpython.log")
        rc, secs, timed_out = run_limited([self.opts.python, CPYTHON_WRAPPER, "run"] + specs,
                                          env, root, limit, log)
        with open(log, errors="replace") as f:
            text = f.read()
        entry = {"seconds": round(secs, 1), "tests": len(tests)}
        if rc == 0 and not timed_out:
            entry["verdict"] = "survived"
            return entry
        failed = [ln for ln in text.splitlines() if ln.startswith("FAILED ")]
        started = [ln[6:] for ln in text.splitlines() if ln.startswith("START ")]
        if timed_out or (not failed and "Timeout (" in text):
            entry["verdict"] = "timeout"
            entry["by"] = started[-1] if started else ""
        else:
            entry["verdict"] = "killed"
            entry["by"] = failed[0] if failed else (text.strip().splitlines() or [""])[-1][:300]
        self.count_kill("cpython", entry)
        return entry

    def pipecheck_on(self, root, instances, log, js=None, limit=None):
        argv = self.pipecheck_argv(True, js, filters=False)
        for t in instances:
            argv += ["--filter", t]
        if limit is None:
            cover = self.cover["pipecheck"]
            # ... and room for one instance to run into its own time limit
            # (pipecheck stops there with --fail-fast).
            limit = 180 + 2 * self.opts.limit_factor * sum(cover[t]["seconds"] for t in instances)
        env = self.env(root)
        return run_limited(argv, env, root, limit, log)

    def confirm(self, root, instance, log, message=None):
        """Does instance differ again on the mutant and not on the original?
        (message: it failed with another message than the original's.)"""
        checks = []
        # Both at once (each is mostly an interpreter's start).
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            runs = {differs: pool.submit(self.pipecheck_on, where, [instance],
                                         log + ".%d.log" % differs,
                                         log + ".%d.json" % differs)
                    for where, differs in ((root, True), (self.original, False))}
        for differs in (True, False):
            js = log + ".%d.json" % differs
            rc, _, timed_out = runs[differs].result()
            if message is None:
                seen = rc != 0 or timed_out
            else:
                got = None
                try:
                    with open(js) as f:
                        got = {r["test"]: normalise(r["message"])
                               for r in json.load(f)["results"]}.get(instance)
                except (OSError, ValueError):
                    pass
                seen = rc != 0 or timed_out or got != self.messages[instance]
            checks.append(seen == differs)
        return all(checks)

    def run_pipecheck_selected(self, mutant, root, env):
        tests = self.selected("pipecheck", mutant)
        if not tests:
            return {"verdict": "not covered", "seconds": 0, "tests": 0}
        # pipecheck runs its instances in its own order: batches keep ours
        # (the likeliest killers, then the next few, then the rest).
        n = self.opts.first_batch
        batches = [tests[:n], tests[n:n * 5], tests[n * 5:]]
        entry = {"seconds": 0.0, "tests": len(tests)}
        start = time.monotonic()
        # A kill that is not confirmed (an instance that differs only now
        # and then) does not end the search: the rest of its batch, and
        # the batches after it, may hold an instance that kills for sure.
        queue = [b for b in batches if b]
        unconfirmed = []
        n = -1
        while queue:
            batch = queue.pop(0)
            n += 1
            log = os.path.join(root, "pipecheck-%d.log" % n)
            js = os.path.join(root, "pipecheck-%d.json" % n)
            rc, _, timed_out = self.pipecheck_on(root, batch, log, js)
            killer, message = None, None
            if rc != 0 or timed_out:
                killer = unexpected_instance(log)
                if killer is None and not timed_out:
                    # No "unexpected" line: pipecheck could not run the
                    # subject at all (the mutant breaks the import): a kill.
                    entry.update(verdict="killed", by=killer_line(log))
                    break
                if killer is None:
                    killer = batch[0] if len(batch) == 1 else None
            else:
                try:
                    with open(js) as f:
                        results = json.load(f)["results"]
                except (OSError, ValueError):
                    results = []
                for r in results:
                    old = self.messages.get(r["test"])
                    if old is not None and r["status"] in ("fail", "differs") \
                            and normalise(r["message"]) != old:
                        killer, message = r["test"], normalise(r["message"])
                        break
                if killer is None:
                    continue
            if killer is None:
                entry.update(verdict="unconfirmed", by="a time limit, no instance named")
                break
            if self.confirm(root, killer, os.path.join(root, "confirm-%d" % n),
                            message):
                entry["verdict"] = "timeout" if timed_out else "killed"
                entry["by"] = (killer_line(log) if message is None
                               else "message: %s: %s" % (killer, message))[:300]
                self.count_kill("pipecheck", entry)
                break
            unconfirmed.append(killer)
            rest = [t for t in batch if t != killer]
            if rest:
                queue.insert(0, rest)
        else:
            if unconfirmed:
                entry.update(verdict="unconfirmed", by=" ".join(unconfirmed)[:300])
            else:
                entry["verdict"] = "survived"
        entry["seconds"] = round(time.monotonic() - start, 1)
        return entry

    def run_one(self, mutant):
        name = mutant.id.replace(":", "_").replace(".", "_")
        root = self.package(name, mutant)
        env = self.env(root)
        result = {"id": mutant.id, "class": mutant.cls, "where": mutant.where,
                  "operator": mutant.op}
        for suite in ("cpython", "pipecheck"):
            if suite not in self.opts.suites:
                result[suite] = {"verdict": "not run", "seconds": 0}
                continue
            if self.stopping:
                result[suite] = {"verdict": "stopped", "seconds": 0}
                continue
            if self.opts.select:
                result[suite] = (self.run_cpython_selected if suite == "cpython"
                                 else self.run_pipecheck_selected)(mutant, root, env)
                continue
            log = os.path.join(root, suite + ".log")
            js = os.path.join(root, "pipecheck.json") if suite == "pipecheck" else None
            argv = self.cpython_argv() if suite == "cpython" else self.pipecheck_argv(True, js)
            rc, secs, timed_out = run_limited(argv, env, root, self.limits[suite], log)
            verdict = "timeout" if timed_out else ("survived" if rc == 0 else "killed")
            entry = {"verdict": verdict, "seconds": round(secs, 1)}
            if verdict == "killed":
                entry["by"] = killer(suite, log, js, self.expect)
            if verdict == "killed" and suite == "pipecheck":
                # A kill counts only if the instance differs again on a
                # rerun and not on the original.  (No "unexpected" line:
                # pipecheck could not run the subject at all, e.g. the
                # mutant breaks the import: a kill.)
                instance = unexpected_instance(log)
                if instance is not None and not self.confirm(root, instance, log + ".confirm"):
                    verdict = entry["verdict"] = "unconfirmed"
            result[suite] = entry
        shutil.rmtree(root, ignore_errors=True)
        return result


def file_name(test):
    """An instance's name as the adapter names its coverage file."""
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in test)


def normalise(message):
    """A failure message without what changes from run to run: the
    checkout's path, durations, pids, fd numbers, addresses."""
    message = re.sub(r"/\S*/(check|tests|tools|src)/", r"\1/", message)
    message = re.sub(r"0x[0-9a-fA-F]+", "ADDR", message)
    message = re.sub(r"\b(pid|fd|fds)([ =:]+)\d+", r"\1\2N", message)
    message = re.sub(r"\d+(\.\d+)?\s*(ms|us|ns|s|seconds?)\b", "T", message)
    return message


def killer_line(log):
    return killer("pipecheck", log, None, None)


def instance_verdicts(report):
    """{instance: pass|fail|skip} from a pipecheck --json report, as the
    runner sees them: "differs" (a failure on an item the spec marks OURS)
    is a failure there, and "n/a" a skip (an instance that is n/a before it
    runs is not run at all, and its line is never used)."""
    status = {"pass": "pass", "fail": "fail", "differs": "fail", "skip": "skip",
              "n/a": "skip"}
    return {r["test"]: status[r["status"]] for r in report["results"]
            if r["status"] in status}


def unexpected_instance(log):
    """The instance named by pipecheck's first "unexpected: NAME: ..." line."""
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("unexpected: "):
                return line[len("unexpected: "):].rsplit(": ", 1)[0]
    return None


def killer(suite, log, js, expect):
    """What killed it: the first failing test, as far as the output says."""
    try:
        with open(log, errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    if suite == "cpython":
        for line in text.splitlines():
            if line.startswith(("FAIL: ", "ERROR: ")):
                return line
        for line in text.splitlines():
            if "failed" in line or "Timeout" in line:
                return line.strip()
        return ""
    for line in text.splitlines():
        if "unexpected" in line:
            return line.strip()[:300]
    for line in text.splitlines():
        if line.startswith("FAIL "):
            return line.strip()[:300]
    return ""


# ---- the report ---------------------------------------------------------------

def tally(results, key):
    rows = {}
    for r in results:
        row = rows.setdefault(r[key] if key else "all", [0, 0, 0, 0, 0, 0])
        c = r["cpython"]["verdict"] in ("killed", "timeout")
        p = r["pipecheck"]["verdict"] in ("killed", "timeout")
        row[0] += 1
        row[1] += r.get("equivalent", False)
        if r.get("equivalent"):
            continue
        row[2] += c and not p
        row[3] += p and not c
        row[4] += c and p
        row[5] += not c and not p
    return rows


def print_report(results, equivalent, out):
    def table(title, key):
        rows = tally(results, key)
        out.write("\n%-26s %6s %5s %7s %9s %5s %7s %9s %9s\n" % (
            title, "made", "equiv", "cpython", "pipecheck", "both", "neither",
            "cpython%", "pipecheck%"))
        for name in sorted(rows):
            made, eq, c_only, p_only, both, neither = rows[name]
            live = made - eq
            out.write("%-26s %6d %5d %7d %9d %5d %7d %8.1f%% %8.1f%%\n" % (
                name, made, eq, c_only, p_only, both, neither,
                100.0 * (c_only + both) / live if live else 0,
                100.0 * (p_only + both) / live if live else 0))
    out.write("killed by: cpython = CPython's tests only, pipecheck = pipecheck only;"
              " scores over the non-equivalent mutants\n")
    table("total", None)
    table("class", "class")
    table("operator", "operator")
    timeouts = [r for r in results for s in ("cpython", "pipecheck")
                if r[s]["verdict"] == "timeout"]
    if timeouts:
        out.write("\ntimeouts (counted as killed): %s\n" % ", ".join(
            sorted(set("%s (%s)" % (r["id"], s) for r in results
                       for s in ("cpython", "pipecheck") if r[s]["verdict"] == "timeout"))))
    shaky = [r["id"] for r in results if r["pipecheck"]["verdict"] == "unconfirmed"]
    if shaky:
        out.write("\nunconfirmed pipecheck kills (the instance passed on a rerun; counted "
                  "as survivors): %s\n" % ", ".join(shaky))
    survivors = [r for r in results if r["pipecheck"]["verdict"] in ("survived", "unconfirmed")
                 and not r.get("equivalent")]
    out.write("\npipecheck survivors (not listed as equivalent): %d\n" % len(survivors))
    for r in survivors:
        out.write("\n== %s  %s  cpython: %s\n%s" % (
            r["id"], r["where"], r["cpython"]["verdict"], r["diff"]))


def combine_runs(runs, equivalent):
    """One result per mutant from the --json files of one or more runs.

    Each suite's verdict comes from the last file that ran that suite on
    the mutant (a run with --suites cpython leaves pipecheck "not run"), so
    a run of CPython's tests and a later pipecheck run on another tree
    report together, and a rerun of some mutants (say the timeouts of a run
    on a loaded machine) replaces their verdicts.  A mutant in the
    equivalent list counts as equivalent whatever the runs said; one
    missing from every file is left out."""
    merged = {}
    order = []
    for saved in runs:
        for r in saved["mutants"]:
            have = merged.get(r["id"])
            if have is None:
                merged[r["id"]] = dict(r)
                order.append(r["id"])
                continue
            for suite in ("cpython", "pipecheck"):
                if r[suite]["verdict"] not in ("not run", "equivalent"):
                    have[suite] = r[suite]
    done = []
    for ident in order:
        r = merged[ident]
        if ident in equivalent and not r.get("equivalent"):
            r = dict(r, equivalent=True, reason=equivalent[ident])
        done.append(r)
    return done


def load_equivalent(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            ident, _, reason = line.partition(" ")
            out[ident] = reason.strip()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("list", "show", "run", "report"))
    ap.add_argument("ids", nargs="*", help="mutant IDs (default: all)")
    ap.add_argument("--python", default=default_python(),
                    help="the interpreter whose asyncio is mutated (default: %(default)s)")
    ap.add_argument("--pipecheck", default=os.path.join(REPO, "build", "pipecheck"))
    ap.add_argument("--diff", action="store_true", help="list: the diffs too")
    ap.add_argument("--sample", type=int, help="run N mutants drawn with --seed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-j", "--jobs", type=int, default=1, help="mutants at once")
    ap.add_argument("--pipecheck-jobs", type=int, default=1,
                    help="pipecheck's own -j inside each mutant's run (default 1)")
    ap.add_argument("--json", help="write every result to FILE")
    ap.add_argument("--limit-factor", type=float, default=3.0,
                    help="a suite's time limit on a mutant: this times its baseline")
    ap.add_argument("--min-limit", type=float, default=120.0,
                    help="... and at least this many seconds")
    ap.add_argument("--suites", default="cpython,pipecheck",
                    help="which suites to run (default: %(default)s)")
    ap.add_argument("--backend", default="epoll",
                    help="pipecheck's --backend for asyncio: the selector (default %(default)s:"
                         " the transports' code is the same over both)")
    ap.add_argument("--timeout-multiplier", type=float, default=2.0,
                    help="pipecheck's --timeout-multiplier (default %(default)s)")
    ap.add_argument("--pipecheck-filter", action="append", default=[], metavar="GLOB",
                    help="run only pipecheck's instances matching GLOB (repeatable; its"
                         " --filter): a quicker baseline for a run that needs only them")
    ap.add_argument("--baseline-runs", type=int, default=2,
                    help="pipecheck runs on the unmutated code; an instance whose verdict"
                         " differs between them is left out as unstable (default 2)")
    ap.add_argument("--baseline-cache", metavar="FILE",
                    help="keep the baseline (verdicts, time limits) in FILE and reuse it"
                         " while the interpreter, pipecheck binary and options are the same")
    ap.add_argument("--resume", metavar="FILE",
                    help="keep the results of a stopped run's --json FILE and run only the"
                         " mutants it had not done")
    ap.add_argument("--no-select", dest="select", action="store_false",
                    help="run each suite whole on every mutant (CPython's through regrtest),"
                         " not only the tests that run the mutated lines")
    ap.add_argument("--test-limit", type=float, default=10.0,
                    help="with selection: a CPython test case's time limit on a mutant is"
                         " --limit-factor times its baseline time, at least this (default"
                         " %(default)s s)")
    ap.add_argument("--first-batch", type=int, default=4,
                    help="with selection: pipecheck first runs the N covering instances"
                         " that killed most so far (then the quickest), then the next 4N,"
                         " then the rest (default %(default)s)")
    ap.add_argument("--equivalent", default=os.path.join(HERE, "mutants-equivalent.txt"))
    ap.add_argument("--require-pipecheck-kills", action="store_true",
                    help="exit 1 unless pipecheck kills every mutant run (for CI)")
    opts = ap.parse_intermixed_args()
    opts.suites = [x for x in opts.suites.split(",") if x]
    if not opts.suites or set(opts.suites) - {"cpython", "pipecheck"}:
        ap.error("--suites: cpython and/or pipecheck")

    if opts.command == "report":
        if not opts.ids:
            ap.error("report takes the --json file of a run, or one per suite")
        runs = []
        for path in opts.ids:
            with open(path) as f:
                runs.append(json.load(f))
        equivalent = load_equivalent(opts.equivalent)
        done = combine_runs(runs, equivalent)
        print_report(done, equivalent, sys.stdout)
        for path, saved in zip(opts.ids, runs):
            print("\n%s: %d of %d mutants run (%s%s) in %.0f s with -j %d; python %s;"
                  " suites: %s" % (
                      path, saved["run"], saved["made"], saved["kind"],
                      "" if saved["finished"] else ", STOPPED part way", saved["seconds"],
                      saved["jobs"], saved["python"], ",".join(saved.get("suites", []))))
        return 0
    lib, sources, mutants = make_mutants(opts.python)
    by_id = {m.id: m for m in mutants}
    if opts.ids:
        missing = [i for i in opts.ids if i not in by_id]
        if missing:
            sys.exit("mutate.py: no such mutant: %s" % " ".join(missing))
        chosen = [by_id[i] for i in opts.ids]
    else:
        chosen = mutants
    equivalent = load_equivalent(opts.equivalent)
    for m in mutants:
        if m.rule and m.id not in equivalent:
            equivalent[m.id] = "(by rule) " + m.rule
    if opts.sample:
        chosen = [m for m in chosen if m.id not in equivalent]
        chosen = sorted(random.Random(opts.seed).sample(chosen, min(opts.sample, len(chosen))),
                        key=mutants.index)

    if opts.command == "list":
        for m in chosen:
            print("%-42s %-45s %s" % (m.id, m.where,
                                      "equivalent" if m.id in equivalent else ""))
            if opts.diff:
                print(m.diff(sources[m.filename]))
        return 0
    if opts.command == "show":
        for m in chosen:
            print("# %s  %s  (%s)" % (m.id, m.where, OPERATORS[m.op]))
            print(m.diff(sources[m.filename]))
        return 0

    if not os.access(opts.pipecheck, os.X_OK):
        sys.exit("mutate.py: no pipecheck at %s (build it first)" % opts.pipecheck)
    started = time.monotonic()
    runner = Runner(opts, lib, sources)
    print("mutate.py: %d mutants of %s (%s), %d to run; work dir %s" % (
        len(mutants), lib, opts.python, len(chosen), runner.work), file=sys.stderr)
    base = runner.baseline()
    baseline_seconds = time.monotonic() - started
    # In an order drawn from the seed: a run stopped part way (SIGINT) has
    # done a random sample of the mutants, and reports it as such.
    order = list(chosen)
    random.Random(opts.seed).shuffle(order)
    results = []
    earlier = 0.0
    if opts.resume:
        # The mutants a stopped run did (its --json): kept, not run again;
        # its time counts in this run's, and its kills rank the tests.
        with open(opts.resume) as f:
            saved = json.load(f)
        ids = {m.id for m in order}
        for r in saved["mutants"]:
            if r["id"] in ids and not r.get("equivalent"):
                results.append(r)
                for suite in ("cpython", "pipecheck"):
                    runner.count_kill(suite, r[suite])
        done_ids = {r["id"] for r in results}
        order = [m for m in order if m.id not in done_ids]
        earlier = saved["seconds"] - saved.get("baseline_seconds", 0.0)
        print("mutate.py: %d mutants done by %s (%.0f s of mutants)" % (
            len(results), opts.resume, earlier), file=sys.stderr)
    signal.signal(signal.SIGINT, lambda *_: setattr(runner, "stopping", True))

    def report(final):
        done = sorted(results, key=lambda r: mutants.index(by_id[r["id"]]))
        elapsed = time.monotonic() - started + earlier
        kind = ("sample of %d, seed %d" % (opts.sample, opts.seed) if opts.sample
                else "by ID" if opts.ids else "all")
        if final:
            print_report(done, equivalent, sys.stdout)
            print("\n%d of %d mutants run (%s%s) in %.0f s with -j %d; python %s; "
                  "suites: %s" % (len(done), len(mutants), kind,
                                  "" if len(done) == len(chosen) else ", STOPPED part way",
                                  elapsed, opts.jobs, opts.python, ",".join(opts.suites)))
        if opts.json:
            with open(opts.json + ".tmp", "w") as f:
                json.dump({"python": opts.python, "stdlib": lib, "made": len(mutants),
                           "chosen": len(chosen), "run": len(done), "kind": kind,
                           "finished": final and len(done) == len(chosen),
                           "sample": opts.sample, "seed": opts.seed, "jobs": opts.jobs,
                           "suites": opts.suites, "seconds": round(elapsed, 1),
                           "baseline_seconds": round(baseline_seconds, 1),
                           "resumed_from": opts.resume,
                           "baseline": base, "limits": runner.limits,
                           "operators": OPERATORS,
                           "totals": {k: dict(zip(("made", "equivalent", "cpython_only",
                                                    "pipecheck_only", "both", "neither"), v))
                                      for k, v in tally(done, None).items()},
                           "mutants": done}, f, indent=1)
            os.replace(opts.json + ".tmp", opts.json)

    with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        pending = iter(order)
        running = {}
        n = 0
        while True:
            while len(running) < opts.jobs and not runner.stopping:
                m = next(pending, None)
                if m is None:
                    break
                if m.id in equivalent:
                    # Reviewed (or equivalent by construction): not run.
                    results.append({"id": m.id, "class": m.cls, "where": m.where,
                                    "operator": m.op, "equivalent": True,
                                    "reason": equivalent[m.id],
                                    "cpython": {"verdict": "equivalent"},
                                    "pipecheck": {"verdict": "equivalent"},
                                    "diff": m.diff(sources[m.filename])})
                    continue
                running[pool.submit(runner.run_one, m)] = m
            if not running:
                break
            finished, _ = concurrent.futures.wait(
                running, timeout=1, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in finished:
                m = running.pop(fut)
                r = fut.result()
                if "stopped" in (r["cpython"]["verdict"], r["pipecheck"]["verdict"]):
                    continue
                r["diff"] = m.diff(sources[m.filename])
                r["equivalent"] = False
                results.append(r)
                n += 1
                print("[%d/%d %.0fs] %-40s cpython %-8s pipecheck %-8s %s" % (
                    n, len(chosen), time.monotonic() - started, m.id,
                    r["cpython"]["verdict"], r["pipecheck"]["verdict"],
                    r["pipecheck"].get("by", "")[:80]), file=sys.stderr, flush=True)
                report(False)
    report(True)
    shutil.rmtree(runner.work, ignore_errors=True)
    if opts.require_pipecheck_kills:
        alive = [r["id"] for r in results
                 if r["pipecheck"]["verdict"] not in ("killed", "timeout")]
        if alive:
            print("mutate.py: pipecheck did not kill: %s" % " ".join(alive), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
