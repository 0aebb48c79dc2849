#!/usr/bin/env python3
"""uvloop: a child started with subprocess_exec inherits the parent's
inheritable file descriptors (spec S8).

subprocess_exec takes Popen's arguments, and close_fds=True is their
default: asyncio's child gets only its stdio.  uvloop's (libuv's
uv_spawn) keeps every fd that is not close-on-exec, so a pipe end the
program made inheritable for some other child - or one it received over a
UNIX socket, which Python does not mark close-on-exec - ends up in every
child, and a reader of that pipe never sees EOF while any child lives.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os
import sys

from _repro import new_uvloop

r, w = os.pipe()
os.set_inheritable(w, True)


async def child_fds():
    proc = await asyncio.create_subprocess_exec(
        "ls", "/proc/self/fd", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return sorted(int(n) for n in out.split())


loop = new_uvloop()
fds = loop.run_until_complete(child_fds())
loop.close()
print("parent's inheritable fd %d; the child's fds: %s" % (w, fds))
sys.exit(0 if w in fds else 1)
