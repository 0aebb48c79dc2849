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

/* What stands for a byte that is not part of valid UTF-8: U+FFFD. */
#define REPLACEMENT "\xef\xbf\xbd"

/*
 * The length of the UTF-8 sequence for one non-ASCII character at s (s[0]
 * >= 0x80), or 0 if the bytes there are not one: a stray continuation
 * byte, a truncated or overlong sequence, a surrogate, a code point above
 * U+10FFFF, or U+FFFE/U+FFFF (which XML 1.0 does not allow either).  Test
 * output is whatever a test printed, so the reports must not pass it on
 * unchecked (report_html.c's JSON too).
 */
size_t pc__utf8_char_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0u) != 0x80u) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
        return 0;
    return len;
}

/* Write the character at *s (non-ASCII) or U+FFFD for a bad byte; advance
 * *s past what was used, less one (the caller's loop adds it). */
static void put_non_ascii(FILE *f, const char **s)
{
    size_t len = pc__utf8_char_len((const unsigned char *)*s);
    if (len == 0) {
        fputs(REPLACEMENT, f);
        return;
    }
    fwrite(*s, 1, len, f);
    *s += len - 1;
}

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

int pc__results_add_stopped(pc_results *r, const char *name, const char *output,
                            double seconds)
{
    struct pc__stopped *bigger =
        realloc(r->stopped, (r->stopped_count + 1) * sizeof *bigger);
    if (bigger == NULL)
        return -ENOMEM;
    r->stopped = bigger;
    struct pc__stopped *t = &r->stopped[r->stopped_count];
    t->name = copy_or_empty(name);
    t->output = copy_or_empty(output);
    t->seconds = seconds;
    if (t->name == NULL || t->output == NULL) {
        free(t->name);
        free(t->output);
        return -ENOMEM;
    }
    r->stopped_count++;
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
    for (size_t i = 0; i < results->stopped_count; i++) {
        free(results->stopped[i].name);
        free(results->stopped[i].output);
    }
    free(results->stopped);
    free(results->items);
    free(results);
}

void pc_results_print_summary(const pc_results *results)
{
    size_t passed, failed, skipped;
    pc_results_totals(results, &passed, &failed, &skipped);
    if (results != NULL && results->interrupted) {
        char name[32];
        printf("%sinterrupted by %s: %zu test%s stopped, %zu not started\n",
               results->tap ? "# " : "",
               pc__signal_name(results->interrupted, name, sizeof name),
               pc_results_stopped_count(results),
               pc_results_stopped_count(results) == 1 ? "" : "s",
               pc_results_not_started(results));
    }
    /* In TAP mode every line on stdout is TAP: the count is a comment. */
    printf("%s%zu passed, %zu failed, %zu skipped\n", results && results->tap ? "# " : "",
           passed, failed, skipped);
    fflush(stdout);
}

int pc_results_interrupted(const pc_results *results)
{
    return results ? results->interrupted : 0;
}

size_t pc_results_stopped_count(const pc_results *results)
{
    return results ? results->stopped_count : 0;
}

size_t pc_results_unexpected(const pc_results *results)
{
    if (results == NULL)
        return 0;
    return results->expecting ? results->unexpected : results->failed;
}

size_t pc_results_not_started(const pc_results *results)
{
    return results ? results->not_started : 0;
}

const char *pc_results_stopped_name(const pc_results *results, size_t i, double *seconds)
{
    if (results == NULL || i >= results->stopped_count)
        return NULL;
    if (seconds != NULL)
        *seconds = results->stopped[i].seconds;
    return results->stopped[i].name;
}

int pc_exit_status(const pc_results *results, int run_error)
{
    int lost = fflush(stdout) != 0 || ferror(stdout);
    if (lost)
        fprintf(stderr,
                "pipecheck: writing to stdout failed: the output is incomplete\n");
    if (results != NULL && results->interrupted)
        return 128 + results->interrupted;
    size_t failed = 0;
    pc_results_totals(results, NULL, &failed, NULL);
    if (results != NULL && results->expecting)
        failed = results->unexpected;
    return run_error < 0 || failed > 0 || lost ? 1 : 0;
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
    const char *ci = getenv("CI");
    /* The progress line goes to stderr, so that stdout (a table, TAP, a
     * pipe into another program) never holds it. */
    rep->progress =
        isatty(STDERR_FILENO) && !opts->tap && !opts->list && (ci == NULL || *ci == '\0');
    rep->start_ns = pc_now_ns();
    rep->colour = !opts->tap && pc_color_wanted(opts, STDOUT_FILENO);
    if (opts->tap) {
        /* pragma +strict: a consumer must reject any line that is not TAP.
         * With --no-fork the tests print on this stdout, so not then. */
        printf("TAP version 13\n%s1..%zu\n", opts->no_fork ? "" : "pragma +strict\n",
               total);
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
        fputs("\r\033[K", stderr);
        rep->progress_shown = 0;
    }
}

/* Progress only once the run has taken this long: short runs print
 * nothing but their results. */
#define PROGRESS_AFTER_NS 1000000000u

void pc__report_progress(struct pc__reporter *rep, const char *name)
{
    if (name != NULL)
        rep->current = name;
    if (!rep->progress || pc_now_ns() - rep->start_ns < PROGRESS_AFTER_NS)
        return;
    struct winsize ws;
    int width = 80;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        width = ws.ws_col;
    char line[512];
    double elapsed = (double)(pc_now_ns() - rep->start_ns) / 1e9;
    snprintf(line, sizeof line, "[%zu/%zu] %zu failed  %.0f s  %s", rep->done, rep->total,
             rep->failed, elapsed, rep->current ? rep->current : "");
    /* One column short of the width: a full line would wrap on some
     * terminals, and \r would then redraw only its second half. */
    if ((size_t)width - 1 < sizeof line)
        line[width - 1] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    rep->progress_shown = 1;
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
        else if (c >= 0x80)
            put_non_ascii(stdout, &s);
        else
            putchar(c);
    }
    putchar('"');
}

/* A test name in a TAP line: '#' would start a directive. */
static void print_tap_name(const char *name)
{
    for (; *name != '\0'; name++) {
        unsigned char c = (unsigned char)*name;
        if (c >= 0x80) {
            put_non_ascii(stdout, &name);
            continue;
        }
        if (c == '#' || c == '\\')
            putchar('\\');
        putchar(c < 0x20 || c == 0x7f ? ' ' : c);
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
    rep->failed += r->status == PC_FAIL;
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
    pc__report_progress(rep, NULL);
}

void pc__report_interrupted(struct pc__reporter *rep, const pc_results *r)
{
    char name[32];
    pc__signal_name(r->interrupted, name, sizeof name);
    clear_progress(rep);
    for (size_t i = 0; i < pc_results_stopped_count(r); i++) {
        double seconds = 0;
        const char *test = pc_results_stopped_name(r, i, &seconds);
        if (rep->opts->tap) {
            fputs("# stopped while running: ", stdout);
            print_tap_name(test);
            putchar('\n');
        } else {
            printf("STOPPED %s (%.2f s): running when %s arrived\n", test, seconds, name);
            print_indented(r->stopped[i].output, "    ");
        }
    }
    if (rep->opts->tap)
        printf("Bail out! interrupted by %s\n", name);
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
 * 1.0 even as references, so they are shown as \xNN; bytes that are not
 * valid UTF-8 become U+FFFD, so the file always parses. */
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
            else if (c >= 0x80)
                put_non_ascii(f, &s);
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

FILE *pc__junit_open(const char *path)
{
    FILE *f = fopen(path, "we");
    if (f == NULL)
        fprintf(stderr, "pipecheck: cannot write the JUnit file %s: %s\n", path,
                strerror(errno));
    return f;
}

int pc__junit_write(FILE *f, const char *path, const pc_results *r, uint64_t seed)
{
    double total = 0;
    for (size_t i = 0; i < r->count; i++)
        total += r->items[i].seconds;
    for (size_t i = 0; i < r->stopped_count; i++)
        total += r->stopped[i].seconds;
    /* Tests stopped by an interruption never finished: JUnit's "error". */
    size_t tests = r->count + r->stopped_count;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
            "time=\"%.3f\">\n",
            tests, r->failed, r->stopped_count, r->skipped, total);
    fprintf(
        f,
        "  <testsuite name=\"pipeloop\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
        "skipped=\"%zu\" time=\"%.3f\">\n",
        tests, r->failed, r->stopped_count, r->skipped, total);
    fprintf(f,
            "    <properties>\n      <property name=\"seed\" value=\"%" PRIu64 "\"/>\n",
            seed);
    char signame[32] = "";
    if (r->interrupted) {
        pc__signal_name(r->interrupted, signame, sizeof signame);
        fprintf(f,
                "      <property name=\"interrupted\" value=\"%s\"/>\n"
                "      <property name=\"not-started\" value=\"%zu\"/>\n",
                signame, r->not_started);
    }
    fputs("    </properties>\n", f);
    for (size_t i = 0; i < r->stopped_count; i++) {
        const struct pc__stopped *t = &r->stopped[i];
        fputs("    <testcase classname=\"", f);
        xml_classname(f, t->name);
        fputs("\" name=\"", f);
        xml_escape(f, t->name);
        fprintf(f,
                "\" time=\"%.3f\">\n      <error type=\"interrupted\" "
                "message=\"stopped by %s while running\"/>\n",
                t->seconds, signame);
        if (t->output[0] != '\0') {
            fputs("      <system-out>", f);
            xml_escape(f, t->output);
            fputs("</system-out>\n", f);
        }
        fputs("    </testcase>\n", f);
    }
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
