/* W3 fan-in: the writer process and the reader's accounting. */
#include "w3.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The write ends travel to the writer over a socket in batches of this many
 * (SCM_RIGHTS), so that neither process ever holds both ends of every pipe:
 * N can come close to RLIMIT_NOFILE instead of half of it. */
#define FD_BATCH 128
/* fds kept free for the loops (epoll, eventfd, libuv's own) and stdio. */
#define FD_RESERVE 64

static struct w3_args args;
static int *read_fds;
static uint64_t *position; /* bytes received so far on each pipe */
static uint64_t received, rounds_done, start_ns, end_ns;
static double start_cpu, end_cpu;
static const unsigned char *pattern;
static int ack_fds[W3_MAX_WRITERS];
static pid_t writer_pids[W3_MAX_WRITERS];

struct w3_args w3_parse_args(int argc, char **argv)
{
    struct w3_args a;
    uint64_t limit = bench_raise_nofile();
    uint64_t max = limit > FD_RESERVE + FD_BATCH ? limit - FD_RESERVE - FD_BATCH : 0;

    if (max > W3_MAX_PIPES)
        max = W3_MAX_PIPES;
    if (argc > 4)
        bench_fail("usage: %s [PIPES|max [ROUNDS [WRITERS]]]", argv[0]);
    if (argc < 2 || strcmp(argv[1], "max") == 0)
        a.pipes = (size_t)max;
    else
        a.pipes = (size_t)bench_parse_size(argv[1], "pipes", 1, W3_MAX_PIPES);
    if (a.pipes < 1 || a.pipes > max)
        bench_fail("%zu pipes need %zu fds; RLIMIT_NOFILE is %llu", a.pipes,
                   a.pipes + FD_RESERVE + FD_BATCH, (unsigned long long)limit);
    a.rounds = argc > 2 ? bench_parse_size(argv[2], "rounds", 1, 1000000) : 100;
    a.writers =
        argc > 3 ? (size_t)bench_parse_size(argv[3], "writers", 1, W3_MAX_WRITERS) : 1;
    if (a.writers > a.pipes)
        bench_fail("%zu writers need at least as many pipes", a.writers);
    if (a.writers == 1)
        snprintf(a.label, sizeof a.label, "N=%zu", a.pipes);
    else
        snprintf(a.label, sizeof a.label, "N=%zu,%zuw", a.pipes, a.writers);
    return a;
}

static void send_fds(int sock, const int *fds, size_t count)
{
    union {
        char buf[CMSG_SPACE(FD_BATCH * sizeof(int))];
        struct cmsghdr align;
    } control;
    unsigned char byte = 0;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *cmsg;

    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(cmsg), fds, count * sizeof(int));
    while (sendmsg(sock, &msg, 0) < 0)
        if (errno != EINTR)
            bench_fail_errno("sendmsg", -errno);
}

/* Receive one batch into fds; returns how many came. */
static size_t receive_fds(int sock, int *fds)
{
    union {
        char buf[CMSG_SPACE(FD_BATCH * sizeof(int))];
        struct cmsghdr align;
    } control;
    unsigned char byte;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *cmsg;
    size_t count;

    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    while (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0)
        if (errno != EINTR)
            bench_fail_errno("recvmsg", -errno);
    cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS || (msg.msg_flags & MSG_CTRUNC))
        bench_fail("W3 writer: a batch of fds did not arrive");
    count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    memcpy(fds, CMSG_DATA(cmsg), count * sizeof(int));
    return count;
}

/* Writer k's pipes: [first(k), first(k + 1)). */
static size_t first_pipe(size_t k)
{
    return k * args.pipes / args.writers;
}

static void writer(size_t k, int sock, int ack_in)
{
    size_t first = first_pipe(k), count = first_pipe(k + 1) - first;
    int *write_fds = calloc(count, sizeof *write_fds);
    unsigned char go;

    if (write_fds == NULL)
        bench_fail("out of memory");
    for (size_t got = 0; got < count;)
        got += receive_fds(sock, write_fds + got);
    close(sock);
    for (uint64_t r = 0;; r++) {
        if (bench_read_full(ack_in, &go, 1) != 0)
            bench_fail("W3 writer: EOF on the ack pipe before round %llu",
                       (unsigned long long)r);
        if (r == args.rounds)
            break;
        for (size_t i = 0; i < count; i++)
            bench_write_full(write_fds[i],
                             pattern + ((first + i + r * W3_MESSAGE) & 0xff), W3_MESSAGE);
    }
    for (size_t i = 0; i < count; i++)
        close(write_fds[i]);
    free(write_fds);
}

int *w3_start(const struct w3_args *a)
{
    int batch[FD_BATCH];
    size_t batched = 0;
    int socks[W3_MAX_WRITERS];

    args = *a;
    pattern = bench_pattern(BENCH_READ_SIZE);
    read_fds = calloc(args.pipes, sizeof *read_fds);
    position = calloc(args.pipes, sizeof *position);
    if (read_fds == NULL || position == NULL)
        bench_fail("out of memory");
    /* The writers first, so that none inherits a pipe's read end. */
    for (size_t k = 0; k < args.writers; k++) {
        int ack[2], sock[2];
        bench_pipe(ack);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) < 0)
            bench_fail_errno("socketpair", -errno);
        writer_pids[k] = bench_fork_peer();
        if (writer_pids[k] == 0) {
            /* Not the earlier writers' ends: each writer sees EOF only from
             * the reader. */
            for (size_t j = 0; j < k; j++) {
                close(socks[j]);
                close(ack_fds[j]);
            }
            close(sock[0]);
            close(ack[1]);
            writer(k, sock[1], ack[0]);
            exit(0);
        }
        close(sock[1]);
        close(ack[0]);
        socks[k] = sock[0];
        ack_fds[k] = ack[1];
    }
    for (size_t k = 0; k < args.writers; k++) {
        for (size_t i = first_pipe(k); i < first_pipe(k + 1); i++) {
            int fds[2];
            bench_pipe(fds);
            read_fds[i] = fds[0];
            batch[batched++] = fds[1];
            if (batched == FD_BATCH || i + 1 == first_pipe(k + 1)) {
                send_fds(socks[k], batch, batched);
                for (size_t j = 0; j < batched; j++)
                    close(batch[j]);
                batched = 0;
            }
        }
        close(socks[k]);
    }
    return read_fds;
}

static void send_ack(void)
{
    static const unsigned char byte = 1;
    for (size_t k = 0; k < args.writers; k++)
        bench_write_full(ack_fds[k], &byte, 1);
}

void w3_begin(void)
{
    start_cpu = bench_cpu_seconds();
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
        if (++rounds_done == args.rounds) {
            end_ns = bench_now_ns();
            end_cpu = bench_cpu_seconds();
        }
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
    for (size_t k = 0; k < args.writers; k++) {
        close(ack_fds[k]);
        bench_wait_ok(writer_pids[k], "a writer");
    }
    bench_result("W3", variant, args.label, "cpu_us/message",
                 (end_cpu - start_cpu) * 1e6 / (double)messages);
    bench_result("W3", variant, args.label, "us/message",
                 (double)(end_ns - start_ns) / 1e3 / (double)messages);
    free(read_fds);
    free(position);
}
