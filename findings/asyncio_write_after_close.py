#!/usr/bin/env python3
"""asyncio: write() after close() on a write pipe transport is silently
dropped: no exception, no return value, nothing sent (spec W6, OURS).

The caller cannot tell that its data was thrown away.  (After the
connection is lost, asyncio counts such writes and logs a warning from the
fifth on; before that, nothing.)

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os
import sys

loop = asyncio.new_event_loop()
r, w = os.pipe()
transport, _ = loop.run_until_complete(
    loop.connect_write_pipe(asyncio.Protocol, os.fdopen(w, "wb", 0)))
transport.close()
try:
    result = transport.write(b"lost")
    raised = None
except Exception as exc:  # what pipeloop does: refuse
    result, raised = None, exc
for _ in range(3):
    loop.call_soon(loop.stop)
    loop.run_forever()
loop.close()
data = os.read(r, 100)
os.close(r)
print("write after close returned %r, raised %r; the reader got %r" % (result, raised, data))
sys.exit(0 if raised is None and data == b"" else 1)
