"""What the Python W6 variants (w6_py.py, w6_tool.py) share with each
other and with the C ones (bench/w6.h): the workload's sizes, its bytes,
the command line, RESULT lines and failure exits."""
import sys

INFLIGHT = 32
ECHO_ARG = 1024
CAT_INPUT = 64 * 1024


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def filler(length):
    # byte k is 'a' + k % 26, a newline every 64 (bench/w6.c's fill)
    return bytes(10 if k % 64 == 63 else 97 + k % 26 for k in range(length))


def stamped(body, index):
    head = b"%d " % index
    return head + body[len(head):]


def echo_arg():
    """The argument of every echo command (before stamped): 1 KiB, no
    newline."""
    return filler(ECHO_ARG).replace(b"\n", b".")


def parse_args(program, variants):
    """(variant, kind, commands) from `program VARIANT [echo|cat [COMMANDS]]`
    (defaults echo 10000), or a usage failure."""
    argv = sys.argv[1:]
    if not argv or argv[0] not in variants or len(argv) > 3 or (
            len(argv) > 1 and argv[1] not in ("echo", "cat")):
        fail("usage: %s %s [echo|cat [COMMANDS]]" % (program, "|".join(variants)))
    kind = argv[1] if len(argv) > 1 else "echo"
    return argv[0], kind, int(argv[2]) if len(argv) > 2 else 10000


def print_results(variant, kind, commands, wall_us, cpu_us, child_cpu_us):
    """The RESULT lines of one run: each total divided by commands."""
    for metric, value in (("us/command", wall_us), ("cpu_us/command", cpu_us),
                          ("child_cpu_us/command", child_cpu_us)):
        print("RESULT W6 %s %s %s %.6g" % (variant, kind, metric, value / commands))
