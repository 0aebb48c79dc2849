#!/usr/bin/env python3
"""uvloop: if eof_received() returns True, a read pipe transport stays open
after end of file and connection_lost never comes (spec R7).

For pipes there is nothing to keep half-open: asyncio ignores the return
value and closes.  uvloop keeps the transport (and the fd) until the
program closes it, so a protocol written for asyncio leaks it.

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
        events.append("eof")
        return True

    def connection_lost(self, exc):
        events.append("lost")


transport, _ = loop.run_until_complete(
    loop.connect_read_pipe(Proto, os.fdopen(r, "rb", 0)))
os.close(w)
loop.run_until_complete(asyncio.sleep(0.3))
print("events after EOF and 0.3 s: %s; is_closing() %s" % (events, transport.is_closing()))
reproduced = events == ["eof"]
transport.close()
loop.run_until_complete(asyncio.sleep(0))
loop.close()
sys.exit(0 if reproduced else 1)
