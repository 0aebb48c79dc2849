/*
 * The runner and the pipecheck CLI at the edges: reports that must parse
 * whatever a test printed, strict TAP, interruption by SIGINT/SIGTERM, a
 * stdout that cannot be written, a JUnit path that cannot be, the progress
 * line and colour on a terminal, and the option parser's corner cases.
 * Like test_runner.c, the visible tests run this binary (or pipecheck
 * beside it) again, on hidden runner-guard.* tests that misbehave.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pipecheck.h>

#include "inner.h"

/* ------------------------------------------------------------------------ */
/* Tests that misbehave                                                      */

PC_TEST_FLAGS(guard_bad_bytes, "runner-guard.bad-bytes", PC_TEST_HIDDEN)
{
    /* Invalid UTF-8 (a lone continuation byte, 0xfe/0xff, an overlong
     * '/', a surrogate, U+FFFE, a code point above U+10FFFF, a truncated
     * sequence), control characters XML forbids, then valid non-ASCII. */
    fputs(
        "bad: \x80 \xfe\xff \xc0\xaf \xed\xa0\x80 \xef\xbf\xbe \xf4\x90\x80\x80 \xe2\x82 "
        "ctl: \x01\x1b[31m\x7f\x0b "
        "good: \xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 <&>\n",
        stdout);
    fflush(stdout);
    PC_FAIL("failing with bad bytes: \xff\xc3 and ]]> <tag>");
}

PC_TEST_FLAGS(guard_slow, "runner-guard.slow", PC_TEST_HIDDEN)
{
    /* A test that takes 1.2 s is the behaviour under test here (a run
     * longer than a second), not a way to wait for something. */
    struct timespec left = {1, 200000000};
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        continue;
}

PC_TEST_FLAGS(guard_ready_then_hang, "runner-guard.ready-then-hang", PC_TEST_HIDDEN)
{
    const char *env = getenv(READY_FD_ENV);
    PC_ASSERT_NOT_NULL(env);
    int fd = atoi(env);
    /* A child in the test's process group holds the ready pipe too: the
     * pipe reaches EOF only once the whole group is gone. */
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0)
        for (;;)
            pause();
    PC_ASSERT_EQ_INT(write(fd, "R", 1), 1);
    for (;;)
        pause();
}

/*
 * Is text a well-formed XML 1.0 character stream as far as characters go:
 * valid UTF-8 throughout, no control character but tab, LF and CR, no
 * U+FFFE/U+FFFF?  Returns the offset of the first bad byte, or -1.  The
 * parsers below check the rest; this part needs no tool.
 */
static long first_bad_xml_byte(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    for (const unsigned char *p = s; *p != '\0';) {
        unsigned c = *p, cp, len;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return (long)(p - s);
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return (long)(p - s);
        for (unsigned i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return (long)(p - s);
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
            return (long)(p - s);
        p += len;
    }
    return -1;
}

/* xmllint and Python's parser must both accept the file. */
static void expect_xml_parses(const char *path)
{
    char *xml = read_file(path);
    long bad = first_bad_xml_byte(xml);
    if (bad >= 0)
        PC_FAIL("byte %ld of %s is not an XML character:\n%s", bad, path, xml);
    free(xml);
    const char *xmllint = find_program("xmllint");
    const char *python = find_program("python3");
    if (xmllint == NULL || python == NULL)
        PC_SKIP("%s not installed (Debian: apt-get install libxml2-utils python3); the "
                "file passed the UTF-8/XML character check only",
                xmllint == NULL ? "xmllint" : "python3");
    struct inner r;
    const char *lint[] = {find_program("xmllint"), "--noout", path, NULL};
    run_inner(&r, lint, NULL);
    if (r.status != 0)
        PC_FAIL("xmllint rejects %s (%d):\n%s", path, r.status, r.err);
    inner_free(&r);
    const char *py[] = {find_program("python3"), "-c",
                        "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])",
                        path, NULL};
    run_inner(&r, py, NULL);
    if (r.status != 0)
        PC_FAIL("Python's XML parser rejects %s (%d):\n%s", path, r.status, r.err);
    inner_free(&r);
}

/* Every line of a TAP stream is TAP: the version, a pragma, the plan, a
 * test line, a comment, a YAML block line, or "Bail out!". */
static void expect_all_tap(const char *text)
{
    static const char *const starts[] = {
        "TAP version 13", "pragma +strict", "1..", "ok ", "not ok ", "#", "  ",
        "Bail out!"};
    for (const char *line = text; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        int ok = 0;
        for (size_t i = 0; i < sizeof starts / sizeof starts[0] && !ok; i++)
            ok = strncmp(line, starts[i], strlen(starts[i])) == 0;
        if (!ok)
            PC_FAIL("not a TAP line: '%.*s' in:\n%s", (int)len, line, text);
        line += len + (line[len] == '\n');
    }
}

/* prove (Debian's perl) must accept the stream in file: status 0 when
 * nothing failed, and never a parse error (pragma +strict makes any
 * non-TAP line one). */
static void expect_prove_accepts(const char *file, int want_status)
{
    const char *prove = find_program("prove");
    if (prove == NULL)
        PC_SKIP("prove not installed (Debian: perl); the stream passed the line check "
                "only");
    struct inner r;
    const char *argv[] = {prove, "-e", "cat", file, NULL};
    run_inner(&r, argv, NULL);
    EXPECT_NOT_IN(r.out, "Parse errors");
    if (r.status != want_status)
        PC_FAIL("prove exited %d, not %d:\n%s%s", r.status, want_status, r.out, r.err);
    inner_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                   */

PC_TEST(junit_bad_bytes, "runner.junit-any-output-parses")
{
    pc_set_timeout_ms(20000);
    char path[64];
    temp_path(path, sizeof path, "junit");
    struct inner r;
    const char *argv[] = {
        pc_self_path(), "--junit",           path, "-f", "runner-guard.bad-bytes",
        "-f",           "runner-guard.skip", NULL};
    run_inner(&r, argv, NULL);
    PC_ASSERT_EQ_INT(r.status, 1);
    char *xml = read_file(path);
    EXPECT_IN(xml, "good: \xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 &lt;&amp;&gt;");
    EXPECT_IN(xml, "bad: \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ");
    EXPECT_IN(xml, "ctl: \\x01\\x1b[31m\\x7f\\x0b");
    EXPECT_IN(xml,
              "failing with bad bytes: \xef\xbf\xbd\xef\xbf\xbd and ]]&gt; &lt;tag&gt;");
    free(xml);
    expect_xml_parses(path);
    unlink(path);
    inner_free(&r);
}

PC_TEST(tap_strict, "runner.tap-every-line-is-tap")
{
    pc_set_timeout_ms(20000);
    char path[64];
    temp_path(path, sizeof path, "tap");
    struct inner_opts o = {path, 0, NULL, 0, -1, 0, 0, 0};
    /* Passes and a skip: prove says all is well. */
    const char *good[] = {
        pc_self_path(),      "--tap", "-j1", "-f", "runner.typed-asserts-pass", "-f",
        "runner-guard.skip", NULL};
    struct inner r;
    run_inner(&r, good, &o);
    PC_ASSERT_EQ_INT(r.status, 0);
    inner_free(&r);
    char *tap = read_file(path);
    expect_all_tap(tap);
    EXPECT_IN(tap, "\n# 1 passed, 0 failed, 1 skipped\n");
    free(tap);
    expect_prove_accepts(path, 0);

    /* A failure whose message and output hold bad bytes: a YAML block. */
    const char *bad[] = {pc_self_path(),
                         "--tap",
                         "-j1",
                         "-f",
                         "runner-guard.bad-bytes",
                         "-f",
                         "runner.typed-asserts-pass",
                         NULL};
    run_inner(&r, bad, &o);
    PC_ASSERT_EQ_INT(r.status, 1);
    inner_free(&r);
    tap = read_file(path);
    expect_all_tap(tap);
    EXPECT_IN(tap, "\nnot ok 2 - runner-guard.bad-bytes\n  ---\n");
    free(tap);
    expect_prove_accepts(path, 1);
    unlink(path);
}

PC_TEST(pipecheck_tap_prove, "pipecheck.tap-into-prove")
{
    pc_set_timeout_ms(60000);
    const char *pipecheck = pipecheck_path();
    char path[64];
    temp_path(path, sizeof path, "tap");
    struct inner_opts o = {path, 0, NULL, 0, -1, 0, 0, 0};
    const char *argv[] = {pipecheck, "--tap", "--kinds",     "pipe,any", "--backend",
                          "poll",    "-f",    "[RL][1-4].*", NULL};
    struct inner r;
    run_inner(&r, argv, &o);
    PC_ASSERT_EQ_INT(r.status, 0);
    inner_free(&r);
    char *tap = read_file(path);
    expect_all_tap(tap);
    EXPECT_IN(tap, "ok 1 - ");
    EXPECT_IN(tap, " failed, 0 skipped\n");
    free(tap);
    expect_prove_accepts(path, 0);
    unlink(path);
}

/* ------------------------------------------------------------------------ */
/* Interruption                                                              */

static void interrupt_case(int sig, const char *signame, int tap)
{
    pc_set_timeout_ms(20000);
    char path[64];
    temp_path(path, sizeof path, "junit");
    int ready[2];
    PC_ASSERT_EQ_INT(pipe2(ready, O_CLOEXEC), 0);
    /* The second run of the test must never start. */
    const char *argv[] = {pc_self_path(),
                          "-j1",
                          "--repeat",
                          "2",
                          "--timeout-multiplier",
                          "100",
                          "--junit",
                          path,
                          "-f",
                          "runner-guard.ready-then-hang",
                          tap ? "--tap" : "-v",
                          NULL};
    struct inner_opts o = {NULL, 0, NULL, ready[1], ready[0], sig, 0, 0};
    struct inner r;
    run_inner(&r, argv, &o);
    close(ready[1]);
    PC_ASSERT_EQ_INT(r.status, 128 + sig);
    char line[128];
    snprintf(line, sizeof line, "%sinterrupted by %s: 1 test stopped, 1 not started\n",
             tap ? "# " : "", signame);
    EXPECT_IN(r.out, line);
    if (tap) {
        expect_all_tap(r.out);
        snprintf(line, sizeof line, "\nBail out! interrupted by %s\n", signame);
        EXPECT_IN(r.out, line);
        EXPECT_IN(r.out, "# stopped while running: runner-guard.ready-then-hang\n");
    } else {
        EXPECT_IN(r.out, "STOPPED runner-guard.ready-then-hang (");
    }
    const char *summary =
        tap ? "# 0 passed, 0 failed, 0 skipped\n" : "0 passed, 0 failed, 0 skipped\n";
    size_t out_len = strlen(r.out), summary_len = strlen(summary);
    PC_ASSERT_GE_SIZE(out_len, summary_len);
    PC_ASSERT_EQ_STR(r.out + out_len - summary_len, summary);

    /* The test and the child it forked are gone: the ready pipe's last
     * writers were in the killed process group. */
    struct pollfd p = {ready[0], POLLIN, 0};
    PC_ASSERT_EQ_INT(poll(&p, 1, (int)pc_timeout_ms()), 1);
    char byte;
    PC_ASSERT_EQ_INT(read(ready[0], &byte, 1), 0);
    close(ready[0]);

    char *xml = read_file(path);
    snprintf(line, sizeof line, "<property name=\"interrupted\" value=\"%s\"/>", signame);
    EXPECT_IN(xml, line);
    EXPECT_IN(xml, "<property name=\"not-started\" value=\"1\"/>");
    EXPECT_IN(xml, "name=\"runner-guard.ready-then-hang\" time=\"");
    EXPECT_IN(xml, "<error type=\"interrupted\" message=\"stopped by ");
    EXPECT_IN(xml, "tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\"");
    free(xml);
    expect_xml_parses(path);
    unlink(path);
    inner_free(&r);
}

PC_TEST(interrupt_sigint, "runner.sigint-stops-the-run")
{
    interrupt_case(SIGINT, "SIGINT", 0);
}

PC_TEST(interrupt_sigterm_tap, "runner.sigterm-stops-the-run-tap")
{
    interrupt_case(SIGTERM, "SIGTERM", 1);
}

/* ------------------------------------------------------------------------ */
/* Files and streams that cannot be written                                  */

PC_TEST(stdout_full, "runner.stdout-write-error-exits-1")
{
    pc_set_timeout_ms(20000);
    struct inner_opts o = {"/dev/full", 0, NULL, 0, -1, 0, 0, 0};
    struct inner r;
    const char *run[] = {pc_self_path(), "-f", "runner.typed-asserts-pass", NULL};
    run_inner(&r, run, &o);
    PC_ASSERT_EQ_INT(r.status, 1);
    EXPECT_IN(r.err, "writing to stdout failed");
    inner_free(&r);
    const char *list[] = {pc_self_path(), "--list", NULL};
    run_inner(&r, list, &o);
    PC_ASSERT_EQ_INT(r.status, 1);
    EXPECT_IN(r.err, "writing to stdout failed");
    inner_free(&r);
    const char *pipecheck[] = {pipecheck_path(), "--version", NULL};
    run_inner(&r, pipecheck, &o);
    PC_ASSERT_EQ_INT(r.status, 1);
    EXPECT_IN(r.err, "writing to stdout failed");
    inner_free(&r);
}

PC_TEST(junit_path_first, "runner.junit-path-checked-before-the-run")
{
    int ready[2];
    PC_ASSERT_EQ_INT(pipe2(ready, O_CLOEXEC), 0);
    const char *argv[] = {pc_self_path(),
                          "--junit",
                          "/nonexistent-pipecheck-dir/report.xml",
                          "-f",
                          "runner-guard.ready-then-hang",
                          NULL};
    struct inner_opts o = {NULL, 0, NULL, ready[1], -1, 0, 0, 0};
    struct inner r;
    run_inner(&r, argv, &o);
    close(ready[1]);
    PC_ASSERT_EQ_INT(r.status, 1);
    EXPECT_IN(r.err, "cannot write the JUnit file /nonexistent-pipecheck-dir/report.xml");
    PC_ASSERT_EQ_STR(r.out, "");
    /* The test never ran: nothing was written to the ready pipe. */
    char byte;
    PC_ASSERT_EQ_INT(read(ready[0], &byte, 1), 0);
    close(ready[0]);
    inner_free(&r);
}

/* ------------------------------------------------------------------------ */
/* The terminal: progress and colour                                         */

PC_TEST(progress_terminal, "runner.progress-and-colour-on-a-terminal")
{
    pc_set_timeout_ms(30000);
    /* assert, slow, assert, slow: when the second assert starts the run
     * is past a second, with one failure. */
    const char *slow[] = {
        pc_self_path(),        "-vj1", "--repeat", "2", "-f", "runner-guard.slow", "-f",
        "runner-guard.assert", NULL};
    static const char *const tty_env[] = {"CI", "NO_COLOR", "TERM=xterm", NULL};
    /* stdout and stderr each on a terminal: the progress line (done/total,
     * failures, seconds elapsed, the test started last) goes to stderr
     * only, and is erased at the end. */
    struct inner_opts o = {NULL, 1, tty_env, 0, -1, 0, 1, 80};
    struct inner r;
    run_inner(&r, slow, &o);
    PC_ASSERT_EQ_INT(r.status, 1);
    EXPECT_IN(r.err, "\r\033[K[2/4] 1 failed  ");
    EXPECT_IN(r.err, " s  runner-guard.assert");
    PC_ASSERT(strlen(r.err) >= 4);
    PC_ASSERT_EQ_STR(r.err + strlen(r.err) - 4, "\r\033[K");
    EXPECT_NOT_IN(r.out, "\033[K");
    EXPECT_IN(r.out, "\033[32mPASS\033[0m runner-guard.slow (");
    EXPECT_IN(r.out, "\033[1;31mFAIL\033[0m runner-guard.assert (");
    inner_free(&r);

    /* TAP on stdout, stderr a terminal: no progress line anywhere. */
    const char *slow_tap[] = {pc_self_path(),      "--tap", "-j1", "--repeat", "2", "-f",
                              "runner-guard.slow", NULL};
    run_inner(&r, slow_tap, &o);
    PC_ASSERT_EQ_INT(r.status, 0);
    EXPECT_NOT_IN(r.err, "\033[K");
    EXPECT_NOT_IN(r.out, "\033");
    inner_free(&r);

    /* Not a terminal: nothing but the lines, however long the run;
     * --color=always colours them all the same. */
    struct inner_opts p = {NULL, 0, tty_env, 0, -1, 0, 0, 0};
    run_inner(&r, slow, &p);
    PC_ASSERT_EQ_INT(r.status, 1);
    EXPECT_NOT_IN(r.out, "\r");
    EXPECT_NOT_IN(r.out, "\033");
    EXPECT_NOT_IN(r.err, "\033");
    EXPECT_IN(r.out, "\nPASS runner-guard.slow (");
    inner_free(&r);
    const char *always[] = {pc_self_path(),      "-v", "--color=always", "-f",
                            "runner-guard.skip", NULL};
    run_inner(&r, always, &p);
    EXPECT_IN(r.out, "\033[33mSKIP\033[0m runner-guard.skip (");
    inner_free(&r);
    const char *never[] = {pc_self_path(),      "-v", "--color", "never", "-f",
                           "runner-guard.skip", NULL};
    run_inner(&r, never, &o);
    EXPECT_IN(r.out, "SKIP runner-guard.skip (");
    EXPECT_NOT_IN(r.out, "\033");
    inner_free(&r);

    /* NO_COLOR on a terminal: no colour; a short run: no progress line. */
    const char *quick[] = {pc_self_path(),
                           "-v",
                           "-f",
                           "runner-guard.skip",
                           "-f",
                           "runner.typed-asserts-pass",
                           NULL};
    static const char *const no_colour_env[] = {"CI", "NO_COLOR=1", "TERM=xterm", NULL};
    o.env = no_colour_env;
    run_inner(&r, quick, &o);
    PC_ASSERT_EQ_INT(r.status, 0);
    EXPECT_IN(r.out, "SKIP runner-guard.skip (");
    EXPECT_IN(r.out, "PASS runner.typed-asserts-pass (");
    EXPECT_NOT_IN(r.out, "\033");
    inner_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

PC_TEST(version, "runner.version")
{
    struct inner r;
    const char *argv[] = {pc_self_path(), "--version", NULL};
    run_inner(&r, argv, NULL);
    PC_ASSERT_EQ_INT(r.status, 0);
    char want[4200];
    snprintf(want, sizeof want, "%s (pipecheck) %s\n", strrchr(pc_self_path(), '/') + 1,
             pl_version_string());
    PC_ASSERT_EQ_STR(r.out, want);
    inner_free(&r);
}

struct seen {
    int kinds_calls;
    const char *kinds_value;
};

static int hook(const char *arg, const char *value, void *user)
{
    struct seen *seen = user;
    if (strcmp(arg, "--kinds") == 0) {
        seen->kinds_calls++;
        seen->kinds_value = value;
        return value ? PC_OPTION_TAKES_VALUE : -1;
    }
    return PC_OPTION_UNKNOWN;
}

#define A(s) ((char *)(s))

static int parse(pc_options *opts, char **argv, struct seen *seen)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    pc_options_init(opts);
    return pc_options_parse(opts, argc, argv, hook, seen);
}

PC_TEST(options_edges, "runner.options-combined-and-missing-values")
{
    pc_options o;
    struct seen seen = {0, NULL};
    char *combined[] = {A("x"), A("-lv"), A("-vj2"), A("-fR4.*"), A("-j"), A("3"), NULL};
    PC_ASSERT_OK(parse(&o, combined, &seen));
    PC_ASSERT_EQ_INT(o.list, 1);
    PC_ASSERT_EQ_INT(o.verbose, 1);
    PC_ASSERT_EQ_UINT(o.jobs, 3);
    PC_ASSERT_EQ_SIZE(o.filter_count, 1);
    PC_ASSERT_EQ_STR(o.filters[0], "R4.*");
    pc_options_free(&o);

    char *version[] = {A("x"), A("--version"), A("--filter=-odd"), A("-"), NULL};
    PC_ASSERT_OK(parse(&o, version, &seen));
    PC_ASSERT_EQ_INT(o.version, 1);
    PC_ASSERT_EQ_SIZE(o.filter_count, 2);
    PC_ASSERT_EQ_STR(o.filters[0], "-odd");
    PC_ASSERT_EQ_STR(o.filters[1], "-");
    pc_options_free(&o);

    /* A missing value never swallows the next option. */
    char *bad[][4] = {{A("x"), A("--junit"), A("--filter"), A("X")},
                      {A("x"), A("-f"), A("-v"), NULL},
                      {A("x"), A("-vj"), A("--tap"), NULL},
                      {A("x"), A("--seed"), A("-1"), NULL},
                      {A("x"), A("-lq"), NULL, NULL},
                      {A("x"), A("--junit"), NULL, NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[5] = {bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL};
        PC_ASSERT_ERR(parse(&o, argv, &seen), -EINVAL);
        PC_ASSERT_NULL(o.junit_path);
        PC_ASSERT_EQ_INT(o.tap, 0);
        pc_options_free(&o);
    }

    /* The hook is not handed the next option as its value either. */
    char *hooked[] = {A("x"), A("--kinds"), A("--tap"), NULL};
    PC_ASSERT_ERR(parse(&o, hooked, &seen), -EINVAL);
    PC_ASSERT_EQ_INT(seen.kinds_calls, 1);
    PC_ASSERT_NULL(seen.kinds_value);
    PC_ASSERT_EQ_INT(o.tap, 0);
    pc_options_free(&o);
}

/* ------------------------------------------------------------------------ */
/* The pipecheck CLI's own options                                           */

PC_TEST(pipecheck_kinds, "pipecheck.kinds-and-version")
{
    const char *pipecheck = pipecheck_path();
    static const struct {
        const char *value, *message;
    } cases[] = {
        {"", "--kinds has an empty kind name"},
        {"fifo,,pty", "--kinds has an empty kind name"},
        {"fifo,", "--kinds has an empty kind name"},
        {"a-kind-name-far-longer-than-any-kind-has", "no kind has a name that long"},
        {"nosuch", "unknown kind 'nosuch'"},
        {"--backend", "--kinds needs a list"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {pipecheck, "--kinds", cases[i].value, "--list", NULL};
        struct inner r;
        run_inner(&r, argv, NULL);
        if (r.status != 2 || strstr(r.err, cases[i].message) == NULL)
            PC_FAIL("--kinds '%s': status %d, stderr:\n%s", cases[i].value, r.status,
                    r.err);
        PC_ASSERT_EQ_STR(r.out, "");
        inner_free(&r);
    }
    const char *junit[] = {pipecheck, "--junit", "--filter", "R4.*", NULL};
    struct inner r;
    run_inner(&r, junit, NULL);
    PC_ASSERT_EQ_INT(r.status, 2);
    EXPECT_IN(r.err, "--junit needs a value, not the option '--filter'");
    inner_free(&r);

    const char *version[] = {pipecheck, "--version", NULL};
    run_inner(&r, version, NULL);
    PC_ASSERT_EQ_INT(r.status, 0);
    char want[64];
    snprintf(want, sizeof want, "pipecheck %s\n", pl_version_string());
    PC_ASSERT_EQ_STR(r.out, want);
    inner_free(&r);

    const char *help[] = {pipecheck, "--help", NULL};
    run_inner(&r, help, NULL);
    PC_ASSERT_EQ_INT(r.status, 0);
    EXPECT_IN(r.out, "pipecheck --tap | prove -e cat /dev/stdin");
    inner_free(&r);
}
