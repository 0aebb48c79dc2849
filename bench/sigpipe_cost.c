/*
 * sigpipe_cost: what pipeloop's SIGPIPE protection costs per write.
 *
 * A 1-byte write and a 1-byte read on one pipe, N times, four ways: plain
 * write(2); write(2) between two pthread_sigmask calls (the per-write
 * guard); pl_transport_write outside the loop (which guards each write);
 * and pl_transport_write from a loop callback (guarded once per run).
 * Prints ns per write+read round.
 *
 * usage: sigpipe_cost [ROUNDS]   (default 1000000)
 */
#define BENCH_LABEL "sigpipe_cost"
#include "common.h"
#include "pl_util.h"

#include <pipeloop.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const pl_protocol silent = {0};
static pl_transport *writer;
static int read_fd;
static long rounds;

static void read_one(void)
{
    char c;
    if (read(read_fd, &c, 1) != 1)
        bench_fail("read");
}

static void write_from_callback(pl_loop *loop, void *user)
{
    (void)user;
    for (long i = 0; i < rounds; i++) {
        if (pl_transport_write(writer, "x", 1) != 1)
            bench_fail("pl_transport_write");
        read_one();
    }
    pl_loop_stop(loop);
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 1000000;
    if (rounds <= 0)
        bench_fail("ROUNDS must be positive");
    int fds[2];
    if (pipe(fds) < 0)
        bench_fail("pipe");
    read_fd = fds[0];

    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < rounds; i++) {
        if (write(fds[1], "x", 1) != 1)
            bench_fail("write");
        read_one();
    }
    double raw = (double)(bench_now_ns() - t0) / (double)rounds;

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    t0 = bench_now_ns();
    for (long i = 0; i < rounds; i++) {
        pthread_sigmask(SIG_BLOCK, &set, &old);
        if (write(fds[1], "x", 1) != 1)
            bench_fail("write");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        read_one();
    }
    double masked = (double)(bench_now_ns() - t0) / (double)rounds;

    pl_loop *loop;
    if (pl_loop_new(&loop, 0) ||
        pl_connect_write_pipe(loop, fds[1], &silent, NULL, &writer))
        bench_fail("pipeloop setup");
    t0 = bench_now_ns();
    for (long i = 0; i < rounds; i++) {
        if (pl_transport_write(writer, "x", 1) != 1)
            bench_fail("pl_transport_write");
        read_one();
    }
    double outside = (double)(bench_now_ns() - t0) / (double)rounds;

    pl_call_soon(loop, write_from_callback, NULL);
    t0 = bench_now_ns();
    pl_loop_run(loop);
    double inside = (double)(bench_now_ns() - t0) / (double)rounds;

    bench_pl_close_all(loop, writer);
    close(fds[0]);
    printf("ns per 1-byte write+read: raw %.0f; raw with sigmask around write %.0f; "
           "pl_transport_write outside the loop %.0f; from a callback %.0f\n",
           raw, masked, outside, inside);
    return 0;
}
