#!/usr/bin/env python3
"""uvloop: a write pipe transport calls protocol.eof_received() when the
reader closes (spec E1); asyncio calls connection_lost(None) only.

A write pipe never receives anything; asyncio's protocols for write pipes
(and BaseProtocol, which has no eof_received) are not written for it.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os

from _repro import connect_pipe, finish, new_uvloop

loop = new_uvloop()
transport, protocol, r = connect_pipe(loop, "write")
os.close(r)
loop.run_until_complete(asyncio.sleep(0.2))
print("write pipe, reader closed: %s" % protocol.events)
finish(loop, "eof" in protocol.events)
