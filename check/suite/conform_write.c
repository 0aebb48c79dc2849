/* Conformance: the write transport (spec group W). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conform.h"

#define MiB (1024u * 1024u)
#define KiB 1024u

PC_CONFORMANCE(w1_cm, .id = "W1", .slug = "cm-once-empty-buffer", .needs = PC_NEEDS_WRITE)
{
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    PC_ASSERT_EQ_SIZE(ctx->impl->get_write_buffer_size(c.t), 0);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(c.rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    pc_run_until_quiet(ctx->loop, 20, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_STR(pc_recorder_sequence(c.rec), "CM");
    PC_ASSERT_EQ_SIZE(ctx->impl->get_write_buffer_size(c.t), 0);
    PC_ASSERT_OK(ctx->impl->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    conform_release(&c.pair, c.rec);
}

/* W2: the bytes are in the kernel when write returns, before the loop
 * runs. */
PC_CONFORMANCE(w2_at_once, .id = "W2", .slug = "write-sends-at-once",
               .needs = PC_NEEDS_WRITE, .excludes = PC_KIND_CHILD)
{
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    unsigned char out[1000], in[1000];
    pc_pattern_fill(ctx->seed, 0, out, sizeof out);
    PC_ASSERT_EQ_INT(ctx->impl->write(c.t, out, sizeof out), (int)sizeof out);
    PC_ASSERT_EQ_SIZE(ctx->impl->get_write_buffer_size(c.t), 0);
    size_t got = 0;
    while (got < sizeof in) {
        ssize_t n = read(c.pair.far, in + got, sizeof in - got);
        PC_ASSERT_GT_INT(n, 0);
        got += (size_t)n;
    }
    PC_ASSERT_EQ_MEM(in, out, sizeof out);
    PC_ASSERT_OK(ctx->impl->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(c.rec), 0);
    conform_release(&c.pair, c.rec);
}

PC_CONFORMANCE(w3_zero, .id = "W3", .slug = "zero-byte-write", .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    pc_peer *peer = conform_reader(&c.pair, ctx->seed, 0, 0, 0);
    PC_ASSERT_EQ_INT(im->write(c.t, "", 0), 0);
    PC_ASSERT_EQ_INT(im->write(c.t, NULL, 0), 0);
    PC_ASSERT_EQ_INT(im->writev(c.t, NULL, 0), 0);
    struct iovec empty[2] = {{NULL, 0}, {(void *)"", 0}};
    PC_ASSERT_EQ_INT(im->writev(c.t, empty, 2), 0);
    PC_ASSERT_EQ_SIZE(im->get_write_buffer_size(c.t), 0);
    /* Invalid C-level forms are refused, not sent (in process only: the
     * wire cannot carry them). */
    if (pc_subject_has(PC_CAP_IN_PROCESS)) {
        PC_ASSERT_ERR(im->write(c.t, NULL, 5), -EINVAL);
        PC_ASSERT_ERR(im->writev(c.t, empty, -1), -EINVAL);
    }
    PC_ASSERT_OK(im->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_STR(pc_recorder_sequence(c.rec), "CM CL");
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), 0);
    conform_release(&c.pair, c.rec);
}

/* Write `total` bytes of the pattern through t with seeded random chunk
 * sizes up to chunk_max, alternating write and writev, honouring
 * pause_writing: the writer waits for resume_writing by running the loop. */
struct pump {
    struct conform_writer writer; /* first: fill's argument is the pump */
    const pc_subject *im;
    pc_transport *t;
    uint64_t seed, sent, total;
    uint64_t rng;
    size_t chunk_max;
    unsigned char *buf;
};

static void pump_fill(struct conform_writer *writer, pc_transport *t)
{
    struct pump *p = (struct pump *)writer;
    (void)t;
    while (!p->writer.paused && p->sent < p->total) {
        size_t n = (size_t)(conform_xorshift(&p->rng) % p->chunk_max) + 1;
        if (n > p->total - p->sent)
            n = (size_t)(p->total - p->sent);
        pc_pattern_fill(p->seed, p->sent, p->buf, n);
        ssize_t r;
        if (n >= 3 && (p->rng & 1)) {
            struct iovec iov[3] = {
                {p->buf, 1}, {p->buf + 1, n / 2}, {p->buf + 1 + n / 2, n - 1 - n / 2}};
            r = p->im->writev(p->t, iov, 3);
        } else {
            r = p->im->write(p->t, p->buf, n);
        }
        if (r != (ssize_t)n)
            PC_FAIL("write of %zu bytes at %llu returned %s", n,
                    (unsigned long long)p->sent, pl_err_name((int)r));
        p->sent += n;
    }
}

static void stream_out(pc_ctx *ctx, uint64_t total, size_t chunk_max, unsigned pause_us,
                       unsigned min_pauses)
{
    pc_pair pair;
    pc_ctx_open_pair(ctx, PC_DIR_WRITE, 0, &pair);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "write transport");
    struct pump p = {.writer = {.fill = pump_fill},
                     .im = ctx->impl,
                     .seed = ctx->seed,
                     .total = total,
                     .rng = ctx->seed | 1,
                     .chunk_max = chunk_max,
                     .buf = malloc(chunk_max)};
    PC_ASSERT_NOT_NULL(p.buf);
    pc_recorder_set_hooks(rec, &conform_writer_hooks, &p);
    p.t = pc_ctx_connect(ctx, PC_DIR_WRITE, pair.near, rec);
    pair.near = -1;
    /* The reader counts the bytes instead of waiting for EOF, so a kind
     * whose close drops unread data (a pty master) is checked exactly; the
     * transport closes once the reader has everything. */
    /* The reader starts only once the writer has paused: a reader on
     * another core may keep up with the writer on a busy machine, and the
     * test asserts that pause_writing happened. */
    pc_peer_script reader = {.action = PC_PEER_READ,
                             .seed = ctx->seed,
                             .bytes = total,
                             .chunk = pause_us ? 4096 : 0,
                             .pause_us = pause_us,
                             .wait_start = 1};
    pc_peer *peer = pc_peer_start(&pair, &reader);
    PC_ASSERT_NOT_NULL(peer);
    PC_RUN_UNTIL(ctx->loop, p.writer.pauses > 0 || p.sent == total, CONFORM_WAIT_MS);
    PC_ASSERT_OK(pc_peer_release(peer));
    PC_RUN_UNTIL(ctx->loop, p.sent == total && ctx->impl->get_write_buffer_size(p.t) == 0,
                 CONFORM_WAIT_MS * 12);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), total);
    PC_ASSERT_OK(ctx->impl->close(p.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS * 12);
    PC_ASSERT_ERR(pc_recorder_error(rec), 0);
    PC_ASSERT_GE_UINT(p.writer.pauses, min_pauses);
    free(p.buf);
    conform_release(&pair, rec);
}

PC_CONFORMANCE(w4_integrity, .id = "W4", .slug = "integrity-64mib",
               .needs = PC_NEEDS_WRITE, .timeout_ms = 120000)
{
    stream_out(ctx, 64 * MiB, 256 * KiB, 0, 1);
}

PC_CONFORMANCE(w4_slow_reader, .id = "W4", .slug = "slow-reader-many-pauses",
               .needs = PC_NEEDS_WRITE, .timeout_ms = 60000)
{
    /* A reader that takes 4 KiB at a time with a pause between reads
     * keeps the buffer crossing the water marks. */
    stream_out(ctx, 4 * MiB, 32 * KiB, 200, 10);
}

/* W4/W5: with the reader stopped, writes are buffered, never block, and
 * the transport's size counts only its own buffer. */
PC_CONFORMANCE(w4_buffered_order, .id = "W4", .slug = "full-kernel-buffers-in-order",
               .needs = PC_NEEDS_WRITE, .excludes = PC_KIND_TTY)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    PC_ASSERT_OK(im->set_write_buffer_limits(c.t, 64 * MiB, PL_LIMIT_UNSET));
    unsigned char *buf = malloc(MiB);
    PC_ASSERT_NOT_NULL(buf);
    uint64_t sent = 0;
    /* Nobody reads yet: 3 MiB cannot all fit in the kernel. */
    for (int i = 0; i < 3; i++) {
        pc_pattern_fill(ctx->seed, sent, buf, MiB);
        PC_ASSERT_EQ_INT(im->write(c.t, buf, MiB), (int)MiB);
        sent += MiB;
    }
    size_t buffered = im->get_write_buffer_size(c.t);
    PC_ASSERT_GT_SIZE(buffered, 0);
    /* W5: the buffer plus what the kernel holds is everything sent. */
    PC_ASSERT_EQ_UINT(buffered + conform_unread(c.pair.far), sent);
    /* A small write now must queue behind, never overtake. */
    pc_pattern_fill(ctx->seed, sent, buf, 10);
    PC_ASSERT_EQ_INT(im->write(c.t, buf, 10), 10);
    sent += 10;
    PC_ASSERT_EQ_SIZE(im->get_write_buffer_size(c.t), buffered + 10);
    pc_peer *peer = conform_reader(&c.pair, ctx->seed, 0, 0, 0);
    PC_RUN_UNTIL(ctx->loop, im->get_write_buffer_size(c.t) == 0, CONFORM_WAIT_MS);
    PC_ASSERT_OK(im->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(c.rec), 0);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), sent);
    free(buf);
    conform_release(&c.pair, c.rec);
}

/* W4: writev is one write of the concatenation, whatever the number of
 * pieces: 3000 (more than IOV_MAX) pieces of 1-64 bytes, then a small
 * write, all arrive once and in order. */
PC_CONFORMANCE(w4_writev_many, .id = "W4", .slug = "writev-any-piece-count",
               .needs = PC_NEEDS_WRITE, .caps = PC_CAP_WRITEV | PC_CAP_BUFFER_LIMITS)
{
    enum { PIECES = 3000 };
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    PC_ASSERT_OK(im->set_write_buffer_limits(c.t, 64 * MiB, PL_LIMIT_UNSET));
    unsigned char *buf = malloc(PIECES * 64);
    struct iovec *iov = malloc(PIECES * sizeof *iov);
    PC_ASSERT_NOT_NULL(buf);
    PC_ASSERT_NOT_NULL(iov);
    size_t total = 0;
    for (int i = 0; i < PIECES; i++) {
        iov[i].iov_base = buf + total;
        iov[i].iov_len = 1 + (size_t)(ctx->seed + (uint64_t)i * 7919u) % 64;
        total += iov[i].iov_len;
    }
    pc_pattern_fill(ctx->seed, 0, buf, total);
    PC_ASSERT_EQ_INT(im->writev(c.t, iov, PIECES), (int)total);
    unsigned char tail[10];
    pc_pattern_fill(ctx->seed, total, tail, sizeof tail);
    PC_ASSERT_EQ_INT(im->write(c.t, tail, sizeof tail), (int)sizeof tail);
    total += sizeof tail;
    /* The reader takes exactly what was written before anything closes:
     * a pty master's close would drop what the slave has not read. */
    pc_peer *peer = conform_reader_count(&c.pair, ctx->seed, total);
    PC_RUN_UNTIL(ctx->loop, im->get_write_buffer_size(c.t) == 0, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), total);
    PC_ASSERT_OK(im->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    if (!conform_ended_in_tty_eio(ctx, c.rec))
        PC_ASSERT_ERR(pc_recorder_error(c.rec), 0);
    free(iov);
    free(buf);
    conform_release(&c.pair, c.rec);
}

PC_CONFORMANCE(w5_own_buffer, .id = "W5", .slug = "size-counts-own-buffer",
               .needs = PC_NEEDS_WRITE, .excludes = PC_KIND_TTY | PC_KIND_CHILD)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    /* Bytes in the kernel are not the transport's. */
    PC_ASSERT_EQ_INT(im->write(c.t, "0123456789", 10), 10);
    size_t unread = conform_unread(c.pair.far);
    PC_REQUIRE("W2", unread == 10, "the write left %zu of 10 bytes in the kernel, not 10",
               unread);
    PC_ASSERT_EQ_SIZE(im->get_write_buffer_size(c.t), 0);
    PC_ASSERT_OK(im->abort(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    conform_release(&c.pair, c.rec);
}

/* W6: every way of ending refuses later writes with PL_ECLOSED. */
enum w6_end { W6_CLOSE, W6_WRITE_EOF, W6_ABORT, W6_AFTER_CL };

static void w6_case(pc_ctx *ctx, enum w6_end how)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    im->ref(c.t);
    pc_peer *peer = conform_reader_count(&c.pair, ctx->seed, 2);
    unsigned char first[2];
    pc_pattern_fill(ctx->seed, 0, first, 2);
    PC_ASSERT_EQ_INT(im->write(c.t, first, 2), 2);
    if (how == W6_CLOSE || how == W6_AFTER_CL)
        PC_ASSERT_OK(im->close(c.t));
    else if (how == W6_WRITE_EOF)
        PC_ASSERT_OK(im->write_eof(c.t));
    else
        PC_ASSERT_OK(im->abort(c.t));
    if (how == W6_AFTER_CL)
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    struct iovec iov = {(void *)"no", 2};
    PC_ASSERT_ERR(im->write(c.t, "no", 2), PL_ECLOSED);
    PC_ASSERT_ERR(im->writev(c.t, &iov, 1), PL_ECLOSED);
    /* Also with nothing to write: W6 comes before W3's "no error". */
    PC_ASSERT_ERR(im->write(c.t, "", 0), PL_ECLOSED);
    PC_ASSERT_ERR(im->writev(c.t, NULL, 0), PL_ECLOSED);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(im->write(c.t, "no", 2), PL_ECLOSED);
    im->unref(c.t);
    /* The first write arrived (the kernel took it before the end), and
     * nothing else did; a pty master's hang-up may drop even that. */
    uint64_t got = conform_peer_done(peer, 0);
    if (ctx->kind->flags & PC_KIND_NEAR_CLOSE_DROPS)
        PC_ASSERT_LE_UINT(got, 2);
    else
        PC_ASSERT_EQ_UINT(got, 2);
    conform_release(&c.pair, c.rec);
}

PC_CONFORMANCE(w6_refused, .id = "W6", .slug = "write-after-end-refused",
               .needs = PC_NEEDS_WRITE)
{
    w6_case(ctx, W6_CLOSE);
    w6_case(ctx, W6_WRITE_EOF);
    w6_case(ctx, W6_ABORT);
    w6_case(ctx, W6_AFTER_CL);
}

/* W6 counts: a run of writes after the end, each refused.  asyncio drops
 * such writes and counts them (with the failed write that ended the
 * transport, if one did), and logs "pipe closed by peer or os.write(pipe,
 * data) raised exception." once the count has reached five: at the sixth
 * write after close(), the fifth after a failed write.  The count is
 * something a program sees, so these tests write exactly that many times
 * and check the answers only after the loop has run: a subject that counts
 * otherwise fails them in another way. */
static const char *w6_result(ssize_t r, char *buf, size_t size)
{
    if (r == PC_EEXCEPTION)
        return "an exception";
    if (r < 0)
        return pl_err_name((int)r);
    snprintf(buf, size, "%zd (bytes taken)", r);
    return buf;
}

/* Write count times (data, len), keeping the answers in got. */
static void w6_write_times(pc_ctx *ctx, pc_transport *t, unsigned count, const void *data,
                           size_t len, ssize_t *got)
{
    for (unsigned i = 0; i < count; i++)
        got[i] = ctx->impl->write(t, data, len);
}

static void w6_all_refused(const ssize_t *got, unsigned count, const char *after)
{
    char buf[48];
    for (unsigned i = 0; i < count; i++)
        if (got[i] != PL_ECLOSED)
            PC_FAIL("write %u of %u after %s returned %s, not PL_ECLOSED", i + 1, count,
                    after, w6_result(got[i], buf, sizeof buf));
}

PC_CONFORMANCE(w6_six_after_close, .id = "W6", .slug = "six-writes-after-close-refused",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c;
    pc_peer *peer = conform_open_to_reader(ctx, &c);
    PC_ASSERT_OK(im->close(c.t));
    ssize_t got[6];
    unsigned char late[2];
    pc_pattern_fill(ctx->seed, 0, late, sizeof late);
    w6_write_times(ctx, c.t, 6, late, sizeof late, got);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(c.rec), 0);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), 0);
    w6_all_refused(got, 6, "close");
    conform_release(&c.pair, c.rec);
}

/* The reader is gone before the first write: that write fails in the
 * kernel (EPIPE) and ends the transport; five more writes follow. */
PC_CONFORMANCE(w6_five_after_failed, .id = "W6",
               .slug = "five-writes-after-failed-write-refused", .needs = PC_NEEDS_WRITE,
               .excludes = PC_KIND_TTY)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    close(c.pair.far);
    c.pair.far = -1;
    /* E3: the write returns; the failure comes as CL(-EPIPE). */
    PC_ASSERT_EQ_INT(im->write(c.t, "doomed", 6), 6);
    ssize_t got[5];
    w6_write_times(ctx, c.t, 5, "no", 2, got);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(c.rec), -EPIPE);
    w6_all_refused(got, 5, "a failed write");
    conform_release(&c.pair, c.rec);
}

/* Data buffered, the reader goes away, CL; then five writes.  (asyncio
 * counts a failed flush of its buffer as one, where the flush is what
 * finds the reader gone: on a terminal.) */
PC_CONFORMANCE(w6_five_after_reader_gone, .id = "W6",
               .slug = "five-writes-after-reader-gone-refused", .needs = PC_NEEDS_WRITE,
               .required = PC_KIND_WRITE_SEES_IDLE_CLOSE)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog b;
    conform_back_up(ctx, &b, 8 * KiB);
    im->ref(b.t);
    close(b.pair.far);
    b.pair.far = -1;
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(b.rec), CONFORM_WAIT_MS);
    ssize_t got[5];
    w6_write_times(ctx, b.t, 5, "no", 2, got);
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(b.rec, PC_EV_CL), 1);
    w6_all_refused(got, 5, "the reader went away");
    im->unref(b.t);
    conform_release(&b.pair, b.rec);
}

/* Nothing written after close reaches the reader: with nothing buffered,
 * and with data buffered (where a late write would join the queue).  The
 * late bytes continue the pattern, so a reader that got them counts them. */
PC_CONFORMANCE(w6_nothing_sent, .id = "W6", .slug = "nothing-sent-after-close",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c;
    pc_peer *peer = conform_open_to_reader(ctx, &c);
    PC_ASSERT_OK(im->close(c.t));
    unsigned char late[4];
    pc_pattern_fill(ctx->seed, 0, late, sizeof late);
    ssize_t got[2];
    w6_write_times(ctx, c.t, 1, late, sizeof late, got);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), 0);
    conform_release(&c.pair, c.rec);
    if (!(ctx->kind->flags & PC_KIND_NEAR_CLOSE_DROPS)) {
        struct conform_backlog b;
        conform_back_up(ctx, &b, 8 * KiB);
        PC_ASSERT_OK(im->close(b.t));
        pc_pattern_fill(ctx->seed, b.sent, late, sizeof late);
        w6_write_times(ctx, b.t, 1, late, sizeof late, got + 1);
        peer = conform_reader(&b.pair, ctx->seed, 0, 0, 0);
        PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(b.rec), CONFORM_WAIT_MS * 2);
        PC_ASSERT_ERR(pc_recorder_error(b.rec), 0);
        PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), b.sent);
        conform_release(&b.pair, b.rec);
        w6_all_refused(got + 1, 1, "close with data buffered");
    }
    w6_all_refused(got, 1, "close");
}

/* A write of 0 bytes after close is refused like any other (W6 before
 * W3), five of them, then a real one.  (asyncio returns from a 0-byte
 * write before it counts: its warning must not come at that sixth write.) */
PC_CONFORMANCE(w6_zero_after_close, .id = "W6",
               .slug = "zero-byte-writes-after-close-refused", .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c;
    pc_peer *peer = conform_open_to_reader(ctx, &c);
    PC_ASSERT_OK(im->close(c.t));
    ssize_t got[6];
    w6_write_times(ctx, c.t, 5, "", 0, got);
    unsigned char late[2];
    pc_pattern_fill(ctx->seed, 0, late, sizeof late);
    w6_write_times(ctx, c.t, 1, late, sizeof late, got + 5);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), 0);
    w6_all_refused(got, 5, "close (0 bytes)");
    w6_all_refused(got + 5, 1, "close and five 0-byte writes");
    conform_release(&c.pair, c.rec);
}

/* W4 with a pipe of one page that already holds `held` bytes of the
 * pattern, and a write of a page and one byte: the kernel takes what the
 * test expects (`taken`: it tops up the last page only when the write's
 * length past whole pages fits there), the rest stays buffered, and all of
 * it arrives once and in order. */
static void w4_partial_first_write(pc_ctx *ctx, size_t held, size_t taken)
{
    const pc_subject *im = ctx->impl;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    pc_pair pair;
    pc_ctx_open_pair(ctx, PC_DIR_WRITE, 0, &pair);
    PC_ASSERT_OK(pc_pair_shrink(&pair, page));
    PC_ASSERT_EQ_INT(fcntl(pair.near, F_GETPIPE_SZ), (int)page);
    unsigned char *buf = malloc(held + page + 1);
    PC_ASSERT_NOT_NULL(buf);
    pc_pattern_fill(ctx->seed, 0, buf, held + page + 1);
    PC_ASSERT_EQ_INT(write(pair.near, buf, held), (int)held);
    pc_recorder *rec = pc_recorder_new(ctx->loop, "write transport");
    pc_transport *t = pc_ctx_connect(ctx, PC_DIR_WRITE, pair.near, rec);
    pair.near = -1;
    PC_ASSERT_EQ_INT(im->write(t, buf + held, page + 1), (int)(page + 1));
    size_t buffered = im->get_write_buffer_size(t);
    pc_peer *peer = conform_reader_count(&pair, ctx->seed, held + page + 1);
    PC_RUN_UNTIL(ctx->loop, im->get_write_buffer_size(t) == 0, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), held + page + 1);
    /* The case the test is for: the write itself sent exactly that. */
    PC_REQUIRE("W2", buffered == page + 1 - taken,
               "the write of %zu bytes left %zu buffered, not %zu: the kernel had room "
               "for %zu and took them at once",
               page + 1, buffered, page + 1 - taken, taken);
    PC_ASSERT_OK(im->close(t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(rec), 0);
    free(buf);
    conform_release(&pair, rec);
}

PC_CONFORMANCE(w4_one_byte, .id = "W4", .slug = "kernel-takes-one-byte",
               .needs = PC_NEEDS_WRITE, .required = PC_KIND_HAS_PIPE_SIZE)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    w4_partial_first_write(ctx, page - 1, 1);
}

PC_CONFORMANCE(w4_nothing, .id = "W4", .slug = "kernel-takes-nothing",
               .needs = PC_NEEDS_WRITE, .required = PC_KIND_HAS_PIPE_SIZE)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    w4_partial_first_write(ctx, page, 0);
}

/* W7: input arriving on a tty the transport writes to is not a close. */
PC_CONFORMANCE(w7_tty_input, .id = "W7", .slug = "tty-input-not-close",
               .needs = PC_NEEDS_WRITE, .required = PC_KIND_TTY)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "tty write transport");
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(c.rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    /* The far side types: the near end becomes readable. */
    PC_ASSERT_EQ_INT(write(c.pair.far, "typed\n", 6), 6);
    pc_run_until_quiet(ctx->loop, 100, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(pc_recorder_lost(c.rec), 0);
    PC_ASSERT_EQ_INT(im->is_closing(c.t), 0);
    PC_ASSERT_EQ_INT(im->write(c.t, "still", 5), 5);
    char in[16];
    size_t got = 0;
    while (got < 5) {
        ssize_t n = read(c.pair.far, in + got, 5 - got);
        PC_ASSERT_GT_INT(n, 0);
        got += (size_t)n;
    }
    PC_ASSERT_EQ_MEM(in, "still", 5);
    PC_ASSERT_OK(im->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(c.rec), 0);
    conform_release(&c.pair, c.rec);
}

/* ---- lent writes --------------------------------------------------------- */

/* Every lent chunk lives in its own allocation, freed by its completion:
 * a transport that touched lent memory after reporting it would be a
 * use-after-free (ASan, valgrind).  The 8 bytes before each lent chunk hold
 * its stream offset, so completions can be checked for order. */
struct lent_state {
    struct conform_writer writer; /* first: fill's argument is the state */
    const pc_subject *im;
    pc_transport *t;
    uint64_t seed, sent, total, rng;
    uint64_t next_done_offset; /* offsets of lent chunks, completed in order */
    unsigned lent_calls, done_calls;
    int bad_status, out_of_order;
};

static void lent_done(pc_transport *t, const void *data, size_t len, int status,
                      void *user)
{
    struct lent_state *s = user;
    (void)t;
    uint64_t *header = (uint64_t *)(uintptr_t)data - 1;
    if (header[0] < s->next_done_offset)
        s->out_of_order = 1;
    s->next_done_offset = header[0] + len;
    if (status != 0)
        s->bad_status = status;
    s->done_calls++;
    free(header);
}

/* Write until paused: lent and copied chunks of 1 B .. 64 KiB, mixed. */
static void lent_fill(struct conform_writer *writer, pc_transport *t)
{
    static unsigned char buf[64 * KiB];
    struct lent_state *s = (struct lent_state *)writer;
    (void)t;
    while (!s->writer.paused && s->sent < s->total) {
        size_t n = (size_t)(conform_xorshift(&s->rng) % (64 * KiB)) + 1;
        if (n > s->total - s->sent)
            n = (size_t)(s->total - s->sent);
        ssize_t r;
        if (s->rng & 2) {
            uint64_t *chunk = malloc(sizeof(uint64_t) + n);
            PC_ASSERT_NOT_NULL(chunk);
            chunk[0] = s->sent;
            pc_pattern_fill(s->seed, s->sent, chunk + 1, n);
            r = s->im->write_lent(s->t, chunk + 1, n, lent_done, s);
            s->lent_calls++;
        } else {
            pc_pattern_fill(s->seed, s->sent, buf, n);
            r = s->im->write(s->t, buf, n);
        }
        if (r != (ssize_t)n)
            PC_FAIL("write of %zu at %llu returned %s", n, (unsigned long long)s->sent,
                    pl_err_name((int)r));
        s->sent += n;
    }
}

PC_CONFORMANCE(w4_lent, .id = "W4", .slug = "lent-and-copied-writes-in-order",
               .needs = PC_NEEDS_WRITE, .timeout_ms = 60000, .caps = PC_CAP_LENT_WRITES)
{
    pc_pair pair;
    pc_recorder *rec;
    struct lent_state s;
    memset(&s, 0, sizeof s);
    s.writer.fill = lent_fill;
    s.im = ctx->impl;
    s.seed = ctx->seed;
    s.rng = ctx->seed | 1;
    s.total = 8u << 20;
    s.t = conform_connected(ctx, PC_DIR_WRITE, "write transport", &pair, &rec);
    pc_recorder_set_hooks(rec, &conform_writer_hooks, &s);
    /* Nothing is read until the writer has paused once: with a reader
     * that keeps up (another core, a busy machine) pause_writing might
     * never come, and lent writes queued behind copied ones are the point. */
    pc_peer_script reader = {
        .action = PC_PEER_READ, .seed = ctx->seed, .bytes = s.total, .wait_start = 1};
    pc_peer *peer = pc_peer_start(&pair, &reader);
    PC_ASSERT_NOT_NULL(peer);
    PC_RUN_UNTIL(ctx->loop, s.writer.paused || s.sent == s.total, CONFORM_WAIT_MS);
    PC_ASSERT_OK(pc_peer_release(peer));
    PC_RUN_UNTIL(ctx->loop,
                 s.sent == s.total && s.done_calls == s.lent_calls &&
                     s.im->get_write_buffer_size(s.t) == 0,
                 CONFORM_WAIT_MS * 6);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), s.total);
    PC_ASSERT_GT_UINT(s.lent_calls, 10);
    PC_ASSERT_GT_UINT(pc_recorder_count(rec, PC_EV_PW), 0);
    PC_ASSERT_EQ_INT(s.bad_status, 0);
    PC_ASSERT_EQ_INT(s.out_of_order, 0);
    PC_ASSERT_OK(s.im->close(s.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(rec), 0);
    conform_release(&pair, rec);
}

/* A lent write the transport will never send is reported, with an error,
 * before connection_lost: after abort (PL_ECLOSED) and after the reader
 * went away (-EPIPE).  Misuse is refused and never reported. */
struct lent_end {
    int status;
    int calls;
    int lost_seen_first;
    pc_recorder *rec;
};

static void lent_end_done(pc_transport *t, const void *data, size_t len, int status,
                          void *user)
{
    struct lent_end *e = user;
    (void)t;
    (void)data;
    (void)len;
    e->calls++;
    e->status = status;
    e->lost_seen_first = pc_recorder_lost(e->rec);
}

static void lent_end_case(pc_ctx *ctx, int reader_goes_away)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog b;
    conform_back_up(ctx, &b, 1);
    static unsigned char lent[100 * KiB];
    struct lent_end e = {0, 0, 0, b.rec};
    PC_ASSERT_EQ_INT(im->write_lent(b.t, lent, sizeof lent, lent_end_done, &e),
                     (int)sizeof lent);
    PC_ASSERT_ERR(im->write_lent(b.t, lent, 1, NULL, &e), -EINVAL);
    PC_ASSERT_EQ_INT(im->write_lent(b.t, lent, 0, lent_end_done, &e), 0);
    pc_run_until_quiet(ctx->loop, 10, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(e.calls, 0); /* nothing went: the kernel is full */
    if (reader_goes_away) {
        close(b.pair.far);
        b.pair.far = -1;
    } else {
        PC_ASSERT_OK(im->abort(b.t));
        PC_ASSERT_ERR(im->write_lent(b.t, lent, 1, lent_end_done, &e), PL_ECLOSED);
    }
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(b.rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(e.calls, 1);
    PC_ASSERT_EQ_INT(e.lost_seen_first, 0);
    PC_ASSERT_ERR(e.status, reader_goes_away ? pc_recorder_error(b.rec) : PL_ECLOSED);
    PC_ASSERT_LT_INT(e.status, 0);
    conform_release(&b.pair, b.rec);
}

PC_CONFORMANCE(d4_lent, .id = "D4", .slug = "abort-reports-lent-writes",
               .needs = PC_NEEDS_WRITE, .caps = PC_CAP_LENT_WRITES)
{
    lent_end_case(ctx, 0);
}

PC_CONFORMANCE(e2_lent, .id = "E2", .slug = "reader-gone-reports-lent-writes",
               .needs = PC_NEEDS_WRITE, .required = PC_KIND_WRITE_SEES_IDLE_CLOSE,
               .caps = PC_CAP_LENT_WRITES)
{
    lent_end_case(ctx, 1);
}

PC_CONFORMANCE(r13_lent, .id = "R13", .slug = "write-lent-on-read-transport",
               .needs = PC_NEEDS_READ, .caps = PC_CAP_LENT_WRITES)
{
    struct conform_conn c = conform_open(ctx, PC_DIR_READ, "read transport");
    struct lent_end e = {0, 0, 0, c.rec};
    PC_ASSERT_ERR(ctx->impl->write_lent(c.t, "x", 1, lent_end_done, &e), PL_EDIRECTION);
    PC_ASSERT_OK(ctx->impl->close(c.t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(c.rec), CONFORM_WAIT_MS);
    PC_ASSERT_EQ_INT(e.calls, 0);
    conform_release(&c.pair, c.rec);
}
