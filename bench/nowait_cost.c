/*
 * nowait_cost: what leaving the shared description alone costs per call.
 *
 * A transport must not set O_NONBLOCK on a description others may share
 * (see pl_connect_read_pipe).  On an anonymous pipe it can either read and
 * write with preadv2/pwritev2 and RWF_NOWAIT, or open the pipe again as a
 * private description.  This measures, on one pipe in one thread:
 *   - a write and a read of SIZE bytes: write(2)/read(2) on an O_NONBLOCK
 *     pipe, then pwritev2/preadv2 with RWF_NOWAIT on a blocking one;
 *   - pl_transport_write of SIZE bytes from a loop callback (plus a plain
 *     read), for a default transport (PL_IO_REOPENED: a private O_NONBLOCK
 *     description) and one connected with PL_CONNECT_SHARED_NONBLOCK
 *     (PL_IO_NONBLOCK).  The library prefers reopening to RWF_NOWAIT
 *     because of the first comparison.
 * Prints ns per write+read round for SIZE 1 and 65536.
 *
 * usage: nowait_cost [ROUNDS]   (default 500000)
 */
#define BENCH_LABEL "nowait_cost"
#include "common.h"
#include "pl_util.h"

#include <fcntl.h>
#include <pipeloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

static const pl_protocol silent = {0};
static long rounds;
static size_t size;
static char *buf;
static int read_fd;
static pl_transport *writer;

static void read_all(int fd, int nowait)
{
    size_t got = 0;
    while (got < size) {
        struct iovec iov = {buf + got, size - got};
        ssize_t n = nowait ? preadv2(fd, &iov, 1, -1, RWF_NOWAIT)
                           : read(fd, iov.iov_base, iov.iov_len);
        if (n <= 0)
            bench_fail("read");
        got += (size_t)n;
    }
}

static double syscalls(int nowait)
{
    int fds[2];
    if (pipe2(fds, nowait ? 0 : O_NONBLOCK) < 0)
        bench_fail("pipe2");
    struct iovec iov = {buf, size};
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < rounds; i++) {
        ssize_t n =
            nowait ? pwritev2(fds[1], &iov, 1, -1, RWF_NOWAIT) : write(fds[1], buf, size);
        if (n != (ssize_t)size)
            bench_fail("write");
        read_all(fds[0], nowait);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)rounds;
    close(fds[0]);
    close(fds[1]);
    return ns;
}

static void write_from_callback(pl_loop *loop, void *user)
{
    (void)user;
    for (long i = 0; i < rounds; i++) {
        if (pl_transport_write(writer, buf, size) != (ssize_t)size)
            bench_fail("pl_transport_write");
        read_all(read_fd, 0);
    }
    pl_loop_stop(loop);
}

static double transport(unsigned flags, int expect_mode)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        bench_fail("pipe2");
    read_fd = fds[0];
    pl_loop *loop;
    if (pl_loop_new(&loop, 0) ||
        pl_connect_write_pipe_ex(loop, fds[1], flags, &silent, NULL, &writer))
        bench_fail("pipeloop setup");
    if (pl_transport_get_io_mode(writer) != expect_mode)
        bench_fail("unexpected io mode");
    pl_call_soon(loop, write_from_callback, NULL);
    uint64_t t0 = bench_now_ns();
    pl_loop_run(loop);
    double ns = (double)(bench_now_ns() - t0) / (double)rounds;
    bench_pl_close_all(loop, writer);
    close(fds[0]);
    return ns;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 500000;
    if (total <= 0)
        bench_fail("ROUNDS must be positive");
    static const size_t sizes[] = {1, 65536};
    buf = calloc(1, 65536);
    if (!buf)
        bench_fail("calloc");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size = sizes[s];
        rounds = size == 1 ? total : total / 16;
        double plain = syscalls(0), nowait = syscalls(1);
        double pl_private = transport(0, PL_IO_REOPENED);
        double pl_shared = transport(PL_CONNECT_SHARED_NONBLOCK, PL_IO_NONBLOCK);
        printf("%6zu B: ns per write+read: read/write on O_NONBLOCK %.0f, "
               "preadv2/pwritev2 RWF_NOWAIT %.0f (%.3fx); pl_transport_write default "
               "(reopened) %.0f, shared O_NONBLOCK %.0f (%.3fx)\n",
               size, plain, nowait, nowait / plain, pl_private, pl_shared,
               pl_private / pl_shared);
    }
    free(buf);
    return 0;
}
