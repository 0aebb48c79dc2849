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
import sys

loop = asyncio.new_event_loop()
r, w = os.pipe()
shared = os.dup(w)  # what another process sharing the pipe would see
before = fcntl.fcntl(shared, fcntl.F_GETFL) & os.O_NONBLOCK
transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(asyncio.Protocol, os.fdopen(w, "wb", 0)))
during = fcntl.fcntl(shared, fcntl.F_GETFL) & os.O_NONBLOCK
transport.close()
for _ in range(3):
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
after = fcntl.fcntl(shared, fcntl.F_GETFL) & os.O_NONBLOCK
print("O_NONBLOCK before %s, while connected %s, after close %s"
      % (bool(before), bool(during), bool(after)))
os.close(shared)
os.close(r)
sys.exit(0 if not before and after else 1)
