/*
 * Self-tests of the runner.  The hidden runner-guard.* tests misbehave on
 * purpose; the visible runner.* tests run this binary again on one of them
 * and check that the runner names the problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <pipecheck.h>

/* ------------------------------------------------------------------------ */
/* Tests that misbehave                                                      */

PC_TEST_FLAGS(guard_hang, "runner-guard.hang", PC_TEST_HIDDEN)
{
    for (;;)
        pause();
}

PC_TEST_FLAGS(guard_crash, "runner-guard.crash", PC_TEST_HIDDEN)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* Sanitizers catch SIGSEGV themselves; the runner must see the signal. */
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    PC_FAIL("still alive after SIGSEGV");
}

PC_TEST_FLAGS(guard_leak_fd, "runner-guard.leak-fd", PC_TEST_HIDDEN)
{
    int fds[2];
    PC_ASSERT_EQ_INT(pipe(fds), 0);
}

PC_TEST_FLAGS(guard_leak_child, "runner-guard.leak-child", PC_TEST_HIDDEN)
{
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0)
        for (;;)
            pause();
}

PC_TEST_FLAGS(guard_stdio_flags, "runner-guard.stdio-flags", PC_TEST_HIDDEN)
{
    int flags = fcntl(STDIN_FILENO, F_GETFL);
    PC_ASSERT_GE_INT(flags, 0);
    PC_ASSERT_EQ_INT(fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK), 0);
}

PC_TEST_FLAGS(guard_sigpipe, "runner-guard.sigpipe", PC_TEST_HIDDEN)
{
    struct sigaction old;
    PC_ASSERT_EQ_INT(sigaction(SIGPIPE, NULL, &old), 0);
    /* Flip it, whatever it was. */
    signal(SIGPIPE, old.sa_handler == SIG_IGN ? SIG_DFL : SIG_IGN);
}

PC_TEST_FLAGS(guard_assert, "runner-guard.assert", PC_TEST_HIDDEN)
{
    printf("output with <xml> & \"quotes\"\n");
    PC_ASSERT_EQ_INT(1, 2);
}

PC_TEST_FLAGS(guard_skip, "runner-guard.skip", PC_TEST_HIDDEN)
{
    PC_SKIP("not today");
}

PC_TEST_FLAGS(guard_own_timeout, "runner-guard.own-timeout", PC_TEST_HIDDEN)
{
    pc_set_timeout_ms(100);
    for (;;)
        pause();
}

PC_TEST_FLAGS(guard_exit, "runner-guard.exit", PC_TEST_HIDDEN)
{
    _exit(3);
}

static char hook_a[] = "A", hook_b[] = "B", hook_c[] = "C";

static void print_hook(void *arg)
{
    fprintf(stderr, "hook %s ran\n", (const char *)arg);
}

PC_TEST_FLAGS(guard_hooks, "runner-guard.hooks", PC_TEST_HIDDEN)
{
    PC_ASSERT_OK(pc_on_failure(print_hook, hook_a));
    PC_ASSERT_OK(pc_on_failure(print_hook, hook_b));
    PC_ASSERT_OK(pc_on_failure(print_hook, hook_c));
    pc_on_failure_remove(print_hook, hook_c);
    PC_FAIL("failing with %d hooks", 2);
}

/* ------------------------------------------------------------------------ */
/* Running this binary again                                                 */

struct inner_run {
    int status;   /* exit status, or 128 + signal */
    char *output; /* stdout and stderr */
};

/* Run this binary with args (NULL-terminated), collecting its output. */
static void run_self(struct inner_run *run, const char *const *args)
{
    const char *argv[32];
    size_t argc = 0;
    argv[argc++] = "pipeloop-tests";
    for (; *args != NULL && argc < 31; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    run->output = pc_run_capture(NULL, argv, &run->status);
}

#define EXPECT_OUTPUT(run, needle)                                                       \
    do {                                                                                 \
        if (strstr((run)->output, (needle)) == NULL)                                     \
            PC_FAIL("expected \"%s\" in the inner run's output:\n%s", (needle),          \
                    (run)->output);                                                      \
    } while (0)

static const char *last_line(const char *text)
{
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    while (len > 0 && text[len - 1] != '\n')
        len--;
    return text + len;
}

/* Run one guard test; expect exit status 1, reason in the output, and the
 * closing line. */
static void expect_guard_fails(const char *name, const char *reason,
                               const char *multiplier)
{
    struct inner_run run;
    const char *args[] = {"--timeout-multiplier", multiplier, "--filter", name, NULL};
    run_self(&run, args);
    char line[256];
    snprintf(line, sizeof line, "FAIL %s (", name);
    EXPECT_OUTPUT(&run, line);
    EXPECT_OUTPUT(&run, reason);
    PC_ASSERT_EQ_STR(last_line(run.output), "0 passed, 1 failed, 0 skipped\n");
    PC_ASSERT_EQ_INT(run.status, 1);
    free(run.output);
}

PC_TEST(catches_hang, "runner.catches-hang")
{
    expect_guard_fails("runner-guard.hang", "timeout after 500 ms", "0.1");
}

PC_TEST(catches_own_timeout, "runner.catches-hang-with-own-timeout")
{
    expect_guard_fails("runner-guard.own-timeout", "timeout after 100 ms", "1");
}

PC_TEST(catches_crash, "runner.catches-crash")
{
    expect_guard_fails("runner-guard.crash", "killed by signal SIGSEGV", "1");
}

PC_TEST(catches_exit, "runner.catches-exit-without-result")
{
    expect_guard_fails("runner-guard.exit", "exited with status 3 without reporting",
                       "1");
}

PC_TEST(catches_fd_leak, "runner.catches-fd-leak")
{
    expect_guard_fails("runner-guard.leak-fd", "leaked fd ", "1");
    expect_guard_fails("runner-guard.leak-fd", " -> pipe:[", "1");
}

PC_TEST(catches_child_leak, "runner.catches-child-leak")
{
    expect_guard_fails("runner-guard.leak-child", "left child process ", "1");
}

PC_TEST(catches_stdio_flags, "runner.catches-stdio-flags")
{
    expect_guard_fails("runner-guard.stdio-flags", "fd 0 file status flags changed", "1");
    expect_guard_fails("runner-guard.stdio-flags", "O_NONBLOCK added", "1");
}

PC_TEST(catches_sigpipe, "runner.catches-sigpipe-change")
{
    expect_guard_fails("runner-guard.sigpipe", "SIGPIPE disposition changed", "1");
}

PC_TEST(assert_prints_both, "runner.assert-prints-both-values")
{
    expect_guard_fails("runner-guard.assert", "test_runner.c:", "1");
    expect_guard_fails("runner-guard.assert",
                       ": assertion failed: 1 == 2 (left: 1, right: 2)", "1");
}

PC_TEST(hooks_run_newest_first, "runner.failure-hooks-run-newest-first")
{
    struct inner_run run;
    const char *args[] = {"--filter", "runner-guard.hooks", NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 1);
    EXPECT_OUTPUT(&run, "failing with 2 hooks");
    const char *b = strstr(run.output, "hook B ran"),
               *a = strstr(run.output, "hook A ran");
    PC_ASSERT_NOT_NULL(a);
    PC_ASSERT_NOT_NULL(b);
    PC_ASSERT(b < a);
    PC_ASSERT_NULL(strstr(run.output, "hook C ran"));
    free(run.output);
}

PC_TEST(skip_is_not_failure, "runner.skip-is-not-failure")
{
    struct inner_run run;
    const char *args[] = {"--verbose", "--filter", "runner-guard.skip", NULL};
    run_self(&run, args);
    EXPECT_OUTPUT(&run, "SKIP runner-guard.skip (");
    EXPECT_OUTPUT(&run, "): not today");
    PC_ASSERT_EQ_STR(last_line(run.output), "0 passed, 0 failed, 1 skipped\n");
    PC_ASSERT_EQ_INT(run.status, 0);
    free(run.output);
}

PC_TEST(tap_output, "runner.tap-output")
{
    struct inner_run run;
    const char *args[] = {"--tap",
                          "-j",
                          "1",
                          "--filter",
                          "runner-guard.assert",
                          "--filter",
                          "runner-guard.skip",
                          NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 1);
    PC_ASSERT_EQ_MEM(run.output, "TAP version 13\npragma +strict\n1..2\n", 35);
    EXPECT_OUTPUT(&run, "\nnot ok 1 - runner-guard.assert\n  ---\n  message: \"");
    EXPECT_OUTPUT(&run, "assertion failed: 1 == 2 (left: 1, right: 2)");
    EXPECT_OUTPUT(&run, "  output: \"output with <xml> & \\\"quotes\\\"\\n");
    EXPECT_OUTPUT(&run, "\n  ...\nok 2 - runner-guard.skip # SKIP not today\n");
    PC_ASSERT_EQ_STR(last_line(run.output), "# 0 passed, 1 failed, 1 skipped\n");
    free(run.output);
}

PC_TEST(junit_output, "runner.junit-output")
{
    char path[] = "/tmp/pipecheck-junit-XXXXXX";
    int fd = mkstemp(path);
    PC_ASSERT_GE_INT(fd, 0);
    close(fd);
    struct inner_run run;
    const char *args[] = {
        "--junit",           path, "--filter", "runner-guard.assert", "--filter",
        "runner-guard.skip", NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 1);

    FILE *f = fopen(path, "re");
    unlink(path);
    PC_ASSERT_NOT_NULL(f);
    char xml[16384];
    size_t len = fread(xml, 1, sizeof xml - 1, f);
    fclose(f);
    xml[len] = '\0';
    const char *needles[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        ("<testsuite name=\"pipeloop\" tests=\"2\" failures=\"1\" errors=\"0\" "
         "skipped=\"1\" time=\""),
        "<testcase classname=\"runner-guard\" name=\"runner-guard.assert\" time=\"0.",
        "<failure message=\"",
        "test_runner.c:",
        "assertion failed: 1 == 2 (left: 1, right: 2)\">",
        "<system-out>output with &lt;xml&gt; &amp; &quot;quotes&quot;\n",
        "<skipped message=\"not today\"/>",
        "</testsuites>\n",
    };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (strstr(xml, needles[i]) == NULL)
            PC_FAIL("expected \"%s\" in the JUnit file:\n%s", needles[i], xml);
    free(run.output);
}

PC_TEST(fail_fast, "runner.fail-fast-stops-at-first-failure")
{
    struct inner_run run;
    /* One at a time: the failing test runs first, the other two never. */
    const char *args[] = {"-j",       "1",
                          "--filter", "runner-guard.assert",
                          "--filter", "runner-guard.skip",
                          "--filter", "runner.typed-asserts-pass",
                          "-x",       NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 1);
    EXPECT_OUTPUT(&run, "FAIL runner-guard.assert (");
    EXPECT_OUTPUT(&run, "\nstopping at the first failure (--fail-fast)\n");
    PC_ASSERT_EQ_STR(last_line(run.output), "0 passed, 1 failed, 0 skipped\n");
    free(run.output);
}

/* Write text to a new temporary file; its path in path. */
static void temp_file(char *path, const char *text)
{
    strcpy(path, "/tmp/pipecheck-expect-XXXXXX");
    int fd = mkstemp(path);
    PC_ASSERT_GE_INT(fd, 0);
    PC_ASSERT_EQ_INT(write(fd, text, strlen(text)), (long)strlen(text));
    close(fd);
}

PC_TEST(expect_file, "runner.expect-judges-by-baseline")
{
    char path[64];
    struct inner_run run;
    const char *args[] = {"-j",       "1",
                          "--filter", "runner-guard.assert",
                          "--filter", "runner-guard.skip",
                          "--filter", "runner.typed-asserts-pass",
                          "--expect", path,
                          NULL,       NULL};
    /* The known failure and skip as expected: a success. */
    temp_file(path, "# baseline\nfail runner-guard.assert\nskip runner-guard.skip\n");
    run_self(&run, args);
    unlink(path);
    PC_ASSERT_EQ_INT(run.status, 0);
    if (strstr(run.output, "unexpected") != NULL)
        PC_FAIL("nothing is unexpected, yet:\n%s", run.output);
    PC_ASSERT_EQ_STR(last_line(run.output), "1 passed, 1 failed, 1 skipped\n");
    free(run.output);

    /* A failure where a pass was expected, and a pass where a failure
     * was: both named, and the run fails; "any" takes anything. */
    temp_file(path, "pass runner-guard.assert\nany runner-guard.skip\n"
                    "fail runner.typed-asserts-pass\n");
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 1);
    EXPECT_OUTPUT(&run, "unexpected: runner-guard.assert: fail, expected pass\n");
    EXPECT_OUTPUT(&run, "unexpected: runner.typed-asserts-pass: pass, expected fail\n");
    if (strstr(run.output, "unexpected: runner-guard.skip") != NULL)
        PC_FAIL("'any' was not taken as any:\n%s", run.output);
    free(run.output);

    /* With --fail-fast: the first unexpected status ends the run; an
     * expected failure does not. */
    unlink(path);
    temp_file(path, "fail runner-guard.assert\nfail runner-guard.skip\n");
    args[10] = "--fail-fast";
    run_self(&run, args);
    unlink(path);
    PC_ASSERT_EQ_INT(run.status, 1);
    EXPECT_OUTPUT(&run, "unexpected: runner-guard.skip: skip, expected fail\n");
    EXPECT_OUTPUT(&run, "stopping at the first failure (--fail-fast)");
    PC_ASSERT_EQ_STR(last_line(run.output), "0 passed, 1 failed, 1 skipped\n");
    free(run.output);

    /* A line that is not "VERDICT NAME": nothing runs. */
    temp_file(path, "maybe runner-guard.assert\n");
    args[10] = NULL;
    run_self(&run, args);
    unlink(path);
    PC_ASSERT_EQ_INT(run.status, 1);
    EXPECT_OUTPUT(&run, ":1: not 'pass|fail|skip|any NAME': maybe runner-guard.assert");
    if (strstr(run.output, "runner-guard.assert (") != NULL)
        PC_FAIL("a test ran despite the bad expect file:\n%s", run.output);
    free(run.output);
}

PC_TEST(list_hides_hidden, "runner.list-hides-hidden-tests")
{
    struct inner_run run;
    const char *args[] = {"--list", NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 0);
    EXPECT_OUTPUT(&run, "runner.catches-hang\n");
    PC_ASSERT_NULL(strstr(run.output, "runner-guard."));
    free(run.output);

    const char *glob_args[] = {"--list", "--filter", "runner-guard.*", NULL};
    run_self(&run, glob_args);
    PC_ASSERT_EQ_STR(run.output, "");
    free(run.output);

    const char *exact_args[] = {"--list", "--filter", "runner-guard.hang", NULL};
    run_self(&run, exact_args);
    PC_ASSERT_EQ_STR(run.output, "runner-guard.hang\n");
    free(run.output);
}

PC_TEST(bad_usage, "runner.bad-usage-exits-2")
{
    struct inner_run run;
    const char *args[] = {"--no-such-option", NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 2);
    EXPECT_OUTPUT(&run, "unknown option '--no-such-option'");
    free(run.output);
}

PC_TEST(repeat_shuffle, "runner.repeat-and-shuffle")
{
    struct inner_run run;
    const char *args[] = {
        "--repeat", "3",         "--shuffle", "--seed",
        "42",       "--verbose", "--filter",  "runner.typed-asserts-pass",
        NULL};
    run_self(&run, args);
    PC_ASSERT_EQ_INT(run.status, 0);
    EXPECT_OUTPUT(&run, "seed 42");
    PC_ASSERT_EQ_STR(last_line(run.output), "3 passed, 0 failed, 0 skipped\n");
    free(run.output);
}

/* ------------------------------------------------------------------------ */
/* In-process checks                                                         */

PC_TEST(typed_asserts_pass, "runner.typed-asserts-pass")
{
    int x = 3;
    const char *s = "abc";
    unsigned char bytes[4] = {1, 2, 3, 4};
    PC_ASSERT(x == 3);
    PC_ASSERT_EQ_INT(x, 3);
    PC_ASSERT_NE_INT(x, -3);
    PC_ASSERT_LT_INT(-1, 0);
    PC_ASSERT_LE_INT(x, 3);
    PC_ASSERT_GT_INT(x, 2);
    PC_ASSERT_GE_INT(x, 3);
    PC_ASSERT_EQ_UINT(UINTMAX_MAX, UINTMAX_MAX);
    PC_ASSERT_NE_UINT(1u, 2u);
    PC_ASSERT_LT_UINT(1u, 2u);
    PC_ASSERT_LE_UINT(2u, 2u);
    PC_ASSERT_GT_UINT(3u, 2u);
    PC_ASSERT_GE_UINT(3u, 3u);
    PC_ASSERT_EQ_SIZE(strlen(s), 3);
    PC_ASSERT_LE_SIZE(sizeof bytes, 4);
    PC_ASSERT_EQ_PTR(s, s);
    PC_ASSERT_NULL(NULL);
    PC_ASSERT_NOT_NULL(s);
    PC_ASSERT_EQ_STR(s, "abc");
    PC_ASSERT_EQ_STR(NULL, NULL);
    PC_ASSERT_EQ_MEM(bytes, "\x01\x02\x03\x04", 4);
    PC_ASSERT_ERR(0, 0);
    PC_ASSERT_ERR(PL_ECLOSED, PL_ECLOSED);
    PC_ASSERT_ERR((ssize_t)-EPIPE, -EPIPE);
    PC_ASSERT_OK(0);
    PC_ASSERT_OK(12);
}

PC_TEST(test_state, "runner.test-state")
{
    PC_ASSERT_EQ_STR(pc_current_test(), "runner.test-state");
    PC_ASSERT_EQ_UINT(pc_timeout_ms(), pc_scale_ms(PC_DEFAULT_TIMEOUT_MS));
    pc_set_timeout_ms(8000);
    PC_ASSERT_EQ_UINT(pc_timeout_ms(), pc_scale_ms(8000));
    PC_ASSERT_GE_UINT(pc_scale_ms(1), 1);
    PC_ASSERT_EQ_UINT(pc_scale_ms(0), 0);
    PC_ASSERT_GT_SIZE(pc_test_count(), 0);
    PC_ASSERT_NULL(pc_test_name(pc_test_count()));
}

struct hook_seen {
    char kinds[64];
    char backend[64];
    int flag;
};

static int extra_option(const char *arg, const char *value, void *user)
{
    struct hook_seen *seen = user;
    if (strcmp(arg, "--kinds") == 0) {
        snprintf(seen->kinds, sizeof seen->kinds, "%s", value ? value : "");
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--backend") == 0) {
        snprintf(seen->backend, sizeof seen->backend, "%s", value ? value : "");
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--flag") == 0) {
        seen->flag = 1;
        return PC_OPTION_TAKES_ARG;
    }
    return PC_OPTION_UNKNOWN;
}

/* argv strings are char *, string literals are not. */
#define A(s) ((char *)(s))

PC_TEST(options_parse, "runner.options-parse")
{
    char *argv[] = {A("/bin/pipecheck"),
                    A("--kinds"),
                    A("fifo,pty"),
                    A("-j3"),
                    A("--filter=R4.*"),
                    A("--backend=poll"),
                    A("--flag"),
                    A("--seed"),
                    A("0x10"),
                    A("--tap"),
                    A("--timeout-multiplier"),
                    A("2.5"),
                    A("--help"),
                    A("--"),
                    A("R5.*"),
                    NULL};
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
    struct hook_seen seen = {"", "", 0};
    pc_options opts;
    pc_options_init(&opts);
    PC_ASSERT_OK(pc_options_parse(&opts, argc, argv, extra_option, &seen));
    PC_ASSERT_EQ_STR(opts.program, "pipecheck");
    PC_ASSERT_EQ_STR(seen.kinds, "fifo,pty");
    PC_ASSERT_EQ_STR(seen.backend, "poll");
    PC_ASSERT_EQ_INT(seen.flag, 1);
    PC_ASSERT_EQ_UINT(opts.jobs, 3);
    PC_ASSERT_EQ_UINT(opts.seed, 16);
    PC_ASSERT_EQ_INT(opts.seed_given, 1);
    PC_ASSERT_EQ_INT(opts.tap, 1);
    PC_ASSERT_EQ_INT(opts.help, 1);
    PC_ASSERT(opts.timeout_multiplier == 2.5);
    PC_ASSERT_EQ_SIZE(opts.filter_count, 2);
    PC_ASSERT_EQ_STR(opts.filters[0], "R4.*");
    PC_ASSERT_EQ_STR(opts.filters[1], "R5.*");
    PC_ASSERT_EQ_INT(pc_options_match(&opts, "R4.pause-stops-data@fifo/poll", 0), 1);
    PC_ASSERT_EQ_INT(pc_options_match(&opts, "R6.x", 0), 0);
    PC_ASSERT_EQ_INT(pc_options_match(&opts, "R4.hidden", PC_TEST_HIDDEN), 0);
    pc_options_free(&opts);

    /* Usage errors: printed on the test's stderr, returned as -EINVAL. */
    char *bad[][3] = {{A("x"), A("--jobs"), A("0")},
                      {A("x"), A("--tap=1"), NULL},
                      {A("x"), A("--flag=1"), NULL},
                      {A("x"), A("--kinds"), NULL},
                      {A("x"), A("--unknown"), NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pc_options_init(&opts);
        int n = bad[i][2] ? 3 : 2;
        PC_ASSERT_ERR(pc_options_parse(&opts, n, bad[i], extra_option, &seen), -EINVAL);
        pc_options_free(&opts);
    }
}
