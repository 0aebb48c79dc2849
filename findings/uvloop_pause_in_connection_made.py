#!/usr/bin/env python3
"""uvloop: pause_reading() called in connection_made does not stick; data
already in the pipe is delivered anyway (spec C5; CPython gh-103607 fixed
the same in asyncio).  Also, is_reading() is False between connect and
connection_made (spec R3).

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os

from _repro import Recorder, finish, new_uvloop, read_pipe


class Proto(Recorder):
    def connection_made(self, transport):
        transport.pause_reading()


loop = new_uvloop()
r, w = os.pipe()
os.write(w, b"early")
transport, protocol = read_pipe(loop, r, Proto())
loop.run_until_complete(asyncio.sleep(0.1))
print("paused in connection_made; data_received anyway: %r; is_reading() %s"
      % (protocol.data, transport.is_reading()))
finish(loop, protocol.data != b"", transport, fds=(w,))
