#!/usr/bin/env python3
"""asyncio: a write pipe transport on a pty with data buffered when the other
side closes spins the loop at full CPU and never calls connection_lost
(spec E2, F7).

The transport watches a character device for writing only.  Once the pty
slave is closed the master polls as hung up (POLLHUP, which the selectors
report as writable: EpollSelector and PollSelector map any event other
than IN to EVENT_WRITE) but a write still gets EAGAIN once the master's
buffer is full, so _write_ready runs on every iteration without progress.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import time

from _repro import finish, raw_pty, write_pipe

loop = asyncio.new_event_loop()
master, slave = raw_pty()
transport, protocol = write_pipe(loop, master)
transport.write(b"x" * 65536)  # a few KiB fit; the rest is buffered
os.close(slave)  # the reader goes away with data buffered
selects = 0
real_select = loop._selector.select


def counting_select(timeout=None):
    global selects
    selects += 1
    return real_select(timeout)


loop._selector.select = counting_select
cpu = time.process_time()
loop.run_until_complete(asyncio.sleep(0.5))
cpu = time.process_time() - cpu
lost = "lost" in protocol.events
print("0.5 s after the slave closed: %d loop iterations, %.2f s CPU, "
      "connection_lost: %s" % (selects, cpu, lost))
# An idle loop makes a handful of iterations in 0.5 s.
finish(loop, not lost and selects > 100, transport, None if lost else "abort")
