/*
 * What pipecheck prints for a person: the default view (a line per
 * behaviour, fitted to the terminal or $COLUMNS, its verdicts agreeing
 * with the --json of the same run), --matrix, --compare at two widths,
 * colour on a terminal and not elsewhere, --explain for every ID (its
 * tests' file:line and finding scripts exist in the source tree), and the
 * man page in step with --help.  All over the real pipecheck binary.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#include "inner.h"

#ifndef PIPECHECK_SOURCE_DIR
#define PIPECHECK_SOURCE_DIR "."
#endif

/* The columns the line at s (up to its newline) takes on a terminal: one
 * per character, none for a colour sequence or a carriage return. */
static size_t line_columns(const char *s)
{
    size_t cols = 0;
    while (*s && *s != '\n') {
        if (*s == '\033') {
            while (*s && !isalpha((unsigned char)*s))
                s++;
            if (*s)
                s++;
            continue;
        }
        if (*s != '\r' && ((unsigned char)*s & 0xc0u) != 0x80u)
            cols++;
        s++;
    }
    return cols;
}

static void expect_lines_fit(const char *text, size_t width)
{
    size_t lines = 0;
    for (const char *line = text; *line; lines++) {
        if (line_columns(line) > width)
            PC_FAIL("a line of %zu columns, over %zu:\n%.*s\n(in:\n%s)",
                    line_columns(line), width, (int)strcspn(line, "\n"), line, text);
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
    PC_ASSERT_GT_SIZE(lines, 5);
}

/* The line of out that starts with "ID " (a row of behaviour id), or NULL. */
static const char *row_of(const char *out, const char *id)
{
    size_t len = strlen(id);
    for (const char *line = out; *line;) {
        if (strncmp(line, id, len) == 0 && line[len] == ' ')
            return line;
        line += strcspn(line, "\n");
        line += *line == '\n';
    }
    return NULL;
}

/* The statuses the --json file gives id (for one subject): a bit each. */
enum { SEEN_PASS = 1, SEEN_FAIL = 2, SEEN_NA = 4, SEEN_OTHER = 8 };
static unsigned json_statuses(const char *json, const char *subject, const char *id)
{
    char want_id[32], want_subject[64];
    snprintf(want_id, sizeof want_id, "\"id\": \"%s\"", id);
    snprintf(want_subject, sizeof want_subject, "{\"subject\": \"%s\"", subject);
    unsigned seen = 0;
    for (const char *line = json; *line;) {
        size_t len = strcspn(line, "\n");
        char copy[8192];
        snprintf(copy, sizeof copy, "%.*s", (int)len, line);
        if (strstr(copy, want_id) && strstr(copy, want_subject)) {
            if (strstr(copy, "\"status\": \"pass\""))
                seen |= SEEN_PASS;
            else if (strstr(copy, "\"status\": \"fail\""))
                seen |= SEEN_FAIL;
            else if (strstr(copy, "\"status\": \"n/a\""))
                seen |= SEEN_NA;
            else
                seen |= SEEN_OTHER;
        }
        line += len + (line[len] == '\n');
    }
    return seen;
}

/* The verdict in a row "ID    verdict  meaning" (after the ID). */
static const char *verdict_of(const char *row)
{
    const char *v = row + strcspn(row, " ");
    while (*v == ' ')
        v++;
    return v;
}

/* Check a row's verdict against what the JSON says of its instances. */
static void expect_verdict(const char *row, unsigned seen, const char *id)
{
    const char *v = verdict_of(row);
    if (seen & SEEN_FAIL) {
        if (strncmp(v, "FAIL ", 5) != 0)
            PC_FAIL("%s failed in the JSON, but its row says: %.*s", id,
                    (int)strcspn(row, "\n"), row);
    } else if (seen == SEEN_PASS || seen == (SEEN_PASS | SEEN_NA)) {
        if (strncmp(v, "pass", 4) != 0)
            PC_FAIL("%s passed in the JSON, but its row says: %.*s", id,
                    (int)strcspn(row, "\n"), row);
        /* n/a cells are named unless the line was cut before them. */
        if ((seen & SEEN_NA) && strncmp(v, "pass, n/a on ", 13) != 0)
            PC_FAIL("%s has n/a instances, its row does not say where: %.*s", id,
                    (int)strcspn(row, "\n"), row);
    }
}

PC_TEST(cli_default_view, "pipecheck.default-view-fits-80-columns")
{
    pc_set_timeout_ms(240000);
    const char *pipecheck = pipecheck_path();
    char json_path[64];
    temp_path(json_path, sizeof json_path, "view-json");
    const char *argv[] = {pipecheck, "-j",   "2",    "--kinds", "any,pipe,fifo,pty",
                          "-f",      "R1.*", "-f",   "R9.*",    "-f",
                          "L1.*",    "-f",   "C1.*", "--json",  json_path,
                          NULL};
    /* Not a terminal and no COLUMNS: 80 columns. */
    static const char *const env[] = {"COLUMNS", "CI", NULL};
    struct inner_opts o = {NULL, 0, env, 0, -1, 0, 0, 0};
    struct inner r;
    run_inner(&r, argv, &o);
    if (r.status != 0 && r.status != 1)
        PC_FAIL("pipecheck exited %d:\n%s\n%s", r.status, r.out, r.err);
    expect_lines_fit(r.out, 80);
    EXPECT_NOT_IN(r.out, "\033");
    char *json = read_file(json_path);
    static const char *const ids[] = {"R1", "R9", "L1", "C1"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *row = row_of(r.out, ids[i]);
        if (!row)
            PC_FAIL("no row for %s in:\n%s", ids[i], r.out);
        expect_verdict(row, json_statuses(json, "pipeloop", ids[i]), ids[i]);
    }
    inner_free(&r);

    /* --explain with that file: pipeloop's verdict on R9 agrees too. */
    const char *explain[] = {pipecheck, "--explain", "R9", "--json-in", json_path, NULL};
    run_inner(&r, explain, &o);
    PC_ASSERT_EQ_INT(r.status, 0);
    const char *results = strstr(r.out, "\nresults in ");
    PC_ASSERT_NOT_NULL(results);
    const char *row = strstr(results, "\n  pipeloop ");
    PC_ASSERT_NOT_NULL(row);
    expect_verdict(row + 3, json_statuses(json, "pipeloop", "R9"), "R9");
    inner_free(&r);
    free(json);
    unlink(json_path);

    /* COLUMNS narrower still; the grid behind --matrix is never cut. */
    static const char *const narrow[] = {"COLUMNS=50", "CI", NULL};
    const char *small[] = {pipecheck, "--kinds", "pipe,fifo", "-f", "R1.*", NULL};
    o.env = narrow;
    run_inner(&r, small, &o);
    expect_lines_fit(r.out, 50);
    PC_ASSERT_NOT_NULL(row_of(r.out, "R1"));
    inner_free(&r);
    const char *matrix[] = {pipecheck, "--matrix", "--kinds", "pipe,fifo",
                            "-f",      "R1.*",     NULL};
    run_inner(&r, matrix, &o);
    row = row_of(r.out, "R1");
    if (!row)
        PC_FAIL("no R1 row in the grid:\n%s", r.out);
    /* A cell per kind and backend, then the whole meaning. */
    size_t cells = 0;
    for (const char *p = verdict_of(row); *p && *p != '\n' && cells < 6; cells++) {
        p += strcspn(p, " \n");
        while (*p == ' ')
            p++;
    }
    PC_ASSERT_EQ_SIZE(cells, 6);
    EXPECT_IN(row, pc_spec_find("R1")->meaning);
    EXPECT_IN(r.out, " epoll poll  uring");
    inner_free(&r);
}

PC_TEST(cli_colour, "pipecheck.colour-on-a-terminal-only")
{
    pc_set_timeout_ms(120000);
    const char *pipecheck = pipecheck_path();
    const char *argv[] = {pipecheck, "--kinds", "pipe", "--backend",
                          "poll",    "-f",      "R*",   NULL};
    /* A terminal 60 columns wide: coloured verdicts, lines within 60. */
    static const char *const tty_env[] = {"COLUMNS", "CI", "NO_COLOR", "TERM=xterm",
                                          NULL};
    struct inner_opts o = {NULL, 1, tty_env, 0, -1, 0, 0, 60};
    struct inner r;
    run_inner(&r, argv, &o);
    expect_lines_fit(r.out, 60);
    /* Every row's verdict is coloured: R1's is a coloured word. */
    const char *row = row_of(r.out, "R1");
    PC_ASSERT_NOT_NULL(row);
    EXPECT_IN(verdict_of(row), "\033[0m");
    PC_ASSERT(verdict_of(row)[0] == '\033');
    inner_free(&r);

    /* NO_COLOR, and --color=never, on the terminal: none. */
    static const char *const no_color_env[] = {"COLUMNS", "CI", "NO_COLOR=1",
                                               "TERM=xterm", NULL};
    o.env = no_color_env;
    run_inner(&r, argv, &o);
    EXPECT_NOT_IN(r.out, "\033");
    PC_ASSERT_NOT_NULL(row_of(r.out, "R1"));
    inner_free(&r);
    o.env = tty_env;
    const char *never[] = {pipecheck, "--color=never", "--kinds",
                           "pipe",    "--backend",     "poll",
                           "-f",      "R1.*",          NULL};
    run_inner(&r, never, &o);
    EXPECT_NOT_IN(r.out, "\033");
    inner_free(&r);

    /* A pipe: none, unless --color=always. */
    struct inner_opts p = {NULL, 0, tty_env, 0, -1, 0, 0, 0};
    run_inner(&r, argv, &p);
    EXPECT_NOT_IN(r.out, "\033");
    inner_free(&r);
    const char *always[] = {pipecheck,   "--color", "always", "--kinds", "pipe",
                            "--backend", "poll",    "-f",     "R1.*",    NULL};
    run_inner(&r, always, &p);
    row = row_of(r.out, "R1");
    PC_ASSERT_NOT_NULL(row);
    PC_ASSERT(verdict_of(row)[0] == '\033');
    inner_free(&r);
}

PC_TEST(cli_compare_width, "pipecheck.compare-fits-the-width")
{
    pc_set_timeout_ms(120000);
    const char *pipecheck = pipecheck_path();
    const char *argv[] = {pipecheck, "--compare", "pipeloop,pipeloop",
                          "--kinds", "pipe",      "-f",
                          "R1.*",    "-f",        "R4.*",
                          NULL};
    /* 60 columns cannot hold two 16-wide columns and a meaning: a line
     * per behaviour. */
    static const char *const narrow[] = {"COLUMNS=60", "CI", NULL};
    struct inner_opts o = {NULL, 0, narrow, 0, -1, 0, 0, 0};
    struct inner r;
    run_inner(&r, argv, &o);
    expect_lines_fit(r.out, 60);
    EXPECT_NOT_IN(r.out, "meaning\n");
    const char *row = row_of(r.out, "R4");
    PC_ASSERT_NOT_NULL(row);
    inner_free(&r);
    /* 200 columns: the grid, a column per subject, still within 200. */
    static const char *const wide[] = {"COLUMNS=200", "CI", NULL};
    o.env = wide;
    run_inner(&r, argv, &o);
    expect_lines_fit(r.out, 200);
    EXPECT_IN(r.out, "ID    pipeloop         pipeloop          meaning\n");
    PC_ASSERT_NOT_NULL(row_of(r.out, "R4"));
    inner_free(&r);
}

/* The registered tests of id, by their name before '@', as --list says. */
static char *list_of(const char *pipecheck, const char *id)
{
    char glob[32];
    snprintf(glob, sizeof glob, "%s.*", id);
    const char *argv[] = {pipecheck, "--list", "-f", glob, NULL};
    struct inner r;
    run_inner(&r, argv, NULL);
    free(r.err);
    return r.out;
}

/* Lines [line, line + 3] of the source file: where a test's name is. */
static void expect_defined_at(const char *path, int line, const char *name)
{
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", PIPECHECK_SOURCE_DIR, path);
    FILE *f = fopen(full, "re");
    if (!f)
        PC_FAIL("--explain names %s:%d, which does not exist", path, line);
    /* The name is a string literal at the macro (PC_TEST) or its slug is
     * a field of it (PC_CONFORMANCE, over a few lines). */
    const char *dot = strchr(name, '.');
    char text[4096] = "", buf[1024];
    for (int n = 1; fgets(buf, sizeof buf, f) && n <= line + 3; n++)
        if (n >= line)
            strncat(text, buf, sizeof text - strlen(text) - 1);
    fclose(f);
    char slug[300];
    snprintf(slug, sizeof slug, "\"%s\"", dot ? dot + 1 : name);
    char quoted[300];
    snprintf(quoted, sizeof quoted, "\"%s", name); /* "R9.x@pipe" is R9.x too */
    if (!strstr(text, quoted) && !strstr(text, slug))
        PC_FAIL("%s is not defined at %s:%d:\n%s", name, path, line, text);
}

PC_TEST(cli_explain, "pipecheck.explain-every-id")
{
    pc_set_timeout_ms(120000);
    const char *pipecheck = pipecheck_path();
    static const char *const env[] = {"COLUMNS", "CI", NULL};
    struct inner_opts o = {NULL, 0, env, 0, -1, 0, 0, 0};
    for (size_t s = 0; s < pc_spec_count(); s++) {
        const pc_spec_item *item = pc_spec_get(s);
        const char *argv[] = {pipecheck, "--explain", item->id, NULL};
        struct inner r;
        run_inner(&r, argv, &o);
        if (r.status != 0)
            PC_FAIL("--explain %s: status %d\n%s", item->id, r.status, r.err);
        EXPECT_IN(r.out, "  pipeloop: ");
        char head[64];
        snprintf(head, sizeof head, "%s: ", item->id);
        PC_ASSERT(strncmp(r.out, head, strlen(head)) == 0);
        /* Every test of the ID, with where it is defined. */
        char *list = list_of(pipecheck, item->id);
        for (const char *name = list; *name;) {
            size_t len = strcspn(name, "@\n");
            char base[256], needle[300];
            snprintf(base, sizeof base, "%.*s", (int)len, name);
            snprintf(needle, sizeof needle, "\n  %s (", base);
            const char *at = strstr(r.out, needle);
            if (!at)
                PC_FAIL("--explain %s does not list %s:\n%s", item->id, base, r.out);
            at += strcspn(at + 1, "\n") + 2; /* its next line: "    file:line" */
            PC_ASSERT(strncmp(at, "    ", 4) == 0);
            at += 4;
            char path[512];
            int line = 0;
            if (sscanf(at, "%511[^:]:%d", path, &line) != 2)
                PC_FAIL("no file:line for %s: %.80s", base, at);
            expect_defined_at(path, line, base);
            name += strcspn(name, "\n");
            name += *name == '\n';
        }
        free(list);
        /* Every finding's script exists. */
        for (const char *p = strstr(r.out, "script: "); p;
             p = strstr(p + 1, "script: ")) {
            char script[512], full[1024];
            PC_ASSERT_EQ_INT(sscanf(p, "script: %511s", script), 1);
            snprintf(full, sizeof full, "%s/%s", PIPECHECK_SOURCE_DIR, script);
            if (access(full, R_OK) != 0)
                PC_FAIL("--explain %s names %s, which does not exist", item->id, script);
        }
        inner_free(&r);
    }

    /* An unknown ID, a missing file: exit 2 with a message, nothing on
     * stdout. */
    const char *unknown[] = {pipecheck, "--explain", "Q42", NULL};
    struct inner r;
    run_inner(&r, unknown, &o);
    PC_ASSERT_EQ_INT(r.status, 2);
    PC_ASSERT_EQ_STR(r.out, "");
    EXPECT_IN(r.err, "no behaviour 'Q42'");
    inner_free(&r);
    const char *missing[] = {
        pipecheck, "--explain", "R4", "--json-in", "/nonexistent/results.json", NULL};
    run_inner(&r, missing, &o);
    PC_ASSERT_EQ_INT(r.status, 2);
    EXPECT_IN(r.err, "/nonexistent/results.json");
    inner_free(&r);
}

PC_TEST(cli_explain_statuses, "pipecheck.explain-summarises-any-status")
{
    const char *pipecheck = pipecheck_path();
    /* A subject's results as --json writes them, with a failure, a pass, a
     * status added later ("blocked") and one this build does not know. */
    char path[64];
    temp_path(path, sizeof path, "explain-json");
    FILE *f = fopen(path, "we");
    PC_ASSERT_NOT_NULL(f);
    fputs("{\n  \"subjects\": [],\n  \"results\": [\n"
          "    {\"subject\": \"fake\", \"test\": \"R5.x@pipe/epoll\", \"id\": \"R5\", "
          "\"status\": \"fail\", \"message\": \"boom {not json}\\nsecond line\"},\n"
          "    {\"subject\": \"fake\", \"test\": \"R5.x@pipe/poll\", \"id\": \"R5\", "
          "\"status\": \"pass\", \"message\": \"\"},\n"
          "    {\"subject\": \"fake\", \"test\": \"R5.x@fifo/poll\", \"id\": \"R5\", "
          "\"status\": \"blocked\", \"message\": \"blocked by R4\"},\n"
          "    {\"subject\": \"fake\", \"test\": \"R5.x@fifo/epoll\", \"id\": \"R5\", "
          "\"status\": \"novel\", \"message\": \"\"},\n"
          "    {\"subject\": \"other\", \"test\": \"R5.x@pipe/poll\", \"id\": \"R5\", "
          "\"status\": \"blocked\", \"message\": \"blocked by R4\"}\n"
          "  ]\n}\n",
          f);
    PC_ASSERT_EQ_INT(fclose(f), 0);
    const char *argv[] = {pipecheck, "--explain", "R5", "--json-in", path, NULL};
    struct inner r;
    run_inner(&r, argv, NULL);
    PC_ASSERT_EQ_INT(r.status, 0);
    EXPECT_IN(r.out, "\n  fake       FAIL 1 of 4: pipe/epoll\n");
    EXPECT_IN(r.out, "\n    first failure, R5.x@pipe/epoll: boom {not json}\n");
    EXPECT_IN(r.out, "\n  other      blocked 1 of 1\n");
    inner_free(&r);
    unlink(path);
}

/* The options a text lists: "--name" at the start of an item, after at
 * most six spaces and an optional "-x, " (--help), or after "\-\-" on the
 * line that follows ".TP" (the man page).  Joined by spaces. */
static void options_of(const char *text, int man, char *out, size_t size)
{
    out[0] = '\0';
    int after_tp = 0;
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        const char *p = NULL;
        if (man) {
            if (after_tp && line[0] == '.')
                p = strstr(line, "\\-\\-");
            after_tp = strncmp(line, ".TP", 3) == 0;
        } else {
            size_t spaces = strspn(line, " ");
            const char *q = line + spaces;
            if (spaces >= 2 && spaces <= 6 && q[0] == '-' && q[1] != '-' && q[2] == ',')
                q += 4;
            if (spaces >= 2 && spaces <= 6 && strncmp(q, "--", 2) == 0)
                p = q;
        }
        if (p && p < line + len) {
            char name[64];
            size_t n = 0;
            for (; p < line + len && n + 1 < sizeof name; p++) {
                if (*p == '\\')
                    continue;
                if (!(isalnum((unsigned char)*p) || *p == '-'))
                    break;
                name[n++] = *p;
            }
            name[n] = '\0';
            if (n > 2) {
                strncat(out, name, size - strlen(out) - 1);
                strncat(out, " ", size - strlen(out) - 1);
            }
        }
        line += len + (line[len] == '\n');
    }
}

PC_TEST(cli_man_page, "pipecheck.man-page-matches-help")
{
    const char *pipecheck = pipecheck_path();
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/pipecheck.1", PIPECHECK_SOURCE_DIR);
    if (access(path, R_OK) != 0)
        PC_SKIP("no %s (a build outside the source tree?)", path);
    char *man = read_file(path);
    const char *argv[] = {pipecheck, "--help", NULL};
    struct inner r;
    run_inner(&r, argv, NULL);
    PC_ASSERT_EQ_INT(r.status, 0);
    char help_options[2048], man_options[2048];
    options_of(r.out, 0, help_options, sizeof help_options);
    options_of(man, 1, man_options, sizeof man_options);
    PC_ASSERT_GT_SIZE(strlen(help_options), 100);
    /* Each list's options are in the other. */
    for (int which = 0; which < 2; which++) {
        const char *from = which ? man_options : help_options;
        const char *in = which ? help_options : man_options;
        for (const char *p = from; *p;) {
            size_t len = strcspn(p, " ");
            char word[70];
            snprintf(word, sizeof word, "%.*s ", (int)len, p);
            char spaced[72];
            snprintf(spaced, sizeof spaced, " %s", word);
            if (strncmp(in, word, strlen(word)) != 0 && !strstr(in, spaced))
                PC_FAIL("%.*s is in %s but not in %s\n--help: %s\nman: %s", (int)len, p,
                        which ? "the man page" : "--help",
                        which ? "--help" : "the man page", help_options, man_options);
            p += len + (p[len] == ' ');
        }
    }
    /* The exit statuses and environment --help names are in the manual. */
    EXPECT_IN(man, ".SH EXIT STATUS");
    EXPECT_IN(man, ".SH ENVIRONMENT");
    static const char *const env[] = {
        "COLUMNS", "NO_COLOR", "CI", "PIPECHECK_TIMEOUT_MULTIPLIER", "PIPECHECK_ADAPTER"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
        EXPECT_IN(r.out, env[i]);
        char item[64];
        snprintf(item, sizeof item, ".TP\n.B %s\n", env[i]);
        EXPECT_IN(man, item);
    }
    inner_free(&r);
    free(man);
}
