/*
 * W4 spawn: what the three variants share.  Each spawn runs /bin/true with
 * stdin and stdout on pipes (stderr inherited), closes stdin, reads stdout
 * to EOF (it must be empty), reaps the child and checks it exited 0.  The
 * spawns are sequential.
 */
#ifndef PIPELOOP_BENCH_W4_H
#define PIPELOOP_BENCH_W4_H

#include <stdint.h>

#define W4_PROGRAM "/bin/true"

/* argv[1] the number of spawns (default 1000). */
uint64_t w4_parse_args(int argc, char **argv);

/* Print the RESULT line: microseconds per spawn since start_ns. */
void w4_finish(const char *variant, uint64_t spawns, uint64_t start_ns);

#endif /* PIPELOOP_BENCH_W4_H */
