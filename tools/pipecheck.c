/* pipecheck: run the conformance matrix on this machine and print which
 * behaviour holds where. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#define MAX_COLUMNS 32
#define ANY_KIND "any"

struct cli {
    char kinds[MAX_COLUMNS][32]; /* selected kinds; "any" = kind-independent */
    size_t nkinds;
    int epoll, poll;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pipecheck [options] [GLOB...]\n"
            "\n"
            "Run pipeloop's conformance suite over every pipe kind and poll backend\n"
            "on this machine, then print one row per behaviour of the spec with a\n"
            "cell per kind and backend: pass, FAIL, skip, or n/a (does not apply).\n"
            "\n"
            "pipecheck options:\n"
            "  --kinds LIST          comma-separated kinds (default: all):\n"
            "                        any (kind-independent tests)");
    for (size_t i = 0; i < pc_kind_count(); i++)
        fprintf(out, ", %s", pc_kind_get(i)->name);
    fprintf(out, "\n"
                 "  --backend NAME        epoll, poll or all (default: all)\n"
                 "\n"
                 "runner options:\n");
    pc_print_usage(out);
    fprintf(out, "\n"
                 "examples:\n"
                 "  pipecheck                          the whole matrix\n"
                 "  pipecheck --kinds fifo,pty --backend poll\n"
                 "  pipecheck --filter 'R*' -j 2       read-transport rows only\n"
                 "  pipecheck --tap | prove -e cat /dev/stdin   TAP for prove\n"
                 "  pipecheck --junit report.xml       JUnit XML with durations\n"
                 "  PIPECHECK_TIMEOUT_MULTIPLIER=4 pipecheck   slow machines\n"
                 "\n"
                 "Exit status: 0 when nothing failed, 1 on failures, 2 on bad usage,\n"
                 "130/143 when SIGINT/SIGTERM stopped the run (the partial table is\n"
                 "printed and the JUnit file written).\n");
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

static int option_hook(const char *arg, const char *value, void *user)
{
    struct cli *cli = user;
    if (strcmp(arg, "--kinds") == 0) {
        if (!value) {
            fprintf(stderr, "pipecheck: --kinds needs a list\n");
            return -EINVAL;
        }
        cli->nkinds = 0;
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
    if (strcmp(arg, "--backend") == 0) {
        if (value && strcmp(value, "all") == 0)
            cli->epoll = cli->poll = 1;
        else if (value && strcmp(value, "epoll") == 0)
            cli->epoll = 1, cli->poll = 0;
        else if (value && strcmp(value, "poll") == 0)
            cli->epoll = 0, cli->poll = 1;
        else {
            fprintf(stderr, "pipecheck: --backend takes epoll, poll or all\n");
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
    return (strcmp(backend, "epoll") == 0 && cli->epoll) ||
           (strcmp(backend, "poll") == 0 && cli->poll);
}

/*
 * The matrix is the spec-named tests on the selected kinds and backends,
 * further narrowed by any --filter the user gave.  The runner ORs its
 * filters, so the intersection is handed to it as exact names.
 */
static int select_tests(pc_options *opts, const struct cli *cli, size_t *count)
{
    pc_options user = *opts;
    char **saved = opts->filters;
    size_t nsaved = opts->filter_count;
    opts->filters = NULL;
    opts->filter_count = 0;
    int err = 0;
    *count = 0;
    for (size_t i = 0; i < pc_test_count() && !err; i++) {
        const char *name = pc_test_name(i);
        unsigned flags = pc_test_flags(i);
        char id[16], kind[32], backend[16];
        if (flags & PC_TEST_HIDDEN)
            continue;
        if (parse_name(name, id, sizeof id, kind, sizeof kind, backend, sizeof backend))
            continue;
        if (!kind_selected(cli, kind) || !backend_selected(cli, backend))
            continue;
        if (nsaved && !pc_options_match(&user, name, flags))
            continue;
        err = pc_options_add_filter(opts, name);
        (*count)++;
    }
    for (size_t i = 0; i < nsaved; i++)
        free(saved[i]);
    free(saved);
    return err;
}

enum cell { CELL_NA, CELL_SKIP, CELL_PASS, CELL_FAIL };

static const char *cell_text(enum cell c)
{
    switch (c) {
    case CELL_PASS:
        return "pass";
    case CELL_FAIL:
        return "FAIL";
    case CELL_SKIP:
        return "skip";
    case CELL_NA:
        break;
    }
    return "n/a";
}

static void print_table(const struct cli *cli, const pc_results *results, FILE *out)
{
    const char *backend_names[2];
    size_t nbackends = 0;
    if (cli->epoll)
        backend_names[nbackends++] = "epoll";
    if (cli->poll)
        backend_names[nbackends++] = "poll";
    size_t ncols = cli->nkinds * nbackends;
    int color = isatty(fileno(out)) && !getenv("NO_COLOR");

    /* Header: kinds over their backend columns. */
    fprintf(out, "\n%-5s", "");
    for (size_t k = 0; k < cli->nkinds; k++)
        fprintf(out, " %-*.*s", (int)(6 * nbackends - 1), (int)(6 * nbackends - 1),
                cli->kinds[k]);
    fprintf(out, "\n%-5s", "ID");
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, " %-5.5s", backend_names[c % nbackends]);
    fprintf(out, "  meaning\n");

    const char *section = NULL;
    for (size_t s = 0; s < pc_spec_count(); s++) {
        const pc_spec_item *item = pc_spec_get(s);
        enum cell cells[MAX_COLUMNS * 2];
        int any = 0;
        for (size_t c = 0; c < ncols; c++)
            cells[c] = CELL_NA;
        for (size_t r = 0; r < pc_results_count(results); r++) {
            const pc_result *res = pc_results_get(results, r);
            char id[16], kind[32], backend[16];
            if (parse_name(res->name, id, sizeof id, kind, sizeof kind, backend,
                           sizeof backend) ||
                strcmp(id, item->id) != 0)
                continue;
            for (size_t c = 0; c < ncols; c++) {
                if (strcmp(cli->kinds[c / nbackends], kind) != 0 ||
                    strcmp(backend_names[c % nbackends], backend) != 0)
                    continue;
                enum cell v = res->status == PC_PASS   ? CELL_PASS
                              : res->status == PC_SKIP ? CELL_SKIP
                                                       : CELL_FAIL;
                if (v > cells[c])
                    cells[c] = v;
                any = 1;
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
            const char *text = cell_text(cells[c]);
            if (color && cells[c] == CELL_FAIL)
                fprintf(out, " \033[1;31m%-5s\033[0m", text);
            else if (color && cells[c] == CELL_PASS)
                fprintf(out, " \033[32m%-5s\033[0m", text);
            else
                fprintf(out, " %-5s", text);
        }
        fprintf(out, "  %s\n", item->meaning);
    }
    fprintf(out, "\n");
}

int main(int argc, char **argv)
{
    struct cli cli;
    memset(&cli, 0, sizeof cli);
    cli.epoll = cli.poll = 1;
    add_kind(&cli, ANY_KIND, strlen(ANY_KIND));
    for (size_t i = 0; i < pc_kind_count(); i++)
        add_kind(&cli, pc_kind_get(i)->name, strlen(pc_kind_get(i)->name));

    pc_options opts;
    pc_options_init(&opts);
    int err = pc_options_parse(&opts, argc, argv, option_hook, &cli);
    if (err) {
        pc_options_free(&opts);
        return err == -EINVAL ? 2 : 1;
    }
    if (opts.help || opts.version) {
        if (opts.help)
            usage(stdout);
        else
            printf("pipecheck %s\n", pl_version_string());
        pc_options_free(&opts);
        return pc_exit_status(NULL, 0);
    }
    size_t selected = 0;
    if (select_tests(&opts, &cli, &selected) != 0) {
        fprintf(stderr, "pipecheck: out of memory\n");
        pc_options_free(&opts);
        return 1;
    }
    if (selected == 0) {
        fprintf(stderr, "pipecheck: no test matches the given kinds, backends and "
                        "filters\n");
        pc_options_free(&opts);
        return 2;
    }
    if (opts.list) {
        pc_list_tests(&opts, stdout);
        pc_options_free(&opts);
        return pc_exit_status(NULL, 0);
    }
    pc_results *results = NULL;
    err = pc_run(&opts, &results);
    if (!results) {
        fprintf(stderr, "pipecheck: %s\n", pl_strerror(err));
        pc_options_free(&opts);
        return 1;
    }
    if (!opts.tap)
        print_table(&cli, results, stdout);
    pc_results_print_summary(results);
    int status = pc_exit_status(results, err);
    pc_results_free(results);
    pc_options_free(&opts);
    return status;
}
