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

from _repro import connect_pipe, finish, iterate

loop = asyncio.new_event_loop()
transport, protocol, w = connect_pipe(loop, "read")
os.close(w)  # end of file for the reader
# One iteration at a time until the read of EOF has happened (is_closing).
for _ in range(10):
    if transport.is_closing():
        break
    iterate(loop)
transport.close()
protocol.events.append("close()")
iterate(loop, 3)
print("events: %s" % " ".join(protocol.events))
finish(loop, "eof" in protocol.events[protocol.events.index("close()") + 1:])
