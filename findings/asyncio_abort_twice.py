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


def attempt(first, second):
    loop = asyncio.new_event_loop()
    errors = []
    loop.set_exception_handler(lambda l, ctx: errors.append(ctx))
    r, w = os.pipe()
    transport, _ = loop.run_until_complete(
        loop.connect_write_pipe(asyncio.Protocol, os.fdopen(w, "wb", 0)))
    getattr(transport, first)()
    getattr(transport, second)()
    for _ in range(3):
        loop.call_soon(loop.stop)
        loop.run_forever()
    loop.close()
    os.close(r)
    return [repr(ctx.get("exception")) for ctx in errors]


found = False
for first, second in (("close", "abort"), ("abort", "abort")):
    errors = attempt(first, second)
    print("%s() then %s(): exceptions reported by the loop: %s" % (first, second, errors))
    found |= any("AttributeError" in e for e in errors)
sys.exit(0 if found else 1)
