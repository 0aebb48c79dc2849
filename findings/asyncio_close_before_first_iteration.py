#!/usr/bin/env python3
"""asyncio: a write pipe transport closed before the loop ran once keeps its
fd registered after connection_lost (spec D5; R8 for the read side is fine).

_UnixWritePipeTransport.__init__ schedules loop._add_reader (the watch
that sees the reader go away) with call_soon, to run after
connection_made.  close(), write_eof() or abort() called before that
callback ran remove a reader that is not registered yet and schedule
connection_lost; the queued _add_reader then registers the fd anyway, and
connection_lost closes it.  Under PollSelector the closed fd polls as
POLLNVAL, which the selector reports as readable, so _read_ready runs on
every iteration after connection_lost and fails on self._loop (None):
the loop reports an AttributeError each time and never goes idle.  (Under
epoll the kernel drops a closed fd from the set, unless another process or
fd still holds the file; the selector keeps its stale key either way.)
The read pipe transport guards its deferred _add_reader with is_reading()
since 3.11; the write pipe's has no guard.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import selectors
import sys

from _repro import Recorder, iterate, record_reports

loop = asyncio.SelectorEventLoop(selectors.PollSelector())
errors = record_reports(loop)
protocol = Recorder()
r, w = os.pipe()
# What connect_write_pipe does before it awaits: the transport exists, its
# connection_made and _add_reader are queued, the loop has not run yet.
transport = loop._make_write_pipe_transport(os.fdopen(w, "wb", 0), protocol)
transport.close()
iterate(loop, 5)
lost = protocol.events.count("lost")
print("connection_lost calls: %d; exceptions the loop reported in 5 iterations: %d%s"
      % (lost, len(errors), (" (%r)" % errors[0].get("exception")) if errors else ""))
try:
    loop.close()
except Exception:
    pass
os.close(r)
sys.exit(0 if lost == 1 and len(errors) >= 2 else 1)
