/*
 * W1 stream, pipeloop: a write transport and a read transport on the two
 * ends of one pipe, in one loop.  The writer lends its (static) pattern
 * buffer with pl_transport_write_lent, as libuv's uv_write does, so bytes
 * that wait for the reader are not copied.  The writer sets its high-water mark to
 * 1 MiB and writes chunks until pause_writing, then waits for
 * resume_writing; when everything is written it closes (which flushes).
 * The reader CRC-32s everything; the run ends when both transports are lost.
 *
 * usage: w1_pl [TOTAL_BYTES [CHUNK_BYTES]]   (defaults 1G 64K)
 */
#define BENCH_LABEL "W1 pl"
#include "common.h"
#include "w1.h"
#include "pl_util.h"

#include <pipeloop.h>
#include <stdio.h>

#define HIGH_WATER BENCH_MIB

static struct w1_args args;
static unsigned char *pattern;
static uint64_t sent, received;
static uint32_t crc;
static int paused;

static void lent_done(pl_transport *t, const void *data, size_t len, int status,
                      void *user)
{
    (void)t;
    (void)data;
    (void)len;
    (void)user;
    if (status != 0)
        bench_fail("W1 pl: a lent write ended with %s", pl_err_name(status));
}

static void pump(pl_transport *t)
{
    while (!paused && sent < args.total) {
        uint64_t left = args.total - sent;
        size_t n = left < args.chunk ? (size_t)left : args.chunk;
        /* The pattern buffer outlives the transport, so it can be lent:
         * no copy into the transport's buffer (pl_transport_write_lent). */
        ssize_t w =
            pl_transport_write_lent(t, pattern + (sent & 0xff), n, lent_done, NULL);
        if (w < 0)
            bench_pl_check((int)w, "pl_transport_write");
        if ((size_t)w != n)
            bench_fail("W1 pl: pl_transport_write took %zd of %zu bytes", w, n);
        sent += n;
    }
    if (sent == args.total)
        bench_pl_check(pl_transport_close(t), "pl_transport_close");
}

static void writer_made(pl_transport *t, void *user)
{
    (void)user;
    pump(t);
}

static void writer_pause(pl_transport *t, void *user)
{
    (void)t;
    (void)user;
    if (paused)
        bench_fail("W1 pl: pause_writing twice in a row");
    paused = 1;
}

static void writer_resume(pl_transport *t, void *user)
{
    (void)user;
    if (!paused)
        bench_fail("W1 pl: resume_writing without pause_writing");
    paused = 0;
    pump(t);
}

static void reader_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    (void)user;
    crc = bench_crc32(crc, data, len);
    received += len;
}

static const pl_protocol writer_protocol = {
    .connection_made = writer_made,
    .connection_lost = bench_pl_pair_lost,
    .pause_writing = writer_pause,
    .resume_writing = writer_resume,
};

static const pl_protocol reader_protocol = {
    .data_received = reader_data,
    .connection_lost = bench_pl_pair_lost,
};

int main(int argc, char **argv)
{
    pl_loop *loop;
    pl_transport *reader, *writer;
    uint64_t start;
    int fds[2];

    args = w1_parse_args(argc, argv);
    pattern = bench_pattern(args.chunk);
    bench_pipe(fds);

    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    start = bench_now_ns();
    bench_pl_check(pl_connect_read_pipe(loop, fds[0], &reader_protocol, NULL, &reader),
                   "pl_connect_read_pipe");
    bench_pl_check(pl_connect_write_pipe(loop, fds[1], &writer_protocol, NULL, &writer),
                   "pl_connect_write_pipe");
    bench_pl_check(
        pl_transport_set_write_buffer_limits(writer, (int64_t)HIGH_WATER, PL_LIMIT_UNSET),
        "pl_transport_set_write_buffer_limits");
    bench_pl_check(pl_loop_run(loop), "pl_loop_run");
    w1_finish("pl", &args, start, received, crc);
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");
    return 0;
}
