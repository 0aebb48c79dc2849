#!/usr/bin/env python3
"""asyncio: a read pipe on a pty master ends with connection_lost(OSError(EIO))
and no eof_received when the slave side closes (spec R11, OURS).

On Linux a pty master reads EIO once the slave is closed and drained: that
is how a pty says end of file.  asyncio passes the EIO to connection_lost
(it only skips the exception handler for it), so protocols see an error
where a pipe would give eof_received then connection_lost(None).

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import pty
import sys

loop = asyncio.new_event_loop()
master, slave = pty.openpty()
import tty
tty.setraw(slave)
events = []


class Proto(asyncio.Protocol):
    def data_received(self, data):
        events.append(("data", len(data)))

    def eof_received(self):
        events.append(("eof",))

    def connection_lost(self, exc):
        events.append(("lost", exc))
        loop.stop()


loop.run_until_complete(loop.connect_read_pipe(Proto, os.fdopen(master, "rb", 0)))
os.write(slave, b"hello")
os.close(slave)
loop.call_later(5, loop.stop)
loop.run_forever()
loop.close()
print(events)
lost = [e for e in events if e[0] == "lost"]
eio = lost and isinstance(lost[0][1], OSError) and lost[0][1].errno == 5
sys.exit(0 if eio and ("eof",) not in events else 1)
