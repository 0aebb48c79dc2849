#!/usr/bin/env python3
"""uvloop: the default low-water mark of a write pipe transport is 16 bytes,
not 16 KiB (spec F1).

get_write_buffer_limits() answers (16, 65536): the high mark is 64 KiB as in
asyncio, but the low mark lacks the "* 1024".  A paused protocol is resumed
only when the buffer is almost empty, so writers stall in pause_writing far
longer than with asyncio (16384).

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
from _repro import connect_pipe, finish, need_uvloop

uvloop = need_uvloop()
loop = uvloop.new_event_loop()
transport, _, r = connect_pipe(loop, "write")
limits = transport.get_write_buffer_limits()
print("uvloop %s: (low, high) = %r" % (uvloop.__version__, limits))
finish(loop, limits[0] == 16, transport, fds=(r,))
