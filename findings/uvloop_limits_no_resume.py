#!/usr/bin/env python3
"""uvloop: raising the write buffer limits of a paused transport so that the
buffer is at or below the new low-water mark does not call resume_writing
(spec F6, OURS; the same as asyncio, A10).

UVBaseTransport.set_write_buffer_limits() ends with _maybe_pause_protocol()
only, as asyncio's does: the protocol stays paused until a write completes
and the buffer drains.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import fcntl
import os
import sys

try:
    import uvloop
except ImportError:
    sys.exit(77)
import asyncio

F_SETPIPE_SZ = 1031
loop = uvloop.new_event_loop()
r, w = os.pipe()
fcntl.fcntl(w, F_SETPIPE_SZ, 4096)  # a small pipe fills at once
calls = []


class Proto(asyncio.Protocol):
    def pause_writing(self):
        calls.append("pause")

    def resume_writing(self):
        calls.append("resume")


def iterations(n):
    for _ in range(n):
        loop.call_soon(loop.stop)
        loop.run_forever()


transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(Proto, os.fdopen(w, "wb", 0)))
transport.set_write_buffer_limits(high=1 << 30)
transport.write(b"x" * 200000)
iterations(3)  # uvloop writes at the end of the iteration (U3)
size = transport.get_write_buffer_size()
transport.set_write_buffer_limits(high=size - 1, low=0)  # pauses at once
transport.set_write_buffer_limits(high=size * 4, low=size)  # size <= low now
iterations(3)
print("buffered %d; protocol calls: %s" % (size, calls))
transport.abort()
iterations(1)
loop.close()
os.close(r)
sys.exit(0 if size > 0 and calls == ["pause"] else 1)
