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
import sys

loop = asyncio.SelectorEventLoop(selectors.EpollSelector())
reports = []
loop.set_exception_handler(lambda l, ctx: reports.append(repr(ctx.get("exception"))))
events = []


class Proto(asyncio.Protocol):
    def eof_received(self):
        events.append("eof")

    def connection_lost(self, exc):
        events.append("lost")


try:
    transport, _ = loop.run_until_complete(
        loop.connect_read_pipe(Proto, open("/dev/null", "rb", 0)))
    connected = True
except OSError as exc:
    connected = False
    print("refused at connect: %r" % exc)
for _ in range(3):
    loop.call_soon(loop.stop)
    loop.run_forever()
print("connected: %s; loop reports: %s; protocol events: %s" % (connected, reports, events))
reproduced = connected and bool(reports) and not events
if connected:
    transport.close()
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
sys.exit(0 if reproduced else 1)
