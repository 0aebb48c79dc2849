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
logged on the "asyncio" logger, a Python warning - goes to the bench as an
event and fails the test.  An operation that raises answers err with a
code: OSError -> its errno name, a method the transport lacks (or
NotImplementedError) -> EDIRECTION, a bad
value -> EINVAL, anything else -> EXCEPTION with the exception's text.
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

PROTOCOL_VERSION = 1
FRAME_MAX = 80 << 20
UVLOOP_SLICE = 0.002


class ProtocolError(Exception):
    pass


class Channel:
    """Length-prefixed frames on the socket; fds arrive with SCM_RIGHTS."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        # The channel is the adapter's own: no child of the subject's loop
        # may inherit it.  (Pipe ends the bench passes stay as they come,
        # inheritable: S8 checks that the loop's children do not get them.)
        os.set_inheritable(fd, False)
        self.fds = []

    def _recv_exact(self, n):
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

    def recv(self):
        (length,) = struct.unpack(">I", self._recv_exact(4))
        if length == 0 or length > FRAME_MAX:
            raise ProtocolError("a frame of %d bytes" % length)
        body = self._recv_exact(length)
        header, sep, payload = body.partition(b"\n")
        return header.decode("ascii").split(" "), payload

    def take_fd(self):
        return self.fds.pop(0) if self.fds else None

    def send(self, header, payload=None):
        body = header.encode("ascii")
        if payload is not None:
            body += b"\n" + bytes(payload)
        self.sock.sendall(struct.pack(">I", len(body)) + body)


# OSError subclasses asyncio raises without an errno (BrokenPipeError()).
ERRNO_OF_CLASS = (
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


def errno_of(exc):
    if isinstance(exc, OSError):
        if exc.errno:
            return exc.errno
        for cls, number in ERRNO_OF_CLASS:
            if isinstance(exc, cls):
                return number
    return None


class MissingOperation(Exception):
    """The transport has no such method (a read transport's write)."""


def method(transport, name):
    """transport.name, or MissingOperation (EDIRECTION) if it has none.

    Only a method the transport lacks is a direction error: an
    AttributeError raised inside an implementation is a bug in it and
    answers EXCEPTION like any other exception."""
    found = getattr(transport, name, None)
    if found is None:
        raise MissingOperation("%s has no %s()" % (type(transport).__name__, name))
    return found


def code_of(exc):
    """The protocol's error name for an exception an operation raised."""
    number = errno_of(exc)
    if number is not None:
        return errno.errorcode.get(number, "EXCEPTION")
    if isinstance(exc, (MissingOperation, NotImplementedError)):
        return "EDIRECTION"
    if isinstance(exc, (ValueError, TypeError)):
        return "EINVAL"
    return "EXCEPTION"


def one_line(exc):
    text = "%s: %s" % (type(exc).__name__, exc)
    return " ".join(text.split())[:400]


class Pipe:
    """The file object connect_*_pipe wants: the fd the bench passed."""

    def __init__(self, fd, closes):
        self.fd = fd
        self.closes = closes  # asyncio closes through us; libuv closes itself

    def fileno(self):
        return self.fd

    def close(self):
        if self.closes and self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class Recorder(asyncio.Protocol):
    """Forwards every callback to the bench and waits for its return."""

    def __init__(self, subject, tid):
        self.subject = subject
        self.tid = tid
        self.lost = False

    def _event(self, kind, arg=None, payload=None):
        return self.subject.event(self.tid, kind, arg, payload)

    def connection_made(self, transport):
        self.subject.bind(self.tid, transport)
        self._event("CM")

    def data_received(self, data):
        self._event("DR", None, data)

    def eof_received(self):
        return bool(self._event("ER"))

    def connection_lost(self, exc):
        self.lost = True
        self._event("CL", lost_code(exc))

    def pause_writing(self):
        self._event("PW")

    def resume_writing(self):
        self._event("RW")


class ProcessRecorder(asyncio.SubprocessProtocol):
    """A subprocess protocol that forwards every callback to the bench."""

    def __init__(self, subject, pid_):
        self.subject = subject
        self.pid_ = pid_
        self.lost = False

    def _event(self, kind, arg=None, payload=None):
        self.subject.event(self.pid_, kind, arg, payload)

    def connection_made(self, transport):
        self.subject.bind_process(self.pid_, transport)
        self._event("PCM")

    def pipe_data_received(self, fd, data):
        self._event("PDR", str(fd), data)

    def pipe_connection_lost(self, fd, exc):
        self._event("PPL", "%d %s" % (fd, lost_code(exc)))

    def process_exited(self):
        self._event("PEX")

    def connection_lost(self, exc):
        self.lost = True
        self._event("PCL")

    def pause_writing(self):
        self._event("PPW")

    def resume_writing(self):
        self._event("PRW")


def lost_code(exc):
    """connection_lost's argument as the protocol's code."""
    if exc is None:
        return "0"
    if errno_of(exc) is not None:
        return errno.errorcode.get(errno_of(exc), "EXCEPTION")
    return "EXCEPTION"


def find_local(coro, names):
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


STDIO = {"inherit": None, "pipe": subprocess.PIPE, "devnull": subprocess.DEVNULL,
         "stdout": subprocess.STDOUT}


class Subject:
    def __init__(self, channel, kind):
        self.ch = channel
        self.kind = kind
        self.loop = None
        self.uvloop = None
        self.iteration = 0
        self.callbacks = 0  # protocol callbacks in the current step
        self.stop_on_event = False
        self.last_event = 0.0
        self.transports = {}  # id -> transport (once known)
        self.recorders = {}
        self.pending = {}  # id -> (coroutine, waiter) of an unfinished connect
        self.processes = {}  # id -> subprocess transport
        self.process_recorders = {}

    # ---- events ---------------------------------------------------------

    def event(self, tid, kind, arg=None, payload=None):
        header = "event %s %s %d" % (tid, kind, self.iteration)
        if arg is not None:
            header += " " + arg
        self.callbacks += 1
        self.last_event = time.monotonic()
        if self.stop_on_event:
            self.loop.stop()
        self.ch.send(header, payload)
        # Serve the bench until it says return: its hooks may call us.
        while True:
            words, data = self.ch.recv()
            if words[0] == "return":
                return int(words[1]) if len(words) > 1 else 0
            self.serve(words, data)

    def report(self, kind, text):
        """Something the loop reported on its own: fails the test."""
        text = " ".join(str(text).split())[:600] or "(no text)"
        self.event("-", kind, text)

    def exception_handler(self, loop, context):
        message = context.get("message", "")
        exc = context.get("exception")
        if exc is not None:
            message += " [%s]" % one_line(exc)
        self.report("EXC", message)

    # ---- requests -------------------------------------------------------

    def serve(self, words, data):
        verb = words[0]
        try:
            if verb == "op":
                self.answer(self.op(int(words[1]), words[2], words[3:], data))
            elif verb == "step":
                self.step(int(words[1]) / 1000.0)
            elif verb == "quiet":
                self.quiet(int(words[1]) / 1000.0, int(words[2]) / 1000.0)
            elif verb == "connect":
                self.connect(int(words[1]), words[2], words[3:])
            elif verb == "spawn":
                self.spawn(int(words[1]), words[2:5], int(words[5]), data)
            elif verb == "pop":
                self.answer(self.process_op(int(words[1]), words[2], words[3:]))
            elif verb == "hello":
                self.hello(words)
            elif verb == "loop":
                self.make_loop(words[1])
            elif verb == "bye":
                self.bye()
            else:
                raise ProtocolError("unknown request %r" % verb)
        except ProtocolError:
            raise
        except Exception as exc:  # an operation raised: a clear error
            self.ch.send("err %s %s" % (code_of(exc), one_line(exc)))

    def answer(self, values):
        if values is None:
            self.ch.send("ok")
        else:
            self.ch.send("ok " + " ".join(str(int(v)) for v in values))

    def hello(self, words):
        if len(words) < 2 or words[1] != str(PROTOCOL_VERSION):
            self.ch.send("err EPROTO protocol version %d only" % PROTOCOL_VERSION)
            return
        python = "CPython %s (%s)" % (sys.version.split()[0], sys.executable)
        if self.kind == "uvloop":
            try:
                import uvloop
            except ImportError as exc:
                self.ch.send("err ENOENT uvloop is not installed for %s (%s); "
                             "Debian: apt-get install python3-uvloop, for /usr/bin/python3"
                             % (sys.executable, exc))
                return
            self.uvloop = uvloop
            describe = "uvloop %s on %s" % (uvloop.__version__, python)
            backends = "epoll"
        else:
            describe = "asyncio on %s" % python
            backends = "epoll,poll"
        self.ch.send("hello %d pid=%d executable=%s read_size=%d backends=%s "
                     "caps=writev,buffer-limits,subprocess describe=%s"
                     % (PROTOCOL_VERSION, os.getpid(), sys.executable, 256 * 1024,
                        backends, describe))

    def make_loop(self, backend):
        if self.kind == "uvloop":
            if backend != "epoll":
                raise ValueError("uvloop has no %s backend" % backend)
            self.loop = self.uvloop.new_event_loop()
        else:
            selector = selectors.EpollSelector() if backend == "epoll" else \
                selectors.PollSelector()
            self.loop = asyncio.SelectorEventLoop(selector)
        asyncio.set_event_loop(self.loop)
        self.loop.set_exception_handler(self.exception_handler)
        self.answer(None)

    def connect(self, tid, direction, how):
        if how[0] == "fd":
            fd = self.ch.take_fd()
            if fd is None:
                raise ProtocolError("connect without an fd")
        elif how[1] == "-1":
            fd = -1
        else:
            fd = os.dup(0)  # a number that is closed in this process
            os.close(fd)
        pipe = Pipe(fd, closes=self.kind != "uvloop")
        recorder = Recorder(self, tid)
        self.recorders[tid] = recorder
        if direction == "read":
            coro = self.loop.connect_read_pipe(lambda: recorder, pipe)
        else:
            coro = self.loop.connect_write_pipe(lambda: recorder, pipe)
        # Run the coroutine up to its "await waiter": the transport exists
        # and connection_made is scheduled for the next iteration, exactly
        # as pipeloop's connect.  It is finished once the waiter is done.
        try:
            waiter = coro.send(None)
        except StopIteration:
            waiter = None
        except BaseException as exc:
            del self.recorders[tid]
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if isinstance(exc, ValueError):
                # asyncio: "Pipe transport is for pipes/sockets only."
                self.ch.send("err EFDKIND %s" % one_line(exc))
                return
            raise
        transport = None
        frame = getattr(coro, "cr_frame", None)
        if frame is not None:
            transport = frame.f_locals.get("transport")
        if transport is None:
            transport = next((o for o in gc.get_referrers(recorder)
                              if "Transport" in type(o).__name__), None)
        if transport is None:
            raise RuntimeError("cannot find the transport connect made")
        self.transports[tid] = transport
        if waiter is not None:
            self.pending[tid] = (coro, waiter)
        self.answer(None)

    def spawn(self, pid_, stdio, argc, data):
        """loop.subprocess_exec, run up to its first wait like connect."""
        argv = [a.decode() for a in data.split(b"\0")[:argc]]
        if len(argv) != argc or argc == 0:
            raise ProtocolError("spawn with %d arguments, %d given" % (argc, len(argv)))
        recorder = ProcessRecorder(self, pid_)
        self.process_recorders[pid_] = recorder
        coro = self.loop.subprocess_exec(lambda: recorder, *argv,
                                         stdin=STDIO[stdio[0]], stdout=STDIO[stdio[1]],
                                         stderr=STDIO[stdio[2]])
        # asyncio's child watcher wants a running loop when the child is
        # registered: the spawn happens now, inside this request, as
        # pipeloop's does; the rest of the coroutine finishes in a step.
        asyncio.events._set_running_loop(self.loop)
        try:
            waiter = coro.send(None)
        except StopIteration:
            waiter = None
        except BaseException:
            del self.process_recorders[pid_]
            raise
        finally:
            asyncio.events._set_running_loop(None)
        transport = find_local(coro, ("transp", "transport"))
        if transport is None:
            transport = next((o for o in gc.get_referrers(recorder)
                              if "Transport" in type(o).__name__), None)
        if transport is None:
            raise RuntimeError("cannot find the transport subprocess_exec made")
        self.processes[pid_] = transport
        if waiter is not None:
            self.pending[pid_] = (coro, waiter)
        self.answer([transport.get_pid()])

    def bind_process(self, pid_, transport):
        self.processes.setdefault(pid_, transport)

    def process_op(self, pid_, name, args):
        t = self.processes.get(pid_)
        if t is None:
            raise ProtocolError("no process %d" % pid_)
        if name == "returncode":
            code = t.get_returncode()
            if code is None:
                raise OSError(errno.EAGAIN, "the child has not been reaped")
            return [code]
        if name == "send_signal":
            t.send_signal(int(args[0]))
            return None
        if name == "close":
            t.close()
            return None
        if name == "pipe":
            pipe = t.get_pipe_transport(int(args[0]))
            if pipe is None:
                raise OSError(errno.ENOENT, "no pipe transport for fd %s" % args[0])
            self.transports[int(args[1])] = pipe
            return None
        raise ProtocolError("unknown process operation %r" % name)

    def bind(self, tid, transport):
        self.transports.setdefault(tid, transport)

    def finish_connects(self):
        for tid, (coro, waiter) in list(self.pending.items()):
            if waiter.done():
                del self.pending[tid]
                try:
                    coro.send(None)
                except StopIteration:
                    pass
                except BaseException as exc:
                    self.report("EXC", "connect failed after connection_made: %s"
                                % one_line(exc))

    def op(self, tid, name, args, data):
        t = self.transports.get(tid)
        if t is None:
            raise ProtocolError("no transport %d" % tid)
        if name == "write":
            method(t, "write")(data)
            return [len(data)]
        if name == "writev":
            count = int(args[0])
            pieces, at = [], 0
            for n in args[1:1 + count]:
                pieces.append(data[at:at + int(n)])
                at += int(n)
            method(t, "writelines")(pieces)
            return [at]
        if name in ("pause_reading", "resume_reading", "write_eof", "close", "abort"):
            method(t, name)()
            return None
        if name in ("is_reading", "is_closing", "can_write_eof"):
            return [1 if method(t, name)() else 0]
        if name == "get_write_buffer_size":
            return [method(t, "get_write_buffer_size")()]
        if name == "get_write_buffer_limits":
            low, high = method(t, "get_write_buffer_limits")()
            return [high, low]
        if name == "set_write_buffer_limits":
            high = None if args[0] == "-" else int(args[0])
            low = None if args[1] == "-" else int(args[1])
            method(t, "set_write_buffer_limits")(high=high, low=low)
            return None
        if name == "get_fd":
            return [t.get_extra_info("pipe").fileno()]
        raise ProtocolError("unknown operation %r" % name)

    # ---- stepping -------------------------------------------------------

    def step(self, timeout):
        self.callbacks = 0
        if self.kind == "uvloop":
            count = self._step_uvloop(timeout)
        else:
            count = self._step_asyncio(timeout)
        self.finish_connects()
        self.ch.send("done %d %d" % (self.iteration, count))

    def _step_asyncio(self, timeout):
        loop = self.loop
        selector = loop._selector
        real_select = selector.select
        seen = [0]

        def select(_zero):
            # loop.stop() made _run_once ask for 0; wait as it would have.
            wait = timeout
            if loop._ready:
                wait = 0
            elif loop._scheduled:
                wait = max(0.0, min(wait, loop._scheduled[0]._when - loop.time()))
            events = real_select(wait)
            seen[0] = len(events) + len(loop._ready)
            return events

        selector.select = select
        self.iteration += 1
        try:
            loop.stop()
            loop.run_forever()
        finally:
            del selector.select
        return seen[0] + self.callbacks

    def _step_uvloop(self, timeout):
        loop = self.loop
        self.iteration += 1
        handle = loop.call_later(min(timeout, UVLOOP_SLICE), loop.stop)
        self.stop_on_event = True
        try:
            loop.run_forever()
        finally:
            self.stop_on_event = False
            handle.cancel()
        return self.callbacks

    def quiet(self, quiet, timeout):
        """Run until quiet seconds pass without a protocol callback."""
        start = time.monotonic()
        if self.kind != "uvloop":
            steps = 0
            while True:
                if time.monotonic() - start > timeout:
                    self.ch.send("err ETIMEDOUT the loop did not go quiet")
                    return
                self.callbacks = 0
                steps += 1
                if self._step_asyncio(quiet) == 0:
                    self.finish_connects()
                    self.ch.send("done %d %d" % (self.iteration, steps))
                    return
                self.finish_connects()
        loop = self.loop
        self.last_event = time.monotonic()
        state = {"handle": None, "timed_out": False}

        def check():
            now = time.monotonic()
            if now - start > timeout:
                state["timed_out"] = True
                loop.stop()
            elif now - self.last_event >= quiet:
                loop.stop()
            else:
                state["handle"] = loop.call_later(self.last_event + quiet - now, check)

        state["handle"] = loop.call_later(quiet, check)
        self.iteration += 1
        try:
            loop.run_forever()
        finally:
            state["handle"].cancel()
        self.finish_connects()
        if state["timed_out"]:
            self.ch.send("err ETIMEDOUT the loop did not go quiet")
        else:
            self.ch.send("done %d 1" % self.iteration)

    def bye(self):
        open_ = [tid for tid, r in self.recorders.items() if not r.lost]
        open_ += [pid_ for pid_, r in self.process_recorders.items() if not r.lost]
        if open_:
            self.ch.send("err EBUSY %d transport(s) still open: %s"
                         % (len(open_), " ".join(map(str, open_))))
            return
        self.finish_connects()
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


def zygote(control_fd, kind):
    """Fork a fresh subject for every test: one interpreter start per run.

    pipecheck sends one datagram per test on control_fd (SOCK_SEQPACKET)
    carrying two fds: the subject's end of that test's socketpair and the
    test's stderr.  The child serves the test exactly as a subject started
    on its own would; this process only forks and reaps.  It ends when every
    sender has closed the control socket, killing children still running.
    """
    if kind == "uvloop":
        try:
            import uvloop  # noqa: F401  (preloaded for the children)
        except ImportError:
            pass  # each child says so in its hello
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
        data, anc, _flags, _addr = control.recvmsg(64, socket.CMSG_SPACE(4 * 4))
        if not data:
            break
        fds = []
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--fd", type=int,
                        default=int(os.environ.get("PIPECHECK_SUBJECT_FD", "3")))
    parser.add_argument("--zygote", action="store_true",
                        help="fork a subject per test from this process")
    opts = parser.parse_args()
    if opts.zygote:
        zygote(opts.fd, opts.loop)
    else:
        serve_forever(opts.fd, opts.loop)


def serve_forever(fd, kind):
    channel = Channel(fd)
    subject = Subject(channel, kind)

    class ToBench(logging.Handler):
        def emit(self, record):
            subject.report("LOG", "%s: %s" % (record.levelname, record.getMessage()))

    logging.getLogger("asyncio").addHandler(ToBench(logging.WARNING))
    logging.getLogger("asyncio").propagate = False

    def showwarning(message, category, filename, lineno, file=None, line=None):
        subject.report("WARN", "%s: %s" % (category.__name__, message))

    warnings.showwarning = showwarning
    warnings.simplefilter("always", ResourceWarning)
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
