/*
 * W6 many commands: what the C variants share.  COMMANDS commands run, at
 * most W6_INFLIGHT at a time; each one's stdout and stderr are captured
 * whole (stderr must stay empty), its stdout compared with what it must
 * be, and its exit status must be 0.  Two kinds of command:
 *
 *   echo: /bin/echo with one argument of W6_ECHO_ARG bytes, stdin
 *         /dev/null; its stdout must be the argument and a newline;
 *   cat:  /bin/cat (no argument) fed W6_CAT_INPUT bytes on a stdin pipe,
 *         which is then closed; its stdout must be the input.
 *
 * Command i's argument (or input) starts with i in decimal, so an output
 * given to the wrong command fails the check.  The bytes are printable (no
 * ESC: ninja strips escape sequences from what it prints).
 */
#ifndef PIPELOOP_BENCH_W6_H
#define PIPELOOP_BENCH_W6_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define W6_INFLIGHT 32
#define W6_ECHO_ARG 1024
#define W6_CAT_INPUT (64 * 1024)
#define W6_ECHO_PROGRAM "/bin/echo"
#define W6_CAT_PROGRAM "/bin/cat"

enum w6_kind { W6_ECHO, W6_CAT };

struct w6_args {
    enum w6_kind kind;
    uint64_t commands;
};

/* argv[1] "echo" or "cat", argv[2] the number of commands (default
 * 10,000). */
struct w6_args w6_parse_args(int argc, char **argv);

/* A slot's buffers: one per command in flight, reused. */
struct w6_slot {
    uint64_t index;       /* the command running in this slot */
    char *arg;            /* echo: the argument, NUL-terminated */
    char *argv[3];        /* echo: {program, arg, NULL}; cat: {program, NULL} */
    unsigned char *input; /* cat: the W6_CAT_INPUT bytes for stdin */
};

/* Allocate a slot (once per slot). */
void w6_slot_init(struct w6_slot *slot, const struct w6_args *args);
/* Prepare the slot for command index: its argv and (cat) its input. */
void w6_slot_prepare(struct w6_slot *slot, uint64_t index);
/* The program and its stdin size for the kind. */
const char *w6_program(const struct w6_args *args);
size_t w6_input_len(const struct w6_args *args);

/* Check command index's outcome: returncode (the exit code, or minus the
 * signal) must be 0, stderr empty and stdout exactly what the command
 * prints; fails the run otherwise. */
void w6_check(const char *variant, uint64_t index, const void *out, size_t out_len,
              size_t err_len, int returncode);

/* Start the clocks (wall, and the process's own and its reaped children's
 * CPU time). */
void w6_begin(void);
/* Print the RESULT lines: wall microseconds per command (us/command), the
 * process's own CPU (RUSAGE_SELF) per command (cpu_us/command) and its
 * reaped children's (RUSAGE_CHILDREN; the commands themselves) per command
 * (child_cpu_us/command).  Fails unless completed == commands. */
void w6_finish(const char *variant, uint64_t completed);

#endif /* PIPELOOP_BENCH_W6_H */
