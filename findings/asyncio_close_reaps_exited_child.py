#!/usr/bin/env python3
"""asyncio: close() of a subprocess transport whose child has exited, before
the loop has noticed the exit, reaps the child behind the child watcher's
back: the watcher logs a warning and the transport reports returncode 255
instead of the child's exit status (spec S3, S5).

BaseSubprocessTransport.close() (base_subprocess.py) decides whether the
child still runs with "self._proc.poll() is None"; Popen.poll() is a
waitpid(WNOHANG), which reaps a child that has exited.  The child watcher
then waits for a child that is gone: PidfdChildWatcher (the default from
3.12 on, where pidfds work) gets ECHILD, logs "child process pid N exit
status already read: will report returncode 255" and reports 255, and
SafeChildWatcher (3.6, 3.7) does the same with "Unknown child process".
With ThreadedChildWatcher (the default of 3.8 to 3.11) a thread reaps the
child as soon as it exits, so close() almost never finds it unreaped.

The child waits on a gate pipe until the spawn has returned; the script
then opens the gate and waits with waitid(WNOWAIT) (the child stays a
zombie for the loop to reap) until the child has exited, without running
the loop, closes the transport and lets the loop run.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: CPython 3.8-3.11,
whose default watcher's thread races close() (there the script reproduced
in about half of its runs on 3.9-3.11, in none of five on 3.8).
"""
import asyncio
import logging
import os
import sys

warnings = []


class Keep(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())


if (3, 8) <= sys.version_info[:2] < (3, 12):
    print("the default child watcher of CPython %d.%d reaps in a thread, which races"
          " close(): not deterministic here" % sys.version_info[:2])
    sys.exit(77)

logging.getLogger("asyncio").addHandler(Keep())
logging.getLogger("asyncio").propagate = False

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)  # the child watcher of 3.6-3.11 attaches to it
# The child waits on a gate pipe, so that it exits only after the spawn.
gate_r, gate_w = os.pipe()
transport, _ = loop.run_until_complete(loop.subprocess_exec(
    asyncio.SubprocessProtocol, "sh", "-c", "read x <&%d; exit 3" % gate_r,
    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
    stderr=asyncio.subprocess.DEVNULL, pass_fds=(gate_r,)))
os.close(gate_r)
os.close(gate_w)  # the child reads EOF and exits
try:
    os.waitid(os.P_PID, transport.get_pid(), os.WEXITED | os.WNOWAIT)
except ChildProcessError:
    pass  # a watcher thread has reaped it already
transport.close()
for _ in range(500):
    if transport.get_returncode() is not None:
        break
    loop.run_until_complete(asyncio.sleep(0.01))
code = transport.get_returncode()
loop.close()
print("returncode %r (the child exited with 3); asyncio logged: %s"
      % (code, "; ".join(warnings) or "nothing"))
sys.exit(0 if code == 255 else 1)
