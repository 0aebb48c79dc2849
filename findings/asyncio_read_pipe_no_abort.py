#!/usr/bin/env python3
"""asyncio: a read pipe transport has no abort() (spec D5).

asyncio.Transport documents abort() for every transport, and the socket and
write pipe transports have it; _UnixReadPipeTransport (a ReadTransport)
does not, so code that aborts "any transport" fails with AttributeError on
a read pipe.

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import sys

loop = asyncio.new_event_loop()
r, w = os.pipe()
transport, _ = loop.run_until_complete(
    loop.connect_read_pipe(asyncio.Protocol, os.fdopen(r, "rb", 0)))
has_abort = hasattr(transport, "abort")
print("%s has abort(): %s" % (type(transport).__name__, has_abort))
transport.close()
loop.call_soon(loop.stop)
loop.run_forever()
loop.close()
os.close(w)
sys.exit(1 if has_abort else 0)
