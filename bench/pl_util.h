/*
 * What the pipeloop variants of the benchmarks share: the error check, a
 * connection_lost for a loop's read and write transport pair, and the
 * teardown of a loop with one transport left.  A program defines
 * BENCH_LABEL (the start of its failure messages, e.g. "W2 pl") before it
 * includes this file.
 */
#ifndef PIPELOOP_BENCH_PL_UTIL_H
#define PIPELOOP_BENCH_PL_UTIL_H

#include "common.h"

#include <pipeloop.h>

#ifndef BENCH_LABEL
#error "define BENCH_LABEL before including pl_util.h"
#endif

/* Fail with "<BENCH_LABEL>: <what>: <message> (<name>)" when rc < 0. */
static inline void bench_pl_check(int rc, const char *what)
{
    if (rc < 0)
        bench_fail(BENCH_LABEL ": %s: %s (%s)", what, pl_strerror(rc), pl_err_name(rc));
}

/* A connection_lost for a loop that holds one read and one write
 * transport: the error must be 0, and the loop stops once both are lost. */
static inline void bench_pl_pair_lost(pl_transport *t, int error, void *user)
{
    static int transports_lost;
    (void)user;
    bench_pl_check(error, pl_transport_is_read(t) ? "reader connection_lost"
                                                  : "writer connection_lost");
    if (++transports_lost == 2)
        pl_loop_stop(pl_transport_get_loop(t));
}

/* Close t, then the loop, running it until the close has completed. */
static inline void bench_pl_close_all(pl_loop *loop, pl_transport *t)
{
    pl_transport_close(t);
    while (pl_loop_close(loop) != 0)
        pl_loop_run_once(loop, 100);
}

#endif /* PIPELOOP_BENCH_PL_UTIL_H */
