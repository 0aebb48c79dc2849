#!/usr/bin/env python3
"""uvloop: if eof_received() returns True, a read pipe transport stays open
after end of file and connection_lost never comes (spec R7).

For pipes there is nothing to keep half-open: asyncio ignores the return
value and closes.  uvloop keeps the transport (and the fd) until the
program closes it, so a protocol written for asyncio leaks it.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os

from _repro import Recorder, finish, new_uvloop, read_pipe

loop = new_uvloop()
r, w = os.pipe()
protocol = Recorder()
protocol.eof_answer = True  # keep the transport open
transport, _ = read_pipe(loop, r, protocol)
os.close(w)
loop.run_until_complete(asyncio.sleep(0.3))
print("events after EOF and 0.3 s: %s; is_closing() %s" % (protocol.events, transport.is_closing()))
finish(loop, protocol.events == ["eof"], transport)
