#!/usr/bin/env python3
"""uvloop: raising the write buffer limits of a paused transport so that the
buffer is at or below the new low-water mark does not call resume_writing
(spec F6, OURS; the same as asyncio, A10).

UVBaseTransport.set_write_buffer_limits() ends with _maybe_pause_protocol()
only, as asyncio's does: the protocol stays paused until a write completes
and the buffer drains.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
from _repro import finish, iterate, new_uvloop, small_pipe, write_pipe

loop = new_uvloop()
r, w = small_pipe()  # a small pipe fills at once
transport, protocol = write_pipe(loop, w)
transport.set_write_buffer_limits(high=1 << 30)
transport.write(b"x" * 200000)
iterate(loop, 3)  # uvloop writes at the end of the iteration (U3)
size = transport.get_write_buffer_size()
transport.set_write_buffer_limits(high=size - 1, low=0)  # pauses at once
transport.set_write_buffer_limits(high=size * 4, low=size)  # size <= low now
iterate(loop, 3)
print("buffered %d; protocol calls: %s" % (size, protocol.events))
finish(loop, size > 0 and protocol.events == ["pause"], transport, "abort", fds=(r,))
