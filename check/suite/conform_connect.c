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
        int near = pair.near;
        pc_transport *t = pc_ctx_connect(ctx, dir, pair.near, rec);
        pair.near = -1;
        /* The transport knows its fd (asyncio: get_extra_info("pipe")). */
        int fd = ctx->impl->get_fd(t);
        PC_ASSERT_GE_INT(fd, 0);
        if (pc_subject_has(PC_CAP_GET_FD))
            PC_ASSERT_EQ_INT(fd, near);
        PC_ASSERT_OK(ctx->impl->close(t));
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
        PC_ASSERT_EQ_STR(pc_recorder_sequence(rec), "CM CL");
        conform_release(&pair, rec);
    }
}

/* Connect fd both ways and check that both are refused with want and
 * that fd is still open with its flags unchanged. */
/* The end of a refused connect: the fd's flags as they were (fd < 0: a
 * closed fd, nothing to look at) and no callback, ever. */
static void expect_left_alone(pc_ctx *ctx, int fd, int flags, pc_recorder *rec)
{
    if (fd >= 0) {
        PC_ASSERT_EQ_INT(fcntl(fd, F_GETFL), flags);
    }
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_nevents(rec), 0);
    pc_recorder_free(rec);
}

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
    expect_left_alone(ctx, fd, flags, rec);
}

/* An unlinked regular file open for reading and writing. */
static int temp_file(void)
{
    char path[] = "/tmp/pipecheck-c1-XXXXXX";
    int file = mkstemp(path);
    PC_ASSERT_GE_INT(file, 0);
    unlink(path);
    return file;
}

/* One test per kind of fd, so that each refusal is graded on its own (a
 * subject that accepts one kind still has the others checked). */
PC_CONFORMANCE(c1_refuses_file, .id = "C1", .slug = "refuses-regular-file",
               .needs = PC_NEEDS_LOOP)
{
    int file = temp_file();
    expect_refused(ctx, file, PL_EFDKIND, "a regular file");
    PC_ASSERT_OK(close(file));
}

PC_CONFORMANCE(c1_refuses_dir, .id = "C1", .slug = "refuses-directory",
               .needs = PC_NEEDS_LOOP)
{
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    PC_ASSERT_GE_INT(dir, 0);
    expect_refused(ctx, dir, PL_EFDKIND, "a directory");
    close(dir);
}

PC_CONFORMANCE(c1_refuses_dgram, .id = "C1", .slug = "refuses-datagram-socket",
               .needs = PC_NEEDS_LOOP)
{
    int dgram[2];
    PC_ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dgram));
    expect_refused(ctx, dgram[0], PL_EFDKIND, "a datagram socket");
    close(dgram[0]);
    close(dgram[1]);
}

PC_CONFORMANCE(c1_refuses_closed, .id = "C1", .slug = "refuses-closed-fd",
               .needs = PC_NEEDS_LOOP)
{
    /* A closed fd and a negative one. */
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    close(fds[0]);
    close(fds[1]);
    expect_refused(ctx, fds[0], -EBADF, "a closed fd");
    expect_refused(ctx, -1, -EBADF, "fd -1");
}

PC_CONFORMANCE(c1_refuses_block, .id = "C1", .slug = "refuses-block-device",
               .needs = PC_NEEDS_LOOP)
{
    /* A block device, where the machine has one we may open. */
    static const char *const blocks[] = {"/dev/loop0", "/dev/vda", "/dev/sda",
                                         "/dev/nvme0n1"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        int b = open(blocks[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (b < 0)
            continue;
        expect_refused(ctx, b, PL_EFDKIND, blocks[i]);
        close(b);
        return;
    }
    PC_SKIP("n/a: no block device this process may open");
}

/* C1: a regular file open for writing, connected for writing: refused as
 * the wrong kind (refuses-other-fds checks that every wrong fd is refused
 * in both directions, whatever the code, read first), nothing called, and
 * the caller's fd still open with its flags. */
PC_CONFORMANCE(c1_write_file, .id = "C1", .slug = "write-refuses-regular-file",
               .needs = PC_NEEDS_LOOP)
{
    int file = temp_file();
    int flags = fcntl(file, F_GETFL);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "a regular file");
    pc_transport *t = NULL;
    PC_ASSERT_ERR(
        ctx->impl->connect_write_pipe(ctx->loop, file, &pc_recorder_protocol, rec, &t),
        PL_EFDKIND);
    expect_left_alone(ctx, file, flags, rec);
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

/* C4 with a protocol switch: the protocol set_protocol gives gets every
 * later callback of the transport (no second CM), the first one nothing
 * more, and get_protocol names whichever is set.  The new protocol is not
 * a recorder (it never sees CM); it counts, and notes anything out of
 * order. */
struct switched {
    pc_transport *t;
    uint64_t bytes;
    int eofs, lost, error, wrong;
};

static void switched_made(pc_transport *t, void *user)
{
    struct switched *s = user;
    (void)t;
    s->wrong++; /* CM belongs to the first protocol only */
}

static void switched_data(pc_transport *t, const void *data, size_t len, void *user)
{
    struct switched *s = user;
    (void)data;
    if (t != s->t || s->eofs || s->lost)
        s->wrong++;
    s->bytes += len;
}

static int switched_eof(pc_transport *t, void *user)
{
    struct switched *s = user;
    if (t != s->t || s->eofs++ || s->lost)
        s->wrong++;
    return 0;
}

static void switched_lost(pc_transport *t, int error, void *user)
{
    struct switched *s = user;
    if (t != s->t || s->lost++)
        s->wrong++;
    s->error = error;
}

static const pc_protocol switched_protocol = {.connection_made = switched_made,
                                              .data_received = switched_data,
                                              .eof_received = switched_eof,
                                              .connection_lost = switched_lost};

static void expect_protocol(const pc_subject *im, pc_transport *t,
                            const pc_protocol *want, void *want_user, const char *which)
{
    const pc_protocol *protocol = NULL;
    void *user = NULL;
    PC_ASSERT_OK(im->get_protocol(t, &protocol, &user));
    if (protocol != want || user != want_user)
        PC_FAIL("get_protocol does not return the %s protocol", which);
}

PC_CONFORMANCE(c4_set_protocol_read, .id = "C4", .slug = "set-protocol-read",
               .needs = PC_NEEDS_READ, .caps = PC_CAP_SET_PROTOCOL)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_READ, "first protocol");
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(c.rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    expect_protocol(im, c.t, &pc_recorder_protocol, c.rec, "first");
    struct switched s = {.t = c.t};
    PC_ASSERT_OK(im->set_protocol(c.t, &switched_protocol, &s));
    expect_protocol(im, c.t, &switched_protocol, &s, "new");
    pc_peer *peer = conform_writer(&c.pair, ctx->seed, 1000, 100, 0, 1);
    PC_RUN_UNTIL(ctx->loop, s.bytes == 1000, CONFORM_WAIT_MS);
    pc_peer_release(peer);
    conform_peer_done(peer, 0);
    PC_RUN_UNTIL(ctx->loop, s.lost, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(s.wrong, 0);
    if (!(ctx->kind->flags & PC_KIND_EOF_IS_EIO) || s.error != -EIO)
        PC_ASSERT_ERR(s.error, 0); /* a pty master's EIO end is R11's */
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_STR(pc_recorder_sequence(c.rec), "CM");
    PC_ASSERT_EQ_INT(s.lost, 1);
    conform_release(&c.pair, c.rec);
}

PC_CONFORMANCE(c4_set_protocol_write, .id = "C4", .slug = "set-protocol-write",
               .needs = PC_NEEDS_WRITE, .caps = PC_CAP_SET_PROTOCOL)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "first protocol");
    pc_peer *peer = conform_reader(&c.pair, ctx->seed, 0, 0, 0);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(c.rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    expect_protocol(im, c.t, &pc_recorder_protocol, c.rec, "first");
    struct switched s = {.t = c.t};
    PC_ASSERT_OK(im->set_protocol(c.t, &switched_protocol, &s));
    expect_protocol(im, c.t, &switched_protocol, &s, "new");
    unsigned char buf[100];
    pc_pattern_fill(ctx->seed, 0, buf, sizeof buf);
    PC_ASSERT_EQ_INT(im->write(c.t, buf, sizeof buf), (int)sizeof buf);
    PC_ASSERT_OK(im->close(c.t));
    PC_RUN_UNTIL(ctx->loop, s.lost, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(s.wrong, 0);
    PC_ASSERT_ERR(s.error, 0);
    /* (A pty master's close drops what the slave had not read yet.) */
    uint64_t got = conform_peer_done(peer, 0);
    if (!(ctx->kind->flags & PC_KIND_NEAR_CLOSE_DROPS))
        PC_ASSERT_EQ_UINT(got, sizeof buf);
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_STR(pc_recorder_sequence(c.rec), "CM");
    PC_ASSERT_EQ_INT(s.lost, 1);
    conform_release(&c.pair, c.rec);
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
static void c6_flags(pc_ctx *ctx, pc_dir dir)
{
    int falls_back = (ctx->kind->flags & PC_KIND_PTY_MASTER) != 0;
    for (int started_nonblocking = 0; started_nonblocking < 2; started_nonblocking++) {
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

/* One test per direction: each transport class sets up its fd itself. */
PC_CONFORMANCE(c6_flags_read, .id = "C6", .slug = "flags-restored-read",
               .needs = PC_NEEDS_READ)
{
    c6_flags(ctx, PC_DIR_READ);
}

PC_CONFORMANCE(c6_flags_write, .id = "C6", .slug = "flags-restored-write",
               .needs = PC_NEEDS_WRITE)
{
    c6_flags(ctx, PC_DIR_WRITE);
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
