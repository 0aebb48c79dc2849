"""What the finding scripts share: a protocol that records its callbacks,
pipe and pty set-up, loop iterations and the clean-up-and-exit tail.

A script imports what it uses from here (`from _repro import ...`); the
copy sent upstream is one file, made by `python3 findings/bundle.py NAME`,
which puts this module's code in place of that import line.  So: plain
definitions only, no import of another project file, CPython 3.6+.
"""
import asyncio
import fcntl
import os
import pty
import sys
import tty


def need_uvloop():
    """The uvloop module, or exit 77 (cannot run here) when it is missing."""
    try:
        import uvloop
    except ImportError:
        print("uvloop is not installed")
        sys.exit(77)
    return uvloop


def new_uvloop():
    """A new uvloop event loop, or exit 77 when uvloop is missing."""
    return need_uvloop().new_event_loop()


def record_reports(loop):
    """A list that collects the context of each error the loop's exception
    handler receives."""
    reports = []
    loop.set_exception_handler(lambda _, context: reports.append(context))
    return reports


class Recorder(asyncio.Protocol):
    """A protocol that writes each callback down in self.events: "data",
    "eof", "lost", "pause", "resume".  connection_lost's exception is kept
    in self.exc; eof_received returns self.eof_answer; self.on_lost, if
    set, is called after connection_lost."""

    eof_answer = None
    on_lost = None

    def __init__(self):
        self.events = []
        self.data = b""
        self.exc = None

    def data_received(self, data):
        self.events.append("data")
        self.data += data

    def eof_received(self):
        self.events.append("eof")
        return self.eof_answer

    def connection_lost(self, exc):
        self.events.append("lost")
        self.exc = exc
        if self.on_lost is not None:
            self.on_lost()

    def pause_writing(self):
        self.events.append("pause")

    def resume_writing(self):
        self.events.append("resume")


def read_pipe(loop, fd, protocol=None):
    """Connect fd (an int, opened unbuffered, or a file object) as a read
    pipe transport; protocol defaults to a new Recorder.  Returns
    (transport, protocol)."""
    if isinstance(fd, int):
        fd = os.fdopen(fd, "rb", 0)
    protocol = Recorder() if protocol is None else protocol
    return loop.run_until_complete(loop.connect_read_pipe(lambda: protocol, fd))


def write_pipe(loop, fd, protocol=None):
    """read_pipe's twin for a write pipe transport."""
    if isinstance(fd, int):
        fd = os.fdopen(fd, "wb", 0)
    protocol = Recorder() if protocol is None else protocol
    return loop.run_until_complete(loop.connect_write_pipe(lambda: protocol, fd))


def connect_pipe(loop, direction, protocol=None):
    """Make a pipe and connect one end as a "read" or "write" pipe
    transport.  Returns (transport, protocol, the other end's fd)."""
    r, w = os.pipe()
    if direction == "read":
        return read_pipe(loop, r, protocol) + (w,)
    return write_pipe(loop, w, protocol) + (r,)


def small_pipe():
    """A pipe as (r, w) whose buffer holds 4 KiB (F_SETPIPE_SZ), so that a
    writer fills it at once."""
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ, which fcntl names from 3.10
    return r, w


def raw_pty():
    """A new pty as (master, slave), the slave in raw mode (no echo, no
    line editing: bytes pass as they are)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    return master, slave


def iterate(loop, n=1):
    """Run n iterations of the loop (each runs what is ready, then stops)."""
    for _ in range(n):
        loop.call_soon(loop.stop)
        loop.run_forever()


def run_until_lost(loop, protocol, timeout=5):
    """Run the loop until protocol (a Recorder) has had connection_lost, or
    for timeout seconds."""
    protocol.on_lost = loop.stop
    if "lost" not in protocol.events:
        handle = loop.call_later(timeout, loop.stop)
        loop.run_forever()
        handle.cancel()


def finish(loop, reproduced, transport=None, end="close", fds=()):
    """The tail of every script: end the transport (its method named by
    end: "close", "abort"; None leaves it), run three iterations for the
    callbacks that queues, close the loop and fds, and exit 0 when
    reproduced, else 1."""
    if transport is not None and end is not None:
        getattr(transport, end)()
    iterate(loop, 3)
    loop.close()
    for fd in fds:
        os.close(fd)
    sys.exit(0 if reproduced else 1)
