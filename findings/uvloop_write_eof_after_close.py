#!/usr/bin/env python3
"""uvloop: write_eof() on a write pipe transport whose connection is lost
raises RuntimeError "unable to perform operation ...; the handler is
closed" (spec D3, D5).

write_eof() on a pipe is a graceful close; once the transport is closed, a
repeat should be a no-op (asyncio: it is).  uvloop raises, so cleanup code
that ends a transport "in any state" needs a try/except for uvloop only.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio

from _repro import connect_pipe, finish, new_uvloop

loop = new_uvloop()
transport, _, r = connect_pipe(loop, "write")
transport.write_eof()
loop.run_until_complete(asyncio.sleep(0.1))  # connection_lost has run
try:
    transport.write_eof()
    raised = None
except RuntimeError as exc:
    raised = exc
print("write_eof() after the connection is lost: %r" % raised)
finish(loop, raised is not None, transport, "abort", fds=(r,))
