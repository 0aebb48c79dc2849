#!/usr/bin/env python3
"""asyncio: raising the write buffer limits of a paused transport so that
the buffer is below the new low-water mark does not call resume_writing
(spec F6, OURS).

set_write_buffer_limits() calls _maybe_pause_protocol() (so lowering the
limits pauses at once) but never _maybe_resume_protocol(): the protocol
stays paused until the buffer drains further, which never happens if the
protocol waits for resume_writing before writing more and the reader waits
for more data.  uvloop does the same (uvloop_limits_no_resume.py).

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio

from _repro import finish, small_pipe, write_pipe

loop = asyncio.new_event_loop()
r, w = small_pipe()
transport, protocol = write_pipe(loop, w)
transport.set_write_buffer_limits(high=1 << 30)
transport.write(b"x" * 200000)  # kernel full, the rest buffered
size = transport.get_write_buffer_size()
transport.set_write_buffer_limits(high=size - 1, low=0)  # pauses at once
transport.set_write_buffer_limits(high=size * 4, low=size)  # size <= low now
print("buffered %d; protocol calls: %s" % (size, protocol.events))
finish(loop, protocol.events == ["pause"], transport, "abort", fds=(r,))
