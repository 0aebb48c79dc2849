#!/usr/bin/python3
"""W6 many commands, CPython asyncio or uvloop: what a Python user writes.

usage: w6_py.py asyncio|uvloop [echo|cat [COMMANDS]]   (defaults echo 10000)

Each command is asyncio.create_subprocess_exec(..., stdout=PIPE,
stderr=PIPE, stdin=PIPE for cat or DEVNULL for echo) and communicate(input)
under an asyncio.Semaphore(32); the outputs and the return code are checked
as in the C variants (bench/w6.h).  The clock and the process's CPU time
(RUSAGE_SELF; the commands' own as RUSAGE_CHILDREN) run from just before
the first command to just after the last check; the interpreter's start
and the imports are outside them.  Prints RESULT lines like the C programs
and "FAIL: ..." on stderr with exit status 1.
"""
import asyncio
import resource
import time

from w6_common import (CAT_INPUT, INFLIGHT, echo_arg, fail, filler, parse_args,
                       print_results, stamped)


def cpu(who):
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


async def run_all(kind, commands):
    sem = asyncio.Semaphore(INFLIGHT)
    PIPE, DEVNULL = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    if kind == "echo":
        arg = echo_arg()
    else:
        body = filler(CAT_INPUT)

    async def one(i):
        async with sem:
            if kind == "echo":
                a = stamped(arg, i)
                want = a + b"\n"
                proc = await asyncio.create_subprocess_exec(
                    "/bin/echo", a, stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
                out, err = await proc.communicate()
            else:
                want = stamped(body, i)
                proc = await asyncio.create_subprocess_exec(
                    "/bin/cat", stdin=PIPE, stdout=PIPE, stderr=PIPE)
                out, err = await proc.communicate(want)
        if proc.returncode != 0 or err or out != want:
            fail("W6 %s: command %d: return code %s, %d bytes on stderr, %d bytes on "
                 "stdout (%s)" % (loop_name, i, proc.returncode, len(err), len(out),
                                  "wrong bytes" if len(out) == len(want) else "wrong length"))
        return 1

    done = await asyncio.gather(*(one(i) for i in range(commands)))
    return sum(done)


def main():
    global loop_name
    loop_name, kind, commands = parse_args("w6_py.py", ("asyncio", "uvloop"))
    if loop_name == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    self0 = cpu(resource.RUSAGE_SELF)
    child0 = cpu(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic_ns()
    completed = loop.run_until_complete(run_all(kind, commands))
    wall = (time.monotonic_ns() - t0) / 1e3
    selfcpu = (cpu(resource.RUSAGE_SELF) - self0) * 1e6
    childcpu = (cpu(resource.RUSAGE_CHILDREN) - child0) * 1e6
    loop.close()
    if completed != commands:
        fail("W6 %s: %d of %d commands completed" % (loop_name, completed, commands))
    print_results(loop_name, kind, commands, wall, selfcpu, childcpu)

loop_name = "asyncio"
if __name__ == "__main__":
    main()
