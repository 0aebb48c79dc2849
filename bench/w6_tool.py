#!/usr/bin/python3
"""W6 many commands through an existing tool: ninja, or xargs -P32.

usage: w6_tool.py ninja|xargs [echo|cat [COMMANDS]]   (defaults echo 10000)

ninja: a generated build.ninja (made before the clock starts) with one edge
per command, all of one rule, run with -j32.  ninja runs each command
through /bin/sh -c and captures its stdout and stderr on one pipe; it
prints them, after the edge's "[k/N] c<i>" status line, on its stdout,
which this script reads and checks command by command (every command
exactly once, its output exactly what it must be).  echo commands are
/bin/echo with the same 1 KiB argument as the C variants; ninja cannot feed
a command's stdin from memory, so a cat command is `/bin/cat < FILE`, FILE
holding 64 KiB (one file for all commands: its bytes are those of command
0's input).  A failed command makes ninja exit non-zero.

xargs: the spawn-only reference, NO CAPTURE: `xargs -P32 -n1` runs the
same commands with their stdout and stderr on /dev/null (a cat command is
`/bin/cat FILE`), and only the exit status (0: every command exited 0) is
checked.

Figures: wall time from starting the tool to its exit (for ninja its
parsing of build.ninja is inside); the tool's own CPU time (utime + stime
from /proc/PID/stat of the exited, not yet reaped tool: RUSAGE_SELF as the
tool would see it, at the kernel's tick resolution) and its reaped
children's (cutime + cstime: the commands, and for ninja the shells).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

from w6_common import (CAT_INPUT, INFLIGHT, echo_arg, fail, filler, parse_args,
                       print_results, stamped)


def tool_cpu(pid):
    """(own, children) CPU seconds of an exited, unreaped process."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    hz = os.sysconf("SC_CLK_TCK")
    return (utime + stime) / hz, (cutime + cstime) / hz


class NinjaChecker:
    """Checks ninja's stdout as it streams: "[k/N] c<i>\\n" and command i's
    output, for every command exactly once."""

    status = re.compile(rb"\[(\d+)/(\d+)\] c(\d+)\Z")

    def __init__(self, commands, expected):
        self.commands = commands
        self.expected = expected
        self.seen = bytearray(commands)
        self.buf = bytearray()
        self.pos = 0
        self.done = 0

    def feed(self, data):
        self.buf += data
        while True:
            nl = self.buf.find(b"\n", self.pos)
            if nl < 0:
                break
            m = self.status.match(bytes(self.buf[self.pos:nl]))
            if not m:
                fail("W6 ninja: unexpected output line %r" % bytes(self.buf[self.pos:nl][:80]))
            i = int(m.group(3))
            want = self.expected(i)
            if len(self.buf) - (nl + 1) < len(want):
                break
            got = self.buf[nl + 1:nl + 1 + len(want)]
            if i >= self.commands or self.seen[i] or got != want:
                fail("W6 ninja: command %d: output wrong or seen twice" % i)
            self.seen[i] = 1
            self.done += 1
            self.pos = nl + 1 + len(want)
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0

    def finish(self):
        if self.pos != len(self.buf):
            fail("W6 ninja: %d bytes of trailing output" % (len(self.buf) - self.pos))
        return self.done


def main():
    tool, kind, commands = parse_args("w6_tool.py", ("ninja", "xargs"))
    exe = shutil.which(tool)
    if exe is None:
        fail("W6 %s: %s is not installed" % (tool, tool))
    work = tempfile.mkdtemp(prefix="w6-%s-" % tool)
    try:
        input_path = os.path.join(work, "input")
        if kind == "echo":
            arg = echo_arg()
            expected = lambda i: stamped(arg, i) + b"\n"  # noqa: E731
        else:
            body = stamped(filler(CAT_INPUT), 0)
            with open(input_path, "wb") as f:
                f.write(body)
            expected = lambda i: body  # noqa: E731
        if tool == "ninja":
            with open(os.path.join(work, "build.ninja"), "wb") as f:
                f.write(b"rule r\n  command = $cmd\n  description = $d\n")
                for i in range(commands):
                    if kind == "echo":
                        cmd = b"/bin/echo '" + stamped(arg, i) + b"'"
                    else:
                        cmd = b"/bin/cat < " + input_path.encode()
                    f.write(b"build o%d: r\n  cmd = %s\n  d = c%d\n" % (i, cmd, i))
            args = [exe, "-j%d" % INFLIGHT]
            stdin = subprocess.DEVNULL
            stdout = subprocess.PIPE
            env = dict(os.environ, NINJA_STATUS="[%f/%t] ")
        else:
            with open(os.path.join(work, "args"), "wb") as f:
                for i in range(commands):
                    f.write((stamped(arg, i) if kind == "echo" else input_path.encode()) + b"\n")
            args = [exe, "-P%d" % INFLIGHT, "-n1", "-d", "\\n",
                    "/bin/echo" if kind == "echo" else "/bin/cat"]
            stdin = open(os.path.join(work, "args"), "rb")
            stdout = subprocess.DEVNULL
            env = None
        t0 = time.monotonic_ns()
        proc = subprocess.Popen(args, cwd=work, stdin=stdin, stdout=stdout,
                                stderr=subprocess.DEVNULL if tool == "xargs" else None,
                                env=env)
        completed = commands
        if tool == "ninja":
            checker = NinjaChecker(commands, expected)
            fd = proc.stdout.fileno()
            while True:
                data = os.read(fd, 1 << 18)
                if not data:
                    break
                checker.feed(data)
            completed = checker.finish()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        wall = (time.monotonic_ns() - t0) / 1e3
        own, children = tool_cpu(proc.pid)
        status = proc.wait()
        if tool == "xargs":
            stdin.close()
        if status != 0:
            fail("W6 %s: exit status %d" % (tool, status))
        if completed != commands:
            fail("W6 %s: %d of %d commands checked" % (tool, completed, commands))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_results(tool, kind, commands, wall, own * 1e6, children * 1e6)

if __name__ == "__main__":
    main()
