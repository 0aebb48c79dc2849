#!/usr/bin/env python3
"""asyncio: a read pipe transport has no abort() (spec D5).

asyncio.Transport documents abort() for every transport, and the socket and
write pipe transports have it; _UnixReadPipeTransport (a ReadTransport)
does not, so code that aborts "any transport" fails with AttributeError on
a read pipe.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio

from _repro import connect_pipe, finish

loop = asyncio.new_event_loop()
transport, _, w = connect_pipe(loop, "read")
has_abort = hasattr(transport, "abort")
print("%s has abort(): %s" % (type(transport).__name__, has_abort))
finish(loop, not has_abort, transport, fds=(w,))
