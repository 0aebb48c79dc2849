/* Conformance: connecting a transport (spec group C). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conform.h"

/* C1: every kind's near end is accepted, in both directions. */
PC_CONFORMANCE(c1_accepts, .id = "C1", .slug = "accepts-kind", .needs = PC_NEEDS_READ)
{
    for (int d = 0; d < 2; d++) {
        pc_dir dir = d == 0 ? PC_DIR_READ : PC_DIR_WRITE;
        pc_pair pair;
        pc_ctx_open_pair(ctx, dir, 0, &pair);
        pc_recorder *rec = pc_recorder_new(ctx->loop, d ? "write transport" : "read");
        pc_transport *t = pc_ctx_connect(ctx, dir, pair.near, rec);
        pair.near = -1;
        PC_ASSERT_OK(ctx->impl->close(t));
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
        PC_ASSERT_EQ_STR(pc_recorder_sequence(rec), "CM CL");
        conform_release(&pair, rec);
    }
}

/* Connect fd both ways and check that both are refused with want and
 * that fd is still open with its flags unchanged. */
static void expect_refused(pc_ctx *ctx, int fd, int want, const char *what)
{
    int flags = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    pc_recorder *rec = pc_recorder_new(ctx->loop, what);
    pc_transport *t = NULL;
    int err = ctx->impl->connect_read_pipe(ctx->loop, fd, &pc_recorder_protocol, rec, &t);
    if (err != want)
        PC_FAIL("read connect of %s: expected %s, got %s", what, pl_err_name(want),
                pl_err_name(err));
    err = ctx->impl->connect_write_pipe(ctx->loop, fd, &pc_recorder_protocol, rec, &t);
    /* A directory or a read-only file may be refused for its direction
     * first; either way it must be refused. */
    if (err == 0)
        PC_FAIL("write connect of %s was accepted", what);
    if (fd >= 0) {
        PC_ASSERT_EQ_INT(fcntl(fd, F_GETFL), flags);
    }
    /* Refused means no callback either. */
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_nevents(rec), 0);
    pc_recorder_free(rec);
}

PC_CONFORMANCE(c1_refuses, .id = "C1", .slug = "refuses-other-fds",
               .needs = PC_NEEDS_LOOP)
{
    char path[] = "/tmp/pipecheck-c1-XXXXXX";
    int file = mkstemp(path);
    PC_ASSERT_GE_INT(file, 0);
    unlink(path);
    expect_refused(ctx, file, PL_EFDKIND, "a regular file");
    PC_ASSERT_OK(close(file));

    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    PC_ASSERT_GE_INT(dir, 0);
    expect_refused(ctx, dir, PL_EFDKIND, "a directory");
    close(dir);

    int dgram[2];
    PC_ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dgram));
    expect_refused(ctx, dgram[0], PL_EFDKIND, "a datagram socket");
    close(dgram[0]);
    close(dgram[1]);

    /* A closed fd and a negative one. */
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    close(fds[0]);
    close(fds[1]);
    expect_refused(ctx, fds[0], -EBADF, "a closed fd");
    expect_refused(ctx, -1, -EBADF, "fd -1");

    /* A block device, where the machine has one we may open. */
    static const char *const blocks[] = {"/dev/loop0", "/dev/vda", "/dev/sda",
                                         "/dev/nvme0n1"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        int b = open(blocks[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (b < 0)
            continue;
        expect_refused(ctx, b, PL_EFDKIND, blocks[i]);
        close(b);
        break;
    }
}

/* C1: a regular file open for writing, connected for writing: refused as
 * the wrong kind (refuses-other-fds checks that every wrong fd is refused
 * in both directions, whatever the code, read first), nothing called, and
 * the caller's fd still open with its flags. */
PC_CONFORMANCE(c1_write_file, .id = "C1", .slug = "write-refuses-regular-file",
               .needs = PC_NEEDS_LOOP)
{
    char path[] = "/tmp/pipecheck-c1w-XXXXXX";
    int file = mkstemp(path);
    PC_ASSERT_GE_INT(file, 0);
    unlink(path);
    int flags = fcntl(file, F_GETFL);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "a regular file");
    pc_transport *t = NULL;
    PC_ASSERT_ERR(
        ctx->impl->connect_write_pipe(ctx->loop, file, &pc_recorder_protocol, rec, &t),
        PL_EFDKIND);
    PC_ASSERT_EQ_INT(fcntl(file, F_GETFL), flags);
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_nevents(rec), 0);
    pc_recorder_free(rec);
    PC_ASSERT_OK(close(file));
}

/* C2: /dev/null for reading.  epoll refuses it (EPERM), so connect must;
 * poll(2) reports it readable, and the transport reaches EOF. */
PC_CONFORMANCE(c2_devnull, .id = "C2", .slug = "unwatchable-fd", .needs = PC_NEEDS_LOOP)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    PC_ASSERT_GE_INT(fd, 0);
    int flags = fcntl(fd, F_GETFL);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "/dev/null reader");
    pc_transport *t = NULL;
    int err = ctx->impl->connect_read_pipe(ctx->loop, fd, &pc_recorder_protocol, rec, &t);
    if (strcmp(ctx->backend, "epoll") == 0) {
        PC_ASSERT_ERR(err, PL_ENOTWATCHABLE);
        PC_ASSERT_EQ_INT(fcntl(fd, F_GETFL), flags);
        pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
        PC_ASSERT_EQ_SIZE(pc_recorder_nevents(rec), 0);
        close(fd);
    } else {
        PC_ASSERT_ERR(err, 0);
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
        PC_ASSERT_EQ_STR(pc_recorder_sequence(rec), "CM ER CL");
        PC_ASSERT_ERR(pc_recorder_error(rec), 0);
    }
    pc_recorder_free(rec);
}

static void c3_never(pl_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop;
    (void)fd;
    (void)events;
    (void)user;
    PC_FAIL("a refused watcher ran");
}

/* In process only: a second connect must name the very same fd number. */
PC_CONFORMANCE(c3_owner, .id = "C3", .slug = "one-fd-one-owner", .needs = PC_NEEDS_READ,
               .caps = PC_CAP_IN_PROCESS | PC_CAP_LOOP_WATCHERS)
{
    pc_pair pair;
    pc_ctx_open_pair(ctx, PC_DIR_READ, 0, &pair);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "owner");
    pc_recorder *other = pc_recorder_new(ctx->loop, "second owner");
    int fd = pair.near;
    pc_transport *t = pc_ctx_connect(ctx, PC_DIR_READ, fd, rec);
    pair.near = -1;
    pc_transport *t2 = NULL;
    PC_ASSERT_ERR(
        ctx->impl->connect_read_pipe(ctx->loop, fd, &pc_recorder_protocol, other, &t2),
        -EEXIST);
    PC_ASSERT_ERR(
        ctx->impl->connect_write_pipe(ctx->loop, fd, &pc_recorder_protocol, other, &t2),
        -EEXIST);
    pl_loop *native = pc_loop_native(ctx->loop);
    PC_ASSERT_ERR(pl_loop_add_reader(native, fd, c3_never, NULL), -EEXIST);
    PC_ASSERT_ERR(pl_loop_add_writer(native, fd, c3_never, NULL), -EEXIST);
    PC_ASSERT_ERR(pl_loop_remove_reader(native, fd), -ENOENT);
    /* The owner is untouched by the refusals. */
    pc_peer *peer = conform_writer(&pair, ctx->seed, 100, 100, 0, 1);
    conform_drain_then_eof(ctx, rec, peer, 100, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_nevents(other), 0);
    (void)t;
    conform_peer_done(peer, 0);
    pc_pair_close(&pair);
    pc_recorder_free(other);
    pc_recorder_free(rec);
}

PC_CONFORMANCE(c4_cm_first, .id = "C4", .slug = "cm-once-first-next-iteration",
               .needs = PC_NEEDS_READ, .excludes = PC_KIND_CHILD)
{
    pc_pair pair;
    pc_ctx_open_pair(ctx, PC_DIR_READ, 0, &pair);
    /* Data is already waiting when the transport is made. */
    unsigned char buf[100];
    pc_pattern_fill(ctx->seed, 0, buf, sizeof buf);
    PC_ASSERT_EQ_INT(write(pair.far, buf, sizeof buf), (int)sizeof buf);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "read transport");
    pc_recorder_expect_pattern(rec, ctx->seed);
    uint64_t iteration = pc_loop_iteration(ctx->loop);
    pc_ctx_connect(ctx, PC_DIR_READ, pair.near, rec);
    pair.near = -1;
    PC_ASSERT_EQ_SIZE(pc_recorder_nevents(rec), 0); /* not inside connect */
    PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) == sizeof buf, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(pc_recorder_iteration_of(rec, PC_EV_CM), iteration + 1);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(rec, PC_EV_CM), 1);
    PC_ASSERT_EQ_INT(pc_recorder_event(rec, 0)->type, PC_EV_CM);
    close(pair.far);
    pair.far = -1;
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(rec, PC_EV_CM), 1);
    conform_release(&pair, rec);
}

static void c5_pause_in_cm(pc_transport *t, void *user)
{
    const pc_subject *im = user;
    if (im->pause_reading(t) != 0)
        PC_FAIL("pause_reading inside connection_made failed");
}

PC_CONFORMANCE(c5_pause_in_cm, .id = "C5", .slug = "pause-in-cm-sticks",
               .needs = PC_NEEDS_READ, .excludes = PC_KIND_CHILD)
{
    const pc_subject *im = ctx->impl;
    pc_pair pair;
    pc_ctx_open_pair(ctx, PC_DIR_READ, 0, &pair);
    PC_ASSERT_EQ_INT(write(pair.far, "early", 5), 5);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "read transport");
    static const pc_protocol hooks = {.connection_made = c5_pause_in_cm};
    pc_recorder_set_hooks(rec, &hooks, (void *)im);
    pc_transport *t = pc_ctx_connect(ctx, PC_DIR_READ, pair.near, rec);
    pair.near = -1;
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    pc_run_until_quiet(ctx->loop, 100, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), 0);
    if (pc_subject_has(PC_CAP_IS_READING)) /* CPython >= 3.11 */
        PC_ASSERT_EQ_INT(im->is_reading(t), 0);
    PC_ASSERT_OK(im->resume_reading(t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) == 5, CONFORM_WAIT_MS);
    close(pair.far);
    pair.far = -1;
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    conform_release(&pair, rec);
}

/* C6, refined by X1/X4: where the transport has a private way not to block
 * (every kind but a pty master) the flags never change; where it falls
 * back to O_NONBLOCK on the description, the flag is set while connected
 * and the original flags are back once it is closed.  A dup shares the
 * file status flags, so it shows what another process sharing the fd
 * would see. */
PC_CONFORMANCE(c6_flags, .id = "C6", .slug = "flags-restored", .needs = PC_NEEDS_READ)
{
    int falls_back = (ctx->kind->flags & PC_KIND_PTY_MASTER) != 0;
    for (int d = 0; d < 4; d++) {
        pc_dir dir = d % 2 == 0 ? PC_DIR_READ : PC_DIR_WRITE;
        int started_nonblocking = d >= 2;
        pc_pair pair;
        pc_ctx_open_pair(ctx, dir, 0, &pair);
        int flags = fcntl(pair.near, F_GETFL);
        flags = started_nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        PC_ASSERT_OK(fcntl(pair.near, F_SETFL, flags));
        int shared = fcntl(pair.near, F_DUPFD_CLOEXEC, 0);
        PC_ASSERT_GE_INT(shared, 0);
        pc_recorder *rec = pc_recorder_new(ctx->loop, dir ? "write transport" : "read");
        pc_transport *t = pc_ctx_connect(ctx, dir, pair.near, rec);
        pair.near = -1;
        PC_ASSERT_EQ_INT(fcntl(shared, F_GETFL), falls_back ? flags | O_NONBLOCK : flags);
        PC_ASSERT_OK(ctx->impl->close(t));
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
        /* Exactly the flags it had, whichever they were. */
        PC_ASSERT_EQ_INT(fcntl(shared, F_GETFL), flags);
        close(shared);
        conform_release(&pair, rec);
    }
}

/* Misuse at connect time: NULL arguments are refused and leave the fd.
 * C-level misuse, so in process only. */
PC_CONFORMANCE(c1_null_args, .id = "C1", .slug = "null-arguments", .needs = PC_NEEDS_READ,
               .caps = PC_CAP_IN_PROCESS)
{
    pc_pair pair;
    pc_ctx_open_pair(ctx, PC_DIR_READ, 0, &pair);
    pc_transport *t = NULL;
    int flags = fcntl(pair.near, F_GETFL);
    PC_ASSERT_ERR(ctx->impl->connect_read_pipe(ctx->loop, pair.near, NULL, NULL, &t),
                  -EINVAL);
    PC_ASSERT_ERR(ctx->impl->connect_read_pipe(ctx->loop, pair.near,
                                               &pc_recorder_protocol, NULL, NULL),
                  -EINVAL);
    PC_ASSERT_ERR(
        ctx->impl->connect_read_pipe(NULL, pair.near, &pc_recorder_protocol, NULL, &t),
        -EINVAL);
    PC_ASSERT_EQ_INT(fcntl(pair.near, F_GETFL), flags);
    PC_ASSERT_NULL(t);
    pc_pair_close(&pair);
}
