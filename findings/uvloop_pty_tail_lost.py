#!/usr/bin/env python3
"""uvloop: a read pipe transport on a pty master loses the last bytes the
slave wrote when the slave is closed (spec R1, R11; seen in X3 on pty).

A thread writes 1 MiB to a raw-mode pty slave and closes it; the loop reads
the master with connect_read_pipe.  The kernel keeps what the slave wrote
readable on the master until it is read, and only then answers EIO:
asyncio delivers every byte and then connection_lost(EIO) (A7).  uvloop
reports a clean end of file (connection_lost(None)) several kilobytes
early: the rest is never delivered, and nothing says it was lost.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import os
import pty
import sys
import threading
import tty

try:
    import uvloop
except ImportError:
    sys.exit(77)
import asyncio

TOTAL = 1 << 20


def trial():
    loop = uvloop.new_event_loop()
    master, slave = pty.openpty()
    tty.setraw(slave)
    got = [0]
    done = loop.create_future()

    class Reader(asyncio.Protocol):
        def data_received(self, data):
            got[0] += len(data)

        def connection_lost(self, exc):
            done.set_result(exc)

    def writer():
        view = memoryview(b"x" * TOTAL)
        while view:
            view = view[os.write(slave, view[:65536]):]
        os.close(slave)

    async def main():
        await loop.connect_read_pipe(Reader, os.fdopen(master, "rb", 0))
        thread = threading.Thread(target=writer)
        thread.start()
        exc = await done
        thread.join()
        return exc

    exc = loop.run_until_complete(main())
    loop.close()
    return got[0], exc


for attempt in range(1, 6):
    got, exc = trial()
    if got < TOTAL:
        print("try %d: %d of %d bytes delivered, then connection_lost(%r)"
              % (attempt, got, TOTAL, exc))
        sys.exit(0)
print("5 tries, every byte arrived")
sys.exit(1)
