/*
 * W6 many commands, libuv: uv_spawn with stdout and stderr as
 * UV_CREATE_PIPE read with uv_read_start, stdin UV_IGNORE (libuv gives
 * the child /dev/null: echo) or a UV_CREATE_PIPE written with one uv_write
 * and closed once written (cat); one loop, W6_INFLIGHT commands at a time.
 * A command is done when its exit callback has run and its pipes are
 * closed; the next one then starts in its slot.
 *
 * usage: w6_uv [echo|cat [COMMANDS]]   (defaults echo 10000)
 */
#define BENCH_LABEL "W6 uv"
#include "common.h"
#include "w6.h"
#include "uv_util.h"

#include <stdlib.h>
#include <uv.h>

struct command {
    struct w6_slot slot;
    uv_process_t process;
    uv_pipe_t in, out, err;
    uv_write_t write;
    char *buf; /* stdout */
    size_t len, cap;
    size_t err_len;
    int64_t exit_status;
    int term_signal;
    int open_handles; /* process, pipes: the command is done at 0 */
};

static struct w6_args args;
static struct command commands[W6_INFLIGHT];
static uint64_t next_index, completed;
static uv_loop_t loop;
static char scratch[BENCH_READ_SIZE];

static void start(struct command *c);

static void on_closed(uv_handle_t *handle)
{
    struct command *c = handle->data;

    if (--c->open_handles > 0)
        return;
    w6_check("uv", c->slot.index, c->buf, c->len, c->err_len,
             c->term_signal ? -c->term_signal : (int)c->exit_status);
    completed++;
    if (next_index < args.commands)
        start(c);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct command *c = handle->data;
    (void)suggested;
    if (handle == (uv_handle_t *)&c->err) {
        *buf = uv_buf_init(scratch, sizeof scratch);
        return;
    }
    if (c->cap - c->len < 4096) {
        c->cap = c->cap ? c->cap * 2 : 8192;
        c->buf = realloc(c->buf, c->cap);
        if (c->buf == NULL)
            bench_fail("out of memory");
    }
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct command *c = stream->data;
    (void)buf;
    if (n > 0) {
        if (stream == (uv_stream_t *)&c->err)
            c->err_len += (size_t)n;
        else
            c->len += (size_t)n;
    } else if (n == UV_EOF) {
        uv_close((uv_handle_t *)stream, on_closed);
    } else if (n < 0) {
        bench_uv_check((int)n, "read callback");
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct command *c = req->data;
    bench_uv_check(status, "write callback");
    uv_close((uv_handle_t *)&c->in, on_closed);
}

static void on_process_exit(uv_process_t *p, int64_t status, int term_signal)
{
    struct command *c = p->data;
    c->exit_status = status;
    c->term_signal = term_signal;
    uv_close((uv_handle_t *)p, on_closed);
}

static void start(struct command *c)
{
    uv_stdio_container_t stdio[3];
    uv_process_options_t options = {0};

    w6_slot_prepare(&c->slot, next_index++);
    c->len = 0;
    c->err_len = 0;
    c->open_handles = 3;
    bench_uv_check(uv_pipe_init(&loop, &c->out, 0), "uv_pipe_init");
    bench_uv_check(uv_pipe_init(&loop, &c->err, 0), "uv_pipe_init");
    c->process.data = c->out.data = c->err.data = c->in.data = c->write.data = c;
    stdio[0].flags = UV_IGNORE;
    if (args.kind == W6_CAT) {
        bench_uv_check(uv_pipe_init(&loop, &c->in, 0), "uv_pipe_init");
        c->in.data = c;
        stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        stdio[0].data.stream = (uv_stream_t *)&c->in;
        c->open_handles++;
    }
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&c->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&c->err;
    options.file = c->slot.argv[0];
    options.args = c->slot.argv;
    options.exit_cb = on_process_exit;
    options.stdio = stdio;
    options.stdio_count = 3;
    bench_uv_check(uv_spawn(&loop, &c->process, &options), "uv_spawn");
    bench_uv_check(uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read),
                   "uv_read_start");
    bench_uv_check(uv_read_start((uv_stream_t *)&c->err, on_alloc, on_read),
                   "uv_read_start");
    if (args.kind == W6_CAT) {
        uv_buf_t buf = uv_buf_init((char *)c->slot.input, W6_CAT_INPUT);
        bench_uv_check(uv_write(&c->write, (uv_stream_t *)&c->in, &buf, 1, on_written),
                       "uv_write");
    }
}

int main(int argc, char **argv)
{
    args = w6_parse_args(argc, argv);
    for (size_t k = 0; k < W6_INFLIGHT; k++)
        w6_slot_init(&commands[k].slot, &args);
    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    w6_begin();
    for (size_t k = 0; k < W6_INFLIGHT && next_index < args.commands; k++)
        start(&commands[k]);
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    w6_finish("uv", completed);
    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
    return 0;
}
