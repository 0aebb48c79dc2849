#!/usr/bin/env python3
"""asyncio: connect_read_pipe on /dev/null succeeds with the epoll selector
and the failure to watch it surfaces later, inside the loop (spec C2, OURS).

epoll refuses /dev/null (EPERM).  asyncio registers the reader in a
callback after connect returned, so the coroutine reports success and the
PermissionError reaches the loop's exception handler instead; the
transport then never reads and never closes.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import selectors

from _repro import Recorder, finish, iterate, read_pipe, record_reports

loop = asyncio.SelectorEventLoop(selectors.EpollSelector())
reports = record_reports(loop)
protocol = Recorder()
try:
    transport, _ = read_pipe(loop, open("/dev/null", "rb", 0), protocol)
except OSError as exc:
    transport = None
    print("refused at connect: %r" % exc)
iterate(loop, 3)
print("connected: %s; loop reports: %s; protocol events: %s"
      % (transport is not None, [repr(c.get("exception")) for c in reports], protocol.events))
finish(loop, transport is not None and reports and not protocol.events, transport)
