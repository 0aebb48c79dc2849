#!/usr/bin/env python3
"""uvloop: connect_read_pipe on a regular file kills the process with SIGABRT
(spec C1).

asyncio refuses anything but a FIFO, socket or character device with
ValueError.  uvloop hands the fd to libuv, which aborts the whole process
(an assertion, as epoll cannot watch a regular file) instead of raising:
one bad fd from a caller takes the program down.  The connect runs in a
child process here, so this script survives to report it.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os
import signal
import sys
import tempfile

from _repro import need_uvloop, read_pipe

uvloop = need_uvloop()
pid = os.fork()
if pid == 0:
    loop = uvloop.new_event_loop()
    f = tempfile.TemporaryFile()
    f.write(b"data")
    f.flush()
    try:
        transport, _ = read_pipe(loop, f)
        loop.run_until_complete(asyncio.sleep(0.1))
        transport.close()
        loop.run_until_complete(asyncio.sleep(0))
        os._exit(0)  # accepted and survived
    except (ValueError, OSError):
        os._exit(1)  # refused: what asyncio does
_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    print("connect_read_pipe(regular file): the process died of signal %d (%s)"
          % (os.WTERMSIG(status), signal.Signals(os.WTERMSIG(status)).name))
    sys.exit(0 if os.WTERMSIG(status) == signal.SIGABRT else 1)
print("connect_read_pipe(regular file): %s"
      % ("accepted" if os.WEXITSTATUS(status) == 0 else "refused"))
sys.exit(1)
