#!/usr/bin/env python3
"""uvloop: pause_reading() called in connection_made does not stick; data
already in the pipe is delivered anyway (spec C5; CPython gh-103607 fixed
the same in asyncio).  Also, is_reading() is False between connect and
connection_made (spec R3).

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
os.write(w, b"early")
got = []


class Proto(asyncio.Protocol):
    def connection_made(self, transport):
        transport.pause_reading()

    def data_received(self, data):
        got.append(data)


transport, _ = loop.run_until_complete(
    loop.connect_read_pipe(Proto, os.fdopen(r, "rb", 0)))
loop.run_until_complete(asyncio.sleep(0.1))
print("paused in connection_made; data_received anyway: %r; is_reading() %s"
      % (got, transport.is_reading()))
transport.close()
loop.run_until_complete(asyncio.sleep(0))
loop.close()
os.close(w)
sys.exit(0 if got else 1)
