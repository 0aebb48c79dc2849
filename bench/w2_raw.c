/*
 * W2 ping-pong, raw: blocking read(2) and write(2) on both sides.  The
 * parent sends message r down one pipe and waits for it to come back up the
 * other; the forked peer echoes whatever it reads until EOF.
 *
 * usage: w2_raw [ROUNDS [MESSAGE_BYTES]]   (defaults 100000 1)
 */
#include "common.h"
#include "w2.h"

#include <errno.h>
#include <unistd.h>

static void echo_peer(int in, int out)
{
    unsigned char buf[W2_MAX_MESSAGE];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bench_fail_errno("peer read", -errno);
        }
        if (n == 0)
            return;
        bench_write_full(out, buf, (size_t)n);
    }
}

int main(int argc, char **argv)
{
    struct w2_args args = w2_parse_args(argc, argv);
    unsigned char msg[W2_MAX_MESSAGE], reply[W2_MAX_MESSAGE];
    int to_peer, from_peer;
    pid_t peer = w2_start_peer(echo_peer, &to_peer, &from_peer);
    uint64_t start = bench_now_ns(), end;

    for (uint64_t r = 0; r < args.rounds; r++) {
        w2_fill(msg, args.size, r);
        bench_write_full(to_peer, msg, args.size);
        if (bench_read_full(from_peer, reply, args.size) != 0)
            bench_fail("W2 raw: EOF from the peer in round %llu", (unsigned long long)r);
        if (!w2_check(reply, args.size, r))
            bench_fail("W2 raw: wrong echo in round %llu", (unsigned long long)r);
    }
    end = bench_now_ns();
    close(to_peer);
    w2_finish("raw", &args, start, end, peer);
    close(from_peer);
    return 0;
}
