#!/usr/bin/env python3
"""uvloop: a read pipe transport on a pty master loses the last bytes the
slave wrote when the slave is closed (spec R1, R11; seen in X3 on pty).

The script fills a raw-mode pty slave without blocking (about 11 KiB fit
here), closes the slave, and only then reads the master with
connect_read_pipe.  The kernel keeps what the slave wrote readable on the
master until it is read, and only then answers EIO: asyncio delivers every
byte and then connection_lost(EIO) (A7).  uvloop reads one chunk (a pty
read returns at most about 4 KiB, less than libuv asked for), sees POLLHUP
in the same poll result, and takes "hang-up after a short read" as the end
of the stream: connection_lost(None) after the first chunk, and the rest is
never delivered, with nothing to say it was lost.  (libuv's stream code
does this on purpose for pipes and sockets, where a short read plus POLLHUP
does mean the end; on a pty it does not.)

After connection_lost the script reads what is left through a dup of the
master: every byte uvloop did not deliver is still there, so libuv dropped
it; the kernel did not lose it.  (The bench's X3 close-one-other-reads on
a pty, a writer that writes a MiB and closes the slave while the reader
keeps up, loses 8-13 KB to the same shortcut.)

Every step is ordered by the script, so the result does not depend on
timing.  Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import fcntl
import os
import sys

from _repro import new_uvloop, raw_pty, read_pipe, run_until_lost


def trial(loop):
    master, slave = raw_pty()
    flags = fcntl.fcntl(slave, fcntl.F_GETFL)
    fcntl.fcntl(slave, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    written = 0
    try:
        while written < (1 << 20):
            written += os.write(slave, b"x" * 4096)
    except BlockingIOError:
        pass
    os.close(slave)
    spare = os.dup(master)
    _, protocol = read_pipe(loop, master)
    run_until_lost(loop, protocol, 10)
    loop.close()
    left = 0
    os.set_blocking(spare, False)
    try:
        while True:
            data = os.read(spare, 65536)
            if not data:
                break
            left += len(data)
    except OSError:  # EIO: nothing left, or EAGAIN
        pass
    os.close(spare)
    return written, len(protocol.data), left, protocol.exc


for name, new_loop in (("asyncio", asyncio.new_event_loop), ("uvloop", new_uvloop)):
    written, got, left, exc = trial(new_loop())
    print("%s: the slave wrote %d bytes; %d delivered, then connection_lost(%r);"
          " %d still readable on the master after it"
          % (name, written, got, exc, left))
sys.exit(0 if got < written and got + left == written else 1)
