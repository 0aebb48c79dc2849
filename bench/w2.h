/* W2 ping-pong: what the three variants share. */
#ifndef PIPELOOP_BENCH_W2_H
#define PIPELOOP_BENCH_W2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define W2_MAX_MESSAGE 4096

struct w2_args {
    uint64_t rounds; /* round trips */
    size_t size;     /* bytes per message */
    char label[32];  /* the case, e.g. "64B" */
};

/* argv[1] round trips (default 100000), argv[2] message bytes (default 1). */
struct w2_args w2_parse_args(int argc, char **argv);

/* Message r: byte j is (r + j) & 0xff.  check returns 1 if msg is message r. */
void w2_fill(unsigned char *msg, size_t size, uint64_t round);
int w2_check(const unsigned char *msg, size_t size, uint64_t round);

/* The echo of the current round as the parent's reads bring it in. */
struct w2_reply {
    unsigned char bytes[W2_MAX_MESSAGE];
    size_t len;
};

/* Add the len bytes at data to the echo of round, failing (messages start
 * with variant, e.g. "W2 pl") on more bytes than were sent or a wrong echo.
 * Returns 1 once the echo is complete and right (reply is then empty for
 * the next round), else 0. */
int w2_reply_add(struct w2_reply *reply, const void *data, size_t len,
                 const struct w2_args *args, uint64_t round, const char *variant);

/* Make the two pipes and fork the echo peer, which runs peer(in, out) with
 * the read end of the first pipe and the write end of the second, then
 * exits 0.  The parent gets the other ends: *to_peer and *from_peer (both
 * blocking, O_CLOEXEC), and the peer's pid. */
pid_t w2_start_peer(void (*peer)(int in, int out), int *to_peer, int *from_peer);

/* Reap the peer (failing unless it exited 0) and print the RESULT line:
 * microseconds per round trip from start_ns to end_ns. */
void w2_finish(const char *variant, const struct w2_args *args, uint64_t start_ns,
               uint64_t end_ns, pid_t peer);

#endif /* PIPELOOP_BENCH_W2_H */
