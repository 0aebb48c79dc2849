#!/usr/bin/env python3
"""asyncio: connect_read_pipe accepts a SOCK_DGRAM socket (spec C1).

The pipe transports check S_ISFIFO/S_ISSOCK/S_ISCHR, so any socket passes,
including datagram sockets, whose message boundaries and "read 0 bytes"
(an empty datagram, not EOF) the stream-oriented transport then misreads.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import socket

from _repro import Recorder, finish, iterate, read_pipe

loop = asyncio.new_event_loop()
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
protocol = Recorder()
try:
    transport, _ = read_pipe(loop, a, protocol)
except ValueError as exc:
    transport = None
    print("refused: %s" % exc)
if transport is not None:
    b.send(b"")  # an empty datagram is read as end of file
    iterate(loop, 3)
b.close()
print("accepted a SOCK_DGRAM socket: %s; events: %s" % (transport is not None, protocol.events))
finish(loop, transport is not None, transport)
