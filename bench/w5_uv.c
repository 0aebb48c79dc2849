/*
 * W5 timers, libuv: one uv_timer_t per timer (one array), each started
 * with uv_timer_start; uv_run returns when the last has fired.
 *
 * usage: w5_uv [TIMERS [MAX_DELAY_MS]]   (defaults 1000000 1000)
 */
#define BENCH_LABEL "W5 uv"
#include "common.h"
#include "w5.h"
#include "uv_util.h"

#include <stdlib.h>
#include <uv.h>

static void on_timer(uv_timer_t *timer)
{
    w5_fired((uint64_t)(uintptr_t)timer->data, uv_now(timer->loop));
}

int main(int argc, char **argv)
{
    struct w5_args args = w5_parse_args(argc, argv);
    uv_timer_t *timers = calloc(args.timers, sizeof *timers);
    uv_loop_t loop;

    if (timers == NULL)
        bench_fail("out of memory");
    bench_uv_check(uv_loop_init(&loop), "uv_loop_init");
    w5_begin();
    for (uint64_t i = 0; i < args.timers; i++) {
        uint64_t delay = w5_next_delay();
        bench_uv_check(uv_timer_init(&loop, &timers[i]), "uv_timer_init");
        timers[i].data = (void *)(uintptr_t)(uv_now(&loop) + delay);
        bench_uv_check(uv_timer_start(&timers[i], on_timer, delay, 0), "uv_timer_start");
    }
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    w5_finish("uv");

    for (uint64_t i = 0; i < args.timers; i++)
        uv_close((uv_handle_t *)&timers[i], NULL);
    bench_uv_check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    bench_uv_check(uv_loop_close(&loop), "uv_loop_close");
    free(timers);
    return 0;
}
