/*
 * Tests of relay.c with the pipecheck bench: the complete example of
 * docs/guide.md.  Build against an installed pipeloop:
 *
 *     cc relay.c relay_test.c $(pkg-config --cflags --libs pipecheck) -o relay-tests
 *     ./relay-tests              # every test, each in its own process
 *     ./relay-tests -v 'RELAY1.*@socketpair*'
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <unistd.h>

#include <pipecheck.h>

#include "relay.h"

#define MiB (1024u * 1024u)

struct outcome {
    int finished;
    int error;
};

static void relay_done(int error, void *user)
{
    struct outcome *o = user;
    o->finished++;
    o->error = error;
}

/*
 * RELAY1: every byte gets through, in order, over every pipe kind and both
 * poll backends.  A peer writes a pattern into the relay's input and closes;
 * another reads the output to end of file and checks the pattern.  Kinds
 * where a close throws away unread data (a pty's master or slave) cannot
 * promise that, so they are excluded by their facts, not by name.
 */
PC_CONFORMANCE(relay_copies, .id = "RELAY1", .slug = "copies-everything-in-order",
               .needs = PC_NEEDS_READ | PC_NEEDS_WRITE,
               .excludes = PC_KIND_NEAR_CLOSE_DROPS | PC_KIND_FAR_CLOSE_DROPS,
               .timeout_ms = 30000, .caps = PC_CAP_PIPELOOP_API)
{
    const uint64_t total = 4 * MiB;
    pc_pair in, out;
    pc_ctx_open_pair(ctx, PC_DIR_READ, 0, &in);
    pc_ctx_open_pair(ctx, PC_DIR_WRITE, 0, &out);
    /* Random chunk sizes (chunk 0) from the instance's seed: rerunning with
     * the printed --seed replays them. */
    pc_peer_script writer = {.action = PC_PEER_WRITE, .seed = ctx->seed, .bytes = total};
    pc_peer_script reader = {.action = PC_PEER_READ, .seed = ctx->seed};
    pc_peer *source = pc_peer_start(&in, &writer);
    pc_peer *sink = pc_peer_start(&out, &reader);
    PC_ASSERT_NOT_NULL(source);
    PC_ASSERT_NOT_NULL(sink);

    struct outcome o = {0, 0};
    /* The relay runs on pipeloop: ctx->loop is the bench's view of the
     * instance's loop, pc_loop_native the pl_loop under it. */
    PC_ASSERT_OK(
        relay_start(pc_loop_native(ctx->loop), in.near, out.near, relay_done, &o, NULL));
    in.near = out.near = -1; /* the relay owns them now */
    PC_RUN_UNTIL(ctx->loop, o.finished, 20000);
    PC_ASSERT_EQ_INT(o.finished, 1);
    PC_ASSERT_ERR(o.error, 0);

    pc_peer_result got;
    PC_ASSERT_OK(pc_peer_wait(sink, &got));
    PC_ASSERT_EQ_UINT(got.bytes, total);
    PC_ASSERT(got.pattern_ok);
    PC_ASSERT(got.eof);
    PC_ASSERT_OK(pc_peer_wait(source, &got));
    PC_ASSERT_EQ_UINT(got.bytes, total);
    pc_pair_close(&in);
    pc_pair_close(&out);
    /* The runner closes ctx->loop after this and fails the test if a
     * transport is still open; then it checks for leaked fds and children. */
}

/*
 * relay.slow-consumer: the output goes to a read transport of our own, in
 * the same loop, driven by the recorder.  While it is paused the relay must
 * stop reading its input (the writer's buffer stays bounded); after resume
 * everything arrives, in order, then EOF.
 */
PC_TEST(relay_slow_consumer, "relay.slow-consumer-bounds-the-buffer")
{
    pc_loop *loop; /* the bench's view; the relay gets the pl_loop under it */
    PC_ASSERT_OK(pc_loop_new(&loop, "epoll"));
    pc_pair in;
    PC_ASSERT_OK(pc_pair_open(pc_kind_find("pipe"), PC_DIR_READ, 0, &in));
    const uint64_t total = 8 * MiB;
    pc_peer_script writer = {.action = PC_PEER_WRITE, .seed = 7, .bytes = total};
    pc_peer *source = pc_peer_start(&in, &writer);
    PC_ASSERT_NOT_NULL(source);

    int mid[2];
    PC_ASSERT_EQ_INT(pipe(mid), 0);
    pc_recorder *rec = pc_recorder_new(loop, "consumer");
    pc_recorder_expect_pattern(rec, 7); /* every byte checked as it arrives */
    pc_transport *consumer;
    PC_ASSERT_OK(
        pc_pipeloop_connect(loop, mid[0], 1, 0, &pc_recorder_protocol, rec, &consumer));
    PC_ASSERT_OK(pl_transport_pause_reading(pc_transport_native(consumer)));

    struct outcome o = {0, 0};
    relay *r;
    PC_ASSERT_OK(relay_start(pc_loop_native(loop), in.near, mid[1], relay_done, &o, &r));
    in.near = -1;
    /* Nothing is consumed: the loop goes quiet once the relay has paused
     * its input.  It holds at most the write high-water mark (64 KiB) plus
     * the one read that crossed it, not the 8 MiB the peer wants to send. */
    pc_run_until_quiet(loop, 50, 5000);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), 0);
    PC_ASSERT_EQ_INT(o.finished, 0);
    PC_ASSERT_GT_SIZE(relay_buffered(r), 0);
    PC_ASSERT_LE_SIZE(relay_buffered(r), 64 * 1024 + PL_READ_SIZE);

    PC_ASSERT_OK(pl_transport_resume_reading(pc_transport_native(consumer)));
    PC_RUN_UNTIL(loop, o.finished && pc_recorder_lost(rec), 20000);
    PC_ASSERT_ERR(o.error, 0);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), total);
    PC_ASSERT_EQ_STR(pc_recorder_sequence(rec), "CM DR ER CL");
    PC_ASSERT_ERR(pc_recorder_error(rec), 0);

    pc_peer_result got;
    PC_ASSERT_OK(pc_peer_wait(source, &got));
    PC_ASSERT_EQ_UINT(got.bytes, total);
    pc_recorder_free(rec);
    pc_pair_close(&in);
    PC_ASSERT_OK(pc_loop_close(loop));
}

int main(int argc, char **argv)
{
    return pc_main(argc, argv);
}
