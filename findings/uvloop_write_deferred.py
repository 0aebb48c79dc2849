#!/usr/bin/env python3
"""uvloop: write() on a write pipe transport sends nothing until the loop
runs (spec W2, W5; and through them F3, F5, F7).

asyncio tries os.write() at once and buffers only what the kernel refused;
uvloop queues the data and writes at the end of the loop iteration.  So
right after write() the bytes are not in the pipe and
get_write_buffer_size() counts all of them, though the pipe had room.
Code that writes and then blocks on the other end without running the loop
waits forever.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import fcntl
import os

from _repro import connect_pipe, finish, new_uvloop

loop = new_uvloop()
transport, _, r = connect_pipe(loop, "write")
transport.write(b"x" * 1000)
size = transport.get_write_buffer_size()
fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
try:
    in_pipe = len(os.read(r, 4096))
except BlockingIOError:
    in_pipe = 0
print("after write(1000) into an empty pipe: in the pipe %d, buffered %d" % (in_pipe, size))
finish(loop, in_pipe == 0 and size == 1000, transport, "abort", fds=(r,))
