/*
 * W3 fan-in, libuv: one uv_pipe_t per read end, all reading into one shared
 * buffer; EOF closes the handle.  The loop ends when every handle is closed.
 *
 * usage: w3_uv [PIPES|max [ROUNDS [WRITERS]]]   (defaults max 100 1)
 */
#define BENCH_LABEL "W3 uv"
#include "common.h"
#include "w3.h"
#include "uv_util.h"

#include <stdlib.h>
#include <uv.h>

static uv_pipe_t *pipes;
static unsigned char *read_buf;
static size_t eofs;

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    if (n > 0) {
        w3_received((size_t)((uv_pipe_t *)stream - pipes), buf->base, (size_t)n);
    } else if (n == UV_EOF) {
        eofs++;
        uv_close((uv_handle_t *)stream, NULL);
    } else if (n < 0) {
        bench_uv_check((int)n, "read callback");
    }
}

int main(int argc, char **argv)
{
    struct w3_args args = w3_parse_args(argc, argv);
    int *fds = w3_start(&args);
    uv_loop_t loop;

    pipes = calloc(args.pipes, sizeof *pipes);
    read_buf = malloc(BENCH_READ_SIZE);
    if (pipes == NULL || read_buf == NULL)
        bench_fail("out of memory");
    bench_uv_read_buf = uv_buf_init((char *)read_buf, (unsigned)BENCH_READ_SIZE);
    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    for (size_t i = 0; i < args.pipes; i++) {
        bench_uv_check(uv_pipe_init(&loop, &pipes[i], 0), "uv_pipe_init");
        bench_uv_check(uv_pipe_open(&pipes[i], fds[i]), "uv_pipe_open");
        bench_uv_check(uv_read_start((uv_stream_t *)&pipes[i], bench_uv_alloc, on_read),
                       "uv_read_start");
    }
    w3_begin();
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
    free(pipes);
    free(read_buf);
    w3_finish("uv", eofs);
    return 0;
}
