/* W1 stream: arguments and the result check shared by the variants. */
#include "w1.h"

#include "common.h"

#include <stdio.h>

struct w1_args w1_parse_args(int argc, char **argv)
{
    struct w1_args args;

    if (argc > 3)
        bench_fail("usage: %s [TOTAL_BYTES [CHUNK_BYTES]]", argv[0]);
    args.total = argc > 1 ? bench_parse_size(argv[1], "total bytes", 1, UINT64_MAX / 2)
                          : BENCH_GIB;
    args.chunk = argc > 2
                     ? (size_t)bench_parse_size(argv[2], "chunk bytes", 1, 64 * BENCH_MIB)
                     : 64 * BENCH_KIB;
    if (args.chunk % BENCH_MIB == 0)
        snprintf(args.label, sizeof args.label, "%zuM", args.chunk / BENCH_MIB);
    else if (args.chunk % BENCH_KIB == 0)
        snprintf(args.label, sizeof args.label, "%zuK", args.chunk / BENCH_KIB);
    else
        snprintf(args.label, sizeof args.label, "%zu", args.chunk);
    bench_crc32_self_check();
    return args;
}

void w1_finish(const char *variant, const struct w1_args *args, uint64_t start_ns,
               uint64_t received, uint32_t crc)
{
    double seconds = (double)(bench_now_ns() - start_ns) / 1e9;
    uint32_t expected;

    if (received != args->total)
        bench_fail("W1 %s: received %llu bytes, sent %llu", variant,
                   (unsigned long long)received, (unsigned long long)args->total);
    expected = bench_pattern_crc32(args->total);
    if (crc != expected)
        bench_fail("W1 %s: CRC-32 0x%08x, expected 0x%08x", variant, (unsigned)crc,
                   (unsigned)expected);
    bench_result("W1", variant, args->label, "MiB/s",
                 (double)args->total / (double)BENCH_MIB / seconds);
    bench_result("W1", variant, args->label, "seconds", seconds);
}
