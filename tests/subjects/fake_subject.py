#!/usr/bin/env python3
"""A subject that breaks the protocol on purpose, for tests/test_subject.c.

    fake_subject.py MODE PIDFILE

It answers hello, loop and connect like a real subject, then misbehaves
when the bench first asks it to step:

    crash        kill itself with SIGKILL
    exit         exit with status 3
    hang         stop answering (sleep)
    garbage      write bytes that are no frame
    bad-event    an event for a transport that does not exist
    report       report an exception from its loop (a behaviour, not a breach)
    report-html  the same with markup, quotes and an ampersand in its text
                 (tests/browser/check_html_report.py)
    ok           behave: answer every step with "done", every op with ok
    claims-pipeloop  as ok, but hello claims pipeloop's API (pipeloop-api)

Its pid goes to PIDFILE first, so a test can check it is gone afterwards.
"""
import os
import signal
import socket
import struct
import sys
import time

mode, pidfile = sys.argv[1], sys.argv[2]
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
sock = socket.socket(fileno=int(os.environ.get("PIPECHECK_SUBJECT_FD", "3")))


def recv_exact(n):
    data = b""
    while len(data) < n:
        chunk, anc, _f, _a = sock.recvmsg(n - len(data), socket.CMSG_SPACE(64))
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                for (fd,) in struct.iter_unpack("i", payload[:len(payload) // 4 * 4]):
                    os.close(fd)
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def send(header):
    body = header.encode()
    sock.sendall(struct.pack(">I", len(body)) + body)


# What report-html says: markup that would run if a report pasted it in,
# quotes and an ampersand.  (The bench refuses a header that is not text,
# so bytes that are not UTF-8 are tested on the JSON and HTML writers.)
REPORT_HTML = ("event - EXC 1 boom </script><img id=pwned src=x onerror=alert(1)>"
               " &amp; \"q\" 'end'")

iteration = 0
open_transports = set()
while True:
    (length,) = struct.unpack(">I", recv_exact(4))
    words = recv_exact(length).split(b"\n", 1)[0].decode().split()
    verb = words[0]
    if verb == "hello":
        caps = "writev,pipeloop-api" if mode == "claims-pipeloop" else "writev"
        send("hello 1 pid=%d read_size=65536 backends=epoll caps=%s describe=fake %s"
             % (os.getpid(), caps, mode))
    elif verb == "loop":
        send("ok")
    elif verb == "connect":
        open_transports.add(words[1])
        send("ok")
    elif verb == "step" and mode not in ("ok", "claims-pipeloop"):
        if mode == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "exit":
            sys.exit(3)
        elif mode == "hang":
            time.sleep(3600)
        elif mode == "garbage":
            sock.sendall(b"\xff\xff\xff\xffnot a frame at all")
            time.sleep(3600)
        elif mode == "bad-event":
            send("event 99 CM 1")
            time.sleep(3600)
        elif mode == "report":
            send("event - EXC 1 Exception in callback: boom")
            recv_exact(4)
            time.sleep(3600)
        elif mode == "report-html":
            send(REPORT_HTML)
            recv_exact(4)
            time.sleep(3600)
    elif verb in ("step", "quiet"):
        iteration += 1
        send("done %d 0" % iteration)
    elif verb == "op":
        if words[2] == "close" and words[1] in open_transports:
            open_transports.discard(words[1])
            iteration += 1
            send("event %s CL %d 0" % (words[1], iteration))
            recv_exact(4)
            recv_exact(struct.unpack(">I", b"\0\0\0\x08")[0])  # "return 0"
        send("ok 0")
    elif verb == "bye":
        send("ok")
        sys.exit(0)
    else:
        send("err EPROTO unknown request")
