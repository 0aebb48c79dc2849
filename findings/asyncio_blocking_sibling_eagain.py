#!/usr/bin/env python3
"""asyncio: connecting a pipe transport makes the *shared* open file
description non-blocking, so another process that shares it (a sibling in
a shell pipeline, the parent shell) gets EAGAIN from a blocking read
(spec X2; X1 is the OURS item behind it).

O_NONBLOCK belongs to the open file description, not to the fd.  Here a
child process inherits the read end of a pipe, the parent connects a read
pipe transport on its own copy, and the child's plain blocking os.read()
on an empty pipe fails at once with BlockingIOError instead of waiting.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import time

from _repro import finish, read_pipe

r, w = os.pipe()
shared = os.dup(r)  # what another process sharing the pipe holds
loop = asyncio.new_event_loop()
transport, _ = read_pipe(loop, r)
transport.pause_reading()  # leave any data to the other process
pid = os.fork()
if pid == 0:
    try:
        os.read(shared, 1)  # blocks until the parent writes, if blocking
        os._exit(0)
    except BlockingIOError:
        os._exit(3)
os.close(shared)
# A blocking read waits; a non-blocking one fails at once.  Give the child
# two seconds to fail, then feed it a byte so that it finishes either way.
status = None
deadline = time.monotonic() + 2
while status is None and time.monotonic() < deadline:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
    else:
        time.sleep(0.01)
if status is None:
    os.write(w, b"x")
    _, status = os.waitpid(pid, 0)
eagain = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3
print("the other process's blocking read %s"
      % ("failed with EAGAIN" if eagain else "waited for data"))
finish(loop, eagain, transport, fds=(w,))
