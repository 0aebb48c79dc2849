/* The findings of docs/findings.md as data: where asyncio and uvloop
 * differ from the spec, the IDs each concerns and its standalone script.
 * The HTML report links each row to them; tests/test_docs.c keeps this
 * table and the document in step. */
#include "pipecheck.h"

static const pc_finding findings[] = {
    {"A1", "asyncio", "D4 D5",
     "A1. abort() after close(), or abort() twice, raises inside the loop (D4, D5) - bug",
     "findings/asyncio_abort_twice.py"},
    {"A2", "asyncio", "D5", "A2. A read pipe transport has no abort() (D5) - bug / gap",
     "findings/asyncio_read_pipe_no_abort.py"},
    {"A3", "asyncio", "R10", "A3. A read error is reported twice (R10) - questionable",
     "findings/asyncio_read_error_reported_twice.py"},
    {"A4", "asyncio", "E1 E2 F7",
     "A4. A write pipe on a pty never notices the reader going away (E1, E2, F7) - bug",
     "findings/asyncio_pty_reader_gone.py"},
    {"A5", "asyncio", "C1", "A5. A datagram socket is accepted as a pipe (C1) - bug",
     "findings/asyncio_accepts_datagram_socket.py"},
    {"A6", "asyncio", "C2",
     "A6. /dev/null under epoll: connect succeeds, the error comes later (C2, OURS) - "
     "deliberate, but surprising",
     "findings/asyncio_devnull_epoll.py"},
    {"A7", "asyncio", "R11",
     "A7. pty EOF is connection_lost(EIO) (R11, OURS) - deliberate",
     "findings/asyncio_pty_eio.py"},
    {"A8", "asyncio", "C6 X1",
     "A8. O_NONBLOCK is set on the shared description and left set (C6, OURS; X1) - "
     "deliberate",
     "findings/asyncio_nonblock_left_set.py"},
    {"A9", "asyncio", "W6",
     "A9. write() after close() is dropped silently (W6, OURS) - deliberate",
     "findings/asyncio_write_after_close.py"},
    {"A10", "asyncio", "F6",
     "A10. Raising the limits does not resume a paused protocol (F6, OURS) - deliberate",
     "findings/asyncio_limits_no_resume.py"},
    {"A11", "asyncio", "X2",
     "A11. Another process sharing the pipe gets EAGAIN from a blocking read (X2) - "
     "consequence of A8",
     "findings/asyncio_blocking_sibling_eagain.py"},
    {"A12", "asyncio", "R8",
     "A12. close() after the end of file was read still delivers eof_received (R8) - "
     "questionable",
     "findings/asyncio_eof_after_close.py"},
    {"U1", "uvloop", "C1",
     "U1. connect_read_pipe on a regular file aborts the process (C1) - bug",
     "findings/uvloop_regular_file_aborts.py"},
    {"U2", "uvloop", "F1", "U2. The default low-water mark is 16 bytes (F1) - bug",
     "findings/uvloop_low_water_16_bytes.py"},
    {"U3", "uvloop", "W2 W5 F3 W7",
     "U3. write() sends nothing until the loop runs (W2, W5; hence F3, W7) - deliberate "
     "(batching), worth documenting",
     "findings/uvloop_write_deferred.py"},
    {"U4", "uvloop", "C5",
     "U4. pause_reading() in connection_made does not stick (C5) - bug",
     "findings/uvloop_pause_in_connection_made.py"},
    {"U5", "uvloop", "R7",
     "U5. eof_received returning True keeps a read pipe open forever (R7) - bug",
     "findings/uvloop_eof_keeps_read_pipe_open.py"},
    {"U6", "uvloop", "E1",
     "U6. A write pipe calls eof_received when the reader closes (E1) - bug",
     "findings/uvloop_write_pipe_eof_received.py"},
    {"U7", "uvloop", "R13", "U7. is_reading() on a write pipe says True (R13) - bug",
     "findings/uvloop_write_transport_is_reading.py"},
    {"U8", "uvloop", "D3 D5",
     "U8. write_eof() after the connection is lost raises (D3, D5) - bug",
     "findings/uvloop_write_eof_after_close.py"},
    {"U9", "uvloop", "S2 S5 S10",
     "U9. connection_lost before a pipe's pipe_connection_lost (S2; seen in S5, S10) - "
     "bug",
     "findings/uvloop_subprocess_lost_before_pipe.py"},
    {"U10", "uvloop", "S8",
     "U10. A child inherits every inheritable fd of the parent (S8) - bug",
     "findings/uvloop_subprocess_inherits_fds.py"},
    {"U11", "uvloop", "R1 R11 X3",
     "U11. A pty master read transport drops the tail when the slave closes (R1, R11; X3 "
     "on pty) - bug",
     "findings/uvloop_pty_tail_lost.py"},
};

size_t pc_finding_count(void)
{
    return sizeof findings / sizeof findings[0];
}

const pc_finding *pc_finding_get(size_t i)
{
    return i < pc_finding_count() ? &findings[i] : NULL;
}
