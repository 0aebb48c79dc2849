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

from _repro import finish, iterate, read_pipe, record_reports

loop = asyncio.new_event_loop()
reports = record_reports(loop)
near, far = socket.socketpair()
transport, protocol = read_pipe(loop, near)
# The far end closes with unread data in its receive queue: the near end's
# next read fails with ECONNRESET.
near_dup = socket.fromfd(near.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
near_dup.send(b"unread")
near_dup.close()
far.close()
iterate(loop, 5)
print("connection_lost got: %r" % protocol.exc)
print("exception handler got: %r" % [context.get("message") for context in reports])
finish(loop, isinstance(protocol.exc, ConnectionResetError) and reports)
