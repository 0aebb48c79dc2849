/*
 * W5 timers, pipeloop: pl_call_later for every timer, the deadline as the
 * user pointer; the last one to fire stops the loop.
 *
 * usage: w5_pl [TIMERS [MAX_DELAY_MS]]   (defaults 1000000 1000)
 */
#define BENCH_LABEL "W5 pl"
#include "common.h"
#include "w5.h"
#include "pl_util.h"

#include <pipeloop.h>

static uint64_t timers;

static void on_timer(pl_loop *loop, void *user)
{
    if (w5_fired((uint64_t)(uintptr_t)user, pl_loop_time(loop)) == timers)
        pl_loop_stop(loop);
}

int main(int argc, char **argv)
{
    struct w5_args args = w5_parse_args(argc, argv);
    pl_loop *loop;

    timers = args.timers;
    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    w5_begin();
    for (uint64_t i = 0; i < args.timers; i++) {
        uint64_t delay = w5_next_delay();
        uint64_t due = pl_loop_time(loop) + delay;
        bench_pl_check(pl_call_later(loop, delay, on_timer, (void *)(uintptr_t)due, NULL),
                       "pl_call_later");
    }
    bench_pl_check(pl_loop_run(loop), "pl_loop_run");
    w5_finish("pl");
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");
    return 0;
}
