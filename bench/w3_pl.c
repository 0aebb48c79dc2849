/*
 * W3 fan-in, pipeloop: one read transport per read end (the pipe's index
 * is the user pointer).  The loop stops when every transport is lost.
 *
 * usage: w3_pl [PIPES|max [ROUNDS [WRITERS]]]   (defaults max 100 1)
 */
#define BENCH_LABEL "W3 pl"
#include "common.h"
#include "w3.h"
#include "pl_util.h"

#include <pipeloop.h>

static size_t pipes, eofs, lost_count;

static void on_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    w3_received((size_t)(uintptr_t)user, data, len);
}

static int on_eof(pl_transport *t, void *user)
{
    (void)t;
    (void)user;
    eofs++;
    return 0;
}

static void on_lost(pl_transport *t, int error, void *user)
{
    (void)user;
    bench_pl_check(error, "connection_lost");
    if (++lost_count == pipes)
        pl_loop_stop(pl_transport_get_loop(t));
}

static const pl_protocol protocol = {
    .data_received = on_data,
    .eof_received = on_eof,
    .connection_lost = on_lost,
};

int main(int argc, char **argv)
{
    struct w3_args args = w3_parse_args(argc, argv);
    int *fds = w3_start(&args);
    pl_loop *loop;
    pl_transport *t;

    pipes = args.pipes;
    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    for (size_t i = 0; i < args.pipes; i++)
        bench_pl_check(
            pl_connect_read_pipe(loop, fds[i], &protocol, (void *)(uintptr_t)i, &t),
            "pl_connect_read_pipe");
    /* Deliver the connection_made calls before the clock starts, as the other
     * variants finish their setup before it. */
    bench_pl_check(pl_loop_run_once(loop, 0), "pl_loop_run_once");
    w3_begin();
    bench_pl_check(pl_loop_run(loop), "pl_loop_run");
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");
    w3_finish("pl", eofs);
    return 0;
}
