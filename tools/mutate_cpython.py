"""CPython's own asyncio tests for tools/mutate.py, one test case at a time.

Run with the interpreter whose asyncio is mutated (3.12+ for cover):

    PY tools/mutate_cpython.py cover OUT.json MODULE...
        run every test case of the modules once, recording for each the
        lines of asyncio's unix_events.py and base_subprocess.py it runs
        (sys.monitoring), its outcome and its time
    PY tools/mutate_cpython.py run SECONDS:TEST_ID...
        run those test cases in that order and stop at the first failure
        (exit 1); a test case running past its SECONDS ends the run with
        faulthandler's "Timeout" traceback (exit 1 too)

A plain unittest run, not regrtest: the modules' setUpModule and
tearDownModule run as unittest runs them; regrtest's resource switches
are not there, so every resource is enabled.
"""

import faulthandler
import json
import os
import sys
import time
import traceback
import unittest

COVERED_FILES = ("unix_events.py", "base_subprocess.py")


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


class Result(unittest.TestResult):
    def __init__(self, on_start=None, on_stop=None, limits=None):
        super().__init__()
        self.on_start = on_start
        self.on_stop = on_stop
        self.limits = limits or {}
        self.outcome = {}
        self.started = 0.0

    def startTest(self, test):
        super().startTest(test)
        limit = self.limits.get(test.id())
        if limit:
            faulthandler.dump_traceback_later(limit, exit=True)
        print("START", test.id(), flush=True)
        if self.on_start:
            self.on_start(test)
        self.started = time.monotonic()

    def stopTest(self, test):
        secs = time.monotonic() - self.started
        faulthandler.cancel_dump_traceback_later()
        self.outcome.setdefault(test.id(), "pass")
        if self.on_stop:
            self.on_stop(test, secs)
        super().stopTest(test)

    def _failed(self, test, err, how):
        self.outcome[test.id()] = "fail"
        print("FAILED %s (%s)" % (test.id(), how), flush=True)
        print("".join(traceback.format_exception(*err))[-3000:], flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        self._failed(test, err, "error")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._failed(test, err, "failure")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._failed(test, err, "subtest %s" % subtest)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcome[test.id()] = "skip"

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.outcome[test.id()] = "fail"
        print("FAILED %s (unexpected success)" % test.id(), flush=True)


def cover(out, modules):
    import asyncio
    asyncio_dir = os.path.dirname(asyncio.__file__)
    mon = sys.monitoring
    tool = mon.COVERAGE_ID
    current = set()

    def line(code, lineno):
        filename = code.co_filename
        base = os.path.basename(filename)
        if base in COVERED_FILES and os.path.dirname(filename) == asyncio_dir:
            current.add("%s:%d" % (base, lineno))
        return mon.DISABLE

    mon.use_tool_id(tool, "mutate_cpython")
    mon.register_callback(tool, mon.events.LINE, line)
    tests = {}

    def on_start(test):
        current.clear()
        mon.restart_events()
        mon.set_events(tool, mon.events.LINE)

    def on_stop(test, secs):
        mon.set_events(tool, 0)
        tests[test.id()] = {"lines": sorted(current), "seconds": round(secs, 3)}

    suite = unittest.defaultTestLoader.loadTestsFromNames(modules)
    result = Result(on_start, on_stop)
    started = time.monotonic()
    suite.run(result)
    for ident, entry in tests.items():
        entry["outcome"] = result.outcome.get(ident, "pass")
    with open(out, "w") as f:
        json.dump({"python": sys.version, "asyncio": asyncio_dir,
                   "seconds": round(time.monotonic() - started, 1),
                   "order": list(tests), "tests": tests}, f, indent=0)
    failed = [i for i, e in tests.items() if e["outcome"] == "fail"]
    print("%d test cases, %d failed, %.0f s" % (len(tests), len(failed),
                                                 time.monotonic() - started))
    return 1 if failed or not result.wasSuccessful() else 0


def run(specs):
    limits, ids = {}, []
    for spec in specs:
        secs, _, ident = spec.partition(":")
        limits[ident] = float(secs)
        ids.append(ident)
    loader = unittest.defaultTestLoader
    # One suite per module in the order asked, so each module's
    # setUpModule/tearDownModule run around its own tests.
    suite = unittest.TestSuite()
    for ident in ids:
        suite.addTests(list(flatten(loader.loadTestsFromName(ident))))
    result = Result(limits=limits)
    result.failfast = True
    suite.run(result)
    print("ran %d of %d" % (result.testsRun, len(ids)), flush=True)
    return 0 if result.wasSuccessful() else 1


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "cover":
        return cover(sys.argv[2], sys.argv[3:])
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        return run(sys.argv[2:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
