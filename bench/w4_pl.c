/*
 * W4 spawn, pipeloop: pl_spawn with PL_STDIO_PIPE for stdin and stdout and
 * stderr inherited; the stdin transport is closed at once, stdout is read
 * to EOF, and the loop runs until the process protocol's connection_lost.
 *
 * usage: w4_pl [SPAWNS]   (default 1000)
 */
#define BENCH_LABEL "W4 pl"
#include "common.h"
#include "w4.h"
#include "pl_util.h"

#include <pipeloop.h>

static size_t output;
static int exited, returncode, lost, stdout_lost;

static void on_pipe_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    (void)p;
    (void)data;
    (void)user;
    if (fd != 1)
        bench_fail("W4 pl: data on the child's fd %d", fd);
    output += len;
}

static void on_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    (void)p;
    (void)user;
    bench_pl_check(error, "pipe_connection_lost");
    if (fd == 1)
        stdout_lost = 1;
}

static void on_exited(pl_process *p, void *user)
{
    (void)user;
    bench_pl_check(pl_process_get_returncode(p, &returncode),
                   "pl_process_get_returncode");
    exited = 1;
}

static void on_lost(pl_process *p, void *user)
{
    (void)user;
    lost = 1;
    pl_loop_stop(pl_process_get_loop(p));
}

static const pl_process_protocol protocol = {
    .pipe_data_received = on_pipe_data,
    .pipe_connection_lost = on_pipe_lost,
    .process_exited = on_exited,
    .connection_lost = on_lost,
};

static void spawn_one(pl_loop *loop, uint64_t i)
{
    static char program[] = W4_PROGRAM;
    char *argv[] = {program, NULL};
    pl_spawn_options options = {.file = program, .argv = argv};
    pl_transport *child_stdin;
    pl_process *p;

    options.stdio[0].kind = PL_STDIO_PIPE;
    options.stdio[1].kind = PL_STDIO_PIPE;
    options.stdio[2].kind = PL_STDIO_INHERIT;
    output = 0;
    exited = lost = stdout_lost = 0;
    returncode = -1;
    bench_pl_check(pl_spawn(loop, &options, &protocol, NULL, &p), "pl_spawn");
    child_stdin = pl_process_get_pipe_transport(p, 0);
    if (child_stdin == NULL)
        bench_fail("W4 pl: no stdin transport");
    bench_pl_check(pl_transport_close(child_stdin), "pl_transport_close");
    bench_pl_check(pl_loop_run(loop), "pl_loop_run");
    if (!lost || !exited || !stdout_lost || returncode != 0 || output != 0)
        bench_fail("W4 pl: spawn %llu: lost %d, exited %d, stdout lost %d, returncode "
                   "%d, %zu bytes of output",
                   (unsigned long long)i, lost, exited, stdout_lost, returncode, output);
}

int main(int argc, char **argv)
{
    uint64_t spawns = w4_parse_args(argc, argv);
    uint64_t start;
    pl_loop *loop;

    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    start = bench_now_ns();
    for (uint64_t i = 0; i < spawns; i++)
        spawn_one(loop, i);
    w4_finish("pl", spawns, start);
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");
    return 0;
}
