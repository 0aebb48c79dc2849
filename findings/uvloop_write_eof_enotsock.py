#!/usr/bin/env python3
"""uvloop: write_eof() on a write pipe transport with nothing queued ends
it with connection_lost(OSError ENOTSOCK) (spec D3).

On a pipe, write_eof() is a graceful close: asyncio closes the pipe and
calls connection_lost(None).  uvloop shuts the write side down with
libuv's uv_shutdown(), which is shutdown(2), and a pipe is not a socket:
the transport ends with connection_lost(ENOTSOCK), an error for a close
the program asked for.  (With data still queued, a close() made before it
drains wins and the end is clean.)

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import errno

from _repro import connect_pipe, finish, new_uvloop, run_until_lost

loop = new_uvloop()
transport, protocol, r = connect_pipe(loop, "write")
transport.write_eof()
run_until_lost(loop, protocol)
print("write_eof() with nothing queued: events %s, connection_lost(%r)"
      % (protocol.events, protocol.exc))
finish(loop, isinstance(protocol.exc, OSError) and protocol.exc.errno == errno.ENOTSOCK,
       None, fds=(r,))
