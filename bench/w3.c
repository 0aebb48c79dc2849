/* W3 fan-in: the writer process and the reader's accounting. */
#include "w3.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct w3_args args;
static int *read_fds;
static uint64_t *position; /* bytes received so far on each pipe */
static uint64_t received, rounds_done, start_ns, end_ns;
static const unsigned char *pattern;
static int ack_fd = -1;
static pid_t writer_pid;

struct w3_args w3_parse_args(int argc, char **argv)
{
    struct w3_args a;
    uint64_t limit = bench_raise_nofile();
    /* Both ends of every pipe are open in this process until the fork. */
    uint64_t max = limit > 64 ? (limit - 64) / 2 : 0;

    if (max > W3_MAX_PIPES)
        max = W3_MAX_PIPES;
    if (argc > 3)
        bench_fail("usage: %s [PIPES|max [ROUNDS]]", argv[0]);
    if (argc < 2 || strcmp(argv[1], "max") == 0)
        a.pipes = (size_t)max;
    else
        a.pipes = (size_t)bench_parse_size(argv[1], "pipes", 1, W3_MAX_PIPES);
    if (a.pipes < 1 || a.pipes > max)
        bench_fail("%zu pipes need %zu fds; RLIMIT_NOFILE is %llu", a.pipes,
                   2 * a.pipes + 64, (unsigned long long)limit);
    a.rounds = argc > 2 ? bench_parse_size(argv[2], "rounds", 1, 1000000) : 100;
    snprintf(a.label, sizeof a.label, "N=%zu", a.pipes);
    return a;
}

static void writer(int ack_in, int *write_fds)
{
    unsigned char go;
    for (uint64_t r = 0;; r++) {
        if (bench_read_full(ack_in, &go, 1) != 0)
            bench_fail("W3 writer: EOF on the ack pipe before round %llu",
                       (unsigned long long)r);
        if (r == args.rounds)
            break;
        for (size_t i = 0; i < args.pipes; i++)
            bench_write_full(write_fds[i], pattern + ((i + r * W3_MESSAGE) & 0xff),
                             W3_MESSAGE);
    }
    for (size_t i = 0; i < args.pipes; i++)
        close(write_fds[i]);
}

int *w3_start(const struct w3_args *a)
{
    int *write_fds;
    int ack[2];

    args = *a;
    pattern = bench_pattern(BENCH_READ_SIZE);
    read_fds = calloc(args.pipes, sizeof *read_fds);
    write_fds = calloc(args.pipes, sizeof *write_fds);
    position = calloc(args.pipes, sizeof *position);
    if (read_fds == NULL || write_fds == NULL || position == NULL)
        bench_fail("out of memory");
    for (size_t i = 0; i < args.pipes; i++) {
        int fds[2];
        bench_pipe(fds);
        read_fds[i] = fds[0];
        write_fds[i] = fds[1];
    }
    bench_pipe(ack);
    writer_pid = bench_fork_peer();
    if (writer_pid == 0) {
        for (size_t i = 0; i < args.pipes; i++)
            close(read_fds[i]);
        close(ack[1]);
        writer(ack[0], write_fds);
        exit(0);
    }
    for (size_t i = 0; i < args.pipes; i++)
        close(write_fds[i]);
    free(write_fds);
    close(ack[0]);
    ack_fd = ack[1];
    return read_fds;
}

static void send_ack(void)
{
    static const unsigned char byte = 1;
    bench_write_full(ack_fd, &byte, 1);
}

void w3_begin(void)
{
    start_ns = bench_now_ns();
    send_ack();
}

void w3_received(size_t pipe, const void *data, size_t len)
{
    uint64_t per_round = (uint64_t)args.pipes * W3_MESSAGE;

    if (pipe >= args.pipes)
        bench_fail("W3: data for pipe %zu of %zu", pipe, args.pipes);
    if (position[pipe] + len > (rounds_done + 1) * W3_MESSAGE ||
        memcmp(data, pattern + ((pipe + position[pipe]) & 0xff), len) != 0)
        bench_fail("W3: wrong bytes on pipe %zu at offset %llu", pipe,
                   (unsigned long long)position[pipe]);
    position[pipe] += len;
    received += len;
    if (received == (rounds_done + 1) * per_round) {
        if (++rounds_done == args.rounds)
            end_ns = bench_now_ns();
        send_ack();
    }
}

int w3_done(void)
{
    return rounds_done == args.rounds;
}

void w3_finish(const char *variant, size_t eofs)
{
    uint64_t messages = args.rounds * args.pipes;

    if (rounds_done != args.rounds)
        bench_fail("W3 %s: %llu of %llu rounds received", variant,
                   (unsigned long long)rounds_done, (unsigned long long)args.rounds);
    for (size_t i = 0; i < args.pipes; i++)
        if (position[i] != args.rounds * W3_MESSAGE)
            bench_fail("W3 %s: pipe %zu carried %llu bytes", variant, i,
                       (unsigned long long)position[i]);
    if (eofs != args.pipes)
        bench_fail("W3 %s: EOF on %zu of %zu pipes", variant, eofs, args.pipes);
    close(ack_fd);
    bench_wait_ok(writer_pid, "the writer");
    bench_result("W3", variant, args.label, "us/message",
                 (double)(end_ns - start_ns) / 1e3 / (double)messages);
    free(read_fds);
    free(position);
}
