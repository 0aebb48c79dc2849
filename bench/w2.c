/* W2 ping-pong: arguments, messages, the peer's process and the result. */
#include "w2.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct w2_args w2_parse_args(int argc, char **argv)
{
    struct w2_args args;

    if (argc > 3)
        bench_fail("usage: %s [ROUNDS [MESSAGE_BYTES]]", argv[0]);
    args.rounds = argc > 1 ? bench_parse_size(argv[1], "rounds", 1, UINT32_MAX) : 100000;
    args.size =
        argc > 2 ? (size_t)bench_parse_size(argv[2], "message bytes", 1, W2_MAX_MESSAGE)
                 : 1;
    snprintf(args.label, sizeof args.label, "%zuB", args.size);
    return args;
}

void w2_fill(unsigned char *msg, size_t size, uint64_t round)
{
    for (size_t j = 0; j < size; j++)
        msg[j] = (unsigned char)((round + j) & 0xff);
}

int w2_check(const unsigned char *msg, size_t size, uint64_t round)
{
    for (size_t j = 0; j < size; j++)
        if (msg[j] != (unsigned char)((round + j) & 0xff))
            return 0;
    return 1;
}

int w2_reply_add(struct w2_reply *reply, const void *data, size_t len,
                 const struct w2_args *args, uint64_t round, const char *variant)
{
    if (len > args->size - reply->len)
        bench_fail("%s: more bytes than sent in round %llu", variant,
                   (unsigned long long)round);
    memcpy(reply->bytes + reply->len, data, len);
    reply->len += len;
    if (reply->len < args->size)
        return 0;
    if (!w2_check(reply->bytes, args->size, round))
        bench_fail("%s: wrong echo in round %llu", variant, (unsigned long long)round);
    reply->len = 0;
    return 1;
}

pid_t w2_start_peer(void (*peer)(int in, int out), int *to_peer, int *from_peer)
{
    int down[2], up[2];
    pid_t pid;

    bench_pipe(down);
    bench_pipe(up);
    pid = bench_fork_peer();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        peer(down[0], up[1]);
        exit(0);
    }
    close(down[0]);
    close(up[1]);
    *to_peer = down[1];
    *from_peer = up[0];
    return pid;
}

void w2_finish(const char *variant, const struct w2_args *args, uint64_t start_ns,
               uint64_t end_ns, pid_t peer)
{
    double us = (double)(end_ns - start_ns) / 1e3;
    bench_wait_ok(peer, "the echo peer");
    bench_result("W2", variant, args->label, "us/roundtrip", us / (double)args->rounds);
}
