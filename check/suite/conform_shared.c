/* Conformance: shared open file descriptions (spec X1-X5).
 *
 * O_NONBLOCK belongs to the open file description, which a dup, a parent
 * shell or another process may share.  A dup of the near end taken before
 * connect (the "witness") sees exactly what such a holder would see. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/internal.h" /* pl__io_refuse: force the fallbacks */
#include "conform.h"

#define MIB (1024u * 1024u)

static int dup_cloexec(int fd)
{
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        PC_FAIL("dup of fd %d: %s", fd, strerror(errno));
    return copy;
}

/* Give the near end the given O_NONBLOCK state; returns its status flags. */
static int set_start_flags(int fd, int nonblocking)
{
    int flags = fcntl(fd, F_GETFL);
    flags = nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    PC_ASSERT_OK(fcntl(fd, F_SETFL, flags));
    return flags;
}

static pc_transport *connect_flags(pc_ctx *ctx, pc_dir dir, int fd, unsigned flags,
                                   pc_recorder *rec)
{
    pc_transport *t = NULL;
    int err = pc_pipeloop_connect(ctx->loop, fd, dir == PC_DIR_READ, flags,
                                  &pc_recorder_protocol, rec, &t);
    if (err)
        PC_FAIL("connect with flags %#x on %s: %s", flags, ctx->kind->name,
                pl_err_name(err));
    return t;
}

/* The I/O mode of a pipeloop transport. */
static int io_mode(pc_transport *t)
{
    return pl_transport_get_io_mode(pc_transport_native(t));
}

static void close_and_wait(pc_ctx *ctx, pc_transport *t, pc_recorder *rec)
{
    PC_ASSERT_OK(ctx->impl->close(t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(pc_recorder_error(rec), 0);
}

/* The mode a default connect must choose on this kind (see the table at
 * pl_connect_read_pipe), with the mechanisms in refuse taken away. */
static int expected_mode(const pc_kind *kind, unsigned refuse)
{
    if (kind->flags & PC_KIND_SOCKET)
        return PL_IO_DONTWAIT;
    if (kind->flags & PC_KIND_PTY_MASTER)
        return PL_IO_NONBLOCK;
    if (!(refuse & PL__REFUSE_REOPEN))
        return PL_IO_REOPENED;
    int anonymous_pipe = !(kind->flags & (PC_KIND_FIFO | PC_KIND_TTY));
    return anonymous_pipe && !(refuse & PL__REFUSE_NOWAIT) ? PL_IO_NOWAIT
                                                           : PL_IO_NONBLOCK;
}

/* ---- X1 ------------------------------------------------------------------ */

/* Data through a connected transport in both directions of use, while the
 * witness's flags are checked at every stage: after connect, after
 * connection_made, after I/O that had to wait for the kernel, after the
 * close. */
static void x1_one(pc_ctx *ctx, pc_dir dir, int start_nonblocking)
{
    pc_pair pair;
    pc_ctx_open_pair(ctx, dir, 0, &pair);
    int flags = set_start_flags(pair.near, start_nonblocking);
    int witness = dup_cloexec(pair.near);
    pc_recorder *rec = pc_recorder_new(ctx->loop, dir ? "write transport" : "read");
    pc_transport *t = pc_ctx_connect(ctx, dir, pair.near, rec);
    pair.near = -1;
    PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
    /* Enough to overrun the kernel, so the transport meets EAGAIN. */
    uint64_t bytes = pair.kind->capacity_max + 64 * 1024;
    if (dir == PC_DIR_READ) {
        int hold = (pair.kind->flags & PC_KIND_FAR_CLOSE_DROPS) != 0;
        pc_peer *writer = conform_writer(&pair, ctx->seed, bytes, 0, 0, hold);
        pc_recorder_expect_pattern(rec, ctx->seed);
        PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) >= bytes, CONFORM_WAIT_MS);
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
        if (hold)
            PC_ASSERT_OK(pc_peer_release(writer));
        PC_ASSERT_EQ_UINT(conform_peer_done(writer, 0), bytes);
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    } else {
        char *buf = malloc(bytes);
        PC_ASSERT_NOT_NULL(buf);
        pc_pattern_fill(ctx->seed, 0, buf, bytes);
        PC_ASSERT_EQ_INT(ctx->impl->write(t, buf, bytes), (int)bytes);
        free(buf);
        PC_ASSERT_GT_SIZE(ctx->impl->get_write_buffer_size(t), 0);
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
        pc_peer *reader = conform_reader_count(&pair, ctx->seed, bytes);
        PC_RUN_UNTIL(ctx->loop, ctx->impl->get_write_buffer_size(t) == 0,
                     CONFORM_WAIT_MS);
        PC_ASSERT_EQ_UINT(conform_peer_done(reader, 0), bytes);
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
        close_and_wait(ctx, t, rec);
    }
    PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
    close(witness);
    conform_release(&pair, rec);
}

PC_CONFORMANCE(x1_flags_untouched, .id = "X1", .slug = "flags-never-change",
               .needs = PC_NEEDS_READ, .excludes = PC_KIND_PTY_MASTER)
{
    /* The second round takes reopening away: pipes then use RWF_NOWAIT,
     * which must hold through partial writes and EAGAIN as well. */
    static const unsigned refusals[] = {0, PL__REFUSE_REOPEN};
    for (size_t r = 0; r < sizeof refusals / sizeof refusals[0]; r++) {
        if (refusals[r] && !pc_subject_has(PC_CAP_PIPELOOP_API))
            continue; /* the hook is pipeloop's */
        if (expected_mode(ctx->kind, refusals[r]) == PL_IO_NONBLOCK)
            continue; /* no private mechanism left (X4) */
        pl__io_refuse = refusals[r];
        for (int start_nonblocking = 0; start_nonblocking < 2; start_nonblocking++) {
            x1_one(ctx, PC_DIR_READ, start_nonblocking);
            x1_one(ctx, PC_DIR_WRITE, start_nonblocking);
        }
    }
    pl__io_refuse = 0;
}

/* The mechanism is chosen at connect and reported, the fd number the
 * caller gave stays the transport's, and a refused mechanism falls back to
 * the next one (a test hook plays the kernel that refuses). */
PC_CONFORMANCE(x1_io_mode, .id = "X1", .slug = "io-mode-reported", .needs = PC_NEEDS_READ,
               .caps = PC_CAP_PIPELOOP_API)
{
    static const unsigned refusals[] = {0, PL__REFUSE_NOWAIT, PL__REFUSE_REOPEN,
                                        PL__REFUSE_NOWAIT | PL__REFUSE_REOPEN};
    for (size_t r = 0; r < sizeof refusals / sizeof refusals[0]; r++) {
        pl__io_refuse = refusals[r];
        for (int d = 0; d < 2; d++) {
            pc_dir dir = d ? PC_DIR_WRITE : PC_DIR_READ;
            pc_pair pair;
            pc_ctx_open_pair(ctx, dir, 0, &pair);
            int fd = pair.near;
            pc_recorder *rec = pc_recorder_new(ctx->loop, d ? "write transport" : "read");
            pc_transport *t = pc_ctx_connect(ctx, dir, fd, rec);
            pair.near = -1;
            int mode = io_mode(t);
            if (mode != expected_mode(ctx->kind, refusals[r]))
                PC_FAIL("refusing %#x, the %s end got %s, expected %s", refusals[r],
                        d ? "write" : "read", pl_io_mode_name(mode),
                        pl_io_mode_name(expected_mode(ctx->kind, refusals[r])));
            PC_ASSERT_EQ_INT(ctx->impl->get_fd(t), fd);
            /* A transport in that mode moves data: one write each way. */
            PC_RUN_UNTIL(ctx->loop, pc_recorder_count(rec, PC_EV_CM) == 1,
                         CONFORM_WAIT_MS);
            if (dir == PC_DIR_READ) {
                PC_ASSERT_EQ_INT(write(pair.far, "x", 1), 1);
                PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) == 1, CONFORM_WAIT_MS);
                close_and_wait(ctx, t, rec);
            } else {
                PC_ASSERT_EQ_INT(ctx->impl->write(t, "x", 1), 1);
                char c;
                PC_ASSERT_EQ_INT(read(pair.far, &c, 1), 1);
                close_and_wait(ctx, t, rec);
            }
            PC_ASSERT_EQ_INT(conform_fd_open(fd), 0);
            conform_release(&pair, rec);
        }
    }
    pl__io_refuse = 0;
}

/* ---- X2 ------------------------------------------------------------------ */

/* Is process pid asleep inside system call nr?  /proc/PID/syscall names the
 * call a blocked task is in; where it cannot be read, the task state 'S'
 * stands in (the child does nothing else that sleeps). */
static int blocked_in(pid_t pid, long nr)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        long got = -1;
        int ok = fscanf(f, "%ld", &got) == 1;
        fclose(f);
        if (ok || errno != EACCES)
            return ok && got == nr;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'S';
}

/* Wait (polling /proc, with a deadline) until pid sleeps in nr.  Fails if
 * the child exits first: its blocking call returned at once. */
static void wait_blocked(pid_t pid, long nr, const char *what)
{
    uint64_t deadline = pc_deadline_ms(CONFORM_WAIT_MS);
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            PC_FAIL("the other process's blocking %s returned at once (exit status "
                    "%d): the shared description is non-blocking",
                    what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        if (blocked_in(pid, nr))
            return;
        if (pc_now_ns() / 1000000u > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            PC_FAIL("the other process never blocked in %s", what);
        }
        struct timespec tick = {0, 1000000}; /* polling /proc, not a wait */
        nanosleep(&tick, NULL);
    }
}

static void expect_child_ok(pid_t pid, const char *what)
{
    int status;
    PC_ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        PC_FAIL("the other process's %s failed (status %#x)", what, status);
}

/* Another process holds the near end's description (inherited, as a shell
 * pipeline's sibling would) and uses it with blocking calls while our
 * transport is connected and has run: its read waits for data and its
 * write for room, instead of failing with EAGAIN. */
PC_CONFORMANCE(x2_blocking_sibling, .id = "X2", .slug = "other-process-still-blocks",
               .needs = PC_NEEDS_READ, .excludes = PC_KIND_PTY_MASTER)
{
    for (int d = 0; d < 2; d++) {
        pc_dir dir = d ? PC_DIR_WRITE : PC_DIR_READ;
        pc_pair pair;
        pc_ctx_open_pair(ctx, dir, 0, &pair);
        set_start_flags(pair.near, 0);
        int shared = dup_cloexec(pair.near);
        pc_recorder *rec = pc_recorder_new(ctx->loop, d ? "write transport" : "read");
        pc_transport *t = pc_ctx_connect(ctx, dir, pair.near, rec);
        pair.near = -1;
        PC_RUN_UNTIL(ctx->loop, pc_recorder_count(rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
        /* More than the kernel holds: a blocking write must wait. */
        size_t bytes = dir == PC_DIR_READ ? 1 : pair.kind->capacity_max + 64 * 1024;
        char *buf = malloc(bytes);
        PC_ASSERT_NOT_NULL(buf);
        pc_pattern_fill(ctx->seed, 0, buf, bytes);
        fflush(NULL);
        pid_t pid = fork();
        PC_ASSERT_GE_INT(pid, 0);
        if (pid == 0) {
            ssize_t n =
                dir == PC_DIR_READ ? read(shared, buf, 1) : write(shared, buf, bytes);
            _exit(n == (ssize_t)bytes ? 0 : n < 0 && errno == EAGAIN ? 1 : 2);
        }
        close(shared);
        if (dir == PC_DIR_READ) {
            wait_blocked(pid, SYS_read, "read(2)");
            PC_ASSERT_EQ_INT(write(pair.far, buf, 1), 1);
            expect_child_ok(pid, "read(2)");
            /* The transport saw none of it and is still connected. */
            PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), 0);
            PC_ASSERT_EQ_INT(pc_recorder_lost(rec), 0);
        } else {
            wait_blocked(pid, SYS_write, "write(2)");
            pc_peer *reader = conform_reader_count(&pair, ctx->seed, bytes);
            expect_child_ok(pid, "write(2)");
            PC_ASSERT_EQ_UINT(conform_peer_done(reader, 0), bytes);
            PC_ASSERT_EQ_INT(pc_recorder_lost(rec), 0);
        }
        free(buf);
        close_and_wait(ctx, t, rec);
        conform_release(&pair, rec);
    }
}

/* ---- X3 and X4 ------------------------------------------------------------ */

/* Can the near end of a pair be used in both directions (socket, tty)? */
static int bidirectional(const pc_kind *kind)
{
    return (kind->flags & (PC_KIND_SOCKET | PC_KIND_TTY)) != 0;
}

/* Two transports of this process on one description: "first" on the near
 * end, "second" on its dup.  On a socket or tty they are a read and a write
 * transport (stdin and stdout on one terminal); on a pipe both have the
 * pair's direction.  The first is closed; the second must go on moving a
 * MiB without ever blocking the loop's thread (a blocking write would hang
 * the test until the runner kills it) and the witness must stay
 * non-blocking where the mode shares the description. */
static void x3_scenario(pc_ctx *ctx, pc_dir second_dir, int expect_shared)
{
    pc_pair pair;
    pc_ctx_open_pair(ctx, second_dir, 0, &pair);
    int flags = set_start_flags(pair.near, 0);
    int witness = dup_cloexec(pair.near);
    int second_fd = dup_cloexec(pair.near);
    pc_dir first_dir = bidirectional(ctx->kind) ? (pc_dir)!second_dir : second_dir;
    pc_recorder *rec1 = pc_recorder_new(ctx->loop, "first transport");
    pc_recorder *rec2 = pc_recorder_new(ctx->loop, "second transport");
    pc_transport *first = pc_ctx_connect(ctx, first_dir, pair.near, rec1);
    pair.near = -1;
    pc_transport *second = pc_ctx_connect(ctx, second_dir, second_fd, rec2);
    PC_RUN_UNTIL(ctx->loop,
                 pc_recorder_count(rec1, PC_EV_CM) + pc_recorder_count(rec2, PC_EV_CM) ==
                     2,
                 CONFORM_WAIT_MS);
    /* The flag is pipeloop's business (X1, X4); for any subject the
     * behaviour below is what counts. */
    int native = pc_subject_has(PC_CAP_PIPELOOP_API);
    if (native)
        PC_ASSERT_EQ_INT(conform_nonblocking(witness), expect_shared);
    close_and_wait(ctx, first, rec1);
    /* The first one's close must not take the flag from the second. */
    if (native)
        PC_ASSERT_EQ_INT(conform_nonblocking(witness), expect_shared);
    if (second_dir == PC_DIR_WRITE) {
        char *buf = malloc(MIB);
        PC_ASSERT_NOT_NULL(buf);
        pc_pattern_fill(ctx->seed, 0, buf, MIB);
        /* Nobody reads yet: this must buffer and return, not block. */
        PC_ASSERT_EQ_INT(ctx->impl->write(second, buf, MIB), (int)MIB);
        free(buf);
        PC_ASSERT_GT_SIZE(ctx->impl->get_write_buffer_size(second), 0);
        pc_peer *reader = conform_reader_count(&pair, ctx->seed, MIB);
        PC_RUN_UNTIL(ctx->loop, ctx->impl->get_write_buffer_size(second) == 0,
                     CONFORM_WAIT_MS);
        PC_ASSERT_EQ_UINT(conform_peer_done(reader, 0), MIB);
        close_and_wait(ctx, second, rec2);
    } else {
        int hold = (ctx->kind->flags & PC_KIND_FAR_CLOSE_DROPS) != 0;
        pc_peer *writer = conform_writer(&pair, ctx->seed, MIB, 0, 0, hold);
        pc_recorder_expect_pattern(rec2, ctx->seed);
        if (hold)
            conform_drain_then_eof(ctx, rec2, writer, MIB, CONFORM_WAIT_MS);
        else
            PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec2), CONFORM_WAIT_MS);
        /* That every byte arrives is R1's (writer-gone-data-queued grades a
         * reader that drops what is left when the writer closes, as uvloop
         * does on a pty master); X3's is that the second transport goes on. */
        uint64_t got = pc_recorder_bytes(rec2);
        PC_REQUIRE("R1", got == MIB, "the second transport got %llu of %u bytes",
                   (unsigned long long)got, (unsigned)MIB);
        PC_ASSERT_EQ_UINT(conform_peer_done(writer, 0), MIB);
        /* A subject that reads a pty's end as EIO is graded on that by R11. */
        if (!conform_ended_in_tty_eio(ctx, rec2))
            PC_ASSERT_EQ_INT(pc_recorder_error(rec2), 0);
    }
    /* Both gone: the description has its flags as they were. */
    if (native)
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
    close(witness);
    pc_pair_close(&pair);
    pc_recorder_free(rec1);
    pc_recorder_free(rec2);
}

/* The hang: read transport on a terminal, write transport on its
 * dup; the reader closes (Ctrl-D), then a MiB is written. */
PC_CONFORMANCE(x3_close_first_writer_goes_on, .id = "X3",
               .slug = "close-one-other-writes", .needs = PC_NEEDS_READ)
{
    x3_scenario(ctx, PC_DIR_WRITE, (ctx->kind->flags & PC_KIND_PTY_MASTER) != 0);
}

PC_CONFORMANCE(x3_close_first_reader_goes_on, .id = "X3", .slug = "close-one-other-reads",
               .needs = PC_NEEDS_READ)
{
    x3_scenario(ctx, PC_DIR_READ, (ctx->kind->flags & PC_KIND_PTY_MASTER) != 0);
}

/* Where no private mechanism is left (the hook refuses RWF_NOWAIT and
 * reopening; a pty master never has one), every kind but a socket (whose
 * MSG_DONTWAIT cannot be refused) falls back to
 * O_NONBLOCK on the shared description, counted per description, with
 * kcmp and (second round) without it. */
PC_CONFORMANCE(x4_last_sibling_restores, .id = "X4", .slug = "last-sibling-restores",
               .needs = PC_NEEDS_READ, .excludes = PC_KIND_SOCKET,
               .caps = PC_CAP_PIPELOOP_API)
{
    static const unsigned refusals[] = {PL__REFUSE_NOWAIT | PL__REFUSE_REOPEN,
                                        PL__REFUSE_NOWAIT | PL__REFUSE_REOPEN |
                                            PL__REFUSE_KCMP};
    for (size_t r = 0; r < sizeof refusals / sizeof refusals[0]; r++) {
        pl__io_refuse = refusals[r];
        x3_scenario(ctx, PC_DIR_WRITE, 1);
        x3_scenario(ctx, PC_DIR_READ, 1);
    }
    pl__io_refuse = 0;
}

/* The flag comes back exactly as it was before the first transport,
 * whichever it was, and only after the last one (three transports: the
 * near end and two dups). */
PC_CONFORMANCE(x4_fallback_flags, .id = "X4", .slug = "fallback-flags-counted",
               .needs = PC_NEEDS_READ, .excludes = PC_KIND_SOCKET,
               .caps = PC_CAP_PIPELOOP_API)
{
    pl__io_refuse = PL__REFUSE_NOWAIT | PL__REFUSE_REOPEN;
    for (int start_nonblocking = 0; start_nonblocking < 2; start_nonblocking++) {
        pc_pair pair;
        pc_ctx_open_pair(ctx, PC_DIR_READ, 0, &pair);
        int flags = set_start_flags(pair.near, start_nonblocking);
        int witness = dup_cloexec(pair.near);
        int fds[3] = {pair.near, dup_cloexec(pair.near), dup_cloexec(pair.near)};
        pair.near = -1;
        pc_recorder *recs[3];
        pc_transport *ts[3];
        for (int i = 0; i < 3; i++) {
            recs[i] = pc_recorder_new(ctx->loop, "read transport");
            ts[i] = pc_ctx_connect(ctx, PC_DIR_READ, fds[i], recs[i]);
            PC_ASSERT_EQ_INT(io_mode(ts[i]), PL_IO_NONBLOCK);
            PC_ASSERT_EQ_INT(conform_nonblocking(witness), 1);
        }
        for (int i = 0; i < 3; i++) {
            PC_ASSERT_EQ_INT(conform_nonblocking(witness), 1);
            close_and_wait(ctx, ts[i], recs[i]);
            pc_recorder_free(recs[i]);
        }
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
        close(witness);
        pc_pair_close(&pair);
    }
    pl__io_refuse = 0;
}

/* ---- X5 ------------------------------------------------------------------ */

/* PL_CONNECT_SHARED_NONBLOCK: O_NONBLOCK on the description while
 * connected, the original flags after; unknown flags are refused and leave
 * the fd as it was. */
PC_CONFORMANCE(x5_shared_nonblock_flag, .id = "X5", .slug = "connect-flag-sets-shared",
               .needs = PC_NEEDS_READ, .caps = PC_CAP_PIPELOOP_API)
{
    for (int d = 0; d < 2; d++) {
        pc_dir dir = d ? PC_DIR_WRITE : PC_DIR_READ;
        pc_pair pair;
        pc_ctx_open_pair(ctx, dir, 0, &pair);
        int flags = set_start_flags(pair.near, 0);
        int witness = dup_cloexec(pair.near);
        pc_transport *t = NULL;
        PC_ASSERT_ERR(pc_pipeloop_connect(ctx->loop, pair.near, 1, 1u << 7,
                                          &pc_recorder_protocol, NULL, &t),
                      -EINVAL);
        PC_ASSERT_NULL(t);
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
        pc_recorder *rec = pc_recorder_new(ctx->loop, d ? "write transport" : "read");
        t = connect_flags(ctx, dir, pair.near, PL_CONNECT_SHARED_NONBLOCK, rec);
        pair.near = -1;
        PC_ASSERT_EQ_INT(io_mode(t), PL_IO_NONBLOCK);
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags | O_NONBLOCK);
        PC_RUN_UNTIL(ctx->loop, pc_recorder_count(rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
        if (dir == PC_DIR_WRITE) {
            PC_ASSERT_EQ_INT(ctx->impl->write(t, "x", 1), 1);
            char c;
            PC_ASSERT_EQ_INT(read(pair.far, &c, 1), 1);
        } else {
            PC_ASSERT_EQ_INT(write(pair.far, "x", 1), 1);
            PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) == 1, CONFORM_WAIT_MS);
        }
        close_and_wait(ctx, t, rec);
        PC_ASSERT_EQ_INT(fcntl(witness, F_GETFL), flags);
        close(witness);
        conform_release(&pair, rec);
    }
}
