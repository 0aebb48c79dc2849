/*
 * pipecheck's runner: registering tests, what a test may call, asserts,
 * options, running and results, pc_main.  Part of pipecheck.h; include that.
 */
#ifndef PIPECHECK_RUNNER_H
#define PIPECHECK_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what libpipecheck.so exports: the pc_ API and the few pc__ helpers
 * the macros below expand to.  The library is built with hidden visibility
 * and PC_BUILDING; a consumer, or the static library (PC_STATIC), sees an
 * empty macro (pipeloop.h's PL_EXPORT does the same). */
#if defined(PC_STATIC)
#define PC_EXPORT
#elif defined(PC_BUILDING)
#define PC_EXPORT __attribute__((visibility("default")))
#else
#define PC_EXPORT
#endif

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
PC_EXPORT int pc_test_add(const char *name, void (*fn)(void *arg), void *arg,
                          unsigned flags);

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
        pc_test_set_source(name, __FILE__, __LINE__);                                    \
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
PC_EXPORT extern const pc_backend pc_backends[PC_BACKEND_COUNT];

/* The backend called name, or NULL. */
PC_EXPORT const pc_backend *pc_backend_find(const char *name);

/* Can this machine make a loop of backend?  0, or pl_loop_new()'s error
 * (for io_uring: -ENOSYS without liburing or kernel support, -EPERM or
 * -ENOMEM where the kernel refuses a ring). */
PC_EXPORT int pc_backend_available(const pc_backend *backend);

/*
 * Register fn(backend, arg) as a test named name + "@" + the backend's name
 * ("loop.signal@poll"), or name + "/" + it when name already ends in a
 * kind ("R9.eintr-storm@pipe/poll").  Where the backend is missing (see
 * pc_backend_available) the test is skipped as n/a with the reason.
 * pc_test_add_each_backend registers it on every backend.  Errors as for
 * pc_test_add().
 */
PC_EXPORT int pc_test_add_on_backend(const char *name, const pc_backend *backend,
                                     void (*fn)(const pc_backend *backend, void *arg),
                                     void *arg, unsigned flags);
PC_EXPORT int pc_test_add_each_backend(const char *name,
                                       void (*fn)(const pc_backend *backend, void *arg),
                                       void *arg, unsigned flags);

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
        pc_test_set_source(name, __FILE__, __LINE__);                                    \
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
PC_EXPORT char *pc_run_capture(const char *path, const char *const *argv, int *status);
/* This program's path (read from /proc/self/exe), in static storage. */
PC_EXPORT const char *pc_self_path(void);

/* CLOCK_MONOTONIC now, in ns (pc_now_ns() / 1000000 is pc_deadline_ms's
 * clock). */
PC_EXPORT uint64_t pc_now_ns(void);

/* The number of registered tests, hidden ones included. */
PC_EXPORT size_t pc_test_count(void);
/* The name of test i (registration order), or NULL if i is out of range. */
PC_EXPORT const char *pc_test_name(size_t i);
/* The flags of test i, or 0 if i is out of range. */
PC_EXPORT unsigned pc_test_flags(size_t i);

/*
 * Record where the tests called name, name@anything or name/anything (the
 * instances pc_test_add_each_backend and the conformance suite register) are
 * defined; PC_TEST, PC_TEST_EACH_BACKEND and PC_CONFORMANCE pass their
 * __FILE__ and __LINE__.  file is kept, not copied (a string literal).
 * For `pipecheck --explain`; a name without a source is simply unknown.
 */
PC_EXPORT void pc_test_set_source(const char *name, const char *file, int line);
/* Where test i is defined: the file (and *line), or NULL if not recorded. */
PC_EXPORT const char *pc_test_source(size_t i, int *line);

/* ------------------------------------------------------------------------ */
/* Inside a test                                                             */

/* Default time a test may take, before pc_scale_ms(). */
#define PC_DEFAULT_TIMEOUT_MS 5000u

/* The name of the running test, or NULL outside a test. */
PC_EXPORT const char *pc_current_test(void);

/*
 * Give the current test ms milliseconds (multiplied by the timeout
 * multiplier, see pc_scale_ms), counted from the start of the test, instead
 * of the default PC_DEFAULT_TIMEOUT_MS.  Call it first thing in the test.
 * May raise or lower the limit.  No effect outside a test or with
 * --no-fork (which has no timeouts).
 */
PC_EXPORT void pc_set_timeout_ms(unsigned ms);

/* The current test's effective (scaled) timeout in ms; outside a test, the
 * scaled default. */
PC_EXPORT unsigned pc_timeout_ms(void);

/*
 * ms multiplied by the run's timeout multiplier (--timeout-multiplier, else
 * $PIPECHECK_TIMEOUT_MULTIPLIER, else 1), rounded up, at least 1 for a
 * nonzero ms, saturating at UINT_MAX.  Use it for any wait a test bounds
 * itself, so that slow builds (sanitizers, valgrind) scale everything.
 */
PC_EXPORT unsigned pc_scale_ms(unsigned ms);

/*
 * The run's seed (--seed, else random and printed at the start), for tests
 * that want reproducible randomness: rerunning with --seed S gives the same
 * value.  Mix in pc_current_test() for per-test streams.
 */
PC_EXPORT uint64_t pc_seed(void);

/*
 * Fail the current test: run the failure hooks (newest first), print
 * "file:line: message" to the test's stderr (captured), report the failure
 * to the runner and end the test process.  Never returns.  May be called
 * from any thread of the test, and from a process the test forked (the
 * failure is reported for the test).  Outside a test it prints the message
 * and calls abort().  With --no-fork it returns to the runner, which stops
 * the run (from another thread than the runner's it ends the process).
 */
PC_EXPORT PC__NORETURN PC__PRINTF(3, 4) void pc_fail(const char *file, int line,
                                                     const char *fmt, ...);
#define PC_FAIL(...) pc_fail(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Skip the current test with a reason ("needs a tty", ...): a skip is not a
 * failure.  Never returns; no leak checks run.  Outside a test it prints the
 * reason and calls abort().
 */
PC_EXPORT PC__NORETURN PC__PRINTF(1, 2) void pc_skip(const char *fmt, ...);
#define PC_SKIP(...) pc_skip(__VA_ARGS__)

/*
 * Failure hooks: fn(arg) runs when the current test fails (an assert,
 * pc_fail, or a leak found after the test), before the failure is reported,
 * with the test's stderr still captured.  Hooks run newest first; a hook
 * that fails itself ends the chain.  A hook added inside a test lives until
 * the test ends.  Returns 0, -EINVAL (fn NULL) or -ENOMEM.
 */
PC_EXPORT int pc_on_failure(void (*fn)(void *arg), void *arg);
/* Remove the newest hook registered with exactly fn and arg; no-op if none. */
PC_EXPORT void pc_on_failure_remove(void (*fn)(void *arg), void *arg);

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
PC_EXPORT PC__NORETURN void pc__fail_int(const char *file, int line, const char *atext,
                                         const char *op, const char *btext, intmax_t a,
                                         intmax_t b);
PC_EXPORT PC__NORETURN void pc__fail_uint(const char *file, int line, const char *atext,
                                          const char *op, const char *btext, uintmax_t a,
                                          uintmax_t b);
PC_EXPORT PC__NORETURN void pc__fail_ptr(const char *file, int line, const char *text,
                                         const void *a, const void *b);
PC_EXPORT PC__NORETURN void pc__fail_err(const char *file, int line, const char *text,
                                         intmax_t want, intmax_t got);
PC_EXPORT PC__NORETURN void pc__fail_ok(const char *file, int line, const char *text,
                                        intmax_t got);
PC_EXPORT void pc__check_str(const char *file, int line, const char *atext,
                             const char *btext, const char *a, const char *b);
PC_EXPORT void pc__check_mem(const char *file, int line, const char *atext,
                             const char *btext, const char *ntext, const void *a,
                             const void *b, size_t n);

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
    int color;                 /* --color: a pc_color_mode, default PC_COLOR_AUTO */
    int fail_fast;             /* start no test after the first failure */
    const char *expect_path;   /* expected verdicts (see pc_run); borrowed */
} pc_options;

/* When output is coloured (--color=auto|always|never). */
typedef enum pc_color_mode {
    PC_COLOR_AUTO = 0, /* on a terminal, unless $NO_COLOR is set or TERM=dumb */
    PC_COLOR_ALWAYS = 1,
    PC_COLOR_NEVER = 2,
} pc_color_mode;

/* Should what goes to fd be coloured under opts->color?  1 or 0. */
PC_EXPORT int pc_color_wanted(const pc_options *opts, int fd);

/*
 * Defaults, including the multiplier from $PIPECHECK_TIMEOUT_MULTIPLIER (an
 * invalid value is reported on stderr and ignored) and jobs from the CPUs
 * this process may use.
 */
PC_EXPORT void pc_options_init(pc_options *opts);
/* Free what the options own (the filters); opts may be reused after init. */
PC_EXPORT void pc_options_free(pc_options *opts);

/* Add a filter: an fnmatch(3) glob ('*' also matches '/') on test names.
 * A test runs if any filter matches it.  Returns 0 or -ENOMEM. */
PC_EXPORT int pc_options_add_filter(pc_options *opts, const char *glob);

/* Is a test with this name and these flags selected by opts?  1 or 0. */
PC_EXPORT int pc_options_match(const pc_options *opts, const char *name, unsigned flags);

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
PC_EXPORT int pc_options_parse(pc_options *opts, int argc, char **argv,
                               pc_option_hook extra, void *user);

/* Print the common options, one per line, for a --help text. */
PC_EXPORT void pc_print_usage(FILE *out);

/* Print the names of the selected tests, one per line. */
PC_EXPORT void pc_list_tests(const pc_options *opts, FILE *out);

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
 * fail_fast: after the first failure no further test starts; the tests
 * already running finish and are recorded, and a line "stopping at the
 * first failure (--fail-fast)" (TAP: "Bail out!") says why the run ended.
 *
 * expect_path: a file of expected verdicts, one "VERDICT NAME" a line,
 * VERDICT one of pass, fail, skip or any ('#' starts a comment line); a
 * test not in the file is expected to pass.  A run that differs is one
 * where a test's status is not the expected one: each such test gets a
 * line "unexpected: NAME: STATUS, expected VERDICT", pc_results_unexpected
 * counts them, pc_exit_status judges by that count instead of the failures
 * (an expected failure is fine, an unexpected pass is not), and
 * fail_fast stops at the first of them.  Only the status is compared, not
 * the message.  A baseline for a subject with known failures is made from
 * one run's verdicts (pipecheck's --json has them).
 *
 * Returns 0 with *out set (free it with pc_results_free), or: -errno if
 * the JUnit file cannot be opened for writing or the expect file cannot be
 * read, -EINVAL if a line of it is not "VERDICT NAME" (both checked before
 * any test runs), -EEXIST (two tests share a name), an error from registration,
 * -ENOMEM (*out NULL in these cases); or -errno from writing the JUnit file
 * (*out is still set).  Not reentrant; call from one thread.
 */
PC_EXPORT int pc_run(const pc_options *opts, pc_results **out);

/*
 * The closing line on stdout, exactly "N passed, N failed, N skipped"; in a
 * --tap run "# N passed, N failed, N skipped", so that every line on stdout
 * is TAP.  After an interruption (pc_results_interrupted) a line before it
 * says how many tests were stopped and how many never started.
 */
PC_EXPORT void pc_results_print_summary(const pc_results *results);

/* The signal (SIGINT or SIGTERM) that interrupted the run, or 0 if it ran
 * to the end. */
PC_EXPORT int pc_results_interrupted(const pc_results *results);
/* After an interruption: the tests that were running and were stopped (no
 * outcome: they are not in pc_results_get or the totals), and the runs
 * that never started.  0 for a run that was not interrupted. */
PC_EXPORT size_t pc_results_stopped_count(const pc_results *results);
PC_EXPORT size_t pc_results_not_started(const pc_results *results);
/* The name of stopped test i (NULL if out of range) and, if seconds is not
 * NULL, how long it had run. */
PC_EXPORT const char *pc_results_stopped_name(const pc_results *results, size_t i,
                                              double *seconds);

/*
 * The exit status for a program that ran tests: flushes stdout, then
 * 128 + the signal if the run was interrupted (130 for SIGINT, 143 for
 * SIGTERM); 1 if run_error (pc_run's return) is < 0, a test failed (with
 * an expect file: a test's status differed from the expected one), or
 * anything written to stdout was lost (e.g. stdout is /dev/full; a message
 * on stderr says so); else 0.  results may be NULL (nothing ran: --help,
 * --list).
 */
PC_EXPORT int pc_exit_status(const pc_results *results, int run_error);

/* The number of test runs in results, in the order they finished. */
PC_EXPORT size_t pc_results_count(const pc_results *results);
/* Run i, or NULL if i is out of range. */
PC_EXPORT const pc_result *pc_results_get(const pc_results *results, size_t i);
/* Totals by status; any pointer may be NULL. */
PC_EXPORT void pc_results_totals(const pc_results *results, size_t *passed,
                                 size_t *failed, size_t *skipped);
/* With an expect file (pc_options.expect_path): the tests whose status
 * differed from the expected one; without, the failed tests. */
PC_EXPORT size_t pc_results_unexpected(const pc_results *results);
/* Free results (NULL is fine). */
PC_EXPORT void pc_results_free(pc_results *results);

/*
 * parse + (help | version | list | run + summary).  Returns the exit
 * status: 0 if nothing failed (skips are fine), 1 on failures or errors
 * (including lost stdout output), 2 on bad usage, 130/143 when SIGINT or
 * SIGTERM interrupted the run (see pc_exit_status).
 */
PC_EXPORT int pc_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* PIPECHECK_RUNNER_H */
