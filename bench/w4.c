/* W4 spawn: arguments and the result line. */
#include "w4.h"

#include "common.h"

#include <unistd.h>

uint64_t w4_parse_args(int argc, char **argv)
{
    if (argc > 2)
        bench_fail("usage: %s [SPAWNS]", argv[0]);
    if (access(W4_PROGRAM, X_OK) != 0)
        bench_fail("W4: %s is not executable", W4_PROGRAM);
    return argc > 1 ? bench_parse_size(argv[1], "spawns", 1, 10000000) : 1000;
}

void w4_finish(const char *variant, uint64_t spawns, uint64_t start_ns)
{
    double us = (double)(bench_now_ns() - start_ns) / 1e3;
    bench_result("W4", variant, "true", "us/spawn", us / (double)spawns);
}
