/*
 * W4 spawn, libuv: uv_spawn with stdin and stdout as UV_CREATE_PIPE and
 * stderr inherited; stdin is closed at once, stdout read to EOF; the run of
 * the loop ends when the process, stdin and stdout handles are closed.
 *
 * usage: w4_uv [SPAWNS]   (default 1000)
 */
#define BENCH_LABEL "W4 uv"
#include "common.h"
#include "w4.h"
#include "uv_util.h"

#include <uv.h>

static uv_loop_t loop;
static uv_process_t process;
static uv_pipe_t child_stdin, child_stdout;
static unsigned char read_buf[256];
static size_t output;
static int64_t exit_status;
static int term_signal, exited;

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n > 0)
        output += (size_t)n;
    else if (n == UV_EOF)
        uv_close((uv_handle_t *)stream, NULL);
    else if (n < 0)
        bench_uv_check((int)n, "read callback");
}

static void on_process_exit(uv_process_t *p, int64_t status, int term_sig)
{
    exit_status = status;
    term_signal = term_sig;
    exited = 1;
    uv_close((uv_handle_t *)p, NULL);
}

static void spawn_one(uint64_t i)
{
    static char program[] = W4_PROGRAM;
    char *argv[] = {program, NULL};
    uv_stdio_container_t stdio[3];
    uv_process_options_t options = {0};

    bench_uv_check(uv_pipe_init(&loop, &child_stdin, 0), "uv_pipe_init");
    bench_uv_check(uv_pipe_init(&loop, &child_stdout, 0), "uv_pipe_init");
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&child_stdin;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&child_stdout;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    options.file = program;
    options.args = argv;
    options.exit_cb = on_process_exit;
    options.stdio = stdio;
    options.stdio_count = 3;
    output = 0;
    exited = 0;
    bench_uv_check(uv_spawn(&loop, &process, &options), "uv_spawn");
    uv_close((uv_handle_t *)&child_stdin, NULL);
    bench_uv_check(uv_read_start((uv_stream_t *)&child_stdout, bench_uv_alloc, on_read),
                   "uv_read_start");
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    if (!exited || exit_status != 0 || term_signal != 0 || output != 0)
        bench_fail("W4 uv: spawn %llu: exited %d, status %lld, signal %d, %zu bytes of "
                   "output",
                   (unsigned long long)i, exited, (long long)exit_status, term_signal,
                   output);
}

int main(int argc, char **argv)
{
    uint64_t spawns = w4_parse_args(argc, argv);
    uint64_t start;

    bench_uv_read_buf = uv_buf_init((char *)read_buf, sizeof read_buf);
    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    start = bench_now_ns();
    for (uint64_t i = 0; i < spawns; i++)
        spawn_one(i);
    w4_finish("uv", spawns, start);
    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
    return 0;
}
