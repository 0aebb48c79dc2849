/* Helpers shared by the conformance suite's files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "conform.h"

pc_transport *conform_connected(pc_ctx *ctx, pc_dir dir, const char *label, pc_pair *pair,
                                pc_recorder **rec)
{
    pc_ctx_open_pair(ctx, dir, 0, pair);
    *rec = pc_recorder_new(ctx->loop, label);
    pc_transport *t = pc_ctx_connect(ctx, dir, pair->near, *rec);
    pair->near = -1;
    return t;
}

/* Write pattern bytes until the transport's own buffer holds extra. */
static void top_up(pc_ctx *ctx, struct conform_backlog *b, size_t extra)
{
    const pc_subject *im = ctx->impl;
    unsigned char buf[512];
    while (im->get_write_buffer_size(b->t) < extra) {
        pc_pattern_fill(ctx->seed, b->sent, buf, sizeof buf);
        PC_ASSERT_EQ_INT(im->write(b->t, buf, sizeof buf), (int)sizeof buf);
        b->sent += sizeof buf;
        PC_ASSERT_LT_UINT(b->sent, 64u << 20);
    }
}

void conform_back_up(pc_ctx *ctx, struct conform_backlog *b, size_t extra)
{
    const pc_subject *im = ctx->impl;
    pc_ctx_open_pair(ctx, PC_DIR_WRITE, 0, &b->pair);
    (void)pc_pair_shrink(&b->pair, PC_SHRINK_SIZE);
    b->rec = pc_recorder_new(ctx->loop, "write transport");
    b->t = pc_ctx_connect(ctx, PC_DIR_WRITE, b->pair.near, b->rec);
    b->pair.near = -1;
    PC_ASSERT_OK(im->set_write_buffer_limits(b->t, 1 << 30, PL_LIMIT_UNSET));
    b->sent = 0;
    top_up(ctx, b, extra);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(b->rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    /* A tty moves bytes between its queues after the writes (the kernel's
     * flush work), so the iterations that delivered CM may have found room
     * and drained the buffer; without a loop iteration it only grows. */
    top_up(ctx, b, extra);
}

pc_peer *conform_writer(pc_pair *pair, uint64_t seed, uint64_t bytes, size_t chunk,
                        size_t chunk_max, int hold)
{
    pc_peer_script s = {.action = PC_PEER_WRITE,
                        .seed = seed,
                        .bytes = bytes,
                        .chunk = chunk,
                        .chunk_max = chunk_max,
                        .hold = hold};
    pc_peer *peer = pc_peer_start(pair, &s);
    if (!peer)
        PC_FAIL("cannot start a writing peer on %s", pair->kind->name);
    return peer;
}

pc_peer *conform_reader(pc_pair *pair, uint64_t seed, size_t chunk, unsigned pause_us,
                        int wait_start)
{
    pc_peer_script s = {.action = PC_PEER_READ,
                        .seed = seed,
                        .chunk = chunk,
                        .pause_us = pause_us,
                        .wait_start = wait_start};
    pc_peer *peer = pc_peer_start(pair, &s);
    if (!peer)
        PC_FAIL("cannot start a reading peer on %s", pair->kind->name);
    return peer;
}

pc_peer *conform_reader_count(pc_pair *pair, uint64_t seed, uint64_t bytes)
{
    pc_peer_script s = {.action = PC_PEER_READ, .seed = seed, .bytes = bytes};
    pc_peer *peer = pc_peer_start(pair, &s);
    if (!peer)
        PC_FAIL("cannot start a reading peer on %s", pair->kind->name);
    return peer;
}

uint64_t conform_peer_done(pc_peer *peer, int expect_error)
{
    pc_peer_result r;
    int err = pc_peer_wait(peer, &r);
    if (err)
        PC_FAIL("the peer did not finish cleanly: %s", pl_err_name(err));
    if (!r.pattern_ok)
        PC_FAIL("the peer saw a wrong byte at offset %llu",
                (unsigned long long)r.mismatch_at);
    if (r.error != expect_error)
        PC_FAIL("the peer ended with %s, expected %s", pl_err_name(r.error),
                pl_err_name(expect_error));
    return r.bytes;
}

int conform_ended_in_tty_eio(const pc_ctx *ctx, const pc_recorder *rec)
{
    return !(ctx->impl->caps & PC_CAP_PIPELOOP_API) && ctx->kind &&
           (ctx->kind->flags & PC_KIND_TTY) && pc_recorder_lost(rec) &&
           pc_recorder_error(rec) == -EIO && pc_recorder_count(rec, PC_EV_ER) == 0;
}

size_t conform_unread(int fd)
{
    int n = 0;
    if (ioctl(fd, FIONREAD, &n) < 0)
        PC_FAIL("FIONREAD on fd %d: %s", fd, strerror(errno));
    return (size_t)n;
}

int conform_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        PC_FAIL("fd %d is not open", fd);
    return (flags & O_NONBLOCK) != 0;
}

int conform_fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

void conform_drain_then_eof(pc_ctx *ctx, pc_recorder *rec, pc_peer *writer,
                            uint64_t total, unsigned timeout_ms)
{
    PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) >= total || pc_recorder_lost(rec),
                 timeout_ms);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), total);
    PC_ASSERT_OK(pc_peer_release(writer));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), timeout_ms);
}

void conform_drain_then_eof_read(pc_ctx *ctx, pc_recorder *rec, pc_peer *writer,
                                 uint64_t total, pc_transport *t)
{
    PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) >= total, CONFORM_WAIT_MS);
    PC_ASSERT_OK(pc_peer_release(writer));
    /* is_closing turns 1 in the iteration that reads the end of file;
     * eof_received is only queued then. */
    PC_RUN_UNTIL(ctx->loop, ctx->impl->is_closing(t), CONFORM_WAIT_MS);
}

int conform_lowest_free_fd(void)
{
    int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
    PC_ASSERT_GE_INT(fd, 0);
    close(fd);
    return fd;
}

const pc_backend conform_epoll_sigchld = {
    .name = "epoll-sigchld", .column = "sigch", .flag = PL_LOOP_EPOLL};

int conform_spawn_test_add(const char *name,
                           void (*fn)(const pc_backend *backend, void *arg), void *arg)
{
    int err = pc_test_add_each_backend(name, fn, arg, 0);
    return err ? err : pc_test_add_on_backend(name, &conform_epoll_sigchld, fn, arg, 0);
}

pl_loop *conform_spawn_loop(const pc_backend *backend)
{
    if (backend == &conform_epoll_sigchld)
        PC_ASSERT_OK(setenv("PIPELOOP_NO_PIDFD", "1", 1));
    else
        PC_ASSERT_OK(unsetenv("PIPELOOP_NO_PIDFD"));
    pl_loop *loop = NULL;
    PC_ASSERT_OK(pl_loop_new(&loop, backend->flag));
    return loop;
}
