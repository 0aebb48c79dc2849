#!/usr/bin/env python3
"""asyncio: a read error on a pipe transport (ECONNRESET on an AF_UNIX
stream socket) goes to connection_lost(exc) *and* to the loop's exception
handler as "Fatal read error on pipe transport" (spec R10).

The protocol already gets the error; reporting it again as an unhandled
exception makes an expected peer reset look like a bug in the program.
EIO is special-cased (logged at debug only); other errors are not.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import socket
import sys

loop = asyncio.new_event_loop()
reports = []
loop.set_exception_handler(lambda l, ctx: reports.append(ctx.get("message")))
near, far = socket.socketpair()
lost = []


class Proto(asyncio.Protocol):
    def connection_lost(self, exc):
        lost.append(exc)


transport, _ = loop.run_until_complete(loop.connect_read_pipe(Proto, near))
# The far end closes with unread data in its receive queue: the near end's
# next read fails with ECONNRESET.
near_dup = socket.fromfd(near.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
near_dup.send(b"unread")
near_dup.close()
far.close()
for _ in range(5):
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
print("connection_lost got: %r" % lost)
print("exception handler got: %r" % reports)
sys.exit(0 if lost and isinstance(lost[0], ConnectionResetError) and reports else 1)
