#!/usr/bin/env python3
"""asyncio: write() after close() on a write pipe transport is silently
dropped: no exception, no return value, nothing sent (spec W6, OURS).

The caller cannot tell that its data was thrown away.  (asyncio counts
such writes and logs a warning from the sixth write after close() on,
before or after connection_lost; before that, nothing.)

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os

from _repro import connect_pipe, finish, iterate

loop = asyncio.new_event_loop()
transport, _, r = connect_pipe(loop, "write")
transport.close()
try:
    result = transport.write(b"lost")
    raised = None
except Exception as exc:  # what pipeloop does: refuse
    result, raised = None, exc
iterate(loop, 3)
data = os.read(r, 100)
print("write after close returned %r, raised %r; the reader got %r" % (result, raised, data))
finish(loop, raised is None and data == b"", fds=(r,))
