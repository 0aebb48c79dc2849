/* The terminal view of the pipecheck CLI: verdicts, width, fitted and
 * coloured lines (see pipecheck_view.h). */
#include "pipecheck_view.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *view_word(enum outcome o)
{
    switch (o) {
    case OUT_PASS:
        return "pass";
    case OUT_FAIL:
        return "FAIL";
    case OUT_DIFFERS:
        return "differs";
    case OUT_BLOCKED:
        return "blocked";
    case OUT_OTHER:
        return "other";
    case OUT_SKIP:
        return "skip";
    case OUT_UNAVAILABLE:
        return "unavailable";
    case OUT_NA:
        break;
    }
    return "n/a";
}

enum outcome view_outcome_of_json(const char *status)
{
    static const struct {
        const char *json;
        enum outcome o;
    } map[] = {{"pass", OUT_PASS}, {"fail", OUT_FAIL}, {"differs", OUT_DIFFERS},
               {"skip", OUT_SKIP}, {"n/a", OUT_NA},    {"unavailable", OUT_UNAVAILABLE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].json, status) == 0)
            return map[i].o;
    return strncmp(status, "blocked", 7) == 0 ? OUT_BLOCKED : OUT_OTHER;
}

/* Append to buf (size) what fmt makes, never past the end. */
static void append(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);
    if (len + 1 < size)
        snprintf(buf + len, size - len, "%s", s);
}

static size_t in_set(const struct view_cell *c, enum outcome o)
{
    return c->outcome == o ? 1 : 0;
}

/* Is the cell one to weigh when naming the cells with outcome o?  For a
 * FAIL, only the cells that ran: "pty" then means every backend of pty
 * that ran, whether or not io_uring could. */
static int in_universe(const struct view_cell *c, enum outcome o)
{
    int ran = c->outcome != OUT_NA && c->outcome != OUT_UNAVAILABLE;
    return ran || c->outcome == o;
}

/*
 * Name the cells with outcome o as briefly as the cells allow: a kind
 * whose every cell has it is the kind ("pty"); the rest by backend, a
 * backend whose every remaining cell has it is the backend ("io_uring"),
 * one cell is "kind/backend", several "backend for kind, kind".
 */
static void name_cells(const struct view_cell *cells, size_t n, enum outcome o, char *buf,
                       size_t size)
{
    char *covered = calloc(n ? n : 1, 1);
    if (!covered)
        return;
    char parts[16][160];
    size_t nparts = 0;
    int has_for = 0;
    size_t total = 0, universe = 0;
    for (size_t i = 0; i < n; i++) {
        total += in_set(&cells[i], o);
        universe += (size_t)in_universe(&cells[i], o);
    }
    /* Whole kinds, when a kind has more than one cell. */
    for (size_t i = 0; i < n && nparts < 16; i++) {
        size_t all = 0, hit = 0;
        int first = 1;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(cells[j].kind, cells[i].kind) != 0)
                continue;
            first &= j >= i;
            if (!in_universe(&cells[j], o))
                continue;
            all++, hit += in_set(&cells[j], o);
        }
        if (!first || all < 2 || hit != all)
            continue;
        snprintf(parts[nparts++], sizeof parts[0], "%s", cells[i].kind);
        for (size_t j = 0; j < n; j++)
            covered[j] |= strcmp(cells[j].kind, cells[i].kind) == 0;
    }
    /* The rest, by backend. */
    for (size_t i = 0; i < n && nparts < 16; i++) {
        int first = !covered[i];
        size_t left = 0, hit = 0, only = i;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(cells[j].backend, cells[i].backend) != 0 || covered[j])
                continue;
            first &= j >= i;
            if (!in_universe(&cells[j], o))
                continue;
            left++;
            if (in_set(&cells[j], o))
                hit++, only = j;
        }
        if (!first || hit == 0)
            continue;
        char *p = parts[nparts++];
        size_t psize = sizeof parts[0];
        if (hit == 1) {
            /* "any" (no pipe) is not a kind to name: just the backend. */
            if (strcmp(cells[only].kind, "any") == 0)
                snprintf(p, psize, "%s", cells[only].backend);
            else
                snprintf(p, psize, "%s/%s", cells[only].kind, cells[only].backend);
            continue;
        }
        if (hit == left && left > 1) {
            snprintf(p, psize, "%s", cells[i].backend);
            continue;
        }
        snprintf(p, psize, "%s for ", cells[i].backend);
        const char *sep = "";
        for (size_t j = 0; j < n; j++)
            if (!covered[j] && strcmp(cells[j].backend, cells[i].backend) == 0 &&
                in_set(&cells[j], o)) {
                append(p, psize, sep);
                append(p, psize, cells[j].kind);
                sep = ", ";
            }
        has_for = 1;
    }
    free(covered);
    if (total == universe && universe > 1) {
        append(buf, size, "all");
        return;
    }
    for (size_t i = 0; i < nparts; i++) {
        if (i)
            append(buf, size, has_for ? "; " : ", ");
        append(buf, size, parts[i]);
    }
}

enum outcome view_verdict(const struct view_cell *cells, size_t n, char *buf, size_t size)
{
    size_t count[OUT_FAIL + 1] = {0};
    for (size_t i = 0; i < n; i++)
        count[cells[i].outcome]++;
    size_t ran = n - count[OUT_NA] - count[OUT_UNAVAILABLE];
    buf[0] = '\0';
    if (n == 0 || (ran == 0 && count[OUT_UNAVAILABLE] == 0)) {
        snprintf(buf, size, "n/a");
        return OUT_NA;
    }
    if (ran == 0) {
        snprintf(buf, size, "unavailable");
        return OUT_UNAVAILABLE;
    }
    /* The worst outcome leads, with how many cells and which. */
    static const enum outcome bad[] = {OUT_FAIL, OUT_DIFFERS, OUT_OTHER, OUT_BLOCKED};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        enum outcome o = bad[b];
        if (!count[o])
            continue;
        snprintf(buf, size, "%s %zu of %zu", view_word(o), count[o], ran);
        if (count[o] < ran) { /* else everywhere it ran: nothing to name */
            append(buf, size, ": ");
            name_cells(cells, n, o, buf, size);
        }
        return o;
    }
    if (count[OUT_PASS] == 0) {
        snprintf(buf, size, "skip");
        return OUT_SKIP;
    }
    snprintf(buf, size, "pass");
    if (count[OUT_SKIP]) {
        append(buf, size, ", skip on ");
        name_cells(cells, n, OUT_SKIP, buf, size);
    }
    if (count[OUT_NA]) {
        append(buf, size, ", n/a on ");
        name_cells(cells, n, OUT_NA, buf, size);
    }
    return OUT_PASS;
}

int view_width(int fd)
{
    const char *columns = getenv("COLUMNS");
    if (columns && *columns) {
        char *end;
        long n = strtol(columns, &end, 10);
        if (*end == '\0' && n >= 20 && n <= 10000)
            return (int)n;
    }
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Does the locale write UTF-8 (so that U+2026 can stand for the cut)? */
static int utf8_locale(void)
{
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8") ||
                   strstr(v, "utf-8");
    }
    return 0;
}

const struct outcome_names view_outcome_names[OUT_FAIL + 1] = {
    [OUT_NA] = {"n/a", "n/a", "\033[2m"},
    [OUT_UNAVAILABLE] = {"unav", "unavailable", "\033[2m"},
    [OUT_SKIP] = {"skip", "skip", NULL},
    [OUT_PASS] = {"pass", "pass", "\033[32m"},
    [OUT_BLOCKED] = {"blkd", "blocked", "\033[35m"},
    [OUT_OTHER] = {"other", "other", "\033[35m"},
    [OUT_DIFFERS] = {"diff", "differs", "\033[33m"},
    [OUT_FAIL] = {"FAIL", "fail", "\033[1;31m"},
};

static const char *color_of(enum outcome o)
{
    return view_outcome_names[o].color;
}

void view_print_colored(FILE *out, int color, enum outcome o, const char *s, int pad)
{
    const char *c = color ? color_of(o) : NULL;
    fprintf(out, "%s%s%s", c ? c : "", s, c ? "\033[0m" : "");
    for (int i = (int)strlen(s); i < pad; i++)
        fputc(' ', out);
}

void view_print_fitted(FILE *out, int width, const char *text, int color, enum outcome o,
                       size_t color_at, size_t color_len)
{
    /* Columns are characters: count the bytes that start one. */
    size_t cols = 0, len = strlen(text), cut = len;
    for (size_t i = 0; i < len; i++)
        cols += ((unsigned char)text[i] & 0xc0u) != 0x80u;
    const char *ellipsis = NULL;
    if (cols > (size_t)width) {
        int utf8 = utf8_locale();
        ellipsis = utf8 ? "\xe2\x80\xa6" : "...";
        size_t keep = (size_t)width - (utf8 ? 1 : 3), seen = 0;
        for (cut = 0; cut < len; cut++) {
            if (((unsigned char)text[cut] & 0xc0u) != 0x80u && seen++ == keep)
                break;
        }
        while (cut > 0 && text[cut - 1] == ' ')
            cut--;
    }
    const char *c = color ? color_of(o) : NULL;
    if (c && color_at < cut) {
        size_t end = color_at + color_len < cut ? color_at + color_len : cut;
        fprintf(out, "%.*s%s%.*s\033[0m%.*s", (int)color_at, text, c,
                (int)(end - color_at), text + color_at, (int)(cut - end), text + end);
    } else {
        fprintf(out, "%.*s", (int)cut, text);
    }
    fprintf(out, "%s\n", ellipsis ? ellipsis : "");
}
