/* The behaviours of the catalogue, docs/behaviours.md, as data: the
 * pipecheck table prints one row per ID with its one-line meaning. */
#include <string.h>

#include "pipecheck.h"

static const pc_spec_item spec_items[] = {
    {"L1", "Loop facts", "one iteration runs exactly the callbacks ready when it began"},
    {"L2", "Loop facts", "HUP and ERR count as readable and writable"},
    {"L3", "Loop facts", "removing a reader cancels its collected event"},
    {"L4", "Loop facts", "call_soon_threadsafe wakes a blocked loop"},
    {"L5", "Loop facts", "closing a running or busy loop is refused, nothing leaks"},
    {"C1", "Connecting", "pipes, sockets, ttys accepted; other fds refused untouched"},
    {"C2", "Connecting", "an fd the backend cannot watch is refused at connect"},
    {"C3", "Connecting", "one fd, one owner: a second owner gets -EEXIST"},
    {"C4", "Connecting", "CM once, next iteration, before any other callback"},
    {"C5", "Connecting", "reading starts after CM; pause inside CM sticks"},
    {"C6", "Connecting", "description flags unchanged, or restored before close"},
    {"R1", "Read transport", "bytes arrive in order, none lost, chunks <= read size"},
    {"R2", "Read transport", "reads use a loop-owned buffer, no allocation per read"},
    {"R3", "Read transport", "is_reading and is_closing follow the state"},
    {"R4", "Read transport", "pause_reading stops DR; resume delivers in order"},
    {"R5", "Read transport", "double pause/resume, or after close: no-op"},
    {"R6", "Read transport", "peer closes: ER once, then CL(0)"},
    {"R7", "Read transport", "ER's return value is ignored: CL(0) follows"},
    {"R8", "Read transport", "close(): no ER, CL(0) next iteration, once"},
    {"R9", "Read transport", "EAGAIN/EINTR on read: no callback, reading continues"},
    {"R10", "Read transport", "other read errors: CL(-errno), no ER"},
    {"R11", "Read transport", "pty master EIO after slave closes is a clean EOF"},
    {"R12", "Read transport", "a FIFO that never had a writer reports nothing"},
    {"R13", "Read transport", "operations of the other direction are refused"},
    {"W1", "Write transport", "CM once; write buffer size 0"},
    {"W2", "Write transport", "write with room sends at once, buffers nothing"},
    {"W3", "Write transport", "a 0-byte write: no syscall, no error"},
    {"W4", "Write transport", "full kernel: buffered, all bytes arrive in order"},
    {"W5", "Write transport", "buffer size counts only the transport's buffer"},
    {"W6", "Write transport", "write after close/write_eof/abort/CL is refused"},
    {"W7", "Write transport", "a tty write transport ignores input"},
    {"F1", "Flow control", "defaults 64K/16K; one limit derives the other"},
    {"F2", "Flow control", "high < low or negative: -EINVAL, unchanged"},
    {"F3", "Flow control", "PW once, inside write, when above high"},
    {"F4", "Flow control", "RW once, from the loop, at <= low"},
    {"F5", "Flow control", "high 0: PW when anything is buffered, RW when empty"},
    {"F6", "Flow control", "new limits apply at once (PW/RW)"},
    {"F7", "Flow control", "a paused writer whose reader closes gets CL"},
    {"D1", "Close, abort, EOF", "close with empty buffer: EOF at reader, CL(0)"},
    {"D2", "Close, abort, EOF", "close flushes every buffered byte, then CL(0)"},
    {"D3", "Close, abort, EOF", "write_eof is a graceful close; repeats are no-ops"},
    {"D4", "Close, abort, EOF", "abort drops the buffer; CL(0) once"},
    {"D5", "Close, abort, EOF", "close/abort/write_eof in any order: CL once"},
    {"D6", "Close, abort, EOF", "close needs the loop; nothing lost if stopped"},
    {"E1", "Reader goes away", "reader closes, empty buffer: CL(0), no write"},
    {"E2", "Reader goes away", "reader closes, data buffered: CL(-EPIPE)"},
    {"E3", "Reader goes away", "write after reader closed: CL(-EPIPE), no SIGPIPE"},
    {"E4", "Reader goes away", "a socketpair write pipe sees the peer's close"},
    {"E5", "Reader goes away", "waiting on the reader, or for its close, costs no CPU"},
    {"S1", "Subprocess", "stdio PIPE/INHERIT/DEVNULL/fd/stdout; pipe transports"},
    {"S2", "Subprocess", "callback order: CM, pipe data, exit, CL last"},
    {"S3", "Subprocess", "return code: exit status or minus the signal"},
    {"S4", "Subprocess", "process_exited even if a grandchild holds stdout"},
    {"S5", "Subprocess", "close: pipes closed, running child killed and reaped"},
    {"S6", "Subprocess", "signals after reaping: -ESRCH, no recycled pid"},
    {"S7", "Subprocess", "missing program or bad cwd: error from spawn"},
    {"S8", "Subprocess", "child gets only stdio fds, default signals"},
    {"S9", "Subprocess", "stdin flow control reaches the protocol; EPIPE ok"},
    {"S10", "Subprocess", "no zombies, whatever the order of close/exit"},
    {"S11", "Subprocess", "new session; the child's whole group can be signalled"},
    {"S12", "Subprocess", "a pty as the child's stdio and controlling terminal"},
    {"S13", "Subprocess", "complete lines over any chunking, bounded length"},
    {"S14", "Subprocess", "run to completion: input, bounded outputs, timeout kills"},
    {"S15", "Subprocess", "extra child fds: pipes either way, devnull, fd, inherit"},
    {"S16", "Subprocess", "detached: close lets the child run on, still reaped"},
    {"S17", "Subprocess", "uid/gid for the child; -EPERM when not allowed"},
    {"X1", "Shared open file descriptions", "the description's flags never change"},
    {"X2", "Shared open file descriptions", "another process sharing it still blocks"},
    {"X3", "Shared open file descriptions",
     "fd + dup transports: closing one never blocks the other"},
    {"X4", "Shared open file descriptions",
     "fallback O_NONBLOCK, restored after the last sibling"},
    {"X5", "Shared open file descriptions", "a connect flag asks for shared O_NONBLOCK"},
};

size_t pc_spec_count(void)
{
    return sizeof spec_items / sizeof spec_items[0];
}

const pc_spec_item *pc_spec_get(size_t i)
{
    return i < pc_spec_count() ? &spec_items[i] : NULL;
}

const pc_spec_item *pc_spec_find(const char *id)
{
    for (size_t i = 0; id && i < pc_spec_count(); i++)
        if (strcmp(spec_items[i].id, id) == 0)
            return &spec_items[i];
    return NULL;
}

int pc_spec_is_ours(const char *id)
{
    /* The items docs/behaviours.md marks Ours: product decisions where pipeloop
     * deliberately differs from asyncio. */
    static const char *const ours[] = {"L5", "C2", "C3", "C6", "R11",
                                       "W6", "F6", "D5", "S4", "X1"};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strcmp(ours[i], id) == 0)
            return 1;
    return 0;
}
