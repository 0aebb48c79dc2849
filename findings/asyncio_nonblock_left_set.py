#!/usr/bin/env python3
"""asyncio: connect_read_pipe/connect_write_pipe set O_NONBLOCK on the open
file description and leave it set after the transport closes (spec C6,
OURS; X1).

O_NONBLOCK belongs to the description, which a dup, a parent shell or a
sibling process shares: after asyncio used a shared stdin/stdout, other
processes get EAGAIN from reads and writes they expect to block.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import fcntl
import os

from _repro import finish, iterate, write_pipe

loop = asyncio.new_event_loop()
r, w = os.pipe()
shared = os.dup(w)  # what another process sharing the pipe would see
before = fcntl.fcntl(shared, fcntl.F_GETFL) & os.O_NONBLOCK
transport, _ = write_pipe(loop, w)
during = fcntl.fcntl(shared, fcntl.F_GETFL) & os.O_NONBLOCK
transport.close()
iterate(loop, 3)
after = fcntl.fcntl(shared, fcntl.F_GETFL) & os.O_NONBLOCK
print("O_NONBLOCK before %s, while connected %s, after close %s"
      % (bool(before), bool(during), bool(after)))
finish(loop, not before and after, fds=(shared, r))
