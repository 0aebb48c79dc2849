#!/usr/bin/env python3
"""uvloop: a write pipe transport calls protocol.eof_received() when the
reader closes (spec E1); asyncio calls connection_lost(None) only.

A write pipe never receives anything; asyncio's protocols for write pipes
(and BaseProtocol, which has no eof_received) are not written for it.

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
events = []


class Proto(asyncio.Protocol):
    def eof_received(self):
        events.append("eof_received")

    def connection_lost(self, exc):
        events.append("connection_lost(%r)" % exc)


loop.run_until_complete(loop.connect_write_pipe(Proto, os.fdopen(w, "wb", 0)))
os.close(r)
loop.run_until_complete(asyncio.sleep(0.2))
loop.close()
print("write pipe, reader closed: %s" % events)
sys.exit(0 if "eof_received" in events else 1)
