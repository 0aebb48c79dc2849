/* Conformance: flow control (spec group F). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conform.h"

#define KiB 1024u

/* A peer that reads the f->sent pattern bytes f has written, chunk at a
 * time with pause_us between reads, then closes its end. */
static pc_peer *slow_reader(pc_ctx *ctx, struct conform_backlog *f, size_t chunk,
                            unsigned pause_us)
{
    pc_peer_script slow = {.action = PC_PEER_READ,
                           .seed = ctx->seed,
                           .bytes = f->sent,
                           .chunk = chunk,
                           .pause_us = pause_us};
    pc_peer *peer = pc_peer_start(&f->pair, &slow);
    PC_ASSERT_NOT_NULL(peer);
    return peer;
}

/* The end of a test with nothing left to check: close t, run until its
 * connection_lost, then conform_release. */
static void close_release(pc_ctx *ctx, pc_transport *t, pc_pair *pair, pc_recorder *rec)
{
    PC_ASSERT_OK(ctx->impl->close(t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), CONFORM_WAIT_MS);
    conform_release(pair, rec);
}

PC_CONFORMANCE(f1_defaults, .id = "F1", .slug = "defaults-and-derived",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    size_t high = 0, low = 0;
    PC_ASSERT_OK(im->get_write_buffer_limits(c.t, &high, &low));
    PC_ASSERT_EQ_SIZE(high, 64 * KiB);
    PC_ASSERT_EQ_SIZE(low, 16 * KiB);
    PC_ASSERT_OK(im->set_write_buffer_limits(c.t, 1000, PL_LIMIT_UNSET));
    PC_ASSERT_OK(im->get_write_buffer_limits(c.t, &high, &low));
    PC_ASSERT_EQ_SIZE(high, 1000);
    PC_ASSERT_EQ_SIZE(low, 250);
    PC_ASSERT_OK(im->set_write_buffer_limits(c.t, PL_LIMIT_UNSET, 100));
    PC_ASSERT_OK(im->get_write_buffer_limits(c.t, &high, &low));
    PC_ASSERT_EQ_SIZE(high, 400);
    PC_ASSERT_EQ_SIZE(low, 100);
    PC_ASSERT_OK(im->set_write_buffer_limits(c.t, PL_LIMIT_UNSET, PL_LIMIT_UNSET));
    PC_ASSERT_OK(im->get_write_buffer_limits(c.t, &high, &low));
    PC_ASSERT_EQ_SIZE(high, 64 * KiB);
    PC_ASSERT_EQ_SIZE(low, 16 * KiB);
    close_release(ctx, c.t, &c.pair, c.rec);
}

PC_CONFORMANCE(f2_invalid, .id = "F2", .slug = "invalid-limits-refused",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_conn c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    PC_ASSERT_OK(im->set_write_buffer_limits(c.t, 800, 200));
    PC_ASSERT_ERR(im->set_write_buffer_limits(c.t, 100, 200), -EINVAL);
    PC_ASSERT_ERR(im->set_write_buffer_limits(c.t, -1, 0), -EINVAL);
    PC_ASSERT_ERR(im->set_write_buffer_limits(c.t, 10, -5), -EINVAL);
    PC_ASSERT_ERR(im->set_write_buffer_limits(c.t, -8, PL_LIMIT_UNSET), -EINVAL);
    PC_ASSERT_ERR(im->set_write_buffer_limits(c.t, PL_LIMIT_UNSET, -8), -EINVAL);
    size_t high = 0, low = 0;
    PC_ASSERT_OK(im->get_write_buffer_limits(c.t, &high, &low));
    PC_ASSERT_EQ_SIZE(high, 800);
    PC_ASSERT_EQ_SIZE(low, 200);
    close_release(ctx, c.t, &c.pair, c.rec);
}

/* Write n more pattern bytes. */
static void write_more(pc_ctx *ctx, struct conform_backlog *f, size_t n)
{
    unsigned char buf[4096];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        pc_pattern_fill(ctx->seed, f->sent, buf, k);
        PC_ASSERT_EQ_INT(ctx->impl->write(f->t, buf, k), (int)k);
        f->sent += k;
        n -= k;
    }
}

/* Drain everything with a reading peer and check every byte, then close.
 * The peer counts the bytes rather than waiting for EOF, so kinds whose
 * close drops unread data (a pty master) are checked exactly too. */
static void finish(pc_ctx *ctx, struct conform_backlog *f)
{
    pc_peer *peer = conform_reader_count(&f->pair, ctx->seed, f->sent);
    PC_RUN_UNTIL(ctx->loop, ctx->impl->get_write_buffer_size(f->t) == 0, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), f->sent);
    PC_ASSERT_OK(ctx->impl->close(f->t));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(f->rec), CONFORM_WAIT_MS);
    PC_ASSERT_ERR(pc_recorder_error(f->rec), 0);
    pc_pair_close(&f->pair);
    pc_recorder_free(f->rec);
}

PC_CONFORMANCE(f3_pause, .id = "F3", .slug = "pw-once-inside-write",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog f;
    conform_back_up(ctx, &f, 1);
    size_t size = im->get_write_buffer_size(f.t);
    PC_ASSERT_OK(im->set_write_buffer_limits(f.t, (int64_t)size + 1000, 0));
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 0);
    write_more(ctx, &f, 1000); /* exactly high: no pause */
    PC_ASSERT_EQ_SIZE(im->get_write_buffer_size(f.t), size + 1000);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 0);
    write_more(ctx, &f, 1); /* above high: paused before write returns */
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 1);
    write_more(ctx, &f, 5000); /* accepted, no second PW */
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 1);
    finish(ctx, &f);
}

/* F4: RW comes from the loop (not inside a write) once size <= low. */
struct f4_state {
    const pc_subject *im;
    pc_loop *loop;
    size_t size_at_rw;
    int running_at_rw;
};

static void f4_resume(pc_transport *t, void *user)
{
    struct f4_state *s = user;
    s->size_at_rw = s->im->get_write_buffer_size(t);
    s->running_at_rw = pc_loop_is_running(s->loop);
}

/* conform_back_up with one byte over, and s filled in by resume_writing. */
static void f4_back_up(pc_ctx *ctx, struct conform_backlog *f, struct f4_state *s)
{
    static const pc_protocol hooks = {.resume_writing = f4_resume};
    conform_back_up(ctx, f, 1);
    *s = (struct f4_state){ctx->impl, ctx->loop, (size_t)-1, 0};
    pc_recorder_set_hooks(f->rec, &hooks, s);
}

PC_CONFORMANCE(f4_resume, .id = "F4", .slug = "rw-once-from-loop-at-low",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog f;
    struct f4_state s;
    f4_back_up(ctx, &f, &s);
    /* low is far above what one write can move into the kernel (a pipe,
     * socket or pty holds well under 256 KiB), so the buffer crosses it
     * with data still buffered: RW must come then, not when it is empty. */
    PC_ASSERT_OK(im->set_write_buffer_limits(f.t, 512 * KiB, 256 * KiB));
    write_more(ctx, &f, 768 * KiB);
    size_t pauses = pc_recorder_count(f.rec, PC_EV_PW);
    PC_REQUIRE("F3", pauses == 1,
               "pause_writing came %zu times, not once, after the buffer went over "
               "high",
               pauses);
    /* A slow reader drains it; RW once, when the buffer is at most low. */
    pc_peer *peer = slow_reader(ctx, &f, 4096, 20);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(f.rec, PC_EV_RW) == 1, CONFORM_WAIT_MS * 2);
    PC_ASSERT_LE_SIZE(s.size_at_rw, 256 * KiB);
    if (s.size_at_rw == 0)
        PC_FAIL("resume_writing came only when the buffer was empty, not when it "
                "first fell to the low-water mark (256 KiB) with data still "
                "buffered");
    PC_ASSERT_EQ_INT(s.running_at_rw, 1);
    PC_RUN_UNTIL(ctx->loop, im->get_write_buffer_size(f.t) == 0, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_RW), 1);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), f.sent);
    close_release(ctx, f.t, &f.pair, f.rec);
}

PC_CONFORMANCE(f5_high_zero, .id = "F5", .slug = "high-zero", .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog f;
    struct f4_state s;
    f4_back_up(ctx, &f, &s);
    /* Something is buffered already: high 0 pauses at once (F6 too). */
    PC_ASSERT_OK(im->set_write_buffer_limits(f.t, 0, PL_LIMIT_UNSET));
    size_t high = 1, low = 1;
    PC_ASSERT_OK(im->get_write_buffer_limits(f.t, &high, &low));
    PC_ASSERT_EQ_SIZE(high, 0);
    PC_ASSERT_EQ_SIZE(low, 0);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 1);
    write_more(ctx, &f, 3000);
    pc_peer *peer = slow_reader(ctx, &f, 256, 50);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(f.rec, PC_EV_RW) == 1, CONFORM_WAIT_MS);
    PC_ASSERT_EQ_SIZE(s.size_at_rw, 0);
    PC_ASSERT_EQ_UINT(conform_peer_done(peer, 0), f.sent);
    close_release(ctx, f.t, &f.pair, f.rec);
}

PC_CONFORMANCE(f6_apply_now, .id = "F6", .slug = "limits-apply-at-once",
               .needs = PC_NEEDS_WRITE)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog f;
    conform_back_up(ctx, &f, 1);
    write_more(ctx, &f, 4000);
    size_t size = im->get_write_buffer_size(f.t);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 0);
    /* Lower high below the size: PW inside the call. */
    PC_ASSERT_OK(im->set_write_buffer_limits(f.t, (int64_t)size - 1, 0));
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_PW), 1);
    /* Raise them so the size is <= low: RW inside the call. */
    PC_ASSERT_OK(im->set_write_buffer_limits(f.t, (int64_t)size * 4, (int64_t)size));
    PC_ASSERT_EQ_SIZE(pc_recorder_count(f.rec, PC_EV_RW), 1);
    finish(ctx, &f);
}

PC_CONFORMANCE(f7_paused_reader_gone, .id = "F7", .slug = "paused-writer-reader-closes",
               .needs = PC_NEEDS_WRITE, .required = PC_KIND_WRITE_SEES_IDLE_CLOSE)
{
    const pc_subject *im = ctx->impl;
    struct conform_backlog f;
    conform_back_up(ctx, &f, 1);
    PC_ASSERT_OK(im->set_write_buffer_limits(f.t, 100, 0));
    write_more(ctx, &f, 1000);
    PC_ASSERT_EQ_INT(pc_recorder_paused(f.rec), 1);
    close(f.pair.far);
    f.pair.far = -1;
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(f.rec), CONFORM_WAIT_MS);
    /* The error connection_lost carries with data buffered is E2's. */
    conform_release(&f.pair, f.rec);
}
