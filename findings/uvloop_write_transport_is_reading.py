#!/usr/bin/env python3
"""uvloop: is_reading() on a write pipe transport answers True (spec R13).

A write pipe never reads.  asyncio's write pipe transport has no reading
methods (AttributeError); uvloop's pause_reading() raises
NotImplementedError, but is_reading() claims the transport is reading.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import os
import sys

try:
    import uvloop
except ImportError:
    sys.exit(77)
import asyncio

loop = uvloop.new_event_loop()
r, w = os.pipe()
transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(asyncio.Protocol, os.fdopen(w, "wb", 0)))
answer = transport.is_reading()
try:
    transport.pause_reading()
    pause = "accepted"
except Exception as exc:
    pause = repr(exc)
print("write transport: is_reading() -> %r; pause_reading() -> %s" % (answer, pause))
transport.close()
loop.run_until_complete(asyncio.sleep(0))
loop.close()
os.close(r)
sys.exit(0 if answer is True else 1)
