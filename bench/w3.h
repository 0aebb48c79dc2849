/*
 * W3 fan-in: what the three variants share.  A forked writer process sends,
 * in each of R lock-step rounds, one 64-byte message down each of N pipes,
 * then waits for a 1-byte ack; the reader (the variant under test) reads
 * everything in one loop, hands each read to w3_received, which verifies
 * it, counts it and sends the ack when a round is complete.  After the last
 * round the writer closes its pipes; the variant reads EOF on all of them.
 */
#ifndef PIPELOOP_BENCH_W3_H
#define PIPELOOP_BENCH_W3_H

#include <stddef.h>
#include <stdint.h>

#define W3_MESSAGE 64
#define W3_MAX_PIPES 10000

struct w3_args {
    size_t pipes;    /* N */
    uint64_t rounds; /* R */
    char label[32];  /* the case, e.g. "N=1000" */
};

/* argv[1] N or "max" (as many as RLIMIT_NOFILE allows, up to 10,000; the
 * soft limit is raised to the hard one), argv[2] R (default 100). */
struct w3_args w3_parse_args(int argc, char **argv);

/* Make the N pipes and fork the writer.  Returns the N read ends (blocking,
 * O_CLOEXEC; pipe i is fds[i]); the writer waits for w3_begin. */
int *w3_start(const struct w3_args *args);

/* Send the writer its go and start the clock. */
void w3_begin(void);

/* len bytes read from pipe i: verify and count them; acks a complete round
 * and stops the clock after the last. */
void w3_received(size_t pipe, const void *data, size_t len);

/* 1 once every round has been received. */
int w3_done(void);

/* Check that every byte arrived and that eofs == N, reap the writer, print
 * the RESULT line (microseconds per message) and free the fd array. */
void w3_finish(const char *variant, size_t eofs);

#endif /* PIPELOOP_BENCH_W3_H */
