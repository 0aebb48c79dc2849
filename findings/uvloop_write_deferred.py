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
import sys

try:
    import uvloop
except ImportError:
    sys.exit(77)
import asyncio

loop = uvloop.new_event_loop()
r, w = os.pipe()
paused = []


class Proto(asyncio.Protocol):
    def pause_writing(self):
        paused.append(True)


transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(Proto, os.fdopen(w, "wb", 0)))
transport.write(b"x" * 1000)
size = transport.get_write_buffer_size()
fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
try:
    in_pipe = len(os.read(r, 4096))
except BlockingIOError:
    in_pipe = 0
print("after write(1000) into an empty pipe: in the pipe %d, buffered %d" % (in_pipe, size))
transport.abort()
loop.run_until_complete(asyncio.sleep(0))
loop.close()
os.close(r)
sys.exit(0 if in_pipe == 0 and size == 1000 else 1)
