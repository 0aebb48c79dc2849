#!/usr/bin/env python3
"""uvloop: is_reading() on a write pipe transport answers True (spec R13).

A write pipe never reads.  asyncio's write pipe transport has no reading
methods (AttributeError); uvloop's pause_reading() raises
NotImplementedError, but is_reading() claims the transport is reading.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
from _repro import connect_pipe, finish, new_uvloop

loop = new_uvloop()
transport, _, r = connect_pipe(loop, "write")
answer = transport.is_reading()
try:
    transport.pause_reading()
    pause = "accepted"
except Exception as exc:
    pause = repr(exc)
print("write transport: is_reading() -> %r; pause_reading() -> %s" % (answer, pause))
finish(loop, answer is True, transport, fds=(r,))
