/* W5 timers: arguments, delays, the fire checks and the result lines. */
#include "w5.h"

#include "common.h"

static struct w5_args args;
static uint64_t rng = 1;
static uint64_t fired, last_due;
static double cpu_start;
static uint64_t wall_start;

struct w5_args w5_parse_args(int argc, char **argv)
{
    if (argc > 3)
        bench_fail("usage: %s [TIMERS [MAX_DELAY_MS]]", argv[0]);
    args.timers = argc > 1 ? bench_parse_size(argv[1], "timers", 1, 100000000) : 1000000;
    args.max_delay = argc > 2 ? bench_parse_size(argv[2], "max delay", 1, 3600000) : 1000;
    return args;
}

uint64_t w5_next_delay(void)
{
    return bench_xorshift64(&rng) % args.max_delay;
}

void w5_begin(void)
{
    wall_start = bench_now_ns();
    cpu_start = bench_cpu_seconds();
}

uint64_t w5_fired(uint64_t due, uint64_t now)
{
    if (now < due)
        bench_fail("W5: a timer due at %llu ms fired at %llu ms", (unsigned long long)due,
                   (unsigned long long)now);
    if (due < last_due)
        bench_fail("W5: a timer due at %llu ms fired after one due at %llu ms",
                   (unsigned long long)due, (unsigned long long)last_due);
    last_due = due;
    return ++fired;
}

void w5_finish(const char *variant)
{
    double cpu = bench_cpu_seconds() - cpu_start;
    double wall = (double)(bench_now_ns() - wall_start) / 1e9;

    if (fired != args.timers)
        bench_fail("W5 %s: %llu of %llu timers fired", variant, (unsigned long long)fired,
                   (unsigned long long)args.timers);
    bench_result("W5", variant, "timers", "cpu_seconds", cpu);
    bench_result("W5", variant, "timers", "wall_seconds", wall);
}
