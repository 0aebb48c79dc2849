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
import asyncio
import os
import sys

from _repro import new_uvloop, raw_pty, read_pipe, run_until_lost


def trial(data_waiting):
    loop = new_uvloop()
    master, slave = raw_pty()
    _, protocol = read_pipe(loop, master)
    if data_waiting:
        os.write(slave, b"hello")
    else:
        loop.run_until_complete(asyncio.sleep(0.1))  # the reader is idle
    os.close(slave)
    run_until_lost(loop, protocol)
    loop.close()
    return [e if e != "lost" else "lost(%r)" % (protocol.exc,)
            for e in protocol.events if e != "data"]


idle = trial(False)
waiting = trial(True)
print("slave closes, nothing to read: %s" % idle)
print("slave closes, data waiting:    %s" % waiting)
sys.exit(0 if idle == ["lost(OSError(5, 'Input/output error'))"]
         and waiting == ["eof", "lost(None)"] else 1)
