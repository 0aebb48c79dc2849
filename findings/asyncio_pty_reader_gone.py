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
import fcntl
import os
import pty
import sys
import tty

loop = asyncio.new_event_loop()
master, slave = pty.openpty()
tty.setraw(slave)
lost = []


class Proto(asyncio.Protocol):
    def connection_lost(self, exc):
        lost.append(exc)


transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(Proto, os.fdopen(master, "wb", 0)))
os.close(slave)  # the reader goes away; nothing is buffered
loop.run_until_complete(asyncio.sleep(0.5))
idle_lost = list(lost)
print("idle: connection_lost after 0.5 s: %r" % idle_lost)
transport.close()
for _ in range(3):
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
sys.exit(0 if not idle_lost else 1)
