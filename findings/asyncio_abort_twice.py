#!/usr/bin/env python3
"""asyncio: abort() after close() or abort() on a write pipe transport raises
AttributeError inside the loop (spec D4, D5).

Each of close+abort and abort+abort schedules _call_connection_lost twice;
the second run finds self._pipe already None and the loop's exception
handler gets "AttributeError: 'NoneType' object has no attribute 'close'".
connection_lost runs once, but the loop reports an exception.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import sys

from _repro import connect_pipe, iterate, record_reports


def attempt(first, second):
    loop = asyncio.new_event_loop()
    reports = record_reports(loop)
    transport, _, r = connect_pipe(loop, "write")
    getattr(transport, first)()
    getattr(transport, second)()
    iterate(loop, 3)
    loop.close()
    os.close(r)
    return [repr(context.get("exception")) for context in reports]


found = False
for first, second in (("close", "abort"), ("abort", "abort")):
    errors = attempt(first, second)
    print("%s() then %s(): exceptions reported by the loop: %s" % (first, second, errors))
    found |= any("AttributeError" in e for e in errors)
sys.exit(0 if found else 1)
