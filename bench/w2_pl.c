/*
 * W2 ping-pong, pipeloop: both sides run a pipeloop loop with a write
 * transport down and a read transport up.  The parent sends the first
 * message from the write transport's connection_made and each later one
 * from data_received; the peer writes back whatever it receives and closes
 * its write transport at EOF.
 *
 * usage: w2_pl [ROUNDS [MESSAGE_BYTES]]   (defaults 100000 1)
 */
#define BENCH_LABEL "W2 pl"
#include "common.h"
#include "w2.h"
#include "pl_util.h"

#include <pipeloop.h>
#include <string.h>

static struct w2_args args;
static unsigned char msg[W2_MAX_MESSAGE];
static struct w2_reply reply;
static uint64_t round_no, end_ns;
static pl_transport *in_t, *out_t;

static void send_bytes(const void *data, size_t len)
{
    ssize_t n = pl_transport_write(out_t, data, len);
    if (n < 0)
        bench_pl_check((int)n, "pl_transport_write");
}

/* The peer. */

static void peer_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    (void)user;
    send_bytes(data, len);
}

static void peer_reader_lost(pl_transport *t, int error, void *user)
{
    /* EOF from the parent: the exchange is over. */
    bench_pl_check(pl_transport_close(out_t), "pl_transport_close");
    bench_pl_pair_lost(t, error, user);
}

static const pl_protocol peer_reader = {
    .data_received = peer_data,
    .connection_lost = peer_reader_lost,
};
static const pl_protocol peer_writer = {
    .connection_lost = bench_pl_pair_lost,
};

static void run_loop(int in, int out, const pl_protocol *reader,
                     const pl_protocol *writer)
{
    pl_loop *loop;
    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    bench_pl_check(pl_connect_read_pipe(loop, in, reader, NULL, &in_t),
                   "pl_connect_read_pipe");
    bench_pl_check(pl_connect_write_pipe(loop, out, writer, NULL, &out_t),
                   "pl_connect_write_pipe");
    bench_pl_check(pl_loop_run(loop), "pl_loop_run");
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");
}

static void echo_peer(int in, int out)
{
    run_loop(in, out, &peer_reader, &peer_writer);
}

/* The parent. */

static void send_round(void)
{
    w2_fill(msg, args.size, round_no);
    send_bytes(msg, args.size);
}

static void parent_writer_made(pl_transport *t, void *user)
{
    (void)t;
    (void)user;
    send_round();
}

static void parent_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    (void)user;
    if (!w2_reply_add(&reply, data, len, &args, round_no, "W2 pl"))
        return;
    if (++round_no == args.rounds) {
        end_ns = bench_now_ns();
        bench_pl_check(pl_transport_close(out_t), "pl_transport_close");
        bench_pl_check(pl_transport_close(in_t), "pl_transport_close");
    } else {
        send_round();
    }
}

static int parent_eof(pl_transport *t, void *user)
{
    (void)t;
    (void)user;
    bench_fail("W2 pl: EOF from the peer in round %llu", (unsigned long long)round_no);
}

static const pl_protocol parent_reader = {
    .data_received = parent_data,
    .eof_received = parent_eof,
    .connection_lost = bench_pl_pair_lost,
};
static const pl_protocol parent_writer = {
    .connection_made = parent_writer_made,
    .connection_lost = bench_pl_pair_lost,
};

int main(int argc, char **argv)
{
    int to_peer, from_peer;
    pid_t peer;
    uint64_t start;

    args = w2_parse_args(argc, argv);
    peer = w2_start_peer(echo_peer, &to_peer, &from_peer);
    start = bench_now_ns();
    run_loop(from_peer, to_peer, &parent_reader, &parent_writer);
    if (round_no != args.rounds)
        bench_fail("W2 pl: the loop ended after %llu rounds",
                   (unsigned long long)round_no);
    w2_finish("pl", &args, start, end_ns, peer);
    return 0;
}
