/* Internals shared by the runner's files (check/runner*.c, registry.c).
 * Not API. */
#ifndef PIPECHECK_CHECK_INTERNAL_H
#define PIPECHECK_CHECK_INTERNAL_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pipecheck.h"
#include "util.h"

/* The length of the valid UTF-8 sequence of one character at s (s[0] >=
 * 0x80), or 0 if the bytes there are not one (runner_report.c). */
size_t pc__utf8_char_len(const unsigned char *s);

/* The longest failure or skip message; longer ones are cut. */
#define PC__MESSAGE_MAX 8192

/*
 * Records a test process sends to the runner over its result pipe: a header
 * then len bytes.  TIMEOUT carries a uint32_t of scaled ms; OUTCOME a
 * uint32_t pc_status followed by the message text (no NUL).
 */
enum pc__record_kind { PC__RECORD_TIMEOUT = 1, PC__RECORD_OUTCOME = 2 };
struct pc__record_header {
    uint32_t kind;
    uint32_t len;
};

/* Run-wide settings, set by pc_run() before any test starts (so forked
 * tests inherit them). */
struct pc__run_settings {
    int active;        /* pc_run() has set the fields below */
    double multiplier; /* timeout multiplier */
    uint64_t seed;
};
extern struct pc__run_settings pc__settings;

/* What the process running a test knows about it. */
struct pc__test_state {
    const char *name;    /* NULL outside a test */
    unsigned timeout_ms; /* scaled */
    int result_fd;       /* write end of the result pipe; -1 if none */
    pid_t test_pid;      /* the forked test process (0 in-process) */
    int in_process;      /* --no-fork */
    jmp_buf *escape;     /* --no-fork: back to the runner */
    pthread_t thread;    /* --no-fork: the runner's thread */
    pc_status escape_status;
    size_t hooks_at_start; /* hooks the test added are dropped after it */
};
extern struct pc__test_state pc__test;

/* The failure or skip message of the test that just ended in-process. */
extern char pc__escape_message[PC__MESSAGE_MAX];

/* The text of the last exception a subject raised ("AttributeError: ..."),
 * set where its answer or event is read, so that the failure message of a
 * check that got PC_EEXCEPTION names it; empty before the first. */
extern char pc__last_exception[256];
void pc__note_exception(const char *text, size_t len);

/* Report an outcome and end the test (fail runs the hooks first). */
PC__NORETURN void pc__finish(pc_status status, const char *message);
/* In a forked test: tell the runner it passed, then _exit. */
PC__NORETURN void pc__report_pass_and_exit(void);
/* Send one record on the result pipe (forked tests only). */
void pc__send_record(uint32_t kind, const void *payload, size_t len);
/* Drop failure hooks beyond the first count. */
void pc__hooks_truncate(size_t count);
size_t pc__hooks_count(void);
/* Run the failure hooks, newest first (guarded against recursion). */
void pc__run_failure_hooks(void);

/* ---- the test registry (registry.c) ---- */

/* One registered test. */
struct pc__test_entry {
    char *name;
    void (*fn)(void *arg);
    void *arg;
    unsigned flags;
};

/* Test i in registration order, or NULL if i is out of range. */
struct pc__test_entry *pc__registry_entry(size_t i);
/* Before a run: 0, or the error of a failed registration (printed), or
 * -EEXIST when two tests share a name (each printed), or -ENOMEM. */
int pc__registry_check(void);

/* ---- leak checks (runner_leaks.c) ---- */

struct pc__fd_entry {
    int fd;
    char target[160]; /* readlink of /proc/self/fd/N, "?" if unknown */
};

/* The state a test must leave as it found it. */
struct pc__baseline {
    struct pc__fd_entry *fds; /* sorted by fd */
    size_t fd_count;
    int stdio_flags[3]; /* F_GETFL of 0-2; -1 if closed */
    struct sigaction sigpipe;
    int sigpipe_blocked;
};

/* Sorted list of this process's open fds.  Returns 0 or -ENOMEM. */
int pc__list_fds(int **fds, size_t *count);
/* Take a baseline.  Returns 0 or -ENOMEM. */
int pc__baseline_take(struct pc__baseline *b);
/*
 * Compare the process with b and append every difference to msg (a
 * NUL-terminated string of capacity size), "; " separated.  Child processes
 * found are killed and reaped; changed stdio flags and SIGPIPE disposition
 * are put back, so an in-process run can go on.  Returns how many problems.
 */
size_t pc__baseline_check(const struct pc__baseline *b, char *msg, size_t size);
void pc__baseline_free(struct pc__baseline *b);

/* ---- results and output (runner_report.c) ---- */

/* A test that was running when the run was interrupted: no outcome. */
struct pc__stopped {
    char *name;
    char *output;
    double seconds;
};

struct pc_results {
    pc_result *items;
    size_t count, cap;
    size_t passed, failed, skipped;
    int tap;         /* the run printed TAP: the summary is a comment */
    int interrupted; /* the signal that stopped the run, or 0 */
    struct pc__stopped *stopped;
    size_t stopped_count;
    size_t not_started; /* runs never started because of the interruption */
    int expecting;      /* an expect file judged the run */
    size_t unexpected;  /* statuses that differed from it (or failures) */
};

/* Record a test stopped by an interruption.  0 or -ENOMEM. */
int pc__results_add_stopped(pc_results *r, const char *name, const char *output,
                            double seconds);

/* Append a result; copies the strings (NULL means "").  0 or -ENOMEM. */
int pc__results_add(pc_results *r, const char *name, pc_status status,
                    const char *message, const char *output, double seconds);

/* Expected verdicts (runner_expect.c). */
struct pc__expected {
    char *name;
    int verdict; /* a pc_status, or -1: any */
};
struct pc__expect {
    struct pc__expected *items;
    size_t count, cap;
    int active;
};
/* Read FILE ("VERDICT NAME" lines); a message on err on failure.  0,
 * -errno, -EINVAL (a bad line) or -ENOMEM. */
int pc__expect_load(struct pc__expect *e, const char *path, FILE *err);
/* The verdict expected of name: a pc_status (PC_PASS if absent), -1 any. */
int pc__expect_verdict(const struct pc__expect *e, const char *name);
void pc__expect_free(struct pc__expect *e);

/* Console output of one run. */
struct pc__reporter {
    const pc_options *opts;
    size_t total, done;
    size_t failed;
    int progress; /* draw a \r progress line (a terminal, after a second) */
    int colour;
    int progress_shown;
    uint64_t start_ns;
    const char *current; /* the test started last, for the progress line */
};

void pc__report_start(struct pc__reporter *rep, const pc_options *opts, size_t total,
                      unsigned jobs, uint64_t seed);
/* A test started (name), or a tick (NULL): redraw the progress line. */
void pc__report_progress(struct pc__reporter *rep, const char *name);
/* The run was interrupted: name the stopped tests; TAP "Bail out!". */
void pc__report_interrupted(struct pc__reporter *rep, const pc_results *r);
void pc__report_result(struct pc__reporter *rep, const pc_result *result);
/* --no-fork ended early: TAP "Bail out!". */
void pc__report_bail_out(struct pc__reporter *rep, const char *why);
void pc__report_end(struct pc__reporter *rep);
/* Open the JUnit file before the run, so a bad path stops it before any
 * test runs.  NULL (message printed) on error, errno set. */
FILE *pc__junit_open(const char *path);
/* Write the JUnit XML to f and close it.  Returns 0 or -EIO (message
 * printed). */
int pc__junit_write(FILE *f, const char *path, const pc_results *r, uint64_t seed);

#endif /* PIPECHECK_CHECK_INTERNAL_H */
