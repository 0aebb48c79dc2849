#!/usr/bin/env python3
"""asyncio: close() on a read pipe transport whose end of file has been
read, but whose eof_received has not run yet, still delivers
eof_received after the close (spec R8: after close(), no ER).

The read that sees EOF queues eof_received and connection_lost with
call_soon; close() then finds _closing already set and does nothing, so
the protocol hears eof_received although it asked to close.  Found by
pipecheck --fuzz against pipeloop, which had the same bug.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import sys

loop = asyncio.new_event_loop()
r, w = os.pipe()
events = []


class Proto(asyncio.Protocol):
    def eof_received(self):
        events.append("ER")

    def connection_lost(self, exc):
        events.append("CL")


transport, _ = loop.run_until_complete(loop.connect_read_pipe(Proto, os.fdopen(r, "rb", 0)))
os.close(w)  # end of file for the reader
# One iteration at a time until the read of EOF has happened (is_closing).
for _ in range(10):
    if transport.is_closing():
        break
    loop.call_soon(loop.stop)
    loop.run_forever()
transport.close()
events.append("close()")
for _ in range(3):
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
print("events: %s" % " ".join(events))
after = events[events.index("close()") + 1:]
sys.exit(0 if "ER" in after else 1)
