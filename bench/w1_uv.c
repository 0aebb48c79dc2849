/*
 * W1 stream, libuv: both ends of one pipe opened with uv_pipe_open in one
 * loop.  The writer keeps libuv's write queue under 1 MiB (the same
 * high-water mark the pipeloop variant uses) and refills from each write
 * callback; the reader CRC-32s everything and closes at EOF.
 *
 * usage: w1_uv [TOTAL_BYTES [CHUNK_BYTES]]   (defaults 1G 64K)
 */
#define BENCH_LABEL "W1 uv"
#include "common.h"
#include "w1.h"
#include "uv_util.h"

#include <stdlib.h>
#include <uv.h>

#define HIGH_WATER BENCH_MIB

/* Write requests are recycled through a free list: libuv does not copy the
 * data, so each request just points into the (never changing) pattern. */
struct write_req {
    uv_write_t req;
    struct write_req *next;
};

static struct w1_args args;
static unsigned char *pattern;
static uv_pipe_t reader, writer;
static struct write_req *free_reqs;
static uint64_t sent, received;
static size_t writes_in_flight;
static uint32_t crc;
static unsigned char *read_buf;

static void on_write(uv_write_t *req, int status);

static void pump(void)
{
    while (sent < args.total &&
           uv_stream_get_write_queue_size((uv_stream_t *)&writer) < HIGH_WATER) {
        uint64_t left = args.total - sent;
        size_t n = left < args.chunk ? (size_t)left : args.chunk;
        struct write_req *w = free_reqs;
        uv_buf_t buf = uv_buf_init((char *)pattern + (sent & 0xff), (unsigned)n);

        if (w != NULL) {
            free_reqs = w->next;
        } else if ((w = malloc(sizeof *w)) == NULL) {
            bench_fail("out of memory");
        }
        bench_uv_check(uv_write(&w->req, (uv_stream_t *)&writer, &buf, 1, on_write),
                       "uv_write");
        writes_in_flight++;
        sent += n;
    }
    if (sent == args.total && writes_in_flight == 0 &&
        !uv_is_closing((uv_handle_t *)&writer))
        uv_close((uv_handle_t *)&writer, NULL);
}

static void on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    bench_uv_check(status, "write callback");
    w->next = free_reqs;
    free_reqs = w;
    writes_in_flight--;
    pump();
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    if (n > 0) {
        crc = bench_crc32(crc, buf->base, (size_t)n);
        received += (uint64_t)n;
    } else if (n == UV_EOF) {
        uv_close((uv_handle_t *)stream, NULL);
    } else if (n < 0) {
        bench_uv_check((int)n, "read callback");
    }
}

int main(int argc, char **argv)
{
    uv_loop_t loop;
    uint64_t start;
    int fds[2];

    args = w1_parse_args(argc, argv);
    pattern = bench_pattern(args.chunk);
    read_buf = malloc(BENCH_READ_SIZE);
    if (read_buf == NULL)
        bench_fail("out of memory");
    bench_uv_read_buf = uv_buf_init((char *)read_buf, (unsigned)BENCH_READ_SIZE);
    bench_pipe(fds);

    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    bench_uv_check(uv_pipe_init(&loop, &reader, 0), "uv_pipe_init");
    bench_uv_check(uv_pipe_init(&loop, &writer, 0), "uv_pipe_init");
    bench_uv_check(uv_pipe_open(&reader, fds[0]), "uv_pipe_open");
    bench_uv_check(uv_pipe_open(&writer, fds[1]), "uv_pipe_open");

    start = bench_now_ns();
    bench_uv_check(uv_read_start((uv_stream_t *)&reader, bench_uv_alloc, on_read),
                   "uv_read_start");
    pump();
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    w1_finish("uv", &args, start, received, crc);

    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
    while (free_reqs != NULL) {
        struct write_req *w = free_reqs;
        free_reqs = w->next;
        free(w);
    }
    free(read_buf);
    return 0;
}
