#!/usr/bin/env python3
"""uvloop: how a read pipe on a pty master ends when the slave closes depends
on whether data is still waiting (spec R11, OURS; asyncio's A7).

With nothing left to read, the master's read fails with EIO and uvloop
reports connection_lost(OSError(EIO)), as asyncio does (A7).  With data
still waiting when the slave closes, libuv reads one chunk, sees POLLHUP
in the same poll result and ends the stream there (U11): eof_received,
then connection_lost(None).  So a uvloop protocol sees either ending for
the same event, depending on timing.

Exit 0: reproduced (both endings as described).  Exit 1: not reproduced.
Exit 77: no uvloop.
"""
import os
import pty
import sys
import tty

try:
    import uvloop
except ImportError:
    sys.exit(77)
import asyncio


def trial(data_waiting):
    loop = uvloop.new_event_loop()
    master, slave = pty.openpty()
    tty.setraw(slave)
    events = []

    class Proto(asyncio.Protocol):
        def data_received(self, data):
            events.append("data")

        def eof_received(self):
            events.append("eof_received")

        def connection_lost(self, exc):
            events.append("connection_lost(%r)" % (exc,))
            loop.stop()

    loop.run_until_complete(loop.connect_read_pipe(Proto, os.fdopen(master, "rb", 0)))
    if data_waiting:
        os.write(slave, b"hello")
    else:
        loop.run_until_complete(asyncio.sleep(0.1))  # the reader is idle
    os.close(slave)
    handle = loop.call_later(5, loop.stop)
    loop.run_forever()
    handle.cancel()
    loop.close()
    return [e for e in events if e != "data"]


idle = trial(False)
waiting = trial(True)
print("slave closes, nothing to read: %s" % idle)
print("slave closes, data waiting:    %s" % waiting)
sys.exit(0 if idle == ["connection_lost(OSError(5, 'Input/output error'))"]
         and waiting == ["eof_received", "connection_lost(None)"] else 1)
