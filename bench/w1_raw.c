/*
 * W1 stream, raw: the ceiling.  One thread owns both ends of one pipe, both
 * non-blocking, and alternates "write until EAGAIN" with "read until
 * EAGAIN", with no poller at all.  The reader CRC-32s every byte.
 *
 * usage: w1_raw [TOTAL_BYTES [CHUNK_BYTES]]   (defaults 1G 64K)
 */
#include "common.h"
#include "w1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct w1_args args = w1_parse_args(argc, argv);
    unsigned char *pattern = bench_pattern(args.chunk);
    unsigned char *buf = malloc(BENCH_READ_SIZE);
    uint64_t sent = 0, received = 0;
    uint32_t crc = 0;
    uint64_t start;
    int fds[2];

    if (buf == NULL)
        bench_fail("out of memory");
    bench_pipe(fds);
    bench_set_nonblocking(fds[0], 1);
    bench_set_nonblocking(fds[1], 1);

    start = bench_now_ns();
    for (;;) {
        while (sent < args.total) {
            uint64_t left = args.total - sent;
            size_t n = left < args.chunk ? (size_t)left : args.chunk;
            ssize_t w = write(fds[1], pattern + (sent & 0xff), n);
            if (w < 0) {
                if (errno == EAGAIN)
                    break;
                if (errno == EINTR)
                    continue;
                bench_fail_errno("write", -errno);
            }
            sent += (uint64_t)w;
        }
        if (sent == args.total && fds[1] >= 0) {
            close(fds[1]);
            fds[1] = -1;
        }
        for (;;) {
            ssize_t r = read(fds[0], buf, BENCH_READ_SIZE);
            if (r > 0) {
                crc = bench_crc32(crc, buf, (size_t)r);
                received += (uint64_t)r;
                continue;
            }
            if (r == 0)
                goto eof;
            if (errno == EAGAIN)
                break;
            if (errno != EINTR)
                bench_fail_errno("read", -errno);
        }
    }
eof:
    w1_finish("raw", &args, start, received, crc);
    close(fds[0]);
    free(buf);
    return 0;
}
