#!/usr/bin/env python3
"""Run every finding's script on every CPython interpreter found here and
check the result against findings/affects.tsv.

    python3 findings/run_all.py [-v]

Interpreters: every pyenv version (${PYENV_ROOT:-~/.pyenv}/versions/*/bin/
python3), /usr/bin/python3 and python3 on PATH, the same binary once, 3.6
and later (the scripts run there, though the bench's adapter needs 3.8).  An asyncio
script runs on each of them and must exit 0 (shows the finding) on the
versions its row of the table names and 1 on the others; a uvloop script
runs on each interpreter that has uvloop and must exit 0 where the uvloop
version is named.  Exit 77 is a skip with the script's reason.  An
interpreter newer than a row's range, or a uvloop version the table does
not name, is run and reported but not judged.  Two scripts run at a time.
Then the one-file copy of each script that findings/bundle.py makes (the
scripts import their common part from findings/_repro.py; the copy sent
upstream has it inlined) runs on one interpreter, the newest with uvloop
if any, from a directory without _repro.py, and must exit as the script
did there.  Exit status 0 when every judged result is as the table says
and every copy agrees with its script.
"""
import concurrent.futures
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import bundle

HERE = os.path.dirname(os.path.abspath(__file__))


def version_tuple(text):
    return tuple(int(p) for p in text.split("."))


def interpreters():
    candidates = sorted(glob.glob(os.path.join(
        os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv")),
        "versions", "*", "bin", "python3")))
    candidates += ["/usr/bin/python3", shutil.which("python3") or ""]
    seen, found = set(), []
    for path in candidates:
        if not path or not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run(
                [path, "-c", "import os, sys, platform\n"
                 "try:\n import uvloop; uv = uvloop.__version__\n"
                 "except Exception: uv = ''\n"
                 "print(os.path.realpath(sys.executable), platform.python_version(), uv)"],
                capture_output=True, text=True, timeout=30).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if len(out) < 2 or out[0] in seen:
            continue
        seen.add(out[0])
        if version_tuple(out[1])[:2] < (3, 6):
            continue
        found.append({"path": path, "version": out[1],
                      "uvloop": out[2] if len(out) > 2 else ""})
    return sorted(found, key=lambda p: (version_tuple(p["version"]), p["path"]))


def table():
    rows = []
    with open(os.path.join(HERE, "affects.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            script, finding, affects = line.rstrip("\n").split("\t")
            rows.append((script, finding, affects))
    return rows


def expectation(script, affects, py):
    """0 or 1 as the table says, None: not judged (and why), "skip": does
    not apply to this interpreter."""
    if script.startswith("uvloop_"):
        if not py["uvloop"]:
            return "skip", "no uvloop"
        if py["uvloop"] in affects.split(","):
            return 0, ""
        return None, "uvloop %s not in the table" % py["uvloop"]
    low, _, high = affects.partition("-")
    version = version_tuple(py["version"])[:2]
    if affects == "none":
        return 1, ""
    if high and version > version_tuple(high):
        return None, "newer than %s" % high
    if version >= version_tuple(low) and (not high or version <= version_tuple(high)):
        return 0, ""
    return 1, ""


def run(script, py, directory=HERE):
    try:
        proc = subprocess.run([py["path"], os.path.join(directory, script)],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60)
        return proc.returncode, (proc.stdout + proc.stderr).strip()
    except subprocess.TimeoutExpired:
        return "timeout", ""


def standalone(rows, pys, jobs):
    """Run each script's one-file copy on one interpreter and compare its
    exit status with the script's; returns the problems."""
    if not pys:
        return []
    py = ([p for p in pys if p["uvloop"]] or pys)[-1]
    problems, agree = [], 0
    with tempfile.TemporaryDirectory() as directory:
        for script, _, _ in rows:
            with open(os.path.join(directory, script), "w") as f:
                f.write(bundle.bundle(script))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            copies = [(script, pool.submit(run, script, py, directory))
                      for script, _, _ in rows]
            for script, future in copies:
                job = jobs.get((script, py["path"]))
                want = job[5].result()[0] if job else run(script, py)[0]
                rc, output = future.result()
                if rc == want:
                    agree += 1
                else:
                    problems.append("the one-file copy of %s (findings/bundle.py) on %s exits %s, "
                                    "the script %s%s" % (script, py["version"], rc, want,
                                                         ("\n    " + output.replace("\n", "\n    "))
                                                         if output else ""))
    print("one-file copies (findings/bundle.py) on %s: %d of %d exit as their script"
          % (py["version"], agree, len(rows)))
    return problems


def main():
    verbose = "-v" in sys.argv[1:]
    rows = table()
    listed = {r[0] for r in rows}
    on_disk = {os.path.basename(p) for p in glob.glob(os.path.join(HERE, "*.py"))}
    on_disk -= {os.path.basename(__file__), "bundle.py", bundle.MODULE + ".py"}
    problems = ["%s: no row in affects.tsv" % s for s in sorted(on_disk - listed)]
    problems += ["affects.tsv names %s, which does not exist" % s for s in sorted(listed - on_disk)]
    pys = interpreters()
    print("interpreters: " + ", ".join(
        "%s%s" % (p["version"], " (uvloop %s)" % p["uvloop"] if p["uvloop"] else "")
        for p in pys))
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for script, finding, affects in rows:
            for py in pys:
                want, why = expectation(script, affects, py)
                if want == "skip":
                    continue
                jobs[(script, py["path"])] = (finding, affects, py, want, why,
                                              pool.submit(run, script, py))
    judged = 0
    for script, finding, affects in rows:
        cells = []
        for py in pys:
            job = jobs.get((script, py["path"]))
            if job is None:
                continue
            _, _, _, want, why, future = job
            rc, output = future.result()
            cell = "%s:%s" % (py["version"], rc)
            if rc == 77:
                cell += " (skipped: %s)" % (output.splitlines() or ["no reason given"])[-1]
            elif want is None:
                cell += " (not judged: %s)" % why
            else:
                judged += 1
                if rc != want:
                    cell += " (expected %s)" % want
                    problems.append("%s (%s) on %s %s: exit %s, the table says %s (affects %s)%s"
                                    % (script, finding, py["version"], py["path"], rc, want,
                                       affects, ("\n    " + output.replace("\n", "\n    "))
                                       if output else ""))
            cells.append(cell)
        print("  %-4s %-38s %s" % (finding, script, "  ".join(cells)))
        if verbose:
            for py in pys:
                job = jobs.get((script, py["path"]))
                if job:
                    print("      %s: %s" % (py["version"], job[5].result()[1].replace("\n", " | ")))
    print("%d results judged, %d not as the table says" % (judged, len(problems)))
    problems += standalone(rows, pys, jobs)
    for p in problems:
        print("findings/run_all.py: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
