#!/usr/bin/env python3
"""asyncio: a write pipe transport on a pty never learns that the other side
closed (spec E1, E2, F7).

For pipes and sockets, _UnixWritePipeTransport also watches the fd for
reading, to see the reader go away (EOF/HUP) while it has nothing to write.
For character devices it does not, so a transport writing to a pty whose
slave side is closed gets no connection_lost while idle; with data
buffered the loop wakes up for the fd again and again without progress.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os

from _repro import finish, raw_pty, write_pipe

loop = asyncio.new_event_loop()
master, slave = raw_pty()
transport, protocol = write_pipe(loop, master)
os.close(slave)  # the reader goes away; nothing is buffered
loop.run_until_complete(asyncio.sleep(0.5))
lost = "lost" in protocol.events
print("idle: connection_lost within 0.5 s: %s" % lost)
finish(loop, not lost, transport)
