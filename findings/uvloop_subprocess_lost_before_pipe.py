#!/usr/bin/env python3
"""uvloop: a subprocess protocol's connection_lost() can come before
pipe_connection_lost() for one of the child's output pipes (spec S2).

asyncio documents connection_lost as the end of the subprocess transport:
it comes after process_exited() and after every pipe_connection_lost().
Here the loop is driven in slices - each protocol callback calls
loop.stop() and the program calls run_forever() again, which the asyncio
documentation allows and which is how pipecheck steps a loop - and the
child prints a line and exits.  asyncio keeps the order; uvloop delivers
connection_lost before pipe_connection_lost for stderr, so a protocol that
frees its state in connection_lost gets a callback after the end.  (Run
without the stop() calls, uvloop keeps the order here: the slices change
which of its queued callbacks run first.)  The order depends on timing,
so the script tries up to 40 children and reports the first bad order.

Exit 0: reproduced.  Exit 1: not reproduced.  Exit 77: no uvloop.
"""
import sys

try:
    import uvloop
except ImportError:
    sys.exit(77)
import asyncio


def trial():
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    events = []

    def seen(what):
        events.append(what)
        loop.stop()

    class Protocol(asyncio.SubprocessProtocol):
        def connection_made(self, transport):
            seen("connection_made")

        def pipe_data_received(self, fd, data):
            seen("data(%d)" % fd)

        def pipe_connection_lost(self, fd, exc):
            seen("pipe_connection_lost(%d)" % fd)

        def process_exited(self):
            seen("process_exited")

        def connection_lost(self, exc):
            seen("connection_lost")

    task = loop.create_task(loop.subprocess_exec(
        Protocol, "sh", "-c", "echo hello", stdin=asyncio.subprocess.DEVNULL))
    for _ in range(500):  # slices of at most 2 ms, up to a second
        handle = loop.call_later(0.002, loop.stop)
        loop.run_forever()
        handle.cancel()
        if "connection_lost" in events and events.count("pipe_connection_lost(1)") \
                and events.count("pipe_connection_lost(2)"):
            break
    transport, _ = task.result()
    transport.close()
    loop.close()
    return events


for attempt in range(1, 41):
    events = trial()
    if "connection_lost" in events:
        after = events[events.index("connection_lost") + 1:]
        if any(e.startswith("pipe_connection_lost") for e in after):
            print("try %d: %s" % (attempt, " ".join(events)))
            sys.exit(0)
print("40 tries, the order held; last: %s" % " ".join(events))
sys.exit(1)
