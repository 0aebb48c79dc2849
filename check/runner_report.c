/* Results and everything the runner prints: the human lines and progress
 * line, TAP version 13, JUnit XML, and the closing summary line. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check_internal.h"

/* ------------------------------------------------------------------------ */
/* Results                                                                   */

static char *copy_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int pc__results_add(pc_results *r, const char *name, pc_status status,
                    const char *message, const char *output, double seconds)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        pc_result *bigger = realloc(r->items, cap * sizeof *bigger);
        if (bigger == NULL)
            return -ENOMEM;
        r->items = bigger;
        r->cap = cap;
    }
    pc_result *item = &r->items[r->count];
    item->name = copy_or_empty(name);
    item->message = copy_or_empty(message);
    item->output = copy_or_empty(output);
    if (item->name == NULL || item->message == NULL || item->output == NULL) {
        free((char *)item->name);
        free((char *)item->message);
        free((char *)item->output);
        return -ENOMEM;
    }
    item->status = status;
    item->seconds = seconds;
    r->count++;
    if (status == PC_PASS)
        r->passed++;
    else if (status == PC_FAIL)
        r->failed++;
    else
        r->skipped++;
    return 0;
}

size_t pc_results_count(const pc_results *results)
{
    return results ? results->count : 0;
}

const pc_result *pc_results_get(const pc_results *results, size_t i)
{
    return results && i < results->count ? &results->items[i] : NULL;
}

void pc_results_totals(const pc_results *results, size_t *passed, size_t *failed,
                       size_t *skipped)
{
    if (passed)
        *passed = results ? results->passed : 0;
    if (failed)
        *failed = results ? results->failed : 0;
    if (skipped)
        *skipped = results ? results->skipped : 0;
}

void pc_results_free(pc_results *results)
{
    if (results == NULL)
        return;
    for (size_t i = 0; i < results->count; i++) {
        free((char *)results->items[i].name);
        free((char *)results->items[i].message);
        free((char *)results->items[i].output);
    }
    free(results->items);
    free(results);
}

void pc_results_print_summary(const pc_results *results)
{
    size_t passed, failed, skipped;
    pc_results_totals(results, &passed, &failed, &skipped);
    printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Console                                                                   */

#define RED "\033[1;31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RESET "\033[0m"

void pc__report_start(struct pc__reporter *rep, const pc_options *opts, size_t total,
                      unsigned jobs, uint64_t seed)
{
    memset(rep, 0, sizeof *rep);
    rep->opts = opts;
    rep->total = total;
    int tty = isatty(STDOUT_FILENO);
    const char *ci = getenv("CI"), *no_colour = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    rep->progress = tty && !opts->tap && (ci == NULL || *ci == '\0');
    rep->colour = tty && !opts->tap && (no_colour == NULL || *no_colour == '\0') &&
                  !(term != NULL && strcmp(term, "dumb") == 0);
    if (opts->tap) {
        printf("TAP version 13\n1..%zu\n", total);
        printf("# %zu test%s, %u job%s, seed %" PRIu64 "\n", total, total == 1 ? "" : "s",
               jobs, jobs == 1 ? "" : "s", seed);
    } else {
        printf("running %zu test%s, %u job%s, seed %" PRIu64 "%s\n", total,
               total == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s", seed,
               opts->no_fork ? ", in-process (--no-fork)" : "");
    }
    fflush(stdout);
}

static void clear_progress(struct pc__reporter *rep)
{
    if (rep->progress_shown) {
        fputs("\r\033[K", stdout);
        rep->progress_shown = 0;
    }
}

void pc__report_progress(struct pc__reporter *rep, const char *name)
{
    if (!rep->progress)
        return;
    struct winsize ws;
    int width = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        width = ws.ws_col;
    char line[512];
    snprintf(line, sizeof line, "[%zu/%zu] %s", rep->done, rep->total, name);
    if ((size_t)width - 1 < sizeof line)
        line[width - 1] = '\0';
    printf("\r\033[K%s", line);
    rep->progress_shown = 1;
    fflush(stdout);
}

static void print_indented(const char *text, const char *indent)
{
    while (*text != '\0') {
        size_t len = strcspn(text, "\n");
        printf("%s%.*s\n", indent, (int)len, text);
        text += len;
        if (*text == '\n')
            text++;
    }
}

/* s as a YAML double-quoted scalar (TAP::Parser's YAMLish reads these). */
static void print_yaml_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* A test name in a TAP line: '#' would start a directive. */
static void print_tap_name(const char *name)
{
    for (; *name != '\0'; name++) {
        if (*name == '#' || *name == '\\')
            putchar('\\');
        putchar(*name == '\n' ? ' ' : *name);
    }
}

static void report_tap(struct pc__reporter *rep, const pc_result *r)
{
    printf("%s %zu - ", r->status == PC_FAIL ? "not ok" : "ok", rep->done);
    print_tap_name(r->name);
    if (r->status == PC_SKIP) {
        fputs(" # SKIP ", stdout);
        print_tap_name(r->message);
    }
    putchar('\n');
    if (r->status != PC_FAIL)
        return;
    fputs("  ---\n  message: ", stdout);
    print_yaml_string(r->message);
    printf("\n  severity: fail\n  duration_ms: %.1f\n", r->seconds * 1000.0);
    if (r->output[0] != '\0') {
        fputs("  output: ", stdout);
        print_yaml_string(r->output);
        putchar('\n');
    }
    fputs("  ...\n", stdout);
}

void pc__report_result(struct pc__reporter *rep, const pc_result *r)
{
    rep->done++;
    clear_progress(rep);
    if (rep->opts->tap) {
        report_tap(rep, r);
    } else if (r->status == PC_FAIL || rep->opts->verbose) {
        static const char *const words[] = {"PASS", "FAIL", "SKIP"};
        static const char *const colours[] = {GREEN, RED, YELLOW};
        if (rep->colour)
            printf("%s%s%s", colours[r->status], words[r->status], RESET);
        else
            fputs(words[r->status], stdout);
        printf(" %s (%.2f s)%s%s\n", r->name, r->seconds, r->message[0] ? ": " : "",
               r->message);
        print_indented(r->output, "    ");
    }
    fflush(stdout);
}

void pc__report_bail_out(struct pc__reporter *rep, const char *why)
{
    clear_progress(rep);
    if (rep->opts->tap)
        printf("Bail out! %s\n", why);
    else
        printf("%s\n", why);
    fflush(stdout);
}

void pc__report_end(struct pc__reporter *rep)
{
    clear_progress(rep);
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* JUnit XML                                                                 */

/* Text or attribute content.  Control characters are not allowed in XML
 * 1.0 even as references, so they are shown as \xNN. */
static void xml_escape(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '\n':
        case '\t':
        case '\r':
            fputc(c, f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02x", c);
            else
                fputc(c, f);
        }
    }
}

/* The part of a name before its first '.', as the JUnit class. */
static void xml_classname(FILE *f, const char *name)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL || dot == name) {
        fputs("pipeloop", f);
        return;
    }
    char cls[256];
    size_t len =
        (size_t)(dot - name) < sizeof cls - 1 ? (size_t)(dot - name) : sizeof cls - 1;
    memcpy(cls, name, len);
    cls[len] = '\0';
    xml_escape(f, cls);
}

int pc__junit_write(const char *path, const pc_results *r, uint64_t seed)
{
    FILE *f = fopen(path, "we");
    if (f == NULL) {
        int err = errno;
        fprintf(stderr, "pipecheck: cannot write %s: %s\n", path, strerror(err));
        return -err;
    }
    double total = 0;
    for (size_t i = 0; i < r->count; i++)
        total += r->items[i].seconds;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
            "time=\"%.3f\">\n",
            r->count, r->failed, r->skipped, total);
    fprintf(f,
            "  <testsuite name=\"pipeloop\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "skipped=\"%zu\" time=\"%.3f\">\n",
            r->count, r->failed, r->skipped, total);
    fprintf(f,
            "    <properties>\n      <property name=\"seed\" value=\"%" PRIu64 "\"/>\n"
            "    </properties>\n",
            seed);
    for (size_t i = 0; i < r->count; i++) {
        const pc_result *t = &r->items[i];
        fputs("    <testcase classname=\"", f);
        xml_classname(f, t->name);
        fputs("\" name=\"", f);
        xml_escape(f, t->name);
        fprintf(f, "\" time=\"%.3f\">\n", t->seconds);
        if (t->status == PC_FAIL) {
            fputs("      <failure message=\"", f);
            xml_escape(f, t->message);
            fputs("\">", f);
            xml_escape(f, t->message);
            fputs("</failure>\n", f);
        } else if (t->status == PC_SKIP) {
            fputs("      <skipped message=\"", f);
            xml_escape(f, t->message);
            fputs("\"/>\n", f);
        }
        if (t->output[0] != '\0') {
            fputs("      <system-out>", f);
            xml_escape(f, t->output);
            fputs("</system-out>\n", f);
        }
        fputs("    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        fprintf(stderr, "pipecheck: error writing %s\n", path);
        return -EIO;
    }
    return 0;
}
