#!/usr/bin/env python3
"""asyncio: a paused write pipe transport calls resume_writing only when its
buffer is empty, not when it drops to the low-water mark (spec F4).

_UnixWritePipeTransport._write_ready calls _maybe_resume_protocol() only
after a write that empties the buffer; a partial write just trims it.  The
socket transports (selector_events _write_send, _write_sendmsg) call it
after every successful send, so they resume at <= low as documented.  A
protocol that waits for resume_writing before producing more therefore
lets the pipe run dry before it refills it.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os

from _repro import Recorder, finish, iterate, small_pipe, write_pipe


class Proto(Recorder):
    def resume_writing(self):
        resumed_at.append(transport.get_write_buffer_size())


loop = asyncio.new_event_loop()
r, w = small_pipe()  # the kernel takes 4 KiB at a time
resumed_at = []
transport, _ = write_pipe(loop, w, Proto())
transport.set_write_buffer_limits(high=16384, low=8192)
transport.write(b"x" * 65536)  # 4 KiB sent, the rest buffered: paused
got = 0
while not resumed_at and got < 65536:
    got += len(os.read(r, 4096))  # room for one more chunk
    iterate(loop)  # one iteration: _write_ready writes one chunk
print("low-water mark 8192; resume_writing with %r bytes buffered" % resumed_at)
finish(loop, resumed_at == [0], transport, "abort", fds=(r,))
