/* pipecheck: run the conformance matrix on this machine, against pipeloop
 * or another implementation (a subject), and print which behaviour holds
 * where; --compare puts several subjects side by side.  It links the
 * product suite (check/suite/) only, never the self-tests in tests/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pipecheck.h>

#include "pipecheck_explain.h"
#include "pipecheck_view.h"

#define MAX_COLUMNS 32
#define ANY_KIND "any"

#define MAX_SUBJECTS 8

/* The source tree whose docs/ the --html page links to (CMakeLists.txt). */
#ifndef PIPECHECK_SOURCE_DIR
#define PIPECHECK_SOURCE_DIR NULL
#endif

struct cli {
    char kinds[MAX_COLUMNS][32]; /* selected kinds; "any" = kind-independent */
    size_t nkinds;
    int kinds_given;
    unsigned backends;            /* the PL_LOOP_* flags of the selected backends */
    double fuzz_seconds;          /* --fuzz: 0 = run the matrix */
    int fuzz_first;               /* --fuzz-first: stop at the first divergence */
    char *subjects[MAX_SUBJECTS]; /* --subject or --compare; owned */
    size_t nsubjects;
    int compare;
    const char *json_path;
    int matrix;             /* --matrix: the full grid, not one line a row */
    const char *explain_id; /* --explain ID */
    const char *json_in;    /* --json-in FILE, for --explain */
    const char *html_path;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: pipecheck [options] [GLOB...]\n"
        "\n"
        "Run the pipe-transport conformance suite over every pipe kind and poll\n"
        "backend on this machine, against pipeloop or another implementation (a\n"
        "subject), then print one line per behaviour of the spec, fitted to the\n"
        "terminal: its ID, a verdict over its kinds and backends (pass, FAIL n of\n"
        "N and where, differs: otherwise on an item the spec marks OURS, blocked\n"
        "by ID: a precondition that belongs to row ID failed, that row is graded\n"
        "on it, skip, n/a: does not apply or the subject lacks what the test\n"
        "needs) and its meaning.  --matrix prints the full grid instead.\n"
        "\n"
        "pipecheck options:\n"
        "  --subject NAME        the implementation under test (default pipeloop):\n"
        "                        pipeloop, asyncio (CPython's), uvloop, or\n"
        "                        exec:CMD (your adapter; docs/subject-protocol.md);\n"
        "                        asyncio@PYTHON, uvloop@PYTHON: with that\n"
        "                        interpreter (CPython 3.8 or later)\n"
        "  --compare LIST        several subjects, e.g. pipeloop,asyncio,uvloop: one\n"
        "                        row per behaviour, one column per subject (one\n"
        "                        per interpreter: asyncio@/usr/bin/python3.9,\n"
        "                        asyncio@...; such a column is named by version)\n"
        "  --python PATH         interpreter for asyncio/uvloop (default: python3\n"
        "                        on PATH; uvloop: Debian's python3-uvloop is for\n"
        "                        /usr/bin/python3)\n"
        "  --json FILE           every instance's result and duration, all subjects\n"
        "  --matrix              the full grid: a cell per kind and backend (per\n"
        "                        subject with --compare), lines as wide as needed\n"
        "  --explain ID          what behaviour ID is, the tests that check it\n"
        "                        (file:line), its finding and script; runs nothing\n"
        "  --json-in FILE        with --explain: the results per subject from FILE,\n"
        "                        as --json wrote it\n"
        "  --html FILE           the same as one self-contained page: the grid with\n"
        "                        filters, each cell opening its instances\n"
        "  --kinds LIST          comma-separated kinds (default: all):\n"
        "                        any (kind-independent tests)");
    for (size_t i = 0; i < pc_kind_count(); i++)
        fprintf(out, ", %s", pc_kind_get(i)->name);
    fprintf(out, "\n"
                 "  --backend NAME        epoll, poll, io_uring or all (default: all)\n"
                 "  --fuzz SECONDS        instead of the matrix, run random operation\n"
                 "                        sequences against the model for SECONDS\n"
                 "                        (--seed S replays; --kinds, --backend apply)\n"
                 "  --fuzz-first          with --fuzz: stop at the first divergence\n"
                 "\n"
                 "runner options:\n");
    pc_print_usage(out);
    fprintf(out,
            "\n"
            "examples:\n"
            "  pipecheck                          the whole matrix\n"
            "  pipecheck --subject asyncio        the same for CPython's asyncio\n"
            "  pipecheck --compare pipeloop,asyncio,uvloop --json all.json\n"
            "  pipecheck --compare pipeloop,asyncio,uvloop --html report.html\n"
            "  pipecheck --kinds fifo,pty --backend poll\n"
            "  pipecheck --matrix                 the grid, one cell per kind/backend\n"
            "  pipecheck --explain R4 --json-in all.json   R4, with those results\n"
            "  pipecheck --filter 'R*' -j 2       read-transport rows only\n"
            "  pipecheck --tap | prove -e cat /dev/stdin   TAP for prove\n"
            "  pipecheck --junit report.xml       JUnit XML with durations\n"
            "  PIPECHECK_TIMEOUT_MULTIPLIER=4 pipecheck   slow machines\n"
            "\n"
            "Exit status: 0 when nothing failed (differs, blocked and n/a are not\n"
            "failures: a blocked instance's cause fails on its own row; pipeloop is\n"
            "never blocked, its failed precondition is a FAIL; with --compare only\n"
            "pipeloop's failures and broken subjects count), 1\n"
            "on failures, 2 on bad usage, 130/143 when SIGINT/SIGTERM stopped the\n"
            "run (the partial table is printed and the JUnit/JSON files written).\n"
            "--explain: 0, or 2 for an unknown ID or an unreadable --json-in file.\n"
            "\n"
            "environment: COLUMNS (the width to fit, else the terminal's, else 80),\n"
            "NO_COLOR (no colour with --color=auto), CI (no progress line),\n"
            "PIPECHECK_TIMEOUT_MULTIPLIER, PIPECHECK_ADAPTER (the asyncio/uvloop\n"
            "adapter script).  man pipecheck has the details.\n");
}

static int add_kind(struct cli *cli, const char *name, size_t len)
{
    char buf[32];
    if (len == 0) {
        fprintf(stderr, "pipecheck: --kinds has an empty kind name (see --help)\n");
        return -EINVAL;
    }
    if (len >= sizeof buf) {
        fprintf(stderr,
                "pipecheck: --kinds: no kind has a name that long: '%.*s' (see --help)\n",
                (int)len, name);
        return -EINVAL;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (strcmp(buf, ANY_KIND) != 0 && !pc_kind_find(buf)) {
        fprintf(stderr, "pipecheck: unknown kind '%s' (see --help)\n", buf);
        return -EINVAL;
    }
    for (size_t i = 0; i < cli->nkinds; i++)
        if (strcmp(cli->kinds[i], buf) == 0)
            return 0;
    if (cli->nkinds == MAX_COLUMNS)
        return -EINVAL;
    memcpy(cli->kinds[cli->nkinds++], buf, len + 1);
    return 0;
}

static int add_subjects(struct cli *cli, const char *list)
{
    for (size_t i = 0; i < cli->nsubjects; i++)
        free(cli->subjects[i]);
    cli->nsubjects = 0;
    const char *p = list;
    while (*p) {
        /* exec:CMD may contain commas only as the last item. */
        const char *comma = strncmp(p, "exec:", 5) == 0 ? NULL : strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || cli->nsubjects == MAX_SUBJECTS) {
            fprintf(stderr, "pipecheck: bad subject list '%s'\n", list);
            return -EINVAL;
        }
        cli->subjects[cli->nsubjects] = strndup(p, len);
        if (!cli->subjects[cli->nsubjects])
            return -ENOMEM;
        cli->nsubjects++;
        p += len + (comma ? 1 : 0);
    }
    return cli->nsubjects ? 0 : -EINVAL;
}

/* The PL_LOOP_* flags of every backend. */
static unsigned all_backends(void)
{
    unsigned flags = 0;
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++)
        flags |= pc_backends[b].flag;
    return flags;
}

/* Whether an option that takes a value got a non-empty one; if not, says
 * so on stderr, what being the kind of value it wants. */
static int has_value(const char *arg, const char *value, const char *what)
{
    if (value && *value)
        return 1;
    fprintf(stderr, "pipecheck: %s needs %s\n", arg, what);
    return 0;
}

static int option_hook(const char *arg, const char *value, void *user)
{
    struct cli *cli = user;
    if (strcmp(arg, "--subject") == 0 || strcmp(arg, "--compare") == 0) {
        if (!has_value(arg, value, "a value"))
            return -EINVAL;
        cli->compare = strcmp(arg, "--compare") == 0;
        if (!cli->compare && (strchr(value, ',') && strncmp(value, "exec:", 5) != 0)) {
            fprintf(stderr, "pipecheck: --subject takes one name (see --compare)\n");
            return -EINVAL;
        }
        return add_subjects(cli, value) < 0 ? -EINVAL : PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--python") == 0) {
        if (!has_value(arg, value, "a path"))
            return -EINVAL;
        pc_subject_set_python(value);
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--json") == 0) {
        if (!has_value(arg, value, "a file name"))
            return -EINVAL;
        cli->json_path = value;
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--html") == 0) {
        if (!has_value(arg, value, "a file name"))
            return -EINVAL;
        cli->html_path = value;
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--kinds") == 0) {
        if (!value) {
            fprintf(stderr, "pipecheck: --kinds needs a list\n");
            return -EINVAL;
        }
        cli->nkinds = 0;
        cli->kinds_given = 1;
        const char *p = value;
        if (*p == '\0')
            return add_kind(cli, p, 0);
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (add_kind(cli, p, len) < 0)
                return -EINVAL;
            if (!comma)
                break;
            p = comma + 1;
        }
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--fuzz") == 0) {
        char *end = NULL;
        double seconds = value ? strtod(value, &end) : 0;
        if (!value || end == value || *end || !(seconds > 0) || seconds > 1e6) {
            fprintf(stderr, "pipecheck: --fuzz takes a number of seconds\n");
            return -EINVAL;
        }
        cli->fuzz_seconds = seconds;
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--matrix") == 0) {
        cli->matrix = 1;
        return PC_OPTION_TAKES_ARG;
    }
    if (strcmp(arg, "--explain") == 0 || strcmp(arg, "--json-in") == 0) {
        if (!has_value(arg, value,
                       arg[2] == 'e' ? "a behaviour ID, e.g. R4" : "a file name"))
            return -EINVAL;
        *(arg[2] == 'e' ? &cli->explain_id : &cli->json_in) = value;
        return PC_OPTION_TAKES_VALUE;
    }
    if (strcmp(arg, "--fuzz-first") == 0) {
        cli->fuzz_first = 1;
        return PC_OPTION_TAKES_ARG;
    }
    if (strcmp(arg, "--backend") == 0) {
        const pc_backend *b = value ? pc_backend_find(value) : NULL;
        if (b)
            cli->backends = b->flag;
        else if (value && strcmp(value, "all") == 0)
            cli->backends = all_backends();
        else {
            fprintf(stderr, "pipecheck: --backend takes epoll, poll, io_uring or all\n");
            return -EINVAL;
        }
        return PC_OPTION_TAKES_VALUE;
    }
    return PC_OPTION_UNKNOWN;
}

/* Split "ID.slug@kind/backend" (or "ID.slug@backend") into its parts.
 * Returns 0 if the name has that shape and ID is a spec ID. */
static int parse_name(const char *name, char *id, size_t idlen, char *kind,
                      size_t kindlen, char *backend, size_t backendlen)
{
    const char *dot = strchr(name, '.');
    const char *at = strrchr(name, '@');
    if (!dot || !at || dot > at || (size_t)(dot - name) >= idlen)
        return -1;
    memcpy(id, name, (size_t)(dot - name));
    id[dot - name] = '\0';
    if (!pc_spec_find(id))
        return -1;
    const char *slash = strchr(at, '/');
    if (slash) {
        size_t n = (size_t)(slash - at - 1);
        if (n >= kindlen)
            return -1;
        memcpy(kind, at + 1, n);
        kind[n] = '\0';
        snprintf(backend, backendlen, "%s", slash + 1);
    } else {
        snprintf(kind, kindlen, "%s", ANY_KIND);
        snprintf(backend, backendlen, "%s", at + 1);
    }
    return 0;
}

static int kind_selected(const struct cli *cli, const char *kind)
{
    for (size_t i = 0; i < cli->nkinds; i++)
        if (strcmp(cli->kinds[i], kind) == 0)
            return 1;
    return 0;
}

static int backend_selected(const struct cli *cli, const char *backend)
{
    const pc_backend *b = pc_backend_find(backend);
    return b && (cli->backends & b->flag);
}

/* ---- the instances -------------------------------------------------------- */

/*
 * The matrix is the spec-named tests on the selected kinds and backends,
 * further narrowed by any --filter the user gave.  Every subject gets a
 * result for every one of them: run, or n/a without running.
 */
struct instance {
    const char *name;
    char id[16], kind[32], backend[16];
};

static int collect_instances(const pc_options *opts, const struct cli *cli,
                             struct instance **out, size_t *count)
{
    struct instance *list = calloc(pc_test_count() + 1, sizeof *list);
    if (!list)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < pc_test_count(); i++) {
        const char *name = pc_test_name(i);
        unsigned flags = pc_test_flags(i);
        struct instance *in = &list[n];
        if (flags & PC_TEST_HIDDEN)
            continue;
        if (parse_name(name, in->id, sizeof in->id, in->kind, sizeof in->kind,
                       in->backend, sizeof in->backend))
            continue;
        if (!kind_selected(cli, in->kind) || !backend_selected(cli, in->backend))
            continue;
        if (opts->filter_count && !pc_options_match(opts, name, flags))
            continue;
        in->name = name;
        n++;
    }
    *out = list;
    *count = n;
    return 0;
}

struct cell {
    enum outcome outcome;
    double seconds;
    const char *message; /* borrowed from the results, or static */
    char blocked_by[16]; /* OUT_BLOCKED: the ID whose precondition failed */
    char why[192];       /* a missing capability's n/a message */
    const char *output;  /* the test's captured output, borrowed; or NULL */
};

struct column {
    const pc_subject *subject;
    const char *spec; /* as given, or "asyncio 3.8.18" for asyncio@PYTHON */
    char label[48];
    int available;
    pc_results *results;
    struct cell *cells; /* one per instance */
    double seconds;     /* wall time of its run */
    int broken;         /* a failure came from the subject itself */
};

/* A subject given with its interpreter ("asyncio@/path/python3") is named
 * by what the probe found: "asyncio 3.8.18" (the CPython version). */
static void name_column(struct column *col)
{
    const char *at = strchr(col->spec, '@');
    const char *version = strstr(col->subject->describe, "CPython ");
    if (!at || strncmp(col->spec, "exec:", 5) == 0 || !col->available || !version)
        return;
    version += strlen("CPython ");
    snprintf(col->label, sizeof col->label, "%.*s %.*s", (int)(at - col->spec), col->spec,
             (int)strcspn(version, " "), version);
    col->spec = col->label;
}

/* Is subject pipeloop itself, the implementation the spec describes (its
 * OURS items are its own choices)?  Asked of the subject's capabilities,
 * not of its address: a subject with pipeloop's API is pipeloop. */
static int is_pipeloop(const pc_subject *subject)
{
    return (subject->caps & PC_CAP_PIPELOOP_API) != 0;
}

/* Why a subject cannot run an instance, or NULL if it can; buf (may be
 * NULL) gets the longer reason of a missing capability. */
static const char *not_applicable(const pc_subject *subject, const char *name, char *buf,
                                  size_t len)
{
    const char *backend = NULL;
    const pc_conformance *test = pc_conformance_of(name, &backend);
    if (!test)
        return is_pipeloop(subject) ? NULL : "n/a: a pipeloop-only test (pl_* API)";
    unsigned missing = test->caps & ~subject->caps;
    if (missing && buf) {
        /* A method the subject's version lacks: say which, and what runs. */
        if (missing & PC_CAP_IS_READING)
            snprintf(buf, len, "n/a: the subject has no is_reading (%s)",
                     subject->describe);
        else
            snprintf(buf, len, "n/a: the subject lacks %s, which the test needs",
                     pc_subject_cap_name(missing & -missing));
        return buf;
    }
    if (missing)
        return "n/a: the subject lacks a capability the test needs";
    if (!pc_subject_has_backend(subject, backend))
        return "n/a: the subject has no such backend";
    return NULL;
}

static void clear_filters(pc_options *opts)
{
    for (size_t i = 0; i < opts->filter_count; i++)
        free(opts->filters[i]);
    free(opts->filters);
    opts->filters = NULL;
    opts->filter_count = 0;
}

/* A failure that the subject's own code caused (crash, hang, protocol
 * breach, an exception its loop reported) rather than a behaviour. */
static int subject_broke(const char *message)
{
    return strstr(message, "subject_remote.c:") != NULL &&
           strstr(message, "(last sent: '") != NULL;
}

/* An exception or warning the subject's loop reported on its own: never
 * "differs", whatever the item. */
static int subject_reported(const char *message)
{
    return strstr(message, "reported by the subject's loop") != NULL;
}

/* A skip of PC_REQUIRE's: "blocked by F3: ...".  Copies the ID and
 * returns 1, or 0 for another skip. */
static int blocked_id(const char *message, char *id, size_t idlen)
{
    size_t plen = strlen(PC_BLOCKED_PREFIX);
    if (strncmp(message, PC_BLOCKED_PREFIX, plen) != 0)
        return 0;
    const char *start = message + plen, *colon = strchr(start, ':');
    if (!colon || colon == start || (size_t)(colon - start) >= idlen)
        return 0;
    memcpy(id, start, (size_t)(colon - start));
    id[colon - start] = '\0';
    return 1;
}

/* Run the instances column's subject can run and fill its cells. */
static int run_column(pc_options *opts, const struct instance *list, size_t n,
                      struct column *col, int quiet_runner)
{
    col->cells = calloc(n ? n : 1, sizeof *col->cells);
    if (!col->cells)
        return -ENOMEM;
    clear_filters(opts);
    size_t runnable = 0;
    for (size_t i = 0; i < n; i++) {
        if (!col->available) {
            col->cells[i].outcome = OUT_UNAVAILABLE;
            col->cells[i].message = pc_subject_probe_error(col->subject);
            continue;
        }
        const char *why = not_applicable(col->subject, list[i].name, col->cells[i].why,
                                         sizeof col->cells[i].why);
        if (why) {
            col->cells[i].outcome = OUT_NA;
            col->cells[i].message = why;
            continue;
        }
        if (pc_options_add_filter(opts, list[i].name) != 0)
            return -ENOMEM;
        col->cells[i].outcome = OUT_NA;
        col->cells[i].message = "n/a: no result";
        runnable++;
    }
    if (runnable == 0)
        return 0;
    pc_subject_set(col->subject);
    /* With several subjects, the runner's line per failure would bury the
     * table: its output goes away and the table says why instead. */
    int saved = -1;
    if (quiet_runner) {
        fflush(stdout);
        saved = dup(1);
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (saved >= 0 && null >= 0)
            dup2(null, 1);
        if (null >= 0)
            close(null);
    }
    uint64_t start = pc_now_ns();
    (void)pc_subject_start(col->subject);
    int err = pc_run(opts, &col->results);
    pc_subject_stop(col->subject);
    col->seconds = (double)(pc_now_ns() - start) / 1e9;
    if (saved >= 0) {
        fflush(stdout);
        dup2(saved, 1);
        close(saved);
    }
    pc_subject_set(NULL);
    if (!col->results)
        return err ? err : -EIO;
    for (size_t r = 0; r < pc_results_count(col->results); r++) {
        const pc_result *res = pc_results_get(col->results, r);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].name, res->name) != 0)
                continue;
            struct cell *c = &col->cells[i];
            c->seconds = res->seconds;
            c->message = res->message;
            c->output = res->output;
            if (res->status == PC_PASS)
                c->outcome = OUT_PASS;
            else if (res->status == PC_SKIP &&
                     blocked_id(res->message, c->blocked_by, sizeof c->blocked_by))
                c->outcome = OUT_BLOCKED;
            else if (res->status == PC_SKIP)
                c->outcome = strncmp(res->message, "n/a", 3) == 0 ? OUT_NA : OUT_SKIP;
            else if (res->status != PC_FAIL)
                c->outcome = OUT_OTHER; /* a status this CLI does not know */
            else if (subject_broke(res->message))
                c->outcome = OUT_FAIL, col->broken = 1;
            else if (subject_reported(res->message))
                c->outcome = OUT_FAIL;
            else if (!is_pipeloop(col->subject) && pc_spec_is_ours(list[i].id))
                c->outcome = OUT_DIFFERS;
            else
                c->outcome = OUT_FAIL;
            break;
        }
    }
    return err;
}

/* ---- printing ------------------------------------------------------------ */

static const char *outcome_word(enum outcome o)
{
    return view_outcome_names[o].word;
}

static void print_cell(FILE *out, int color, enum outcome o, const char *text, int width)
{
    fputc(' ', out);
    view_print_colored(out, color, o, text, width);
}

/* One subject: a row per behaviour, a cell per kind and backend. */
static void print_matrix(const struct cli *cli, const struct instance *list, size_t n,
                         const struct column *col, int color, FILE *out)
{
    const pc_backend *backends[PC_BACKEND_COUNT];
    size_t nbackends = 0;
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++)
        if (cli->backends & pc_backends[b].flag)
            backends[nbackends++] = &pc_backends[b];
    size_t ncols = cli->nkinds * nbackends;

    if (col->available)
        fprintf(out, "\nsubject: %s\n", col->subject->describe);
    else
        fprintf(out, "\nsubject: %s: unavailable: %s\n", col->spec,
                pc_subject_probe_error(col->subject));
    /* Header: kinds over their backend columns. */
    fprintf(out, "%-5s", "");
    for (size_t k = 0; k < cli->nkinds; k++)
        fprintf(out, " %-*.*s", (int)(6 * nbackends - 1), (int)(6 * nbackends - 1),
                cli->kinds[k]);
    fprintf(out, "\n%-5s", "ID");
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, " %-5.5s", backends[c % nbackends]->column);
    fprintf(out, "  meaning\n");

    const char *section = NULL;
    int any_differs = 0, any_blocked = 0;
    for (size_t s = 0; s < pc_spec_count(); s++) {
        const pc_spec_item *item = pc_spec_get(s);
        enum outcome cells[MAX_COLUMNS * 3];
        int any = 0;
        for (size_t c = 0; c < ncols; c++)
            cells[c] = OUT_NA;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].id, item->id) != 0)
                continue;
            any = 1;
            for (size_t c = 0; c < ncols; c++) {
                if (strcmp(cli->kinds[c / nbackends], list[i].kind) != 0 ||
                    strcmp(backends[c % nbackends]->name, list[i].backend) != 0)
                    continue;
                if (col->cells[i].outcome > cells[c])
                    cells[c] = col->cells[i].outcome;
            }
        }
        if (!any)
            continue;
        if (!section || strcmp(section, item->section) != 0) {
            section = item->section;
            fprintf(out, "%s\n", section);
        }
        fprintf(out, "%-5s", item->id);
        for (size_t c = 0; c < ncols; c++) {
            print_cell(out, color, cells[c], outcome_word(cells[c]), 5);
            any_differs |= cells[c] == OUT_DIFFERS;
            any_blocked |= cells[c] == OUT_BLOCKED;
        }
        fprintf(out, "  %s%s\n", item->meaning,
                pc_spec_is_ours(item->id) ? " (OURS)" : "");
    }
    if (any_differs)
        fprintf(out, "\ndiff: behaves otherwise on an item the spec marks OURS (see "
                     "docs/behaviours.md and docs/findings.md)\n");
    if (any_blocked)
        fprintf(out, "blkd: blocked, a precondition that belongs to another row failed "
                     "(listed below)\n");
    fprintf(out, "\n");
}

/* The I/O mode (pl_transport_get_io_mode) a default transport gets on the
 * near end of each kind, read and write (spec X1-X4): which mechanism keeps
 * the shared description untouched there. */
static const char *io_mode_of(const pc_kind *kind, pc_dir dir)
{
    static const pl_protocol silent = {0};
    pc_pair pair;
    pl_loop *loop;
    pl_transport *t;
    if (pc_pair_open(kind, dir, 0, &pair) != 0)
        return "-";
    const char *name = "-";
    if (pl_loop_new(&loop, 0) == 0) {
        int err = dir == PC_DIR_READ
                      ? pl_connect_read_pipe(loop, pair.near, &silent, NULL, &t)
                      : pl_connect_write_pipe(loop, pair.near, &silent, NULL, &t);
        if (err == 0) {
            pair.near = -1;
            name = pl_io_mode_name(pl_transport_get_io_mode(t));
            pl_transport_abort(t);
        }
        while (pl_loop_close(loop) == -EBUSY)
            pl_loop_run_once(loop, 100);
    }
    pc_pair_close(&pair);
    return name;
}

static void print_io_modes(const struct cli *cli, int width, FILE *out)
{
    view_print_fitted(out, width,
                      "I/O mode per kind, read end/write end (see pl_connect_read_pipe):",
                      0, OUT_NA, 0, 0);
    for (size_t k = 0; k < cli->nkinds; k++) {
        const pc_kind *kind = pc_kind_find(cli->kinds[k]);
        char line[256];
        if (!kind)
            continue;
        snprintf(line, sizeof line, "  %-11s %s/%s", kind->name,
                 io_mode_of(kind, PC_DIR_READ), io_mode_of(kind, PC_DIR_WRITE));
        view_print_fitted(out, width, line, 0, OUT_NA, 0, 0);
    }
    fprintf(out, "\n");
}

/* --fuzz: the summary line is the last line printed. */
static int run_fuzz(const struct cli *cli, const pc_options *opts)
{
    const char *names[MAX_COLUMNS];
    size_t n = 0;
    for (size_t k = 0; cli->kinds_given && k < cli->nkinds; k++)
        if (strcmp(cli->kinds[k], ANY_KIND) != 0)
            names[n++] = cli->kinds[k];
    pc_fuzz_options fo;
    memset(&fo, 0, sizeof fo);
    fo.seconds = cli->fuzz_seconds;
    fo.seed = opts->seed_given ? opts->seed : 0;
    fo.kinds = names;
    fo.nkinds = n;
    fo.backends = cli->backends;
    fo.log = stdout;
    fo.stop_at_first = cli->fuzz_first;
    pc_fuzz_result r;
    int err = pc_fuzz(&fo, &r);
    if (err) {
        fprintf(stderr, "pipecheck: --fuzz: %s\n", pl_strerror(err));
        return err == -EINVAL ? 2 : 1;
    }
    printf("fuzz: %llu sequences, %llu operations, %llu divergences\n",
           (unsigned long long)r.sequences, (unsigned long long)r.operations,
           (unsigned long long)r.divergences);
    return fflush(stdout) != 0 || r.divergences ? 1 : 0;
}

struct tally {
    size_t run, pass, fail, differs, blocked, skip, na, unavailable;
    const char *first_failure;
    const char *blocked_by; /* the first blocked instance's ID */
};

static struct tally tally_of(const struct instance *list, size_t n,
                             const struct column *col, const char *id)
{
    struct tally t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < n; i++) {
        if (id && strcmp(list[i].id, id) != 0)
            continue;
        const struct cell *c = &col->cells[i];
        switch (c->outcome) {
        case OUT_PASS:
            t.run++, t.pass++;
            break;
        case OUT_FAIL:
            t.run++, t.fail++;
            if (!t.first_failure)
                t.first_failure = list[i].name;
            break;
        case OUT_DIFFERS:
            t.run++, t.differs++;
            break;
        case OUT_BLOCKED:
            t.run++, t.blocked++;
            if (!t.blocked_by)
                t.blocked_by = c->blocked_by;
            break;
        case OUT_SKIP:
            t.run++, t.skip++;
            break;
        case OUT_OTHER: /* a status this CLI does not know: never a pass */
            t.run++, t.fail++;
            if (!t.first_failure)
                t.first_failure = list[i].name;
            break;
        case OUT_UNAVAILABLE:
            t.unavailable++;
            break;
        case OUT_NA:
            t.na++;
            break;
        }
    }
    return t;
}

/* The cells of behaviour id for one subject: one per selected kind and
 * backend that has an instance of id, with the worst outcome there. */
static size_t cells_of(const struct cli *cli, const struct instance *list, size_t n,
                       const struct column *col, const char *id, struct view_cell *cells)
{
    size_t count = 0;
    for (size_t k = 0; k < cli->nkinds; k++)
        for (size_t b = 0; b < PC_BACKEND_COUNT; b++) {
            if (!(cli->backends & pc_backends[b].flag))
                continue;
            int any = 0;
            enum outcome worst = OUT_NA;
            for (size_t i = 0; i < n; i++) {
                if (strcmp(list[i].id, id) != 0 ||
                    strcmp(list[i].kind, cli->kinds[k]) != 0 ||
                    strcmp(list[i].backend, pc_backends[b].name) != 0)
                    continue;
                if (!any || col->cells[i].outcome > worst)
                    worst = col->cells[i].outcome;
                any = 1;
            }
            if (any)
                cells[count++] =
                    (struct view_cell){cli->kinds[k], pc_backends[b].name, worst};
        }
    return count;
}

static int has_instances(const struct instance *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].id, id) == 0)
            return 1;
    return 0;
}

/* One row of the compact view, before fitting. */
struct row {
    const pc_spec_item *item;
    char verdict[512];
    enum outcome lead;
};

/* Print rows as "ID  verdict  meaning", each fitted to width, with the
 * section names between them. */
static void print_rows(const struct row *rows, size_t nrows, int color, int width,
                       FILE *out)
{
    /* The verdicts line up in a column as wide as the longest that fits
     * a quarter of the width; a longer one ("pass, n/a on io_uring for
     * fifo, fifo-nb") pushes its meaning along rather than widening every
     * row. */
    size_t verdict_width = 4;
    for (size_t r = 0; r < nrows; r++) {
        size_t len = strlen(rows[r].verdict);
        if (len > verdict_width && len <= (size_t)width / 4)
            verdict_width = len;
    }
    const char *section = NULL;
    for (size_t r = 0; r < nrows; r++) {
        const pc_spec_item *item = rows[r].item;
        if (!section || strcmp(section, item->section) != 0) {
            section = item->section;
            view_print_fitted(out, width, section, 0, OUT_NA, 0, 0);
        }
        char line[1024];
        snprintf(line, sizeof line, "%-5s %-*s  %s%s", item->id, (int)verdict_width,
                 rows[r].verdict, item->meaning,
                 pc_spec_is_ours(item->id) ? " (OURS)" : "");
        /* The colour marks the verdict's first word (pass, FAIL, n/a...). */
        size_t word = strcspn(rows[r].verdict, " ,");
        view_print_fitted(out, width, line, color, rows[r].lead, 6, word);
    }
}

/* The default view of one subject: a line per behaviour. */
static void print_compact(const struct cli *cli, const struct instance *list, size_t n,
                          const struct column *col, int color, int width, FILE *out)
{
    char line[1024];
    if (col->available)
        snprintf(line, sizeof line, "subject: %s", col->subject->describe);
    else
        snprintf(line, sizeof line, "subject: %s: unavailable: %s", col->spec,
                 pc_subject_probe_error(col->subject));
    fputc('\n', out);
    view_print_fitted(out, width, line, 0, OUT_NA, 0, 0);
    struct row *rows = calloc(pc_spec_count(), sizeof *rows);
    struct view_cell *cells = calloc(MAX_COLUMNS * PC_BACKEND_COUNT, sizeof *cells);
    size_t nrows = 0;
    int any_differs = 0;
    for (size_t s = 0; rows && cells && s < pc_spec_count(); s++) {
        const pc_spec_item *item = pc_spec_get(s);
        if (!has_instances(list, n, item->id))
            continue;
        size_t ncells = cells_of(cli, list, n, col, item->id, cells);
        rows[nrows].item = item;
        rows[nrows].lead =
            view_verdict(cells, ncells, rows[nrows].verdict, sizeof rows[nrows].verdict);
        any_differs |= rows[nrows].lead == OUT_DIFFERS;
        if (rows[nrows].lead == OUT_BLOCKED) {
            /* "blocked 4 of 4" -> "blocked by W2, 4 of 4": name the row
             * that grades the failed precondition. */
            struct tally t = tally_of(list, n, col, item->id);
            char named[sizeof rows[nrows].verdict];
            snprintf(named, sizeof named, "blocked by %s,%s", t.blocked_by,
                     rows[nrows].verdict + strlen("blocked"));
            memcpy(rows[nrows].verdict, named, sizeof named);
        }
        nrows++;
    }
    print_rows(rows, nrows, color, width, out);
    free(rows);
    free(cells);
    if (any_differs)
        view_print_fitted(out, width,
                          "differs: otherwise on an item the spec marks OURS "
                          "(docs/findings.md)",
                          0, OUT_NA, 0, 0);
    view_print_fitted(out, width,
                      "the grid per kind and backend: --matrix; one behaviour: "
                      "--explain ID",
                      0, OUT_NA, 0, 0);
    fputc('\n', out);
}

#define COMPARE_WIDTH 16

/* The verdict of one subject on one behaviour, short, for --compare. */
static enum outcome compare_cell(const struct instance *list, size_t n,
                                 const struct column *col, const char *id, char *text,
                                 size_t size)
{
    struct tally t = tally_of(list, n, col, id);
    if (t.unavailable)
        return snprintf(text, size, "unavailable"), OUT_UNAVAILABLE;
    if (t.run == 0)
        return snprintf(text, size, "n/a"), OUT_NA;
    if (t.fail)
        return snprintf(text, size, "FAIL %zu of %zu", t.fail, t.run), OUT_FAIL;
    if (t.differs)
        return snprintf(text, size, "differs"), OUT_DIFFERS;
    if (t.blocked)
        return snprintf(text, size, "blocked by %s", t.blocked_by), OUT_BLOCKED;
    if (t.pass)
        return snprintf(text, size, "pass"), OUT_PASS;
    return snprintf(text, size, "skip"), OUT_SKIP;
}

/* Several subjects: a row per behaviour, a column per subject when the
 * columns fit the width (and --matrix always), else a line per behaviour
 * naming the subjects that do not pass. */
static void print_compare(const struct cli *cli, const struct instance *list, size_t n,
                          const struct column *cols, size_t ncols, int color, int width,
                          FILE *out)
{
    /* The grid fits when its meaning column keeps 30 characters. */
    int grid_width = 5 + (int)ncols * (COMPARE_WIDTH + 1) + 2;
    int grid = cli->matrix || grid_width + 30 <= width;
    if (grid) {
        fprintf(out, "\n%-5s", "ID");
        for (size_t c = 0; c < ncols; c++)
            fprintf(out, " %-*.*s", COMPARE_WIDTH, COMPARE_WIDTH, cols[c].spec);
        fprintf(out, "  meaning\n");
    } else {
        fputc('\n', out);
    }
    struct row *rows = calloc(pc_spec_count(), sizeof *rows);
    size_t nrows = 0;
    const char *section = NULL;
    for (size_t s = 0; rows && s < pc_spec_count(); s++) {
        const pc_spec_item *item = pc_spec_get(s);
        if (!has_instances(list, n, item->id))
            continue;
        if (!grid) {
            /* The subjects that do not pass, worst first in the colour. */
            struct row *r = &rows[nrows++];
            r->item = item;
            r->lead = OUT_PASS;
            for (size_t c = 0; c < ncols; c++) {
                char text[64], part[160];
                enum outcome o =
                    compare_cell(list, n, &cols[c], item->id, text, sizeof text);
                if (o == OUT_PASS)
                    continue;
                if (o > r->lead || r->lead == OUT_PASS)
                    r->lead = o;
                snprintf(part, sizeof part, "%s%s %s", r->verdict[0] ? ", " : "",
                         cols[c].spec, text);
                strncat(r->verdict, part, sizeof r->verdict - strlen(r->verdict) - 1);
            }
            if (!r->verdict[0])
                snprintf(r->verdict, sizeof r->verdict, "pass (all %zu)", ncols);
            continue;
        }
        if (!section || strcmp(section, item->section) != 0) {
            section = item->section;
            fprintf(out, "%s\n", section);
        }
        fprintf(out, "%-5s", item->id);
        for (size_t c = 0; c < ncols; c++) {
            char text[64];
            enum outcome o = compare_cell(list, n, &cols[c], item->id, text, sizeof text);
            print_cell(out, color, o, text, COMPARE_WIDTH);
        }
        char meaning[512];
        snprintf(meaning, sizeof meaning, "  %s%s", item->meaning,
                 pc_spec_is_ours(item->id) ? " (OURS)" : "");
        if (cli->matrix)
            fprintf(out, "%s\n", meaning);
        else
            view_print_fitted(out, width - grid_width + 2, meaning, 0, OUT_NA, 0, 0);
    }
    if (!grid)
        print_rows(rows, nrows, color, width, out);
    free(rows);
    fprintf(out, "\n");
    view_print_fitted(out, cli->matrix ? 10000 : width,
                      "differs: behaves otherwise on an item the spec marks OURS "
                      "(docs/behaviours.md; docs/findings.md)",
                      0, OUT_NA, 0, 0);
    view_print_fitted(out, cli->matrix ? 10000 : width,
                      "blocked by ID: not graded here, a precondition that belongs to "
                      "row ID failed (listed below)",
                      0, OUT_NA, 0, 0);
    for (size_t c = 0; c < ncols; c++) {
        char line[1024];
        if (!cols[c].available) {
            snprintf(line, sizeof line, "%s: unavailable: %s", cols[c].spec,
                     pc_subject_probe_error(cols[c].subject));
            view_print_fitted(out, cli->matrix ? 10000 : width, line, 0, OUT_NA, 0, 0);
            continue;
        }
        struct tally t = tally_of(list, n, &cols[c], NULL);
        snprintf(line, sizeof line, "%s: %s", cols[c].spec, cols[c].subject->describe);
        view_print_fitted(out, cli->matrix ? 10000 : width, line, 0, OUT_NA, 0, 0);
        snprintf(
            line, sizeof line,
            "  %zu instances: %zu pass, %zu FAIL, %zu blocked, %zu differ, %zu skip, "
            "%zu n/a; %.1f s",
            n, t.pass, t.fail, t.blocked, t.differs, t.skip, t.na, cols[c].seconds);
        view_print_fitted(out, cli->matrix ? 10000 : width, line, 0, OUT_NA, 0, 0);
    }
}

/* The first failure of every FAIL row, one line each: why, briefly. */
static void print_reasons(const struct instance *list, size_t n,
                          const struct column *cols, size_t ncols, int width, FILE *out)
{
    int header = 0;
    for (size_t c = 0; c < ncols; c++)
        for (size_t s = 0; s < pc_spec_count(); s++) {
            const char *id = pc_spec_get(s)->id;
            for (size_t i = 0; i < n; i++) {
                if (strcmp(list[i].id, id) != 0 || cols[c].cells[i].outcome != OUT_FAIL)
                    continue;
                if (!header)
                    fprintf(out, "\nfirst failure of each FAIL cell:\n"), header = 1;
                const char *m = cols[c].cells[i].message;
                const char *nl = strchr(m, '\n');
                char line[1024];
                snprintf(line, sizeof line, "  %s %s: %.*s", cols[c].spec, list[i].name,
                         (int)(nl ? nl - m : (ptrdiff_t)strlen(m)), m);
                view_print_fitted(out, width, line, 0, OUT_NA, 0, 0);
                break;
            }
        }
}

/* The blocked instances, apart: one line per row and subject, with the
 * first one's message (which names the failed precondition's check). */
static void print_blocked(const struct instance *list, size_t n,
                          const struct column *cols, size_t ncols, FILE *out)
{
    int header = 0;
    for (size_t c = 0; c < ncols; c++)
        for (size_t s = 0; s < pc_spec_count(); s++) {
            const char *id = pc_spec_get(s)->id;
            struct tally t = tally_of(list, n, &cols[c], id);
            if (!t.blocked)
                continue;
            for (size_t i = 0; i < n; i++) {
                if (strcmp(list[i].id, id) != 0 ||
                    cols[c].cells[i].outcome != OUT_BLOCKED)
                    continue;
                if (!header)
                    fprintf(out, "\nblocked (not graded on their own row; the first "
                                 "of each row and subject):\n"),
                        header = 1;
                const char *m = cols[c].cells[i].message;
                const char *nl = strchr(m, '\n');
                fprintf(out, "  %s %s (%zu of %zu): %.*s\n", cols[c].spec, list[i].name,
                        t.blocked, t.run, (int)(nl ? nl - m : (ptrdiff_t)strlen(m)), m);
                break;
            }
        }
}

static const char *outcome_json(enum outcome o)
{
    return view_outcome_names[o].json;
}

static void json_document(FILE *f, const struct instance *list, size_t n,
                          const struct column *cols, size_t ncols)
{
    fprintf(f, "{\n  \"subjects\": [\n");
    for (size_t c = 0; c < ncols; c++) {
        fprintf(f, "    {\"name\": ");
        pc_json_write_string(f, cols[c].spec);
        fprintf(f, ", \"describe\": ");
        pc_json_write_string(f, cols[c].subject->describe);
        fprintf(f,
                ", \"available\": %s, \"error\": ", cols[c].available ? "true" : "false");
        pc_json_write_string(f, pc_subject_probe_error(cols[c].subject));
        fprintf(f, ", \"seconds\": %.3f}%s\n", cols[c].seconds, c + 1 < ncols ? "," : "");
    }
    fprintf(f, "  ],\n  \"results\": [\n");
    for (size_t c = 0; c < ncols; c++)
        for (size_t i = 0; i < n; i++) {
            const struct cell *cell = &cols[c].cells[i];
            fprintf(f, "    {\"subject\": ");
            pc_json_write_string(f, cols[c].spec);
            fprintf(f, ", \"test\": ");
            pc_json_write_string(f, list[i].name);
            fprintf(f, ", \"id\": ");
            pc_json_write_string(f, list[i].id);
            fprintf(f, ", \"kind\": ");
            pc_json_write_string(f, list[i].kind);
            fprintf(f, ", \"backend\": ");
            pc_json_write_string(f, list[i].backend);
            fprintf(
                f, ", \"ours\": %s, \"status\": \"%s\", \"seconds\": %.3f, \"message\": ",
                pc_spec_is_ours(list[i].id) ? "true" : "false",
                outcome_json(cell->outcome), cell->seconds);
            pc_json_write_string(f, cell->message ? cell->message : "");
            fprintf(f, ", \"output\": ");
            pc_json_write_string(f, cell->output);
            if (cell->outcome == OUT_BLOCKED) {
                fprintf(f, ", \"blocked_by\": ");
                pc_json_write_string(f, cell->blocked_by);
            }
            fprintf(f, "}%s\n", c + 1 < ncols || i + 1 < n ? "," : "");
        }
    fprintf(f, "  ]\n}\n");
}

static int write_json(const char *path, const struct instance *list, size_t n,
                      const struct column *cols, size_t ncols)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pipecheck: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    json_document(f, list, n, cols, ncols);
    int err = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && !err)
        err = -errno;
    return err;
}

/* --html: the JSON document as a page (check/report_html.c), its links
 * into this source tree's docs/ when it is there. */
static int write_html(const char *path, const struct instance *list, size_t n,
                      const struct column *cols, size_t ncols)
{
    char *json = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&json, &len);
    if (!m)
        return -ENOMEM;
    json_document(m, list, n, cols, ncols);
    int err =
        fclose(m) != 0 ? -ENOMEM : pc_report_html_file(path, json, PIPECHECK_SOURCE_DIR);
    free(json);
    return err;
}

int main(int argc, char **argv)
{
    struct cli cli;
    memset(&cli, 0, sizeof cli);
    cli.backends = all_backends();
    add_kind(&cli, ANY_KIND, strlen(ANY_KIND));
    for (size_t i = 0; i < pc_kind_count(); i++)
        add_kind(&cli, pc_kind_get(i)->name, strlen(pc_kind_get(i)->name));

    pc_options opts;
    pc_options_init(&opts);
    int status = 1;
    struct instance *list = NULL;
    struct column cols[MAX_SUBJECTS];
    size_t ncols = 0;
    memset(cols, 0, sizeof cols);
    int err = pc_options_parse(&opts, argc, argv, option_hook, &cli);
    if (err) {
        status = err == -EINVAL ? 2 : 1;
        goto out;
    }
    if (opts.help || opts.version) {
        if (opts.help)
            usage(stdout);
        else
            printf("pipecheck %s\n", pl_version_string());
        status = pc_exit_status(NULL, 0);
        goto out;
    }
    if (cli.fuzz_seconds > 0) {
        status = run_fuzz(&cli, &opts);
        goto out;
    }
    if (cli.json_in && !cli.explain_id) {
        fprintf(stderr, "pipecheck: --json-in goes with --explain ID (see --help)\n");
        status = 2;
        goto out;
    }
    if (cli.explain_id) {
        status =
            explain(cli.explain_id, cli.json_in, pc_color_wanted(&opts, STDOUT_FILENO),
                    view_width(STDOUT_FILENO), stdout);
        goto out;
    }
    if (cli.nsubjects == 0 && add_subjects(&cli, "pipeloop") != 0)
        goto out;
    size_t n = 0;
    if (collect_instances(&opts, &cli, &list, &n) != 0) {
        fprintf(stderr, "pipecheck: out of memory\n");
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "pipecheck: no test matches the given kinds, backends and "
                        "filters\n");
        status = 2;
        goto out;
    }
    for (size_t s = 0; s < cli.nsubjects; s++) {
        const pc_subject *subject = pc_subject_find(cli.subjects[s]);
        if (!subject) {
            status = 2;
            goto out;
        }
        cols[ncols].subject = subject;
        cols[ncols].spec = cli.subjects[s];
        cols[ncols].available =
            pc_subject_probe(subject, cli.compare ? NULL : stderr) == 0;
        name_column(&cols[ncols]);
        ncols++;
    }
    if (opts.list) {
        for (size_t c = 0; c < ncols; c++)
            for (size_t i = 0; i < n; i++) {
                const char *why =
                    cols[c].available
                        ? not_applicable(cols[c].subject, list[i].name, NULL, 0)
                        : "";
                if (!why)
                    printf("%s%s%s\n", ncols > 1 ? cols[c].spec : "",
                           ncols > 1 ? " " : "", list[i].name);
            }
        status = pc_exit_status(NULL, 0);
        goto out;
    }
    /* One subject that cannot run at all (not installed, an interpreter
     * older than the adapter supports): its reason once, not a table of
     * cells that all say the same. */
    if (!cli.compare && !cols[0].available) {
        status = 1;
        goto out;
    }
    int failed = 0;
    for (size_t c = 0; c < ncols; c++) {
        if (cli.compare)
            fprintf(stderr, "pipecheck: running %s...\n", cols[c].spec);
        err = run_column(&opts, list, n, &cols[c], cli.compare && !opts.verbose);
        if (err < 0 && !cols[c].results && err != -ENOENT) {
            fprintf(stderr, "pipecheck: %s: %s\n", cols[c].spec, pl_strerror(err));
            goto out;
        }
        struct tally t = tally_of(list, n, &cols[c], NULL);
        if (!cols[c].available && !cli.compare)
            failed = 1;
        /* Alone, any failure counts; side by side, pipeloop's failures and
         * subjects that broke (a crash, a hang, an exception). */
        if (t.fail && (!cli.compare || is_pipeloop(cols[c].subject) || cols[c].broken))
            failed = 1;
        /* An expect file judges by its verdicts instead: a known failure
         * is fine, any change is not. */
        if (opts.expect_path != NULL && !cli.compare && cols[c].results)
            failed = !cols[c].available || pc_results_unexpected(cols[c].results) > 0;
    }
    if (!opts.tap) {
        int color = pc_color_wanted(&opts, STDOUT_FILENO);
        /* --matrix is the full grid whatever the terminal: no cut lines. */
        int width = cli.matrix ? 100000 : view_width(STDOUT_FILENO);
        if (cli.compare) {
            print_compare(&cli, list, n, cols, ncols, color, width, stdout);
            print_reasons(list, n, cols, ncols, width, stdout);
            print_blocked(list, n, cols, ncols, stdout);
        } else if (cli.matrix) {
            print_matrix(&cli, list, n, &cols[0], color, stdout);
            print_blocked(list, n, cols, ncols, stdout);
            if (is_pipeloop(cols[0].subject) && cols[0].results)
                print_io_modes(&cli, width, stdout);
        } else {
            print_compact(&cli, list, n, &cols[0], color, width, stdout);
            print_blocked(list, n, cols, ncols, stdout);
            if (is_pipeloop(cols[0].subject) && cols[0].results)
                print_io_modes(&cli, width, stdout);
        }
    }
    if (cli.json_path && write_json(cli.json_path, list, n, cols, ncols) != 0)
        failed = 1;
    if (cli.html_path && write_html(cli.html_path, list, n, cols, ncols) != 0)
        failed = 1;
    if (!cli.compare && cols[0].results) {
        pc_results_print_summary(cols[0].results);
    } else if (cli.compare) {
        size_t pass = 0, fail = 0, skip = 0, blocked = 0;
        for (size_t c = 0; c < ncols; c++) {
            struct tally t = tally_of(list, n, &cols[c], NULL);
            pass += t.pass, fail += t.fail + t.differs,
                skip += t.skip + t.na + t.unavailable, blocked += t.blocked;
        }
        /* Blocked instances are neither passes nor failures: they are
         * counted with the skips and named above. */
        printf("%zu passed, %zu failed, %zu skipped (%zu of them blocked)\n", pass, fail,
               skip + blocked, blocked);
    }
    status = failed ? 1 : 0;
    /* An interrupted run's 130/143, and lost stdout output, as the runner
     * reports them for one column. */
    for (size_t c = 0; c < ncols; c++)
        if (cols[c].results && pc_results_interrupted(cols[c].results))
            status = pc_exit_status(cols[c].results, 0);
    if (pc_exit_status(NULL, 0) != 0 && status == 0)
        status = 1;
out:
    for (size_t c = 0; c < ncols; c++) {
        pc_results_free(cols[c].results);
        free(cols[c].cells);
    }
    for (size_t s = 0; s < cli.nsubjects; s++)
        free(cli.subjects[s]);
    free(list);
    pc_options_free(&opts);
    return status;
}
