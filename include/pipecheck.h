/*
 * pipecheck: the pipeloop test bench (runner, asserts, pipe kinds, peers).
 *
 * Usage sketch:
 *
 *     #include <pipecheck.h>
 *     PC_TEST(pipe_roundtrip, "demo.pipe-roundtrip") {
 *         int fds[2];
 *         PC_ASSERT_EQ_INT(pipe(fds), 0);
 *         PC_ASSERT_EQ_INT(write(fds[1], "x", 1), 1);
 *         close(fds[0]);
 *         close(fds[1]);            // or the leak check fails the test
 *     }
 *     int main(int argc, char **argv) { return pc_main(argc, argv); }
 *
 *     $ ./pipeloop-tests --filter 'demo.*' -j 4 --tap
 *
 * Every test runs in its own forked process and process group, with a
 * timeout, stdin from /dev/null, its stdout and stderr captured, and leak
 * checks after it (open fds, child processes, the flags of fds 0-2, the
 * SIGPIPE disposition).
 * Functions return 0 or a count on success and -errno on failure.
 *
 * Guide: docs/guide.md (kinds, peers, recorder, PC_RUN_UNTIL, the matrix,
 * with examples/pipecheck/ as a complete example).  Behaviour IDs in test
 * names ("R4" in "R4.pause-stops-data@fifo/poll"): docs/behaviours.md.
 * Installed with pipeloop: pkg-config pipecheck, or find_package(pipeloop)
 * and the target pipeloop::pipecheck (pipeloop::pipecheck_static).
 */
#ifndef PIPECHECK_H
#define PIPECHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <pipeloop.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- runner ---- */

#define PC__NORETURN __attribute__((noreturn))
#define PC__PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))

/* ------------------------------------------------------------------------ */
/* Registration                                                              */

/* Flags for pc_test_add(). */
enum pc_test_flags {
    /* Not listed or run unless a filter names the test exactly (not by a
     * glob).  For deliberately failing cases that other tests run. */
    PC_TEST_HIDDEN = 1u << 0,
};

/*
 * Register a test: fn(arg) runs in its own process (see pc_run).  The name
 * is copied; names look like "R4.pause-stops-data@fifo/poll" and must be
 * unique.  Tests run in registration order unless shuffled.  Call before
 * pc_run(), normally from a constructor (PC_TEST does this).
 * Errors: -EINVAL (name NULL or empty, fn NULL, unknown flags), -ENOMEM.
 * A failed registration is also remembered, and pc_run() then refuses to
 * run (a constructor cannot report it).  Duplicate names are found by
 * pc_run(), which returns -EEXIST.
 */
int pc_test_add(const char *name, void (*fn)(void *arg), void *arg, unsigned flags);

/*
 * Define and register a test with no argument:
 *     PC_TEST(ident, "area.what-it-checks") { ...body... }
 * ident must be unique in the file.  PC_TEST_FLAGS also takes flags.
 */
#define PC_TEST(ident, name) PC_TEST_FLAGS(ident, name, 0u)
#define PC_TEST_FLAGS(ident, name, flags)                                                \
    static void pc__test_##ident(void *pc__arg __attribute__((unused)));                 \
    __attribute__((constructor)) static void pc__register_##ident(void)                  \
    {                                                                                    \
        (void)pc_test_add(name, pc__test_##ident, NULL, flags);                          \
    }                                                                                    \
    static void pc__test_##ident(void *pc__arg __attribute__((unused)))

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */

/* One of pipeloop's loop backends. */
typedef struct pc_backend {
    const char *name;   /* as pl_loop_backend() names it: "epoll" */
    const char *column; /* at most 5 characters, for tables: "uring" */
    unsigned flag;      /* for pl_loop_new(): PL_LOOP_EPOLL */
    int optional;       /* may be missing on a machine: see pc_backend_available */
} pc_backend;

/* Every backend, in the order tests run on them: epoll, poll, io_uring. */
#define PC_BACKEND_COUNT 3
extern const pc_backend pc_backends[PC_BACKEND_COUNT];

/* The backend called name, or NULL. */
const pc_backend *pc_backend_find(const char *name);

/* Can this machine make a loop of backend?  0, or pl_loop_new()'s error
 * (for io_uring: -ENOSYS without liburing or kernel support, -EPERM or
 * -ENOMEM where the kernel refuses a ring). */
int pc_backend_available(const pc_backend *backend);

/*
 * Register fn(backend, arg) as a test named name + "@" + the backend's name
 * ("loop.signal@poll"), or name + "/" + it when name already ends in a
 * kind ("R9.eintr-storm@pipe/poll").  Where the backend is missing (see
 * pc_backend_available) the test is skipped as n/a with the reason.
 * pc_test_add_each_backend registers it on every backend.  Errors as for
 * pc_test_add().
 */
int pc_test_add_on_backend(const char *name, const pc_backend *backend,
                           void (*fn)(const pc_backend *backend, void *arg), void *arg,
                           unsigned flags);
int pc_test_add_each_backend(const char *name,
                             void (*fn)(const pc_backend *backend, void *arg), void *arg,
                             unsigned flags);

/*
 * Define a test and register it on every backend:
 *     PC_TEST_EACH_BACKEND(ident, "area.what-it-checks") {
 *         pl_loop *loop;
 *         PC_ASSERT_OK(pl_loop_new(&loop, backend->flag));
 *         ...
 *     }
 * The body sees `backend` (const pc_backend *).  ident names the function,
 * so other code can call ident(backend, NULL).
 */
#define PC_TEST_EACH_BACKEND(ident, name)                                                \
    static void ident(const pc_backend *backend, void *pc__arg);                         \
    __attribute__((constructor)) static void pc__register_##ident(void)                  \
    {                                                                                    \
        (void)pc_test_add_each_backend(name, ident, NULL, 0u);                           \
    }                                                                                    \
    static void ident(const pc_backend *backend __attribute__((unused)),                 \
                      void *pc__arg __attribute__((unused)))

/*
 * Run the program at path (NULL: this program) with argv (NULL-terminated,
 * argv[0] included), its stdout and stderr into one pipe, and wait for it.
 * Returns what it wrote (malloc'd, NUL-terminated: free it) and sets
 * *status to its exit status, or 128 + the signal that ended it.  For tests
 * that run the runner again; fails the test on any error.
 */
char *pc_run_capture(const char *path, const char *const *argv, int *status);
/* This program's path (read from /proc/self/exe), in static storage. */
const char *pc_self_path(void);

/* The number of registered tests, hidden ones included. */
size_t pc_test_count(void);
/* The name of test i (registration order), or NULL if i is out of range. */
const char *pc_test_name(size_t i);
/* The flags of test i, or 0 if i is out of range. */
unsigned pc_test_flags(size_t i);

/* ------------------------------------------------------------------------ */
/* Inside a test                                                             */

/* Default time a test may take, before pc_scale_ms(). */
#define PC_DEFAULT_TIMEOUT_MS 5000u

/* The name of the running test, or NULL outside a test. */
const char *pc_current_test(void);

/*
 * Give the current test ms milliseconds (multiplied by the timeout
 * multiplier, see pc_scale_ms), counted from the start of the test, instead
 * of the default PC_DEFAULT_TIMEOUT_MS.  Call it first thing in the test.
 * May raise or lower the limit.  No effect outside a test or with
 * --no-fork (which has no timeouts).
 */
void pc_set_timeout_ms(unsigned ms);

/* The current test's effective (scaled) timeout in ms; outside a test, the
 * scaled default. */
unsigned pc_timeout_ms(void);

/*
 * ms multiplied by the run's timeout multiplier (--timeout-multiplier, else
 * $PIPECHECK_TIMEOUT_MULTIPLIER, else 1), rounded up, at least 1 for a
 * nonzero ms, saturating at UINT_MAX.  Use it for any wait a test bounds
 * itself, so that slow builds (sanitizers, valgrind) scale everything.
 */
unsigned pc_scale_ms(unsigned ms);

/*
 * The run's seed (--seed, else random and printed at the start), for tests
 * that want reproducible randomness: rerunning with --seed S gives the same
 * value.  Mix in pc_current_test() for per-test streams.
 */
uint64_t pc_seed(void);

/*
 * Fail the current test: run the failure hooks (newest first), print
 * "file:line: message" to the test's stderr (captured), report the failure
 * to the runner and end the test process.  Never returns.  May be called
 * from any thread of the test, and from a process the test forked (the
 * failure is reported for the test).  Outside a test it prints the message
 * and calls abort().  With --no-fork it returns to the runner, which stops
 * the run (from another thread than the runner's it ends the process).
 */
PC__NORETURN PC__PRINTF(3, 4) void pc_fail(const char *file, int line, const char *fmt,
                                           ...);
#define PC_FAIL(...) pc_fail(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Skip the current test with a reason ("needs a tty", ...): a skip is not a
 * failure.  Never returns; no leak checks run.  Outside a test it prints the
 * reason and calls abort().
 */
PC__NORETURN PC__PRINTF(1, 2) void pc_skip(const char *fmt, ...);
#define PC_SKIP(...) pc_skip(__VA_ARGS__)

/*
 * Failure hooks: fn(arg) runs when the current test fails (an assert,
 * pc_fail, or a leak found after the test), before the failure is reported,
 * with the test's stderr still captured.  Hooks run newest first; a hook
 * that fails itself ends the chain.  A hook added inside a test lives until
 * the test ends.  Returns 0, -EINVAL (fn NULL) or -ENOMEM.
 */
int pc_on_failure(void (*fn)(void *arg), void *arg);
/* Remove the newest hook registered with exactly fn and arg; no-op if none. */
void pc_on_failure_remove(void (*fn)(void *arg), void *arg);

/* ------------------------------------------------------------------------ */
/* Asserts: on failure they print the expression text, both values, file     */
/* and line, then pc_fail().  Every argument is evaluated exactly once.       */

#define PC_ASSERT(cond)                                                                  \
    do {                                                                                 \
        if (!(cond))                                                                     \
            pc_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);                  \
    } while (0)

/* Signed integers, compared as intmax_t. */
#define PC_ASSERT_EQ_INT(a, b) PC__ASSERT_INT(a, ==, b, #a, #b)
#define PC_ASSERT_NE_INT(a, b) PC__ASSERT_INT(a, !=, b, #a, #b)
#define PC_ASSERT_LT_INT(a, b) PC__ASSERT_INT(a, <, b, #a, #b)
#define PC_ASSERT_LE_INT(a, b) PC__ASSERT_INT(a, <=, b, #a, #b)
#define PC_ASSERT_GT_INT(a, b) PC__ASSERT_INT(a, >, b, #a, #b)
#define PC_ASSERT_GE_INT(a, b) PC__ASSERT_INT(a, >=, b, #a, #b)

/* Unsigned integers, compared as uintmax_t. */
#define PC_ASSERT_EQ_UINT(a, b) PC__ASSERT_UINT(a, ==, b, #a, #b)
#define PC_ASSERT_NE_UINT(a, b) PC__ASSERT_UINT(a, !=, b, #a, #b)
#define PC_ASSERT_LT_UINT(a, b) PC__ASSERT_UINT(a, <, b, #a, #b)
#define PC_ASSERT_LE_UINT(a, b) PC__ASSERT_UINT(a, <=, b, #a, #b)
#define PC_ASSERT_GT_UINT(a, b) PC__ASSERT_UINT(a, >, b, #a, #b)
#define PC_ASSERT_GE_UINT(a, b) PC__ASSERT_UINT(a, >=, b, #a, #b)

/* Sizes (size_t), compared as uintmax_t. */
#define PC_ASSERT_EQ_SIZE(a, b) PC__ASSERT_UINT(a, ==, b, #a, #b)
#define PC_ASSERT_NE_SIZE(a, b) PC__ASSERT_UINT(a, !=, b, #a, #b)
#define PC_ASSERT_LT_SIZE(a, b) PC__ASSERT_UINT(a, <, b, #a, #b)
#define PC_ASSERT_LE_SIZE(a, b) PC__ASSERT_UINT(a, <=, b, #a, #b)
#define PC_ASSERT_GT_SIZE(a, b) PC__ASSERT_UINT(a, >, b, #a, #b)
#define PC_ASSERT_GE_SIZE(a, b) PC__ASSERT_UINT(a, >=, b, #a, #b)

/* Pointers. */
#define PC_ASSERT_EQ_PTR(a, b)                                                           \
    do {                                                                                 \
        const void *pc__a = (a), *pc__b = (b);                                           \
        if (pc__a != pc__b)                                                              \
            pc__fail_ptr(__FILE__, __LINE__, #a " == " #b, pc__a, pc__b);                \
    } while (0)
#define PC_ASSERT_NULL(p)                                                                \
    do {                                                                                 \
        const void *pc__p = (p);                                                         \
        if (pc__p != NULL)                                                               \
            pc__fail_ptr(__FILE__, __LINE__, #p " == NULL", pc__p, NULL);                \
    } while (0)
#define PC_ASSERT_NOT_NULL(p)                                                            \
    do {                                                                                 \
        if ((p) == NULL)                                                                 \
            pc_fail(__FILE__, __LINE__, "assertion failed: %s != NULL", #p);             \
    } while (0)

/* NUL-terminated strings (either may be NULL); prints both, escaped. */
#define PC_ASSERT_EQ_STR(a, b) pc__check_str(__FILE__, __LINE__, #a, #b, (a), (b))
/* n bytes; prints the first differing offset and the bytes from there. */
#define PC_ASSERT_EQ_MEM(a, b, n)                                                        \
    pc__check_mem(__FILE__, __LINE__, #a, #b, #n, (a), (b), (n))

/*
 * expr must equal the error code code (an int such as PL_ECLOSED or
 * -EPIPE, or 0); both are printed by name and number:
 * "expected PL_ECLOSED (-30002), got 0 (OK)".
 */
#define PC_ASSERT_ERR(expr, code)                                                        \
    do {                                                                                 \
        intmax_t pc__got = (intmax_t)(expr), pc__want = (intmax_t)(code);                \
        if (pc__got != pc__want)                                                         \
            pc__fail_err(__FILE__, __LINE__, #expr, pc__want, pc__got);                  \
    } while (0)
/* expr must be >= 0 (success or a count); prints the error's name if not. */
#define PC_ASSERT_OK(expr)                                                               \
    do {                                                                                 \
        intmax_t pc__got = (intmax_t)(expr);                                             \
        if (pc__got < 0)                                                                 \
            pc__fail_ok(__FILE__, __LINE__, #expr, pc__got);                             \
    } while (0)

/* Helpers of the macros above; not for direct use. */
#define PC__ASSERT_INT(a, op, b, atext, btext)                                           \
    do {                                                                                 \
        intmax_t pc__a = (intmax_t)(a), pc__b = (intmax_t)(b);                           \
        if (!(pc__a op pc__b))                                                           \
            pc__fail_int(__FILE__, __LINE__, atext, #op, btext, pc__a, pc__b);           \
    } while (0)
#define PC__ASSERT_UINT(a, op, b, atext, btext)                                          \
    do {                                                                                 \
        uintmax_t pc__a = (uintmax_t)(a), pc__b = (uintmax_t)(b);                        \
        if (!(pc__a op pc__b))                                                           \
            pc__fail_uint(__FILE__, __LINE__, atext, #op, btext, pc__a, pc__b);          \
    } while (0)
PC__NORETURN void pc__fail_int(const char *file, int line, const char *atext,
                               const char *op, const char *btext, intmax_t a, intmax_t b);
PC__NORETURN void pc__fail_uint(const char *file, int line, const char *atext,
                                const char *op, const char *btext, uintmax_t a,
                                uintmax_t b);
PC__NORETURN void pc__fail_ptr(const char *file, int line, const char *text,
                               const void *a, const void *b);
PC__NORETURN void pc__fail_err(const char *file, int line, const char *text,
                               intmax_t want, intmax_t got);
PC__NORETURN void pc__fail_ok(const char *file, int line, const char *text, intmax_t got);
void pc__check_str(const char *file, int line, const char *atext, const char *btext,
                   const char *a, const char *b);
void pc__check_mem(const char *file, int line, const char *atext, const char *btext,
                   const char *ntext, const void *a, const void *b, size_t n);

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

/*
 * What to run and how.  Fill it with pc_options_init() and then
 * pc_options_parse() and/or direct assignment; release with
 * pc_options_free().
 */
typedef struct pc_options {
    const char *program; /* for messages: argv[0]'s base name */
    char **filters;      /* owned copies; see pc_options_add_filter */
    size_t filter_count;
    unsigned jobs;   /* tests at once; default: CPUs, at most 8 */
    unsigned repeat; /* runs of each selected test; default 1 */
    int shuffle;     /* run in an order drawn from seed */
    int seed_given;  /* nonzero: use seed, else draw one */
    uint64_t seed;
    double timeout_multiplier; /* default $PIPECHECK_TIMEOUT_MULTIPLIER or 1 */
    int list;                  /* --list was given (pc_main lists and exits) */
    int version;               /* --version was given: print it, run nothing */
    int tap;                   /* TAP version 13 on stdout */
    const char *junit_path;    /* JUnit XML file; borrowed, NULL for none */
    int no_fork;               /* run in this process: no isolation */
    int verbose;               /* a line for every test, not only failures */
    int help;                  /* --help was given: print usage, run nothing */
} pc_options;

/*
 * Defaults, including the multiplier from $PIPECHECK_TIMEOUT_MULTIPLIER (an
 * invalid value is reported on stderr and ignored) and jobs from the CPUs
 * this process may use.
 */
void pc_options_init(pc_options *opts);
/* Free what the options own (the filters); opts may be reused after init. */
void pc_options_free(pc_options *opts);

/* Add a filter: an fnmatch(3) glob ('*' also matches '/') on test names.
 * A test runs if any filter matches it.  Returns 0 or -ENOMEM. */
int pc_options_add_filter(pc_options *opts, const char *glob);

/* Is a test with this name and these flags selected by opts?  1 or 0. */
int pc_options_match(const pc_options *opts, const char *name, unsigned flags);

/* Return values of a pc_option_hook. */
enum pc_option_result {
    PC_OPTION_UNKNOWN = 0,    /* not the hook's: a usage error */
    PC_OPTION_TAKES_ARG = 1,  /* consumed arg only */
    PC_OPTION_TAKES_VALUE = 2 /* consumed arg and value */
};

/*
 * A hook for options pc_options_parse() does not know, so that a CLI can add
 * its own ("--kinds LIST").  arg is the option ("--kinds") or a positional
 * argument.  value is the text after '=' for "--kinds=LIST", else the next
 * argv element (NULL if none, or if it starts with '-' and is not "-"
 * alone: an option is never a value); the hook says whether it used it.  Return a
 * pc_option_result, or a negative number for a bad value, after printing
 * a message to stderr.
 */
typedef int (*pc_option_hook)(const char *arg, const char *value, void *user);

/*
 * Parse argv[1..argc-1] into opts (argv[0] sets opts->program): the options
 * pc_print_usage() lists, "--opt=value" forms, "--" ending options, and bare
 * arguments as filters.  Unknown options and bare arguments go to extra
 * first (may be NULL).  --help and --version only set opts->help and
 * opts->version; nothing is printed or run.  Later options override earlier
 * ones; filters add up.  Short options combine ("-lv", "-vj2").  A value is
 * never taken from a next argument that is itself an option ("--junit
 * --filter X" is a usage error, not a file called "--filter"); a value that
 * starts with '-' is written inline ("--filter=-x").
 * Returns 0, -EINVAL on a usage error (a message naming the argument is
 * printed to stderr), or -ENOMEM.
 */
int pc_options_parse(pc_options *opts, int argc, char **argv, pc_option_hook extra,
                     void *user);

/* Print the common options, one per line, for a --help text. */
void pc_print_usage(FILE *out);

/* Print the names of the selected tests, one per line. */
void pc_list_tests(const pc_options *opts, FILE *out);

/* ------------------------------------------------------------------------ */
/* Running and results                                                       */

/* The outcome of one test.  (PC_FAIL and PC_SKIP are also the names of the
 * function-like macros above; without parentheses they name the status.) */
typedef enum pc_status { PC_PASS = 0, PC_FAIL = 1, PC_SKIP = 2 } pc_status;

/* One test run, as seen by pc_results_get().  Strings are never NULL and
 * live as long as the results. */
typedef struct pc_result {
    const char *name; /* the test's name */
    pc_status status;
    const char *message; /* why it failed or was skipped; "" for a pass */
    const char *output;  /* its captured stdout and stderr; "" if none */
    double seconds;      /* wall time, fork to reap */
} pc_result;

typedef struct pc_results pc_results;

/*
 * Run the tests opts selects, each in its own process (see the top of this
 * file), at most opts->jobs at a time.  Prints the seed first, then, as
 * tests finish, failures (every test with verbose) or TAP records, and at
 * the end writes the JUnit file; it does NOT print the closing line (see
 * pc_results_print_summary).  Nothing selected is not an error (a warning
 * is printed).
 *
 * Output: on a terminal (and without $CI) a one-line progress display
 * "[done/total] N failed  name" appears once the run has taken a second;
 * PASS/FAIL words are coloured on a terminal unless $NO_COLOR is set (and
 * not empty) or TERM=dumb.  Neither ever appears when stdout is not a
 * terminal or with --tap.  TAP output starts with "pragma +strict" (except
 * with --no-fork, where tests print on the same stdout): every line is TAP.
 * Test output goes into reports with bytes that are not valid UTF-8 (or
 * not allowed in XML) replaced, so the JUnit file always parses.
 *
 * SIGINT or SIGTERM during a forked run stops it: no further test starts,
 * the running tests' process groups are killed and recorded as stopped
 * (JUnit "error" entries, with an "interrupted" property; TAP "Bail out!"),
 * the JUnit file is written, and pc_run returns the partial results
 * (pc_results_interrupted).  A second signal ends the process at once.
 *
 * Returns 0 with *out set (free it with pc_results_free), or: -errno if
 * the JUnit file cannot be opened for writing (checked before any test
 * runs), -EEXIST (two tests share a name), an error from registration,
 * -ENOMEM (*out NULL in these cases); or -errno from writing the JUnit file
 * (*out is still set).  Not reentrant; call from one thread.
 */
int pc_run(const pc_options *opts, pc_results **out);

/*
 * The closing line on stdout, exactly "N passed, N failed, N skipped"; in a
 * --tap run "# N passed, N failed, N skipped", so that every line on stdout
 * is TAP.  After an interruption (pc_results_interrupted) a line before it
 * says how many tests were stopped and how many never started.
 */
void pc_results_print_summary(const pc_results *results);

/* The signal (SIGINT or SIGTERM) that interrupted the run, or 0 if it ran
 * to the end. */
int pc_results_interrupted(const pc_results *results);
/* After an interruption: the tests that were running and were stopped (no
 * outcome: they are not in pc_results_get or the totals), and the runs
 * that never started.  0 for a run that was not interrupted. */
size_t pc_results_stopped_count(const pc_results *results);
size_t pc_results_not_started(const pc_results *results);
/* The name of stopped test i (NULL if out of range) and, if seconds is not
 * NULL, how long it had run. */
const char *pc_results_stopped_name(const pc_results *results, size_t i, double *seconds);

/*
 * The exit status for a program that ran tests: flushes stdout, then
 * 128 + the signal if the run was interrupted (130 for SIGINT, 143 for
 * SIGTERM); 1 if run_error (pc_run's return) is < 0, a test failed, or
 * anything written to stdout was lost (e.g. stdout is /dev/full; a message
 * on stderr says so); else 0.  results may be NULL (nothing ran: --help,
 * --list).
 */
int pc_exit_status(const pc_results *results, int run_error);

/* The number of test runs in results, in the order they finished. */
size_t pc_results_count(const pc_results *results);
/* Run i, or NULL if i is out of range. */
const pc_result *pc_results_get(const pc_results *results, size_t i);
/* Totals by status; any pointer may be NULL. */
void pc_results_totals(const pc_results *results, size_t *passed, size_t *failed,
                       size_t *skipped);
/* Free results (NULL is fine). */
void pc_results_free(pc_results *results);

/*
 * parse + (help | version | list | run + summary).  Returns the exit
 * status: 0 if nothing failed (skips are fine), 1 on failures or errors
 * (including lost stdout output), 2 on bad usage, 130/143 when SIGINT or
 * SIGTERM interrupted the run (see pc_exit_status).
 */
int pc_main(int argc, char **argv);

/* ---- bench: pipe kinds, peers, recorder (see check/) ---- */

/*
 * Pipe kinds (check/kinds.c).  One test body runs over every kind in the
 * table; what differs between kinds is recorded here as data (PC_KIND_*
 * facts), not as copies of tests.  A kind opens a *pair* for a direction:
 *
 *   near  the end a transport under test adopts: readable for
 *         PC_DIR_READ (a read transport), writable for PC_DIR_WRITE;
 *   far   the other end, for a peer (pc_peer_start) or for the test itself.
 *
 * Usage sketch:
 *
 *     for (size_t i = 0; (kind = pc_kind_get(i)) != NULL; i++) {
 *         pc_pair pair;
 *         PC_ASSERT_OK(pc_pair_open(kind, PC_DIR_READ, 0, &pair));
 *         pc_peer_script s = { .action = PC_PEER_WRITE, .seed = 7,
 *                              .bytes = 1 << 20 };
 *         pc_peer *peer = pc_peer_start(&pair, &s);    // takes pair.far
 *         ... pl_connect_read_pipe(loop, pair.near, ...); pair.near = -1;
 *         ... run the loop, pc_pattern_check() what arrives ...
 *         pc_peer_result r;  pc_peer_wait(peer, &r);
 *         pc_pair_close(&pair);
 *     }
 */

/* The direction of the transport under test. */
typedef enum pc_dir {
    PC_DIR_READ = 0,  /* near end is read; the far end is written */
    PC_DIR_WRITE = 1, /* near end is written; the far end is read */
} pc_dir;

/*
 * Facts about a kind (pc_kind.flags).  "near read end" means the near end
 * of a PC_DIR_READ pair, "near write end" that of a PC_DIR_WRITE pair.
 * tests/test_kinds.c checks each fact against the kernel.
 */
enum pc_kind_flags {
    /* F_SETPIPE_SZ works on the ends (pipe, FIFO, child). */
    PC_KIND_HAS_PIPE_SIZE = 1u << 0,
    /* The ends are AF_UNIX SOCK_STREAM sockets (SO_SNDBUF/SO_RCVBUF). */
    PC_KIND_SOCKET = 1u << 1,
    /* The near end is a tty: isatty() is 1 (spec W7). */
    PC_KIND_TTY = 1u << 2,
    /* The far end is a named FIFO: pair.path holds its name, and a pair
     * may be opened with PC_OPEN_DEFER_FAR (spec R12). */
    PC_KIND_FIFO = 1u << 3,
    /* A peer on the far end runs in a helper child process. */
    PC_KIND_CHILD = 1u << 4,
    /* Once the far end is closed and the data drained, the near read end
     * reads EIO instead of 0 (pty master: spec R11). */
    PC_KIND_EOF_IS_EIO = 1u << 5,
    /* A near read end can exist before any writer ever opened the far end;
     * it then polls nothing, not HUP (FIFO: spec R12). */
    PC_KIND_CAN_NEVER_HAVE_WRITER = 1u << 6,
    /* The near read end polls HUP once the far end is closed (spec L2). */
    PC_KIND_HUP_ON_PEER_CLOSE = 1u << 7,
    /* The near write end polls HUP or ERR, without any write, once the far
     * reader closes: a write transport can notice an idle close (E1, E4). */
    PC_KIND_WRITE_SEES_IDLE_CLOSE = 1u << 8,
    /* Closing the near write end throws away what the far reader has not
     * read yet (pty master hangs up the slave): a graceful close (D1, D2)
     * cannot deliver the tail. */
    PC_KIND_NEAR_CLOSE_DROPS = 1u << 9,
    /* Closing the far writer throws away what the near reader has not read
     * yet (the near end is a pty slave): a peer must hold its end open until
     * the test has read everything (pc_peer_script.hold). */
    PC_KIND_FAR_CLOSE_DROPS = 1u << 10,
    /* Bytes written to the far end of a PC_DIR_WRITE pair arrive as input
     * on the near write end (socket, pty): spec W7's "input on a tty". */
    PC_KIND_NEAR_WRITE_END_READABLE = 1u << 11,
    /* The near end is a pty master (TIOCGPTN answers): no private way to do
     * non-blocking I/O exists, so a transport sets O_NONBLOCK on the shared
     * description (spec X4). */
    PC_KIND_PTY_MASTER = 1u << 12,
};

typedef struct pc_kind {
    const char *name;        /* "pipe", "fifo", "fifo-nb", "socketpair", "pty",
                                "pty-slave", "child" */
    const char *description; /* one line, for logs */
    unsigned flags;          /* PC_KIND_* */
    /* Hints for tests that must overrun the kernel: an upper bound of the
     * bytes the kernel holds between the two ends at default sizes, and
     * after pc_pair_shrink(pair, PC_SHRINK_SIZE) (equal if it cannot
     * shrink).  Writing more than this with a reader that does not read is
     * sure to fill the pipe. */
    size_t capacity_max;
    size_t shrunk_capacity_max;
    int impl; /* for check/kinds.c only */
} pc_kind;

/* The kinds, in table order; NULL past the end. */
const pc_kind *pc_kind_get(size_t index);
/* Number of kinds in the table. */
size_t pc_kind_count(void);
/* The kind called name, or NULL. */
const pc_kind *pc_kind_find(const char *name);

/* Flags for pc_pair_open(). */
enum pc_open_flags {
    /* Kinds with PC_KIND_FIFO only: open the near end (which must be a read
     * end) and not the far end: a FIFO reader that never had a writer
     * (spec R12).  pc_pair_open_far() opens the far end later. */
    PC_OPEN_DEFER_FAR = 1u << 0,
};

typedef struct pc_peer pc_peer;

/*
 * An open pair.  Ownership: the pair owns near and far until the test
 * takes them.  A test that hands near to a transport (which then owns and
 * closes it) or closes it itself sets pair.near = -1; pc_peer_start()
 * takes far and sets pair.far = -1.  pc_pair_close() closes whatever is
 * still >= 0.
 */
typedef struct pc_pair {
    const pc_kind *kind;
    pc_dir dir;
    int near;       /* O_CLOEXEC; blocking unless the kind opens it O_NONBLOCK
                       (fifo-nb's reader) */
    int far;        /* O_CLOEXEC, blocking */
    char path[256]; /* FIFO: the FIFO's path in a private 0700 temp dir */
    pc_peer *peer;  /* the peer started on far, until pc_peer_wait() */
} pc_pair;

/*
 * Open a pair of the given kind for dir.  Every fd is O_CLOEXEC; a pty's
 * slave is in raw mode (cfmakeraw).  FIFOs live in a mkdtemp directory
 * (mode 0700) that pc_pair_close() removes.  Returns 0, or -errno (nothing
 * is left open), -EINVAL for a bad kind/dir/flag combination.
 */
int pc_pair_open(const pc_kind *kind, pc_dir dir, unsigned flags, pc_pair *pair);
/* Open the far end of a pair made with PC_OPEN_DEFER_FAR (non-blocking: a
 * reader exists).  Returns 0 or -errno; -EALREADY if far is open. */
int pc_pair_open_far(pc_pair *pair);
/*
 * Release everything the pair still holds: closes near and far if >= 0,
 * waits for a peer not yet waited for (pc_peer_stop: it stops, closes its
 * end, and its child, if any, is reaped), unlinks the FIFO and removes its
 * directory.  Safe to call twice and on a zeroed pair with near = far = -1.
 */
void pc_pair_close(pc_pair *pair);

/* The size pc_pair_shrink() aims for in conformance tests. */
#define PC_SHRINK_SIZE 4096u

/*
 * Make the kernel buffer between the ends small, so that "pipe full" is
 * cheap to reach: F_SETPIPE_SZ for pipes and FIFOs, SO_SNDBUF on the
 * writing end and SO_RCVBUF on the reading end for sockets (the kernel
 * rounds both up).  Call it before pc_peer_start().  Returns 0, -ENOTSUP
 * for a kind that cannot (pty), or -errno.
 */
int pc_pair_shrink(pc_pair *pair, size_t bytes);

/*
 * Write pattern bytes (seed, starting at pattern offset) to fd until the
 * kernel refuses more (EAGAIN, after retrying with smaller writes down to
 * one byte).  fd is made non-blocking for the duration and its flags are
 * restored.  Never raises SIGPIPE.  Returns the bytes written, or -errno
 * (-EPIPE: no reader) if the first write failed.
 */
ssize_t pc_fill_until_full(int fd, uint64_t seed, uint64_t offset);

/*
 * The test pattern: byte i of the stream for seed is a fixed function of
 * (seed, i), computed in O(1) for any i, so a check can start anywhere.
 * fill writes bytes [offset, offset+len) into buf; check compares buf with
 * them and returns len when all match, else the index in buf of the first
 * byte that differs.
 */
void pc_pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len);
size_t pc_pattern_check(uint64_t seed, uint64_t offset, const void *buf, size_t len);
uint8_t pc_pattern_byte(uint64_t seed, uint64_t offset);

/*
 * Peers: a scripted agent on the far end, in a thread, or in a helper
 * child process for kinds with PC_KIND_CHILD.  It talks to the test only
 * through fds: its end of the pair, and a control pipe for release/stop.
 */
typedef enum pc_peer_action {
    PC_PEER_WRITE, /* write `bytes` pattern bytes, then close */
    PC_PEER_READ,  /* read to EOF (or `bytes`, if not 0) and check the
                      pattern, then close */
    PC_PEER_IDLE,  /* neither read nor write: with hold, a reader that never
                      reads (the pipe fills) or a writer that never writes */
} pc_peer_action;

/* The largest chunk a peer writes or reads at once. */
#define PC_PEER_CHUNK_MAX (256u * 1024u)

typedef struct pc_peer_script {
    pc_peer_action action;
    uint64_t seed;   /* pattern seed */
    uint64_t offset; /* pattern offset of the first byte */
    /* WRITE: bytes to write.  READ: stop after this many (0: read to EOF);
     * with hold, a reader that stops reading so the pipe fills. */
    uint64_t bytes;
    /* Bytes per write/read call: fixed, or 0 for seeded random sizes in
     * 1..chunk_max (chunk_max 0 means PC_PEER_CHUNK_MAX). */
    size_t chunk;
    size_t chunk_max;
    /* Pause between calls (a slow reader or writer).  This is the peer's
     * behaviour, never a way to synchronise with the test. */
    unsigned pause_us;
    /* Wait for a pc_peer_release() before starting the action. */
    int wait_start;
    /* After the action, keep the end open until pc_peer_release(). */
    int hold;
} pc_peer_script;

typedef struct pc_peer_result {
    uint64_t bytes;       /* bytes written or read */
    int pattern_ok;       /* READ: every byte read matched the pattern */
    uint64_t mismatch_at; /* READ: pattern offset of the first bad byte, or
                             UINT64_MAX */
    int eof;              /* READ: reached EOF (read 0, or EIO on a pty master) */
    int error;            /* 0, or -errno of the failure that ended the action
                             (-EPIPE: the reader went away) */
    int stopped;          /* ended by pc_peer_stop() */
} pc_peer_result;

/*
 * Start a peer running script on pair->far.  The peer takes ownership of
 * far (pair->far becomes -1) and closes it when done; for PC_KIND_CHILD
 * kinds it forks a child that keeps only far and its control fds, and the
 * parent's copy of far is closed at once.  pair->peer is set.  Returns NULL
 * (and leaves the pair unchanged) when the thread, child or control pipe
 * cannot be made, or far is not open.  SIGPIPE is blocked in the peer
 * thread (ignored in the child), so a writer whose reader went away sees
 * -EPIPE.
 */
pc_peer *pc_peer_start(pc_pair *pair, const pc_peer_script *script);
/* Let a peer waiting in wait_start start, or a holding peer close its end.
 * Each call releases one wait.  Returns 0 or -errno. */
int pc_peer_release(pc_peer *peer);
/*
 * Wait for the peer to finish (join the thread or reap the child), fill
 * *out (may be NULL) and free the peer; detaches it from its pair.
 * A peer that waits for a release waits: release it first.
 * Returns 0, or -errno if the child could not be reaped or died of a
 * signal (-EINTR) or sent no result (-EPROTO).
 */
int pc_peer_wait(pc_peer *peer, pc_peer_result *out);
/*
 * Make the peer give up (result.stopped = 1) at its next wait: a gate, or
 * an I/O call that would block.  It first does whatever it can without
 * blocking (reads data already there, up to its count), so the result is
 * deterministic.  It then closes its end, and this does pc_peer_wait().
 */
int pc_peer_stop(pc_peer *peer, pc_peer_result *out);

/* ---- subjects, recorder, stepping, conformance ---- */

/* ------------------------------------------------------------------------ */
/* Subjects: the implementation under test                                   */

/*
 * The conformance suite drives pipe transports through a *subject*: a
 * table of the operations it needs from an event loop and its pipe
 * transports.  pipeloop is one subject, called in process (the default);
 * others run in a subject process that the bench talks to over a
 * socketpair (docs/subject-protocol.md): CPython's asyncio, uvloop, or any
 * program that speaks the protocol.  The suite never calls pl_* transport
 * functions itself, only these entries, and gets every protocol event
 * through a pc_protocol (the recorder), so one test body grades them all.
 *
 *     const pc_subject *s = pc_subject_find("asyncio");   // or pipeloop
 *     if (pc_subject_probe(s, stderr) == 0)               // starts it once
 *         pc_subject_set(s);                              // before pc_run
 *
 * Handles are opaque: a pc_loop is one instance of the subject's loop (for
 * pipeloop it *is* the pl_loop), a pc_transport one of its transports (for
 * pipeloop the pl_transport).  A remote transport handle stays valid until
 * its loop is closed; pipeloop's follows pl_transport_ref().
 */
typedef struct pc_loop pc_loop;
typedef struct pc_transport pc_transport;

/* pl_protocol typed on the opaque handle: what a subject delivers. */
typedef struct pc_protocol {
    void (*connection_made)(pc_transport *t, void *user);
    void (*data_received)(pc_transport *t, const void *data, size_t len, void *user);
    int (*eof_received)(pc_transport *t, void *user);
    void (*connection_lost)(pc_transport *t, int error, void *user);
    void (*pause_writing)(pc_transport *t, void *user);
    void (*resume_writing)(pc_transport *t, void *user);
} pc_protocol;

typedef void (*pc_write_done_cb)(pc_transport *t, const void *data, size_t len,
                                 int status, void *user);

/*
 * What a subject has (pc_subject.caps).  A conformance test declares what
 * it needs (PC_CONFORMANCE's .caps); on a subject that lacks it the instance
 * is "n/a", never run and never a pass.
 */
enum pc_subject_caps {
    /* Runs in the bench's process: fd numbers, pointers and C-level misuse
     * (NULL arguments, a negative iovec count) mean the same on both
     * sides; the fd table is shared, so the bench can watch an fd the
     * transport owns being closed. */
    PC_CAP_IN_PROCESS = 1u << 0,
    /* write_lent: the transport sends the caller's memory and reports it. */
    PC_CAP_LENT_WRITES = 1u << 1,
    /* writev (for asyncio: writelines). */
    PC_CAP_WRITEV = 1u << 2,
    /* get_fd returns the caller's fd number. */
    PC_CAP_GET_FD = 1u << 3,
    /* set/get_write_buffer_limits. */
    PC_CAP_BUFFER_LIMITS = 1u << 4,
    /* Reads go into one loop-owned buffer, no allocation per read (R2). */
    PC_CAP_LOOP_OWNED_READ_BUFFER = 1u << 5,
    /* ref/unref keep a transport alive after connection_lost. */
    PC_CAP_REF_UNREF = 1u << 6,
    /* The bench can add its own fd watchers to the subject's loop
     * (pl_loop_add_reader: R9's second reader, C3's refused watcher). */
    PC_CAP_LOOP_WATCHERS = 1u << 7,
    /* The loop's own close contract can be checked (L5). */
    PC_CAP_LOOP_CLOSE = 1u << 8,
    /* Subprocess transports (the S group). */
    PC_CAP_SUBPROCESS = 1u << 9,
    /* The transports are pipeloop's own: tests of its API beyond the
     * subject table (I/O modes, connect flags: the X group) reach them
     * with pc_transport_native and pc_pipeloop_connect. */
    PC_CAP_PIPELOOP_API = 1u << 10,
};

/* "lent-writes", "writev", ... for PC_CAP_* bit cap; NULL if unknown. */
const char *pc_subject_cap_name(unsigned cap);

/*
 * Subprocess transports of a subject (PC_CAP_SUBPROCESS): asyncio's
 * loop.subprocess_exec, pipeloop's pl_spawn.  A pc_process is opaque and
 * stays valid until its loop is closed.  Its pipes' transports (from
 * pc_subject.process_pipe) take the usual transport operations (write to
 * stdin, write_eof, close); their events go to the process protocol.
 */
typedef struct pc_process pc_process;

/* What each of the child's stdin, stdout and stderr is. */
enum pc_stdio {
    PC_STDIO_INHERIT = 0, /* the subject's own fd */
    PC_STDIO_PIPE,        /* a pipe to a transport of the process */
    PC_STDIO_DEVNULL,     /* /dev/null */
    PC_STDIO_STDOUT,      /* stderr only: the same file as stdout */
};

/* pl_process_protocol typed on the opaque handle (same order, spec S2). */
typedef struct pc_process_protocol {
    void (*connection_made)(pc_process *p, void *user);
    void (*pipe_data_received)(pc_process *p, int fd, const void *data, size_t len,
                               void *user);
    void (*pipe_connection_lost)(pc_process *p, int fd, int error, void *user);
    void (*process_exited)(pc_process *p, void *user);
    void (*connection_lost)(pc_process *p, void *user);
    void (*pause_writing)(pc_process *p, void *user);
    void (*resume_writing)(pc_process *p, void *user);
} pc_process_protocol;

/*
 * A subject.  Every operation has the meaning of the pl_* function of the
 * same name (include/pipeloop.h), with the same return values: an error a
 * subject reports is mapped to pipeloop's codes (docs/subject-protocol.md
 * says how), and an exception a remote operation raises returns
 * PC_EEXCEPTION with its text printed to the test's output.
 */
typedef struct pc_subject {
    const char *name;     /* "pipeloop", "asyncio", "uvloop", "exec:CMD" */
    const char *describe; /* what runs: interpreter, versions; set by probe */
    unsigned caps;        /* PC_CAP_*; set by probe for remote subjects */
    size_t read_size;     /* the largest data_received it promises (R1) */
    const char *backends; /* comma-separated backends it has: "epoll,poll" */

    /* A loop for backend ("epoll", "poll" or "io_uring").  Errors: -errno, or a
     * failed test for a subject process that cannot be started. */
    int (*loop_new)(pc_loop **loop, const char *backend);
    /* Close it: -EBUSY (and nothing closed) while a transport is open. */
    int (*loop_close)(pc_loop *loop);
    /* Run one iteration of the subject's loop that waits at most
     * timeout_ms for I/O.  Returns the callbacks it ran (0: a quiet
     * iteration) or -errno. */
    int (*step)(pc_loop *loop, int timeout_ms);
    /* Optional: run until quiet_ms (already scaled) pass without a
     * protocol callback, failing after timeout_ms (scaled); returns the
     * iterations run or -ETIMEDOUT.  NULL: steps until a quiet one. */
    int (*run_until_quiet)(pc_loop *loop, unsigned quiet_ms, unsigned timeout_ms);
    /* The number of iterations run so far (events carry it). */
    uint64_t (*iteration)(const pc_loop *loop);
    /* 1 while the loop runs a callback (inside step). */
    int (*is_running)(const pc_loop *loop);
    /* The pl_loop under a pipeloop loop; NULL for other subjects. */
    pl_loop *(*native_loop)(pc_loop *loop);

    int (*connect_read_pipe)(pc_loop *loop, int fd, const pc_protocol *protocol,
                             void *user, pc_transport **transport);
    int (*connect_write_pipe)(pc_loop *loop, int fd, const pc_protocol *protocol,
                              void *user, pc_transport **transport);
    int (*pause_reading)(pc_transport *t);
    int (*resume_reading)(pc_transport *t);
    int (*is_reading)(const pc_transport *t);
    ssize_t (*write)(pc_transport *t, const void *data, size_t len);
    ssize_t (*writev)(pc_transport *t, const struct iovec *iov, int iovcnt);
    ssize_t (*write_lent)(pc_transport *t, const void *data, size_t len,
                          pc_write_done_cb done, void *user);
    int (*write_eof)(pc_transport *t);
    int (*can_write_eof)(const pc_transport *t);
    size_t (*get_write_buffer_size)(const pc_transport *t);
    int (*set_write_buffer_limits)(pc_transport *t, int64_t high, int64_t low);
    int (*get_write_buffer_limits)(const pc_transport *t, size_t *high, size_t *low);
    int (*close)(pc_transport *t);
    int (*abort)(pc_transport *t);
    int (*is_closing)(const pc_transport *t);
    int (*get_fd)(const pc_transport *t);
    void (*ref)(pc_transport *t);
    void (*unref)(pc_transport *t);

    void *config; /* the subject's own data (remote: how to start it) */

    /* Subprocesses, for PC_CAP_SUBPROCESS (NULL without it).  spawn runs
     * argv[0] (searched in PATH) with argv and stdio[3] (PC_STDIO_*), with
     * the meaning of pl_spawn: 0, or -ENOENT and the like when the program
     * cannot be started (nothing then runs, no callback comes). */
    int (*spawn)(pc_loop *loop, char *const argv[], const int stdio[3],
                 const pc_process_protocol *protocol, void *user, pc_process **process);
    /* The child's pid. */
    pid_t (*process_pid)(const pc_process *p);
    /* 0 and the return code (exit status, or minus the signal) once the
     * child was reaped; -EAGAIN before. */
    int (*process_returncode)(const pc_process *p, int *returncode);
    /* pl_process_send_signal: -ESRCH once the child has exited. */
    int (*process_send_signal)(pc_process *p, int signum);
    /* pl_process_close: pipes closed, a running child killed. */
    int (*process_close)(pc_process *p);
    /* The transport of fd 0, 1 or 2 while it is a pipe and open; NULL
     * otherwise. */
    pc_transport *(*process_pipe)(pc_process *p, int fd);
} pc_subject;

/* The error an operation returns when the remote subject raised an
 * exception it does not map to a code (the exception's text is printed). */
#define PC_EEXCEPTION (-30100)

/* pipeloop, in process: the default. */
extern const pc_subject pc_subject_pipeloop;

/*
 * The subject called spec: "pipeloop", "asyncio", "uvloop" (run by the
 * Python adapter tools/pipecheck_subject.py under pc_subject_python()), or
 * "exec:CMD" (CMD run by /bin/sh -c, speaking docs/subject-protocol.md on
 * the fd named by $PIPECHECK_SUBJECT_FD).  Remote subjects are made once
 * per spec and live until exit.  NULL (and a message on stderr) for an
 * unknown name or no memory.
 */
const pc_subject *pc_subject_find(const char *spec);
/* The Python interpreter for asyncio/uvloop (default "python3" on PATH;
 * NULL restores it).  Call before pc_subject_find. */
void pc_subject_set_python(const char *path);
const char *pc_subject_python(void);

/*
 * Start a remote subject once, shake hands and fill in describe, caps,
 * read_size and backends.  0, or -errno with the reason written to err
 * (uvloop not installed: -ENOENT).  pipeloop's is a no-op.
 */
int pc_subject_probe(const pc_subject *subject, FILE *err);
/*
 * Optional, around a pc_run of many tests: keep one prepared subject
 * process (asyncio/uvloop: an interpreter with the modules loaded) that
 * forks a fresh subject for every test, instead of starting one per test.
 * Tests still get a new process each.  pc_subject_stop ends it; call it
 * after pc_run.  0 or -errno (then every test starts its own).
 */
int pc_subject_start(const pc_subject *subject);
void pc_subject_stop(const pc_subject *subject);
/* Why the last probe of subject failed ("" if it did not). */
const char *pc_subject_probe_error(const pc_subject *subject);

/* The subject the suite uses now; never NULL. */
const pc_subject *pc_subject_current(void);
/* Replace it (NULL restores pipeloop); call before pc_run. */
void pc_subject_set(const pc_subject *subject);
/* Does the current subject have every PC_CAP_* in caps?  1/0. */
int pc_subject_has(unsigned caps);
/* Does subject have backend ("epoll")?  1/0. */
int pc_subject_has_backend(const pc_subject *subject, const char *backend);

/* Loop helpers over the current subject (pc_loop_new/close and the
 * stepping below use them). */
int pc_loop_new(pc_loop **loop, const char *backend);
int pc_loop_close(pc_loop *loop);
int pc_loop_step(pc_loop *loop, int timeout_ms);
uint64_t pc_loop_iteration(const pc_loop *loop);
int pc_loop_is_running(const pc_loop *loop);
/* The pl_loop of a pipeloop loop, NULL for another subject's. */
pl_loop *pc_loop_native(pc_loop *loop);
/* The pl_transport of a pipeloop transport, NULL for another subject's. */
pl_transport *pc_transport_native(pc_transport *t);
/*
 * pipeloop only: connect like the subject's connect_read_pipe (is_read 1)
 * or connect_write_pipe, through pl_connect_*_pipe_ex with PL_CONNECT_*
 * flags.  -ENOTSUP on another subject; otherwise what the library says.
 */
int pc_pipeloop_connect(pc_loop *loop, int fd, int is_read, unsigned flags,
                        const pc_protocol *protocol, void *user,
                        pc_transport **transport);

/* ------------------------------------------------------------------------ */
/* Recorder: a ready-made protocol that logs every callback                  */

typedef enum pc_event_type {
    PC_EV_CM = 1, /* connection_made */
    PC_EV_DR,     /* data_received */
    PC_EV_ER,     /* eof_received */
    PC_EV_CL,     /* connection_lost */
    PC_EV_PW,     /* pause_writing */
    PC_EV_RW,     /* resume_writing */
} pc_event_type;

/* One log entry.  Consecutive data_received calls are merged into one
 * entry (count calls, bytes in all, iterations first..last) so that the
 * log of a 64 MiB transfer stays readable. */
typedef struct pc_event {
    pc_event_type type;
    uint64_t first_iteration;
    uint64_t last_iteration;
    size_t count;
    uint64_t bytes;
    int error; /* CL only */
} pc_event;

typedef struct pc_recorder pc_recorder;

/*
 * The recorder's protocol: pass it with the recorder as user pointer to
 * connect.  Each callback logs the event with the loop's iteration, checks
 * the state machine (CM first and once; CL once and last; nothing after
 * CL; no DR after ER; PW and RW alternate, PW first) and fails the test on
 * a violation, then calls the hook of the same name, if any.
 */
extern const pc_protocol pc_recorder_protocol;

/*
 * Make a recorder for one transport on loop.  label names it in the log.
 * While it exists, a failing test prints its event log (a pc_on_failure
 * hook).  Fails the test on allocation failure; never returns NULL.
 */
pc_recorder *pc_recorder_new(pc_loop *loop, const char *label);
/* Free it and remove its failure hook.  The transport must be gone (CL
 * seen) or never connected. */
void pc_recorder_free(pc_recorder *rec);

/* Call hooks->X(t, ..., hook_user) after logging each event X. */
void pc_recorder_set_hooks(pc_recorder *rec, const pc_protocol *hooks, void *hook_user);
/* Keep up to max received bytes in memory (pc_recorder_data). */
void pc_recorder_keep_data(pc_recorder *rec, size_t max);
/* Check every received byte against the pattern of seed (pc_pattern_*):
 * the first mismatch fails the test with its offset. */
void pc_recorder_expect_pattern(pc_recorder *rec, uint64_t seed);

/* Queries. */
size_t pc_recorder_count(const pc_recorder *rec, pc_event_type type);
uint64_t pc_recorder_bytes(const pc_recorder *rec);   /* all DR bytes */
size_t pc_recorder_max_chunk(const pc_recorder *rec); /* largest DR */
int pc_recorder_lost(const pc_recorder *rec);         /* CL seen: 1/0 */
int pc_recorder_error(const pc_recorder *rec);        /* CL's error */
int pc_recorder_paused(const pc_recorder *rec);       /* PW without RW */
/* The transport from connect (set by CM); stays valid after CL only if
 * referenced (the subject's ref) or the subject is remote. */
pc_transport *pc_recorder_transport(const pc_recorder *rec);
const void *pc_recorder_data(const pc_recorder *rec, size_t *len);
size_t pc_recorder_nevents(const pc_recorder *rec);
const pc_event *pc_recorder_event(const pc_recorder *rec, size_t i);
/* The iteration of the last event of type (0 if none). */
uint64_t pc_recorder_iteration_of(const pc_recorder *rec, pc_event_type type);
/* The sequence of event types as a string, e.g. "CM DR ER CL" (merged DRs
 * count once).  Static buffer per recorder, valid until the next call. */
const char *pc_recorder_sequence(pc_recorder *rec);
/* Print the log to f. */
void pc_recorder_print(const pc_recorder *rec, FILE *f);

/* ------------------------------------------------------------------------ */
/* Stepping the loop                                                         */

/*
 * Run loop iterations until cond is true; between checks the loop blocks
 * in its poll (never a sleep), at most until the deadline.  If timeout_ms
 * (scaled by pc_scale_ms) passes first, the test fails with the condition's
 * text and every live recorder's event log: it never hangs.  loop is a
 * pl_loop (pipeloop's own tests) or a pc_loop (any subject's).
 */
#define PC_RUN_UNTIL(loop, cond, timeout_ms)                                             \
    do {                                                                                 \
        uint64_t pc__deadline = pc_deadline_ms(timeout_ms);                              \
        while (!(cond))                                                                  \
            PC__STEP(loop)(loop, pc__deadline, __FILE__, __LINE__, #cond);               \
    } while (0)
#define PC__STEP(loop) _Generic((loop), pc_loop * : pc_loop_step_until, default : pc_step)

/* The absolute CLOCK_MONOTONIC time in ms at which timeout_ms (scaled)
 * from now is over. */
uint64_t pc_deadline_ms(unsigned timeout_ms);
/* CLOCK_MONOTONIC now, in ns (pc_now_ns() / 1000000 is pc_deadline_ms's
 * clock). */
uint64_t pc_now_ns(void);
/* One iteration that waits at most until deadline; fails the test with
 * what (and file:line) if the deadline has passed. */
void pc_step(pl_loop *loop, uint64_t deadline, const char *file, int line,
             const char *what);
/* The same for a subject's loop. */
void pc_loop_step_until(pc_loop *loop, uint64_t deadline, const char *file, int line,
                        const char *what);
/*
 * Run until an iteration waits quiet_ms without running any callback, or
 * fail after timeout_ms.  Returns the number of iterations run.  Use it to
 * show that something does NOT happen (no DR while paused).
 */
unsigned pc_run_until_quiet(pl_loop *loop, unsigned quiet_ms, unsigned timeout_ms);
/* The same for a subject's loop; pc_run_until_quiet() takes either. */
unsigned pc_loop_run_until_quiet(pc_loop *loop, unsigned quiet_ms, unsigned timeout_ms);
#define pc_run_until_quiet(loop, quiet_ms, timeout_ms)                                   \
    _Generic((loop), pc_loop *                                                           \
             : pc_loop_run_until_quiet, default                                          \
             : pc_run_until_quiet)(loop, quiet_ms, timeout_ms)

/* ------------------------------------------------------------------------ */
/* Random operation sequences against a model (pipecheck --fuzz)             */

/*
 * pc_fuzz runs random sequences of operations on a write transport and a
 * read transport of one kind and backend: writes of random sizes (copied,
 * lent, writev), limit changes, write_eof, close and abort; pause, resume
 * and close; a peer that reads, writes and closes the far ends at random;
 * single loop iterations.  After every step, and when both are driven to
 * their end, the callbacks, return values and byte streams must be ones an
 * executable model of spec groups C R W F D E allows.  Each sequence runs
 * in a child process (a crash or a hang counts as a divergence); sequence
 * i is made from seed + i, so any one can be replayed.  A diverging
 * sequence is shrunk (operations removed while it still diverges) and the
 * shortest one is printed to log with what went wrong.
 */
typedef struct pc_fuzz_options {
    double seconds;           /* run sequences for about this long (>= one) */
    uint64_t seed;            /* first sequence's seed; 0: from the clock */
    const char *const *kinds; /* kind names to use; NULL/0: every kind whose
                                 far end is in this process */
    size_t nkinds;
    unsigned backends; /* PL_LOOP_EPOLL | PL_LOOP_POLL | PL_LOOP_IO_URING; 0: all
                          (io_uring where a ring can be made) */
    size_t max_ops;    /* operations per sequence, at most (0: 200) */
    int stop_at_first; /* stop after the first divergence */
    FILE *log;         /* NULL: stderr */
} pc_fuzz_options;

typedef struct pc_fuzz_result {
    uint64_t sequences;
    uint64_t operations;
    uint64_t divergences;
} pc_fuzz_result;

/* Returns 0 (see *out for divergences), -EINVAL if no kind or backend is
 * left, or -ENOMEM. */
int pc_fuzz(const pc_fuzz_options *options, pc_fuzz_result *out);

/* ------------------------------------------------------------------------ */
/* The spec's behaviour IDs                                                  */

/* One behaviour of the catalogue, docs/behaviours.md in the source tree
 * (what each ID means and where asyncio differs). */
typedef struct pc_spec_item {
    const char *id;      /* "R4" */
    const char *section; /* "Read transport" */
    const char *meaning; /* one line */
} pc_spec_item;

/* Every ID in spec order. */
size_t pc_spec_count(void);
const pc_spec_item *pc_spec_get(size_t i);
/* The item of an ID, or NULL. */
const pc_spec_item *pc_spec_find(const char *id);
/* Is the ID one the spec marks OURS (pipeloop differs from asyncio on
 * purpose)?  1/0.  Another subject failing it "differs". */
int pc_spec_is_ours(const char *id);

/* ------------------------------------------------------------------------ */
/* The conformance suite                                                     */

typedef struct pc_ctx pc_ctx;

/* Which near-end directions a conformance test needs. */
enum pc_conformance_needs {
    PC_NEEDS_LOOP = 0,        /* loop only: one instance per backend */
    PC_NEEDS_READ = 1u << 0,  /* a read transport on the kind's near end */
    PC_NEEDS_WRITE = 1u << 1, /* a write transport on the kind's near end */
};

/*
 * One test body, run over every pipe kind it applies to and every backend
 * (epoll, poll, io_uring; io_uring instances are n/a where no ring can be
 * made).
 * A kind applies when it has every PC_KIND_* flag in required and none in
 * excludes.  Instances are named "ID.slug@kind/backend" (or
 * "ID.slug@backend" for loop-only tests).
 */
typedef struct pc_conformance {
    void (*fn)(pc_ctx *ctx);
    const char *id;    /* spec ID, e.g. "R4" */
    const char *slug;  /* e.g. "pause-stops-data" */
    unsigned needs;    /* PC_NEEDS_* */
    unsigned required; /* PC_KIND_* flags a kind must have */
    unsigned excludes;
    unsigned timeout_ms; /* 0: the runner's default */
    unsigned caps;       /* PC_CAP_* a subject needs for the test to apply */
} pc_conformance;

/* What an instance body gets. */
struct pc_ctx {
    const pc_conformance *test;
    const pc_kind *kind;    /* NULL for loop-only tests */
    const char *backend;    /* "epoll", "poll" or "io_uring" */
    unsigned loop_flags;    /* PL_LOOP_EPOLL, PL_LOOP_POLL or PL_LOOP_IO_URING */
    pc_loop *loop;          /* made before the body; must close after it */
    const pc_subject *impl; /* the subject under test: pc_subject_current() */
    uint64_t seed;          /* pc_seed() mixed with the instance name */
};

/*
 * Register the test's instances (called by PC_CONFORMANCE from a
 * constructor).  After the body returns, the loop is closed and the test
 * fails if that is refused (a transport was left open).
 */
void pc_conformance_add(const pc_conformance *test);
size_t pc_conformance_count(void);
const pc_conformance *pc_conformance_get(size_t i);
/* Does the test apply to kind?  1 or 0. */
int pc_conformance_applies(const pc_conformance *test, const pc_kind *kind);
/* The test of a registered instance name ("R4.slug@pipe/epoll"), or NULL
 * for a name that is not a conformance instance.  *backend (may be NULL)
 * is set to the instance's backend. */
const pc_conformance *pc_conformance_of(const char *name, const char **backend);

/*
 * Define a conformance test and register it; the fields are those of
 * pc_conformance after fn, by name, the ones left out 0:
 *     PC_CONFORMANCE(r4_pause, .id = "R4", .slug = "pause-stops-data",
 *                    .needs = PC_NEEDS_READ, .timeout_ms = 30000) { ...ctx... }
 * (From C++20, name them in the struct's order; g++ would warn about the
 * fields left out, and the macro silences that.)
 */
#define PC_CONFORMANCE(ident, ...)                                                       \
    static void pc__conf_##ident(pc_ctx *ctx);                                           \
    _Pragma("GCC diagnostic push")                                                       \
    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")                   \
    static const pc_conformance pc__desc_##ident = {.fn = pc__conf_##ident,              \
                                                    __VA_ARGS__};                        \
    _Pragma("GCC diagnostic pop")                                                        \
    __attribute__((constructor)) static void pc__conf_register_##ident(void)             \
    {                                                                                    \
        pc_conformance_add(&pc__desc_##ident);                                           \
    }                                                                                    \
    static void pc__conf_##ident(pc_ctx *ctx)

/*
 * Open a pair of the instance's kind with the near end in direction dir,
 * failing the test on error (skipping it when the machine lacks the kind,
 * e.g. no /dev/ptmx).  Close it with pc_pair_close.
 */
void pc_ctx_open_pair(pc_ctx *ctx, pc_dir dir, unsigned flags, pc_pair *pair);
/*
 * Connect a recorder-driven transport of direction dir to fd (which the
 * transport then owns), failing the test on error.  Returns the transport.
 */
pc_transport *pc_ctx_connect(pc_ctx *ctx, pc_dir dir, int fd, pc_recorder *rec);

#ifdef __cplusplus
}
#endif
#endif /* PIPECHECK_H */
