#!/usr/bin/env python3
"""asyncio: connect_read_pipe accepts a SOCK_DGRAM socket (spec C1).

The pipe transports check S_ISFIFO/S_ISSOCK/S_ISCHR, so any socket passes,
including datagram sockets, whose message boundaries and "read 0 bytes"
(an empty datagram, not EOF) the stream-oriented transport then misreads.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import socket
import sys

loop = asyncio.new_event_loop()
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
events = []


class Proto(asyncio.Protocol):
    def data_received(self, data):
        events.append(("data", data))

    def eof_received(self):
        events.append(("eof",))


try:
    transport, _ = loop.run_until_complete(loop.connect_read_pipe(Proto, a))
    accepted = True
except ValueError as exc:
    accepted = False
    print("refused: %s" % exc)
if accepted:
    b.send(b"")  # an empty datagram is read as end of file
    for _ in range(3):
        loop.call_soon(loop.stop)
        loop.run_forever()
    transport.close()
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
b.close()
print("accepted a SOCK_DGRAM socket: %s; events: %s" % (accepted, events))
sys.exit(0 if accepted else 1)
