#!/usr/bin/env python3
"""pipecheck subject adapter: CPython's asyncio or uvloop under the bench.

pipecheck starts this program once per test instance with its end of a
socketpair on the fd named by $PIPECHECK_SUBJECT_FD and drives the loop's
UNIX pipe transports through the protocol of docs/subject-protocol.md:
the bench passes the near end of each pipe with SCM_RIGHTS, asks for
operations (answered with ok/err) and loop steps (answered with done), and
gets every protocol callback as an event message; inside a callback this
program waits for the bench's "return", answering any operations the bench
sends meanwhile, so the bench's hooks act inside the callback for real.

    pipecheck --subject asyncio        # this program, --loop asyncio
    pipecheck --subject uvloop         # this program, --loop uvloop

How one bench "step" (one iteration that waits at most T) maps:

asyncio  One _run_once of the loop, started the way the documentation says
         runs exactly one iteration: loop.stop() then loop.run_forever().
         A stopped loop polls with timeout 0, so for that one call the
         selector's select() is given the wait _run_once itself would have
         used (0 if a callback is ready, else min(T, the next timer)).
         Iteration numbers are exact.
uvloop   One run_forever() call that ends at the first protocol callback
         (which calls loop.stop()) or after min(T, 2 ms).  libuv's own
         iterations are not visible from Python: a step can span more than
         one, so "in the next iteration" facts (C4, R6, R8, D6) are only as
         exact as that; "quiet" is measured by the adapter with the loop's
         timers (no protocol callback for the whole span).

Everything the loop reports on its own - its exception handler, a warning
logged on the "asyncio" logger, a Python warning, an exception Python could
only print as "ignored" (sys.unraisablehook: one raised in a __del__) -
goes to the bench as an event and fails the test; so does, at "bye", a
connect_*_pipe() whose coroutine never returned.  An operation that raises answers err with a
code: OSError -> its errno name, a method the transport lacks (or
NotImplementedError) -> EDIRECTION, a bad
value -> EINVAL, anything else -> EXCEPTION with the exception's text.

The code, top to bottom: the channel and its frames; how an exception
becomes an error code; the protocols that forward callbacks; one driver
class per loop (LoopDriver, AsyncioDriver, UvloopDriver), which holds all
of that loop's use of private internals; the tables of transport and
process operations; Subject, which serves the bench's requests through a
table of verbs; the zygote; main.  It runs on CPython 3.8 and later.
"""

import argparse
import asyncio
import errno
import gc
import logging
import os
import selectors
import socket
import struct
import subprocess
import sys
import time
import traceback
import warnings
import weakref
from typing import (Any, Callable, Coroutine, Dict, List, Optional, Sequence, Set, Tuple,
                    Type, Union)

PROTOCOL_VERSION = 1
# The oldest CPython the adapter serves; an older one answers the hello
# with one clear error (the bench then reports the subject unavailable).
MIN_PYTHON = (3, 8)
FRAME_MAX = 80 << 20
UVLOOP_SLICE = 0.002

# A request's words after the verb's own split ("op 3 write" -> 3 words),
# an ok answer's numbers (None: a bare "ok"), a transport or process id as
# the events carry it ("-" for the loop itself), and the coroutine that
# connect_*_pipe or subprocess_exec returns with what its first send()
# yields: the future it waits on, or None if it finished at once.
Words = List[str]
Answer = Optional[List[int]]
EventId = Union[int, str]
LoopCoroutine = Coroutine[Any, Any, Any]
Waiter = Optional[asyncio.Future]


class ProtocolError(Exception):
    pass


class Channel:
    """Length-prefixed frames on the socket; fds arrive with SCM_RIGHTS."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        # The channel is the adapter's own: no child of the subject's loop
        # may inherit it.  (Pipe ends the bench passes stay as they come,
        # inheritable: S8 checks that the loop's children do not get them.)
        os.set_inheritable(fd, False)
        self.fds: List[int] = []

    def _recv_exact(self, n: int) -> bytes:
        chunks = []
        while n > 0:
            data, anc, _flags, _addr = self.sock.recvmsg(
                min(n, 1 << 20), socket.CMSG_SPACE(16 * 4))
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    count = len(payload) // 4
                    self.fds.extend(struct.unpack("%di" % count, payload[:count * 4]))
            if not data:
                # The bench is gone (its test ended or failed): nothing to
                # report to, so leave at once.
                os._exit(0)
            chunks.append(data)
            n -= len(data)
        return b"".join(chunks)

    def recv(self) -> Tuple[Words, bytes]:
        (length,) = struct.unpack(">I", self._recv_exact(4))
        if length == 0 or length > FRAME_MAX:
            raise ProtocolError("a frame of %d bytes" % length)
        body = self._recv_exact(length)
        header, sep, payload = body.partition(b"\n")
        return header.decode("ascii").split(" "), payload

    def take_fd(self) -> Optional[int]:
        return self.fds.pop(0) if self.fds else None

    def send(self, header: str, payload: Optional[bytes] = None) -> None:
        body = header.encode("ascii")
        if payload is not None:
            body += b"\n" + bytes(payload)
        self.sock.sendall(struct.pack(">I", len(body)) + body)


# ---- exceptions as error codes ---------------------------------------------

# OSError subclasses asyncio raises without an errno (BrokenPipeError()).
ERRNO_OF_CLASS: Sequence[Tuple[Type[OSError], int]] = (
    (BrokenPipeError, errno.EPIPE),
    (ConnectionResetError, errno.ECONNRESET),
    (ConnectionAbortedError, errno.ECONNABORTED),
    (ConnectionRefusedError, errno.ECONNREFUSED),
    (TimeoutError, errno.ETIMEDOUT),
    (ProcessLookupError, errno.ESRCH),
    (FileNotFoundError, errno.ENOENT),
    (PermissionError, errno.EACCES),
    (ChildProcessError, errno.ECHILD),
    (BlockingIOError, errno.EAGAIN),
)


def errno_of(exc: BaseException) -> Optional[int]:
    if isinstance(exc, OSError):
        if exc.errno:
            return exc.errno
        for cls, number in ERRNO_OF_CLASS:
            if isinstance(exc, cls):
                return number
    return None


def implements(cls: type, name: str) -> bool:
    """Does cls have method name of its own, not the abstract one of
    asyncio.transports (whose ReadTransport.is_reading, for one, only raises
    NotImplementedError)?"""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass.__module__ != "asyncio.transports"
    return False


class MissingOperation(Exception):
    """The transport has no such method (a read transport's write)."""


def method(transport: Any, name: str) -> Callable[..., Any]:
    """transport.name, or MissingOperation (EDIRECTION) if it has none.

    Only a method the transport lacks is a direction error: an
    AttributeError raised inside an implementation is a bug in it and
    answers EXCEPTION like any other exception."""
    found = getattr(transport, name, None)
    if found is None:
        raise MissingOperation("%s has no %s()" % (type(transport).__name__, name))
    return found


def code_of(exc: BaseException) -> str:
    """The protocol's error name for an exception an operation raised."""
    number = errno_of(exc)
    if number is not None:
        return errno.errorcode.get(number, "EXCEPTION")
    if isinstance(exc, (MissingOperation, NotImplementedError)):
        return "EDIRECTION"
    if isinstance(exc, (ValueError, TypeError)):
        return "EINVAL"
    return "EXCEPTION"


def one_line(exc: BaseException) -> str:
    text = "%s: %s" % (type(exc).__name__, exc)
    return " ".join(text.split())[:400]


def lost_code(exc: Optional[BaseException]) -> str:
    """connection_lost's argument as the protocol's code."""
    if exc is None:
        return "0"
    if errno_of(exc) is not None:
        return errno.errorcode.get(errno_of(exc), "EXCEPTION")
    return "EXCEPTION"


# ---- the protocols ---------------------------------------------------------

class Pipe:
    """The file object connect_*_pipe wants: the fd the bench passed."""

    def __init__(self, fd: int, closes: bool) -> None:
        self.fd = fd
        self.closes = closes  # asyncio closes through us; libuv closes itself

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.closes and self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class Recorder(asyncio.Protocol):
    """Forwards every callback to the bench and waits for its return."""

    def __init__(self, subject: "Subject", tid: int, owner: Optional[int] = None) -> None:
        self.subject = subject
        self.tid = tid  # the id its events carry
        self.owner = tid if owner is None else owner  # its transport's id
        self.lost = False
        # set_protocol replaced it, or its transport was dropped: no CL is
        # owed to it any more (bye does not wait for one)
        self.retired = False

    def _event(self, kind: str, arg: Optional[str] = None,
               payload: Optional[bytes] = None) -> int:
        return self.subject.event(self.tid, kind, arg, payload)

    def connection_made(self, transport: Any) -> None:
        self.subject.bind(self.owner, transport)
        self._event("CM")

    def data_received(self, data: bytes) -> None:
        self._event("DR", None, data)

    def eof_received(self) -> bool:
        return bool(self._event("ER"))

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost = True
        self._event("CL", lost_code(exc))

    def pause_writing(self) -> None:
        self._event("PW")

    def resume_writing(self) -> None:
        self._event("RW")


class ProcessRecorder(asyncio.SubprocessProtocol):
    """A subprocess protocol that forwards every callback to the bench."""

    def __init__(self, subject: "Subject", pid_: int) -> None:
        self.subject = subject
        self.pid_ = pid_
        self.lost = False

    def _event(self, kind: str, arg: Optional[str] = None,
               payload: Optional[bytes] = None) -> None:
        self.subject.event(self.pid_, kind, arg, payload)

    def connection_made(self, transport: Any) -> None:
        self.subject.bind_process(self.pid_, transport)
        self._event("PCM")

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._event("PDR", str(fd), data)

    def pipe_connection_lost(self, fd: int, exc: Optional[BaseException]) -> None:
        self._event("PPL", "%d %s" % (fd, lost_code(exc)))

    def process_exited(self) -> None:
        self._event("PEX")

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost = True
        self._event("PCL")

    def pause_writing(self) -> None:
        self._event("PPW")

    def resume_writing(self) -> None:
        self._event("PRW")


# ---- one driver per loop ---------------------------------------------------

def first_await(coro: LoopCoroutine) -> Waiter:
    """Run coro up to its first wait: the future it waits on, or None if it
    finished at once.  Anything it raises is raised."""
    try:
        return coro.send(None)
    except StopIteration:
        return None


def coroutine_local(coro: Any, names: Sequence[str]) -> Any:
    """A local of the innermost coroutine awaited by coro that has one."""
    found = None
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        if frame is not None:
            for name in names:
                if frame.f_locals.get(name) is not None:
                    found = frame.f_locals[name]
        coro = getattr(coro, "cr_await", None)
    return found


def referring_transport(protocol: asyncio.BaseProtocol) -> Any:
    """The transport object that holds protocol, or None: how a transport
    is found when the coroutine that made it does not show its locals."""
    return next((o for o in gc.get_referrers(protocol)
                 if "Transport" in type(o).__name__), None)


class LoopDriver:
    """One event loop implementation under the bench.

    A driver makes the loop, says what the hello offers, maps the bench's
    "step" and "quiet" onto the loop, and finds the transport a connect or
    a spawn made before its coroutine has finished.  That needs a loop's
    private internals; they are all in its driver class, so a Python or
    uvloop release that changes them breaks one class.  The driver also
    keeps the step accounting every event reports: the subject's iteration
    count and the protocol callbacks seen in the current step."""

    backends = ""  # the poll backends the hello offers
    closes_pipes = True  # the loop closes a pipe's fd through Pipe.close
    drops = False  # a dropped transport is collected at once (refcounting)

    def __init__(self) -> None:
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.iteration = 0
        self.callbacks = 0  # protocol callbacks in the current step
        self.last_event = 0.0  # time.monotonic() of the last one

    @staticmethod
    def preload() -> None:
        """Import in the zygote what every subject it forks will need."""

    def load(self) -> Optional[str]:
        """None if the loop can be used, else why not (the hello's err)."""
        return None

    def describe(self, python: str) -> str:
        raise NotImplementedError

    def read_pipe_has(self, name: str) -> bool:
        """Does a read pipe transport of this loop have method name?

        Methods that arrived in a later Python are capabilities: the bench
        marks the tests that call them n/a rather than failing them."""
        raise NotImplementedError

    def new_loop(self, backend: str) -> asyncio.AbstractEventLoop:
        raise NotImplementedError

    def callback_seen(self) -> None:
        """A protocol callback (or a report) is about to go to the bench."""
        self.callbacks += 1
        self.last_event = time.monotonic()

    def step(self, timeout: float) -> int:
        """One bench step of at most timeout seconds: the count for done."""
        self.callbacks = 0
        return self._iterate(timeout)

    def _iterate(self, timeout: float) -> int:
        raise NotImplementedError

    def run_until_quiet(self, quiet: float, timeout: float,
                        after_step: Callable[[], None]) -> Optional[int]:
        """Run until quiet seconds pass without a protocol callback, calling
        after_step after each step: the step count for done, or None if
        timeout seconds passed first."""
        raise NotImplementedError

    def start_spawn(self, coro: LoopCoroutine) -> Waiter:
        """Run subprocess_exec's coroutine up to its first wait.

        asyncio's child watcher wants a running loop when the child is
        registered, and uvloop's spawn too: the spawn happens now, inside
        this request, as pipeloop's does (private:
        asyncio.events._set_running_loop); the rest of the coroutine
        finishes in a step."""
        asyncio.events._set_running_loop(self.loop)
        try:
            return first_await(coro)
        finally:
            asyncio.events._set_running_loop(None)

    def connected_transport(self, coro: LoopCoroutine, protocol: Recorder) -> Any:
        """The transport connect_*_pipe made, its coroutine at its first
        wait (or finished); None if it cannot be found."""
        raise NotImplementedError

    def spawned_transport(self, coro: LoopCoroutine, protocol: ProcessRecorder) -> Any:
        """The transport subprocess_exec made, the same way."""
        raise NotImplementedError


class AsyncioDriver(LoopDriver):
    """CPython's asyncio: a SelectorEventLoop on an epoll or poll selector.

    Private internals used: loop._selector, loop._ready, loop._scheduled and
    a timer handle's _when (a step's wait); asyncio.events._set_running_loop
    (spawn); the local variable names of base_events' connect_*_pipe
    ("transport") and unix_events' _make_subprocess_transport ("transp")."""

    backends = "epoll,poll"
    closes_pipes = True
    drops = True

    def describe(self, python: str) -> str:
        return "asyncio on %s" % python

    def read_pipe_has(self, name: str) -> bool:
        # is_reading() arrived in 3.11 (bpo-38314); the class is private.
        from asyncio import unix_events
        return implements(unix_events._UnixReadPipeTransport, name)

    def new_loop(self, backend: str) -> asyncio.AbstractEventLoop:
        selector = selectors.EpollSelector() if backend == "epoll" else \
            selectors.PollSelector()
        self.loop = asyncio.SelectorEventLoop(selector)
        return self.loop

    def _iterate(self, timeout: float) -> int:
        loop: Any = self.loop
        selector = loop._selector
        real_select = selector.select
        seen = 0

        def select(_zero: Optional[float]) -> List[Any]:
            # loop.stop() made _run_once ask for 0; wait as it would have.
            nonlocal seen
            wait = timeout
            if loop._ready:
                wait = 0
            elif loop._scheduled:
                wait = max(0.0, min(wait, loop._scheduled[0]._when - loop.time()))
            events = real_select(wait)
            seen = len(events) + len(loop._ready)
            return events

        selector.select = select
        self.iteration += 1
        try:
            loop.stop()
            loop.run_forever()
        finally:
            del selector.select
        return seen + self.callbacks

    def run_until_quiet(self, quiet: float, timeout: float,
                        after_step: Callable[[], None]) -> Optional[int]:
        # Whole iterations, each waiting at most quiet: the first one that
        # runs nothing ends it.
        start = time.monotonic()
        steps = 0
        while True:
            if time.monotonic() - start > timeout:
                return None
            steps += 1
            count = self.step(quiet)
            after_step()
            if count == 0:
                return steps

    def connected_transport(self, coro: LoopCoroutine, protocol: Recorder) -> Any:
        transport = coroutine_local(coro, ("transport",))
        return transport if transport is not None else referring_transport(protocol)

    def spawned_transport(self, coro: LoopCoroutine, protocol: ProcessRecorder) -> Any:
        transport = coroutine_local(coro, ("transp", "transport"))
        return transport if transport is not None else referring_transport(protocol)


class UvloopDriver(LoopDriver):
    """uvloop on libuv's epoll.

    Private internals used: asyncio.events._set_running_loop (spawn, as
    for asyncio).  uvloop's coroutines are compiled (their cr_frame is
    None), so a new transport is found among its protocol's referrers."""

    backends = "epoll"
    closes_pipes = False  # libuv closes the fd itself

    def __init__(self) -> None:
        super().__init__()
        self.uvloop: Any = None  # the module, once load() imported it
        self.stop_on_callback = False

    @staticmethod
    def preload() -> None:
        try:
            import uvloop  # noqa: F401  (preloaded for the children)
        except ImportError:
            pass  # each child says so in its hello

    def load(self) -> Optional[str]:
        try:
            import uvloop
        except ImportError as exc:
            return ("uvloop is not installed for %s (%s); "
                    "Debian: apt-get install python3-uvloop, for /usr/bin/python3"
                    % (sys.executable, exc))
        self.uvloop = uvloop
        return None

    def describe(self, python: str) -> str:
        return "uvloop %s on %s" % (self.uvloop.__version__, python)

    def read_pipe_has(self, name: str) -> bool:
        cls = getattr(self.uvloop.loop, "ReadUnixTransport", None)
        return cls is None or implements(cls, name)

    def new_loop(self, backend: str) -> asyncio.AbstractEventLoop:
        if backend != "epoll":
            raise ValueError("uvloop has no %s backend" % backend)
        self.loop = self.uvloop.new_event_loop()
        return self.loop

    def callback_seen(self) -> None:
        super().callback_seen()
        if self.stop_on_callback:
            self.loop.stop()

    def _iterate(self, timeout: float) -> int:
        # libuv's iterations are not visible: run until the first protocol
        # callback or the slice, whichever comes first.
        loop: Any = self.loop
        self.iteration += 1
        handle = loop.call_later(min(timeout, UVLOOP_SLICE), loop.stop)
        self.stop_on_callback = True
        try:
            loop.run_forever()
        finally:
            self.stop_on_callback = False
            handle.cancel()
        return self.callbacks

    def run_until_quiet(self, quiet: float, timeout: float,
                        after_step: Callable[[], None]) -> Optional[int]:
        # One run_forever() that the loop's own timers stop once quiet
        # seconds have passed since the last callback (or timeout in all).
        loop: Any = self.loop
        start = time.monotonic()
        self.last_event = time.monotonic()
        handle = None
        timed_out = False

        def check() -> None:
            nonlocal handle, timed_out
            now = time.monotonic()
            if now - start > timeout:
                timed_out = True
                loop.stop()
            elif now - self.last_event >= quiet:
                loop.stop()
            else:
                handle = loop.call_later(self.last_event + quiet - now, check)

        handle = loop.call_later(quiet, check)
        self.iteration += 1
        try:
            loop.run_forever()
        finally:
            handle.cancel()
        after_step()
        return None if timed_out else 1

    def connected_transport(self, coro: LoopCoroutine, protocol: Recorder) -> Any:
        return referring_transport(protocol)

    def spawned_transport(self, coro: LoopCoroutine, protocol: ProcessRecorder) -> Any:
        return referring_transport(protocol)


DRIVERS: Dict[str, Type[LoopDriver]] = {
    "asyncio": AsyncioDriver,
    "uvloop": UvloopDriver,
}


# ---- operations: the bench's "op" and "pop" requests -----------------------

# op TID NAME ARGS... [payload]: (transport, args, payload) -> the answer.
TransportOperation = Callable[[Any, Words, bytes], Answer]


def op_write(t: Any, args: Words, data: bytes) -> Answer:
    method(t, "write")(data)
    return [len(data)]


def op_writev(t: Any, args: Words, data: bytes) -> Answer:
    count = int(args[0])
    pieces, at = [], 0
    for n in args[1:1 + count]:
        pieces.append(data[at:at + int(n)])
        at += int(n)
    method(t, "writelines")(pieces)
    return [at]


def op_call(name: str) -> TransportOperation:
    """An operation that calls the transport's method of that name."""
    def call(t: Any, args: Words, data: bytes) -> Answer:
        method(t, name)()
        return None
    return call


def op_flag(name: str) -> TransportOperation:
    """An operation that answers the transport's predicate as 0 or 1."""
    def flag(t: Any, args: Words, data: bytes) -> Answer:
        return [1 if method(t, name)() else 0]
    return flag


def op_get_write_buffer_size(t: Any, args: Words, data: bytes) -> Answer:
    return [method(t, "get_write_buffer_size")()]


def op_get_write_buffer_limits(t: Any, args: Words, data: bytes) -> Answer:
    low, high = method(t, "get_write_buffer_limits")()
    return [high, low]


def op_set_write_buffer_limits(t: Any, args: Words, data: bytes) -> Answer:
    high = None if args[0] == "-" else int(args[0])
    low = None if args[1] == "-" else int(args[1])
    method(t, "set_write_buffer_limits")(high=high, low=low)
    return None


def op_get_fd(t: Any, args: Words, data: bytes) -> Answer:
    return [t.get_extra_info("pipe").fileno()]


TRANSPORT_OPERATIONS: Dict[str, TransportOperation] = {
    "write": op_write,
    "writev": op_writev,
    "get_write_buffer_size": op_get_write_buffer_size,
    "get_write_buffer_limits": op_get_write_buffer_limits,
    "set_write_buffer_limits": op_set_write_buffer_limits,
    "get_fd": op_get_fd,
}
TRANSPORT_OPERATIONS.update(
    (name, op_call(name))
    for name in ("pause_reading", "resume_reading", "write_eof", "close", "abort"))
TRANSPORT_OPERATIONS.update(
    (name, op_flag(name)) for name in ("is_reading", "is_closing", "can_write_eof"))

# pop PID NAME ARGS...: (process transport, args, the subject's transports
# by id, which "pipe" adds to) -> the answer.
ProcessOperation = Callable[[Any, Words, Dict[int, Any]], Answer]


def pop_returncode(t: Any, args: Words, transports: Dict[int, Any]) -> Answer:
    code = t.get_returncode()
    if code is None:
        raise OSError(errno.EAGAIN, "the child has not been reaped")
    return [code]


def pop_send_signal(t: Any, args: Words, transports: Dict[int, Any]) -> Answer:
    t.send_signal(int(args[0]))
    return None


def pop_close(t: Any, args: Words, transports: Dict[int, Any]) -> Answer:
    t.close()
    return None


def pop_pipe(t: Any, args: Words, transports: Dict[int, Any]) -> Answer:
    pipe = t.get_pipe_transport(int(args[0]))
    if pipe is None:
        raise OSError(errno.ENOENT, "no pipe transport for fd %s" % args[0])
    transports[int(args[1])] = pipe
    return None


PROCESS_OPERATIONS: Dict[str, ProcessOperation] = {
    "returncode": pop_returncode,
    "send_signal": pop_send_signal,
    "close": pop_close,
    "pipe": pop_pipe,
}

STDIO: Dict[str, Optional[int]] = {
    "inherit": None, "pipe": subprocess.PIPE, "devnull": subprocess.DEVNULL,
    "stdout": subprocess.STDOUT}


# ---- the subject -----------------------------------------------------------

class Subject:
    def __init__(self, channel: Channel, driver: LoopDriver) -> None:
        self.ch = channel
        self.driver = driver
        self.transports: Dict[int, Any] = {}  # id -> transport (once known)
        self.recorders: Dict[int, Recorder] = {}  # by the id events carry
        self.current: Dict[int, Recorder] = {}  # transport id -> its recorder now
        # id -> (coroutine, waiter) of an unfinished connect or spawn
        self.pending: Dict[int, Tuple[LoopCoroutine, asyncio.Future]] = {}
        self.given_up: Set[int] = set()  # spawns cancelled by "pop ID cancel"
        self.processes: Dict[int, Any] = {}  # id -> subprocess transport
        self.process_recorders: Dict[int, ProcessRecorder] = {}

    @property
    def loop(self) -> Any:
        return self.driver.loop

    # ---- events ---------------------------------------------------------

    def event(self, tid: EventId, kind: str, arg: Optional[str] = None,
              payload: Optional[bytes] = None) -> int:
        header = "event %s %s %d" % (tid, kind, self.driver.iteration)
        if arg is not None:
            header += " " + arg
        self.driver.callback_seen()
        self.ch.send(header, payload)
        # Serve the bench until it says return: its hooks may call us.
        while True:
            words, data = self.ch.recv()
            if words[0] == "return":
                return int(words[1]) if len(words) > 1 else 0
            self.serve(words, data)

    def report(self, kind: str, text: object) -> None:
        """Something the loop reported on its own: fails the test."""
        text = " ".join(str(text).split())[:600] or "(no text)"
        self.event("-", kind, text)

    def exception_handler(self, loop: Any, context: Dict[str, Any]) -> None:
        message = context.get("message", "")
        exc = context.get("exception")
        if exc is not None:
            message += " [%s]" % one_line(exc)
        self.report("EXC", message)

    # ---- requests -------------------------------------------------------

    def serve(self, words: Words, data: bytes) -> None:
        verb = words[0]
        try:
            request = self.REQUESTS.get(verb)
            if request is None:
                raise ProtocolError("unknown request %r" % verb)
            request(self, words, data)
        except ProtocolError:
            raise
        except Exception as exc:  # an operation raised: a clear error
            self.ch.send("err %s %s" % (code_of(exc), one_line(exc)))

    def answer(self, values: Answer) -> None:
        if values is None:
            self.ch.send("ok")
        else:
            self.ch.send("ok " + " ".join(str(int(v)) for v in values))

    def hello(self, words: Words, data: bytes) -> None:
        if len(words) < 2 or words[1] != str(PROTOCOL_VERSION):
            self.ch.send("err EPROTO protocol version %d only" % PROTOCOL_VERSION)
            return
        python = "CPython %s (%s)" % (sys.version.split()[0], sys.executable)
        if sys.version_info < MIN_PYTHON:
            self.ch.send("err ENOTSUP the adapter needs CPython %d.%d or later; %s is "
                         "too old" % (MIN_PYTHON + (python,)))
            return
        unavailable = self.driver.load()
        if unavailable is not None:
            self.ch.send("err ENOENT " + unavailable)
            return
        caps = ["writev", "buffer-limits", "subprocess"]
        if self.driver.read_pipe_has("set_protocol"):
            caps.append("set-protocol")
        if self.driver.drops:
            caps.append("drop")
        if self.driver.read_pipe_has("is_reading"):
            caps.append("is-reading")
        if self.driver.read_pipe_has("abort"):
            caps.append("read-abort")
        self.ch.send("hello %d pid=%d executable=%s read_size=%d backends=%s "
                     "caps=%s describe=%s"
                     % (PROTOCOL_VERSION, os.getpid(), sys.executable, 256 * 1024,
                        self.driver.backends, ",".join(caps),
                        self.driver.describe(python)))

    def make_loop(self, words: Words, data: bytes) -> None:
        loop = self.driver.new_loop(words[1])
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self.exception_handler)
        self.answer(None)

    def connect(self, words: Words, data: bytes) -> None:
        tid, direction, how = int(words[1]), words[2], words[3:]
        if how[0] == "fd":
            fd = self.ch.take_fd()
            if fd is None:
                raise ProtocolError("connect without an fd")
        elif how[1] == "-1":
            fd = -1
        else:
            fd = os.dup(0)  # a number that is closed in this process
            os.close(fd)
        pipe = Pipe(fd, closes=self.driver.closes_pipes)
        recorder = Recorder(self, tid)
        self.recorders[tid] = recorder
        self.current[tid] = recorder
        if direction == "read":
            coro = self.loop.connect_read_pipe(lambda: recorder, pipe)
        else:
            coro = self.loop.connect_write_pipe(lambda: recorder, pipe)
        # Run the coroutine up to its "await waiter": the transport exists
        # and connection_made is scheduled for the next iteration, exactly
        # as pipeloop's connect.  It is finished once the waiter is done.
        try:
            waiter = first_await(coro)
        except BaseException as exc:
            del self.recorders[tid]
            del self.current[tid]
            # The fd is still ours unless the loop closed it through the
            # Pipe (which then forgot it): never close a number twice.
            if pipe.fd >= 0:
                try:
                    os.close(pipe.fd)
                except OSError:
                    pass
                pipe.fd = -1
            if isinstance(exc, ValueError):
                # asyncio: "Pipe transport is for pipes/sockets only."
                self.ch.send("err EFDKIND %s" % one_line(exc))
                return
            raise
        transport = self.driver.connected_transport(coro, recorder)
        if transport is None:
            raise RuntimeError("cannot find the transport connect made")
        self.transports[tid] = transport
        if waiter is not None:
            self.pending[tid] = (coro, waiter)
        self.answer(None)

    def spawn(self, words: Words, data: bytes) -> None:
        """loop.subprocess_exec, run up to its first wait like connect."""
        pid_, stdio, argc = int(words[1]), words[2:5], int(words[5])
        argv = [a.decode() for a in data.split(b"\0")[:argc]]
        if len(argv) != argc or argc == 0:
            raise ProtocolError("spawn with %d arguments, %d given" % (argc, len(argv)))
        recorder = ProcessRecorder(self, pid_)
        self.process_recorders[pid_] = recorder
        coro = self.loop.subprocess_exec(lambda: recorder, *argv,
                                         stdin=STDIO[stdio[0]], stdout=STDIO[stdio[1]],
                                         stderr=STDIO[stdio[2]])
        try:
            waiter = self.driver.start_spawn(coro)
        except BaseException:
            del self.process_recorders[pid_]
            raise
        transport = self.driver.spawned_transport(coro, recorder)
        if transport is None:
            raise RuntimeError("cannot find the transport subprocess_exec made")
        self.processes[pid_] = transport
        if waiter is not None:
            self.pending[pid_] = (coro, waiter)
        self.answer([transport.get_pid()])

    def bind_process(self, pid_: int, transport: Any) -> None:
        self.processes.setdefault(pid_, transport)

    def process_op(self, words: Words, data: bytes) -> None:
        pid_, name, args = int(words[1]), words[2], words[3:]
        t = self.processes.get(pid_)
        if t is None:
            raise ProtocolError("no process %d" % pid_)
        if name == "cancel":
            self.answer(self.cancel_spawn(pid_, t))
            return
        operation = PROCESS_OPERATIONS.get(name)
        if operation is None:
            raise ProtocolError("unknown process operation %r" % name)
        self.answer(operation(t, args, self.transports))

    def cancel_spawn(self, pid_: int, transport: Any) -> Answer:
        """pop ID cancel: give the spawn up as a caller does whose task
        awaiting subprocess_exec is cancelled.  The future the spawn's
        coroutine waits on is cancelled; like a task, the coroutine is woken
        in a later step and runs its own clean-up (asyncio: close the new
        transport, then wait for the child's end), followed by
        finish_connects until it ends with CancelledError.  A spawn that has
        already completed is closed, which is what its caller would do."""
        pending = self.pending.get(pid_)
        if pending is None or not pending[1].cancel():
            transport.close()
            return None
        self.given_up.add(pid_)
        return None

    def bind(self, tid: int, transport: Any) -> None:
        self.transports.setdefault(tid, transport)

    def finish_connects(self) -> None:
        """Resume each connect or spawn whose awaited future is done, as
        its task would be; one that waits again (a given-up spawn waiting
        for its child's end) stays pending on its new future."""
        for tid, (coro, waiter) in list(self.pending.items()):
            if not waiter.done():
                continue
            del self.pending[tid]
            try:
                again = coro.send(None)
            except StopIteration:
                continue
            except BaseException as exc:
                if not (isinstance(exc, asyncio.CancelledError) and tid in self.given_up):
                    self.report("EXC", "connect failed after connection_made: %s"
                                % one_line(exc))
                continue
            if again is None:  # a bare yield: go on at the next step
                again = self.loop.create_future()
                again.set_result(None)
            self.pending[tid] = (coro, again)

    def op(self, words: Words, data: bytes) -> None:
        tid, name, args = int(words[1]), words[2], words[3:]
        own = self.OWN_OPERATIONS.get(name)
        if own is not None:  # operations on the subject's own records
            if tid not in self.transports:
                raise ProtocolError("no transport %d" % tid)
            self.answer(own(self, tid, args))
            return
        t = self.transports.get(tid)
        if t is None:
            raise ProtocolError("no transport %d" % tid)
        operation = TRANSPORT_OPERATIONS.get(name)
        if operation is None:
            raise ProtocolError("unknown operation %r" % name)
        self.answer(operation(t, args, data))

    def op_set_protocol(self, tid: int, args: Words) -> Answer:
        """set_protocol NEWID: a new recorder, whose events carry NEWID."""
        new = int(args[0])
        recorder = Recorder(self, new, owner=tid)
        method(self.transports[tid], "set_protocol")(recorder)
        old = self.current.get(tid)
        if old is not None:
            old.retired = True
        self.recorders[new] = recorder
        self.current[tid] = recorder
        return None

    def op_get_protocol(self, tid: int, args: Words) -> Answer:
        """ok ID: the id of the recorder get_protocol() returns, 0 for
        anything else (None, or a protocol the bench never set)."""
        protocol = method(self.transports[tid], "get_protocol")()
        return [protocol.tid if isinstance(protocol, Recorder) else 0]

    def op_drop(self, tid: int, args: Words) -> Answer:
        """The program lets go of the transport: ok COLLECTED WARNINGS.

        The adapter's reference is its last one; the garbage is collected
        at once, and the "unclosed transport" ResourceWarnings that gives
        are counted here instead of reported (anything else still is)."""
        ref = weakref.ref(self.transports[tid])
        recorder = self.current.get(tid)
        if recorder is not None:
            recorder.retired = True  # asyncio's __del__ calls no callback
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del self.transports[tid]
            gc.collect()
        texts = ["%s: %s" % (w.category.__name__, w.message) for w in caught]
        # A recorded warning keeps its source, the transport, alive.
        caught.clear()
        collected = ref() is None
        unclosed = sum(1 for text in texts
                       if text.startswith("ResourceWarning: unclosed transport"))
        others = [text for text in texts
                  if not text.startswith("ResourceWarning: unclosed transport")]
        for text in others:
            self.report("WARN", text)
        return [1 if collected else 0, unclosed]

    # Operations that need the subject's records, not only the transport:
    # (subject, transport id, args) -> the answer.
    OWN_OPERATIONS: Dict[str, Callable[["Subject", int, Words], Answer]] = {
        "set_protocol": op_set_protocol,
        "get_protocol": op_get_protocol,
        "drop": op_drop,
    }

    # ---- stepping -------------------------------------------------------

    def step(self, words: Words, data: bytes) -> None:
        count = self.driver.step(int(words[1]) / 1000.0)
        self.finish_connects()
        self.ch.send("done %d %d" % (self.driver.iteration, count))

    def quiet(self, words: Words, data: bytes) -> None:
        """Run until QUIET ms pass without a protocol callback."""
        quiet, timeout = int(words[1]) / 1000.0, int(words[2]) / 1000.0
        steps = self.driver.run_until_quiet(quiet, timeout, self.finish_connects)
        if steps is None:
            self.ch.send("err ETIMEDOUT the loop did not go quiet")
        else:
            self.ch.send("done %d %d" % (self.driver.iteration, steps))

    def bye(self, words: Words, data: bytes) -> None:
        open_ = [tid for tid, r in self.recorders.items()
                 if not r.lost and not r.retired]
        open_ += [pid_ for pid_, r in self.process_recorders.items() if not r.lost]
        # A spawn call that has not returned yet (a given-up one still
        # waiting for its child) is a caller still inside the loop's API.
        open_ += [pid_ for pid_ in self.pending
                  if pid_ in self.process_recorders and pid_ not in open_]
        if open_:
            self.ch.send("err EBUSY %d transport(s) still open: %s"
                         % (len(open_), " ".join(map(str, open_))))
            return
        self.finish_connects()
        # A connect whose coroutine never returned, though its transport
        # has come and gone: a program awaiting connect_*_pipe() would
        # still be waiting (its waiter was never resolved).
        for tid in sorted(self.pending):
            if tid not in self.process_recorders:
                self.report("EXC", "connect_*_pipe() of transport %d never returned: "
                            "its waiter was not resolved" % tid)
        self.transports.clear()
        # asyncio wants every subprocess transport closed by its user, even
        # one whose connection_lost has run (else a ResourceWarning): do
        # what a correct program does.
        for transport in self.processes.values():
            transport.close()
        self.processes.clear()
        if self.loop is not None:
            self.loop.close()
        self.ch.send("ok")
        sys.stdout.flush()
        os._exit(0)

    # The bench's requests by verb: each takes the request's words (the
    # verb first) and payload, and answers it.
    REQUESTS: Dict[str, Callable[["Subject", Words, bytes], None]] = {
        "op": op,
        "step": step,
        "quiet": quiet,
        "connect": connect,
        "spawn": spawn,
        "pop": process_op,
        "hello": hello,
        "loop": make_loop,
        "bye": bye,
    }


# ---- line coverage, for tools/mutate.py ---------------------------------------

# With $PIPECHECK_SUBJECT_COVERAGE=DIR (CPython 3.12+: sys.monitoring), a
# subject appends each line of asyncio's pipe-transport files it runs to
# DIR/TEST.PID as it first runs it (one "file:line" a line, written at once,
# so a subject the bench kills has told what it ran); TEST is the test the
# bench named when it asked the zygote for this subject.  tools/mutate.py
# runs on a mutant only the tests that run its line.
COVERED_FILES = ("unix_events.py", "base_subprocess.py")


def coverage_start(test: str) -> None:
    where = os.environ.get("PIPECHECK_SUBJECT_COVERAGE")
    monitoring = getattr(sys, "monitoring", None)
    if not where or monitoring is None:
        return
    name = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in test)
    fd = os.open(os.path.join(where, "%s.%d" % (name, os.getpid())),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    asyncio_dir = os.path.dirname(asyncio.__file__)

    def line(code: Any, lineno: int) -> Any:
        filename = code.co_filename
        base = os.path.basename(filename)
        if base in COVERED_FILES and os.path.dirname(filename) == asyncio_dir:
            os.write(fd, b"%s:%d\n" % (base.encode(), lineno))
        return monitoring.DISABLE

    tool = monitoring.COVERAGE_ID
    monitoring.use_tool_id(tool, "pipecheck_subject")
    monitoring.register_callback(tool, monitoring.events.LINE, line)
    monitoring.set_events(tool, monitoring.events.LINE)


# ---- starting --------------------------------------------------------------

def zygote(control_fd: int, kind: str) -> None:
    """Fork a fresh subject for every test: one interpreter start per run.

    pipecheck sends one datagram per test on control_fd (SOCK_SEQPACKET)
    carrying two fds: the subject's end of that test's socketpair and the
    test's stderr.  The child serves the test exactly as a subject started
    on its own would; this process only forks and reaps.  It ends when every
    sender has closed the control socket, killing children still running.
    """
    DRIVERS[kind].preload()
    control = socket.socket(fileno=control_fd)
    os.set_inheritable(control_fd, False)
    children = set()
    while True:
        for pid in list(children):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    children.discard(pid)
            except ChildProcessError:
                children.discard(pid)
        data, anc, _flags, _addr = control.recvmsg(512, socket.CMSG_SPACE(4 * 4))
        if not data:
            break
        fds: List[int] = []
        for level, kind_, payload in anc:
            if level == socket.SOL_SOCKET and kind_ == socket.SCM_RIGHTS:
                count = len(payload) // 4
                fds.extend(struct.unpack("%di" % count, payload[:count * 4]))
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            os.dup2(fds[1], 1)
            os.dup2(fds[1], 2)
            os.close(fds[1])
            # "spawn TEST": the bench's test, for coverage_start.
            coverage_start(data[6:].decode("utf-8", "replace") or "-")
            serve_forever(fds[0], kind)
            os._exit(0)
        children.add(pid)
        for fd in fds:
            os.close(fd)
    for pid in children:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loop", choices=tuple(DRIVERS), default="asyncio")
    parser.add_argument("--fd", type=int,
                        default=int(os.environ.get("PIPECHECK_SUBJECT_FD", "3")))
    parser.add_argument("--zygote", action="store_true",
                        help="fork a subject per test from this process")
    opts = parser.parse_args()
    if opts.zygote:
        zygote(opts.fd, opts.loop)
    else:
        coverage_start(os.environ.get("PIPECHECK_TEST", "-"))
        serve_forever(opts.fd, opts.loop)


def serve_forever(fd: int, kind: str) -> None:
    channel = Channel(fd)
    subject = Subject(channel, DRIVERS[kind]())

    class ToBench(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            subject.report("LOG", "%s: %s" % (record.levelname, record.getMessage()))

    logging.getLogger("asyncio").addHandler(ToBench(logging.WARNING))
    logging.getLogger("asyncio").propagate = False

    def showwarning(message: Any, category: Type[Warning], filename: str, lineno: int,
                    file: Any = None, line: Optional[str] = None) -> None:
        subject.report("WARN", "%s: %s" % (category.__name__, message))

    warnings.showwarning = showwarning
    warnings.simplefilter("always", ResourceWarning)

    def unraisable(report: Any) -> None:
        # An exception Python can only print (raised in a __del__, a weakref
        # callback, a finaliser): nobody could catch it, the bench hears it.
        try:
            where = repr(report.object)
        except Exception:
            where = "an object"
        if report.exc_value is not None:
            text = one_line(report.exc_value)
        else:
            text = getattr(report.exc_type, "__name__", "an exception")
        subject.report("EXC", "%s %s: %s" % (report.err_msg or "Exception ignored in",
                                             where, text))

    sys.unraisablehook = unraisable
    try:
        while True:
            words, data = channel.recv()
            subject.serve(words, data)
    except ProtocolError as exc:
        try:
            channel.send("err EPROTO %s" % exc)
        finally:
            os._exit(2)
    except Exception:
        traceback.print_exc()
        os._exit(3)


if __name__ == "__main__":
    main()
