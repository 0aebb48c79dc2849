#!/usr/bin/env python3
"""uvloop: a write pipe transport on a pty master with data buffered when the
slave closes spins the loop at full CPU and never calls connection_lost
(spec E5, E2).

After the slave closes, uvloop calls eof_received (U6) and starts a
graceful close, which waits for the buffer to drain.  It never drains: the
hung-up master polls as POLLHUP, which libuv's stream code
(uv__stream_io) treats as "try to write" (POLLOUT | POLLERR | POLLHUP),
and write() still gets EAGAIN, after which uv__write arms POLLOUT again.
Epoll reports the hang-up on every call, so the loop never waits.  The
script counts the process's write(2) calls (syscw in /proc/self/io, which
counts failed calls too) over 0.5 s of the loop running after the close.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os
import pty
import sys
import tty

try:
    import uvloop
except ImportError:
    sys.exit(77)


def write_calls():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    return 0


loop = uvloop.new_event_loop()
master, slave = pty.openpty()
tty.setraw(slave)
events = []


class Proto(asyncio.Protocol):
    def eof_received(self):
        events.append("eof_received")

    def connection_lost(self, exc):
        events.append("connection_lost(%r)" % (exc,))


transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(Proto, os.fdopen(master, "wb", 0)))
transport.write(b"x" * 65536)  # a few KiB fit; the rest is buffered
loop.run_until_complete(asyncio.sleep(0.05))
buffered = transport.get_write_buffer_size()
os.close(slave)  # the reader goes away with data buffered
before = write_calls()
loop.run_until_complete(asyncio.sleep(0.5))
writes = write_calls() - before
lost_in_time = [e for e in events if e.startswith("connection_lost")]
print("%d bytes buffered; 0.5 s after the slave closed: %d write calls, "
      "callbacks: %s" % (buffered, writes, ", ".join(events) or "none"))
if not lost_in_time:
    transport.abort()
loop.run_until_complete(asyncio.sleep(0))
loop.close()
# An idle loop writes nothing in 0.5 s.
sys.exit(0 if buffered and not lost_in_time and writes > 100 else 1)
