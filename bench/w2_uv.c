/*
 * W2 ping-pong, libuv: both sides run a libuv loop.  Messages go out with
 * uv_try_write (falling back to a queued uv_write of a copy, which a
 * lock-step exchange of small messages never needs) and come back through
 * uv_read_start.
 *
 * usage: w2_uv [ROUNDS [MESSAGE_BYTES]]   (defaults 100000 1)
 */
#define BENCH_LABEL "W2 uv"
#include "common.h"
#include "w2.h"
#include "uv_util.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

static struct w2_args args;
static unsigned char read_buf[W2_MAX_MESSAGE];
static unsigned char msg[W2_MAX_MESSAGE];
static struct w2_reply reply;
static uint64_t round_no, end_ns;
static uv_pipe_t in_pipe, out_pipe;

struct copied_write {
    uv_write_t req;
    unsigned char data[];
};

static void on_copied_write(uv_write_t *req, int status)
{
    bench_uv_check(status, "write callback");
    free(req);
}

/* Send now if the pipe takes it, else queue a copy. */
static void send_bytes(const unsigned char *data, size_t len)
{
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&out_pipe, &buf, 1);
    struct copied_write *w;

    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN)
        bench_uv_check(n, "uv_try_write");
    if (n < 0)
        n = 0;
    w = malloc(sizeof *w + len - (size_t)n);
    if (w == NULL)
        bench_fail("out of memory");
    memcpy(w->data, data + n, len - (size_t)n);
    buf = uv_buf_init((char *)w->data, (unsigned)(len - (size_t)n));
    bench_uv_check(uv_write(&w->req, (uv_stream_t *)&out_pipe, &buf, 1, on_copied_write),
                   "uv_write");
}

static void close_both(void)
{
    uv_close((uv_handle_t *)&in_pipe, NULL);
    uv_close((uv_handle_t *)&out_pipe, NULL);
}

static void peer_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)stream;
    if (n > 0)
        send_bytes((const unsigned char *)buf->base, (size_t)n);
    else if (n == UV_EOF)
        close_both();
    else if (n < 0)
        bench_uv_check((int)n, "peer read callback");
}

static void open_pipes(uv_loop_t *loop, int in, int out, uv_read_cb on_read)
{
    bench_uv_check(uv_pipe_init(loop, &in_pipe, 0), "uv_pipe_init");
    bench_uv_check(uv_pipe_init(loop, &out_pipe, 0), "uv_pipe_init");
    bench_uv_check(uv_pipe_open(&in_pipe, in), "uv_pipe_open");
    bench_uv_check(uv_pipe_open(&out_pipe, out), "uv_pipe_open");
    bench_uv_check(uv_read_start((uv_stream_t *)&in_pipe, bench_uv_alloc, on_read),
                   "uv_read_start");
}

static void echo_peer(int in, int out)
{
    uv_loop_t loop;
    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    open_pipes(&loop, in, out, peer_read);
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
}

static void send_round(void)
{
    w2_fill(msg, args.size, round_no);
    send_bytes(msg, args.size);
}

static void parent_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)stream;
    if (n == UV_EOF)
        bench_fail("W2 uv: EOF from the peer in round %llu",
                   (unsigned long long)round_no);
    if (n < 0)
        bench_uv_check((int)n, "read callback");
    if (!w2_reply_add(&reply, buf->base, (size_t)n, &args, round_no, "W2 uv"))
        return;
    if (++round_no == args.rounds) {
        end_ns = bench_now_ns();
        close_both();
    } else {
        send_round();
    }
}

int main(int argc, char **argv)
{
    uv_loop_t loop;
    int to_peer, from_peer;
    pid_t peer;
    uint64_t start;

    args = w2_parse_args(argc, argv);
    bench_uv_read_buf = uv_buf_init((char *)read_buf, sizeof read_buf);
    peer = w2_start_peer(echo_peer, &to_peer, &from_peer);
    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    open_pipes(&loop, from_peer, to_peer, parent_read);
    start = bench_now_ns();
    send_round();
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    if (round_no != args.rounds)
        bench_fail("W2 uv: the loop ended after %llu rounds",
                   (unsigned long long)round_no);
    w2_finish("uv", &args, start, end_ns, peer);
    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
    return 0;
}
