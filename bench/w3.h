/*
 * W3 fan-in: what the three variants share.  W forked writer processes (1
 * or 2; writer k owns a contiguous share of the N pipes) send, in each of R
 * lock-step rounds, one 64-byte message down each of their pipes, then wait
 * for a 1-byte ack; the reader (the variant under test) reads everything in
 * one loop, hands each read to w3_received, which verifies it, counts it
 * and acks every writer when a round is complete.  After the last round the
 * writers close their pipes; the variant reads EOF on all of them.
 *
 * The figures: the reader's own CPU time per message (getrusage
 * RUSAGE_SELF of the reader process only: the writers are other
 * processes), the primary one, and wall time per message beside it.  With
 * one writer the writer is the bottleneck and the wall time mostly
 * measures it; with two the reader can become the bottleneck.
 */
#ifndef PIPELOOP_BENCH_W3_H
#define PIPELOOP_BENCH_W3_H

#include <stddef.h>
#include <stdint.h>

#define W3_MESSAGE 64
#define W3_MAX_PIPES 10000
#define W3_MAX_WRITERS 2

struct w3_args {
    size_t pipes;    /* N */
    uint64_t rounds; /* R */
    size_t writers;  /* W */
    char label[32];  /* the case, e.g. "N=1000" or "N=1000,2w" */
};

/* argv[1] N or "max" (as many as RLIMIT_NOFILE allows, up to 10,000; the
 * soft limit is raised to the hard one), argv[2] R (default 100), argv[3] W
 * (default 1). */
struct w3_args w3_parse_args(int argc, char **argv);

/* Fork the writers and make the N pipes.  Returns the N read ends
 * (blocking, O_CLOEXEC; pipe i is fds[i]); the writers wait for w3_begin. */
int *w3_start(const struct w3_args *args);

/* Start the clocks (wall and the reader's CPU) and send the writers their
 * go. */
void w3_begin(void);

/* len bytes read from pipe i: verify and count them; acks a complete round
 * and stops the clocks after the last. */
void w3_received(size_t pipe, const void *data, size_t len);

/* 1 once every round has been received. */
int w3_done(void);

/* Check that every byte arrived and that eofs == N, reap the writers,
 * print the RESULT lines (cpu_us/message: the reader's CPU microseconds per
 * message; us/message: wall) and free the fd array. */
void w3_finish(const char *variant, size_t eofs);

#endif /* PIPELOOP_BENCH_W3_H */
