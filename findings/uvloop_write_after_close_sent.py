#!/usr/bin/env python3
"""uvloop: write() after close() on a write pipe transport that still has
data queued is sent (spec W6).

close() on a write transport is a graceful close: what was written before
it still goes out, and later writes are dropped (asyncio, silently) or
refused (pipeloop).  uvloop, when close() finds data still queued, takes a
later write into that queue and sends it with the rest: the reader gets
bytes the program wrote after it said it was done.  (With nothing queued
the late write is dropped.  Since uvloop queues every write until the
loop runs, finding U3, "data still queued" is any write made in the same
iteration as close().)

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import fcntl
import os
import time

from _repro import finish, iterate, new_uvloop, small_pipe, write_pipe

loop = new_uvloop()
r, w = small_pipe()
transport, protocol = write_pipe(loop, w)
transport.write(b"a" * 10000)  # more than the 4 KiB pipe holds
transport.close()
transport.write(b"late")
fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
data = b""
deadline = time.monotonic() + 5
eof = False
while not eof and time.monotonic() < deadline:
    iterate(loop)
    try:
        chunk = os.read(r, 65536)
    except BlockingIOError:
        continue
    eof = not chunk
    data += chunk
print("10000 bytes written, close(), then write(b'late'): the reader got %d bytes, "
      "ending %r; connection_lost: %s" % (len(data), data[-8:], "lost" in protocol.events))
finish(loop, data == b"a" * 10000 + b"late", None, fds=(r,))
