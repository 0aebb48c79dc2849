/* pipecheck --explain ID: the catalogue entry of a behaviour (compiled in
 * from docs/behaviours.md), the tests that check it, where they are
 * defined, its results per subject from a --json file, and its findings
 * (docs/findings.md) with their standalone scripts. */
#include "pipecheck_explain.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pipecheck.h>

#include "pipecheck_view.h"

/* Print text word-wrapped to width, every line after the first indented
 * by indent spaces (the first by first_indent). */
static void print_wrapped(FILE *out, const char *text, int first_indent, int indent,
                          int width)
{
    int col = first_indent;
    fprintf(out, "%*s", first_indent, "");
    int at_start = 1;
    while (*text) {
        while (*text == ' ')
            text++;
        size_t len = strcspn(text, " ");
        if (len == 0)
            break;
        if (!at_start && col + 1 + (int)len > width) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
            at_start = 1;
        }
        if (!at_start)
            fputc(' ', out), col++;
        fprintf(out, "%.*s", (int)len, text);
        col += (int)len;
        at_start = 0;
        text += len;
    }
    fputc('\n', out);
}

/* Markdown to plain text: no ** and no backquotes. */
static void plain(const char *md, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        if (md[i] == '`' || (md[i] == '*' && i + 1 < len && md[i + 1] == '*')) {
            i += md[i] == '*';
            continue;
        }
        buf[o++] = md[i];
    }
    buf[o] = '\0';
}

/* The catalogue row "| ID | pipeloop | asyncio |" of docs/behaviours.md. */
static void print_catalogue(const char *id, int width, FILE *out)
{
    char head[32];
    snprintf(head, sizeof head, "| %s |", id);
    for (const char *const *line = pipecheck_doc_behaviours; *line; line++) {
        if (strncmp(*line, head, strlen(head)) != 0)
            continue;
        const char *cell = *line + strlen(head);
        static const char *const who[] = {"pipeloop: ", "asyncio:  "};
        for (size_t c = 0; c < 2 && *cell; c++) {
            const char *end = strstr(cell, " |");
            size_t len = end ? (size_t)(end - cell) : strlen(cell);
            char text[4096], both[4200];
            plain(cell, len, text, sizeof text);
            snprintf(both, sizeof both, "%s%s", who[c], text + (text[0] == ' '));
            print_wrapped(out, both, 2, 12, width);
            cell = end ? end + 2 : cell + len;
        }
        return;
    }
    fprintf(out, "  (no entry in docs/behaviours.md)\n");
}

/* The path of a test's source as the build saw it, from the source tree. */
static const char *relative_source(const char *file)
{
#ifdef PIPECHECK_SOURCE_DIR
    size_t len = strlen(PIPECHECK_SOURCE_DIR);
    if (strncmp(file, PIPECHECK_SOURCE_DIR, len) == 0 && file[len] == '/')
        return file + len + 1;
#endif
    return file;
}

/* The registered tests of id, one line per test body (its instances
 * share a name before '@'): name, file:line, how many instances. */
static void print_tests(const char *id, int width, FILE *out)
{
    size_t idlen = strlen(id), shown = 0;
    for (size_t i = 0; i < pc_test_count(); i++) {
        const char *name = pc_test_name(i);
        if (strncmp(name, id, idlen) != 0 || name[idlen] != '.' ||
            (pc_test_flags(i) & PC_TEST_HIDDEN))
            continue;
        size_t base = strcspn(name, "@");
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strncmp(pc_test_name(j), name, base) == 0 &&
                   (pc_test_name(j)[base] == '@' || pc_test_name(j)[base] == '\0');
        if (seen)
            continue;
        size_t instances = 0;
        for (size_t j = i; j < pc_test_count(); j++)
            instances += strncmp(pc_test_name(j), name, base) == 0 &&
                         (pc_test_name(j)[base] == '@' || pc_test_name(j)[base] == '\0');
        int line = 0;
        const char *file = pc_test_source(i, &line);
        char text[1024], where[512];
        if (file)
            snprintf(where, sizeof where, "%s:%d", relative_source(file), line);
        else
            snprintf(where, sizeof where, "(source not recorded)");
        snprintf(text, sizeof text, "  %.*s (%zu instance%s)", (int)base, name, instances,
                 instances == 1 ? "" : "s");
        view_print_fitted(out, width, text, 0, OUT_NA, 0, 0);
        /* Its own line, so that a narrow terminal never cuts it. */
        fprintf(out, "    %s\n", where);
        shown++;
    }
    if (!shown)
        fprintf(out, "  none in this build\n");
}

/* ---- the --json file ------------------------------------------------------ */

/* One result of the file: the fields --explain uses, owned. */
struct json_result {
    char *subject, *test, *id, *status, *message;
};

/* Parse the JSON string at *p (just past its opening quote) into a new
 * string; non-ASCII \u escapes become '?'.  Advances *p past the quote. */
static char *json_take_string(const char **p)
{
    const char *s = *p;
    char *buf = malloc(strlen(s) + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    while (*s && *s != '"') {
        if (*s != '\\') {
            buf[o++] = *s++;
            continue;
        }
        s++;
        char c = *s ? *s++ : '\0';
        switch (c) {
        case 'n':
            buf[o++] = '\n';
            break;
        case 't':
            buf[o++] = '\t';
            break;
        case 'u': {
            unsigned v = 0;
            for (int k = 0; k < 4 && isxdigit((unsigned char)*s); k++, s++)
                v = v * 16 + (unsigned)(isdigit((unsigned char)*s)
                                            ? *s - '0'
                                            : tolower((unsigned char)*s) - 'a' + 10);
            buf[o++] = v < 0x80 && v >= 0x20 ? (char)v : '?';
            break;
        }
        default:
            buf[o++] = c; /* \" \\ \/ */
        }
    }
    buf[o] = '\0';
    *p = *s ? s + 1 : s;
    return buf;
}

static void json_result_free(struct json_result *r)
{
    free(r->subject), free(r->test), free(r->id), free(r->status), free(r->message);
}

/*
 * Read the "results" of a file --json wrote: flat objects of strings,
 * numbers and booleans.  Returns how many were read (into a new *out), or
 * -errno; -EINVAL when the file does not look like one.
 */
static long json_read_results(const char *path, struct json_result **out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len < 4096) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger)
                free(text);
            text = bigger;
        }
    }
    int read_error = ferror(f);
    fclose(f);
    if (!text || read_error) {
        free(text);
        return text ? -EIO : -ENOMEM;
    }
    text[len] = '\0';
    const char *p = strstr(text, "\"results\"");
    p = p ? strchr(p, '[') : NULL;
    if (!p) {
        free(text);
        return -EINVAL;
    }
    struct json_result *list = NULL;
    long count = 0;
    while ((p = strpbrk(p, "{]")) && *p == '{') {
        struct json_result r = {0};
        p++;
        while (*p && *p != '}') {
            if (*p != '"') {
                p++;
                continue;
            }
            p++;
            char *key = json_take_string(&p);
            while (*p == ' ' || *p == ':')
                p++;
            char *value = NULL;
            if (*p == '"') {
                p++;
                value = json_take_string(&p);
            } else {
                p += strcspn(p, ",}");
            }
            char **slot = !key                          ? NULL
                          : strcmp(key, "subject") == 0 ? &r.subject
                          : strcmp(key, "test") == 0    ? &r.test
                          : strcmp(key, "id") == 0      ? &r.id
                          : strcmp(key, "status") == 0  ? &r.status
                          : strcmp(key, "message") == 0 ? &r.message
                                                        : NULL;
            if (slot && !*slot)
                *slot = value, value = NULL;
            free(key);
            free(value);
        }
        if (*p == '}')
            p++;
        if (!r.subject || !r.test || !r.id || !r.status) {
            json_result_free(&r);
            continue;
        }
        struct json_result *bigger = realloc(list, (size_t)(count + 1) * sizeof *bigger);
        if (!bigger) {
            json_result_free(&r);
            break;
        }
        list = bigger;
        list[count++] = r;
    }
    free(text);
    *out = list;
    return count;
}

/* Split "ID.slug@kind/backend" ("@backend": kind "any") into cell names. */
static void kind_backend_of(const char *test, char *kind, size_t ksize, char *backend,
                            size_t bsize)
{
    const char *at = strrchr(test, '@');
    const char *slash = at ? strchr(at, '/') : NULL;
    if (!at) {
        snprintf(kind, ksize, "any"), snprintf(backend, bsize, "?");
    } else if (!slash) {
        snprintf(kind, ksize, "any"), snprintf(backend, bsize, "%s", at + 1);
    } else {
        snprintf(kind, ksize, "%.*s", (int)(slash - at - 1), at + 1);
        snprintf(backend, bsize, "%s", slash + 1);
    }
}

/* The results of id in the file, a verdict per subject, and the first
 * failure message of each subject that has one. */
static int print_results(const char *id, const char *path, int color, int width,
                         FILE *out)
{
    struct json_result *all = NULL;
    long count = json_read_results(path, &all);
    if (count < 0) {
        fprintf(stderr, "pipecheck: --json-in %s: %s\n", path,
                count == -EINVAL ? "not a file that pipecheck --json wrote"
                                 : strerror((int)-count));
        return 2;
    }
    fprintf(out, "\nresults in %s:\n", path);
    /* Cells per subject, in the file's order of subjects. */
    struct view_cell *cells = calloc((size_t)count + 1, sizeof *cells);
    char(*names)[2][32] = calloc((size_t)count + 1, sizeof *names);
    int any = 0;
    for (long s = 0; cells && names && s < count; s++) {
        int first = strcmp(all[s].id, id) == 0;
        for (long t = 0; first && t < s; t++)
            first = !(strcmp(all[t].id, id) == 0 &&
                      strcmp(all[t].subject, all[s].subject) == 0);
        if (!first)
            continue;
        any = 1;
        size_t n = 0;
        const char *failure = NULL, *failed_test = NULL;
        for (long i = s; i < count; i++) {
            if (strcmp(all[i].id, id) != 0 || strcmp(all[i].subject, all[s].subject) != 0)
                continue;
            kind_backend_of(all[i].test, names[i][0], sizeof names[i][0], names[i][1],
                            sizeof names[i][1]);
            enum outcome o = view_outcome_of_json(all[i].status);
            if (o == OUT_FAIL && !failure)
                failure = all[i].message ? all[i].message : "", failed_test = all[i].test;
            size_t c = 0;
            while (c < n && !(strcmp(cells[c].kind, names[i][0]) == 0 &&
                              strcmp(cells[c].backend, names[i][1]) == 0))
                c++;
            if (c == n)
                cells[n++] = (struct view_cell){names[i][0], names[i][1], o};
            else if (o > cells[c].outcome)
                cells[c].outcome = o;
        }
        char verdict[512], line[1024];
        enum outcome lead = view_verdict(cells, n, verdict, sizeof verdict);
        int pad = snprintf(line, sizeof line, "  %-10s ", all[s].subject);
        snprintf(line + pad, sizeof line - (size_t)pad, "%s", verdict);
        view_print_fitted(out, width, line, color, lead, (size_t)pad,
                          strcspn(verdict, " ,"));
        if (failure) {
            snprintf(line, sizeof line, "    first failure, %s: %.*s", failed_test,
                     (int)strcspn(failure, "\n"), failure);
            view_print_fitted(out, width, line, 0, OUT_NA, 0, 0);
        }
    }
    if (!any)
        fprintf(out, "  no result for %s in that file\n", id);
    free(cells);
    free(names);
    for (long i = 0; i < count; i++)
        json_result_free(&all[i]);
    free(all);
    return 0;
}

/* ---- findings -------------------------------------------------------------- */

/* Does the heading's closing parenthesis "(D4, D5)" name id as a whole word? */
static int heading_names(const char *heading, const char *id)
{
    const char *open = strrchr(heading, '('); /* the last: titles hold calls() */
    const char *close = open ? strchr(open, ')') : NULL;
    size_t len = strlen(id);
    for (const char *p = open; p && p < close; p++)
        if (strncmp(p, id, len) == 0 && !isalnum((unsigned char)p[-1]) &&
            !isalnum((unsigned char)p[len]))
            return 1;
    return 0;
}

/* Every finding whose heading names id, with the implementation (the
 * section it is in) and its script. */
static void print_findings(const char *id, int width, FILE *out)
{
    const char *section = "";
    int shown = 0, in = 0;
    for (const char *const *line = pipecheck_doc_findings; *line; line++) {
        const char *l = *line;
        if (strncmp(l, "## ", 3) == 0) {
            section = l + 3;
            in = 0;
        } else if (strncmp(l, "### ", 4) == 0) {
            in = heading_names(l + 4, id);
            if (in) {
                char text[1024], both[1100];
                plain(l + 4, strlen(l + 4), text, sizeof text);
                snprintf(both, sizeof both, "%s %s", section, text);
                if (!shown++)
                    fprintf(out, "\nfindings (docs/findings.md):\n");
                print_wrapped(out, both, 2, 6, width);
            }
        } else if (in && strncmp(l, "- Script: [", 11) == 0) {
            size_t len = strcspn(l + 11, "]");
            fprintf(out, "      script: %.*s\n", (int)len, l + 11);
        }
    }
    if (!shown)
        fprintf(out, "\nfindings: none about %s in docs/findings.md\n", id);
}

int explain(const char *id, const char *json_path, int color, int width, FILE *out)
{
    char upper[16];
    size_t len = strlen(id);
    for (size_t i = 0; i < len && i + 1 < sizeof upper; i++)
        upper[i] = (char)toupper((unsigned char)id[i]);
    upper[len < sizeof upper ? len : sizeof upper - 1] = '\0';
    const pc_spec_item *item = len < sizeof upper ? pc_spec_find(upper) : NULL;
    if (!item) {
        fprintf(stderr,
                "pipecheck: --explain: no behaviour '%s' (the IDs are in "
                "docs/behaviours.md: L1-L5, C1-C6, R1-R13, W1-W7, F1-F7, D1-D6, E1-E4, "
                "S1-S17, X1-X5)\n",
                id);
        return 2;
    }
    char line[1024];
    snprintf(line, sizeof line, "%s: %s%s", item->id, item->meaning,
             pc_spec_is_ours(item->id)
                 ? " (OURS: pipeloop differs from asyncio on purpose)"
                 : "");
    print_wrapped(out, line, 0, 4, width);
    snprintf(line, sizeof line, "  %s; docs/behaviours.md", item->section);
    view_print_fitted(out, width, line, 0, OUT_NA, 0, 0);
    fputc('\n', out);
    print_catalogue(item->id, width, out);
    fprintf(out, "\ntests (pipecheck --filter '%s.*'):\n", item->id);
    print_tests(item->id, width, out);
    if (json_path) {
        int status = print_results(item->id, json_path, color, width, out);
        if (status)
            return status;
    }
    print_findings(item->id, width, out);
    return fflush(out) == 0 ? 0 : 1;
}
