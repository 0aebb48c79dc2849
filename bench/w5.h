/*
 * W5 timers: what the three variants share.  N one-shot timers with delays
 * uniform in [0, MAX_DELAY) ms from xorshift64 (seed 1) are all scheduled
 * up front; the figure is the process's CPU time (getrusage) from the first
 * schedule to the last fire.  Each fire is checked: not before its
 * deadline, and deadlines fire in non-decreasing order.
 */
#ifndef PIPELOOP_BENCH_W5_H
#define PIPELOOP_BENCH_W5_H

#include <stdint.h>

struct w5_args {
    uint64_t timers;    /* N (default 1000000) */
    uint64_t max_delay; /* ms (default 1000) */
};

/* argv[1] N, argv[2] the delay bound in ms. */
struct w5_args w5_parse_args(int argc, char **argv);

/* The next delay in ms. */
uint64_t w5_next_delay(void);

/* Note the CPU time and the clock: the scheduling starts. */
void w5_begin(void);

/* A timer whose deadline was due fired at loop time now.  Returns the
 * number of timers fired so far. */
uint64_t w5_fired(uint64_t due, uint64_t now);

/* Check that all N fired and print the RESULT lines: CPU seconds, wall
 * seconds. */
void w5_finish(const char *variant);

#endif /* PIPELOOP_BENCH_W5_H */
