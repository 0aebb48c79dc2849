/* W1 stream: what the three variants share (arguments and the check). */
#ifndef PIPELOOP_BENCH_W1_H
#define PIPELOOP_BENCH_W1_H

#include <stddef.h>
#include <stdint.h>

struct w1_args {
    uint64_t total; /* bytes through the pipe */
    size_t chunk;   /* bytes per write */
    char label[32]; /* the case, e.g. "64K" */
};

/* argv[1] total bytes (default 1G), argv[2] write size (default 64K). */
struct w1_args w1_parse_args(int argc, char **argv);

/* Check the count and the CRC against the pattern's (failing the process on
 * a mismatch) and print the RESULT lines: MiB/s and seconds. */
void w1_finish(const char *variant, const struct w1_args *args, uint64_t start_ns,
               uint64_t received, uint32_t crc);

#endif /* PIPELOOP_BENCH_W1_H */
