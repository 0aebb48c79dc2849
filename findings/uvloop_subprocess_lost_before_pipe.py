#!/usr/bin/env python3
"""uvloop: a subprocess protocol's connection_lost() can come before
pipe_connection_lost() for one of the child's output pipes (spec S2).

asyncio documents connection_lost as the end of the subprocess transport:
it comes after process_exited() and after every pipe_connection_lost().

uvloop's UVProcessTransport holds back the protocol's callbacks until its
pipe transports are connected (a few loop iterations after the spawn) and
then replays them.  When the child has exited and both output pipes have
closed before that point, the replay of the first pipe_connection_lost
sees "exited and every pipe disconnected" and schedules connection_lost
at once, ahead of the replayed pipe_connection_lost of the other pipe.

In the wild this needs a child that exits during the first iterations,
which depends on timing.  This script makes it certain: the child waits
on a gate pipe; the loop runs one iteration at a time until the child
exists, the gate opens, and the script waits (waitid with WNOWAIT, the
child is left for the loop to reap) until the child has exited before it
lets the loop run on.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import asyncio
import os
import sys

from _repro import iterate, new_uvloop


def trial():
    loop = new_uvloop()
    asyncio.set_event_loop(loop)
    events = []
    finished = loop.create_future()

    class Protocol(asyncio.SubprocessProtocol):
        def connection_made(self, transport):
            events.append("connection_made")

        def pipe_data_received(self, fd, data):
            events.append("data(%d)" % fd)

        def pipe_connection_lost(self, fd, exc):
            events.append("pipe_connection_lost(%d)" % fd)

        def process_exited(self):
            events.append("process_exited")

        def connection_lost(self, exc):
            events.append("connection_lost")
            # Two more passes of the ready queue: a late callback shows.
            loop.call_soon(loop.call_soon, finished.set_result, None)

    gate_r, gate_w = os.pipe()
    task = loop.create_task(loop.subprocess_exec(
        Protocol, "sh", "-c", "read x <&%d; echo hello" % gate_r,
        stdin=asyncio.subprocess.DEVNULL, pass_fds=(gate_r,)))
    for _ in range(1000):  # one iteration at a time until the child exists
        iterate(loop)
        try:
            if os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                break
        except ChildProcessError:
            pass
    else:
        print("the child was never spawned")
        sys.exit(1)
    os.close(gate_r)
    os.close(gate_w)  # the child reads EOF, prints and exits
    os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
    loop.run_until_complete(asyncio.wait_for(finished, 10))
    transport, _ = task.result()
    transport.close()
    loop.close()
    return events


events = trial()
print(" ".join(events))
if "connection_lost" in events:
    after = events[events.index("connection_lost") + 1:]
    if any(e.startswith("pipe_connection_lost") for e in after):
        sys.exit(0)
sys.exit(1)
