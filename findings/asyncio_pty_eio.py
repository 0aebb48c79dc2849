#!/usr/bin/env python3
"""asyncio: a read pipe on a pty master ends with connection_lost(OSError(EIO))
and no eof_received when the slave side closes (spec R11, OURS).

On Linux a pty master reads EIO once the slave is closed and drained: that
is how a pty says end of file.  asyncio passes the EIO to connection_lost
(it only skips the exception handler for it), so protocols see an error
where a pipe would give eof_received then connection_lost(None).

Exit 0: reproduced.  Exit 1: not reproduced.
"""
import asyncio
import os

from _repro import finish, raw_pty, read_pipe, run_until_lost

loop = asyncio.new_event_loop()
master, slave = raw_pty()
transport, protocol = read_pipe(loop, master)
os.write(slave, b"hello")
os.close(slave)
run_until_lost(loop, protocol)
print("events: %s; connection_lost(%r)" % (protocol.events, protocol.exc))
eio = isinstance(protocol.exc, OSError) and protocol.exc.errno == 5
finish(loop, eio and "eof" not in protocol.events)
