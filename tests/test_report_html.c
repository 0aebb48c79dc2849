/* The HTML report (check/report_html.c, pipecheck --html):
 *   report-html.json-string: pc_json_write_string escapes and replaces what
 *     a test may print (quotes, control bytes, bytes that are not UTF-8);
 *   report-html.data-is-text: a message with markup and bad bytes stays
 *     data: no element of it, no early end of the data block, valid UTF-8;
 *   report-html.links-resolve: every link the page makes into docs/ has a
 *     heading there, every findings/ script exists;
 *   report-html.browser: tests/browser/check_html_report.py loads a real
 *     --compare page in headless chromium and checks what it shows against
 *     the JSON of the same run (skipped, saying so, without chromium or
 *     when $PIPECHECK_NO_BROWSER is set: .ci/run's sanitizer pass);
 *   docs.findings-table: check/findings.c matches docs/findings.md. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#ifndef PIPELOOP_SOURCE_DIR
#define PIPELOOP_SOURCE_DIR "."
#endif

/* What f received, NUL-terminated (f an open_memstream). */
static char *page_of(const char *json, const char *doc_base)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    PC_ASSERT_NOT_NULL(f);
    PC_ASSERT_OK(pc_report_html(f, json, doc_base));
    PC_ASSERT_EQ_INT(fclose(f), 0);
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Is text valid UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF)?  Returns the offset of the first bad byte, or -1. */
static long first_bad_utf8(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; s[i];) {
        unsigned c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (len == 0)
            return (long)i;
        unsigned cp = len == 1 ? c : c & (0x7fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0u) != 0x80u)
                return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return (long)i;
        i += len;
    }
    return -1;
}

PC_TEST(json_string, "report-html.json-string")
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    PC_ASSERT_NOT_NULL(f);
    pc_json_write_string(f, "a\"b\\c\n\t\x01\x7f<\xc3\xa9\xff\xc3(\xed\xa0\x80z");
    pc_json_write_string(f, NULL);
    PC_ASSERT_EQ_INT(fclose(f), 0);
    /* é stays; \xff, a truncated \xc3 and an encoded surrogate (three
     * bytes, each replaced) become U+FFFD. */
    PC_ASSERT_EQ_STR(text, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f<\xc3\xa9\\ufffd\\ufffd("
                           "\\ufffd\\ufffd\\ufffdz\"\"\"");
    free(text);
}

PC_TEST(data_is_text, "report-html.data-is-text")
{
    /* The message as a test could print it, inside a --json document as
     * pipecheck writes it (strings as they come, bytes unchecked). */
    const char *json =
        "{\"subjects\": [{\"name\": \"s</script><script>alert(1)</script>\", "
        "\"describe\": \"d\", \"available\": true, \"error\": \"\", \"seconds\": 1}],\n"
        "\"results\": [{\"subject\": \"s</script><script>alert(1)</script>\", "
        "\"test\": \"R4.x@pipe/epoll\", \"id\": \"R4\", \"kind\": \"pipe\", "
        "\"backend\": \"epoll\", \"ours\": false, \"status\": \"fail\", \"seconds\": "
        "0.5, "
        "\"message\": \"</script><img id=pwned src=x onerror=alert(1)><!-- & \xff\xfe\", "
        "\"output\": \"<b>event log</b> ]]> \xc3\"}]}";
    char *page = page_of(json, NULL);
    /* Two script elements, the data and the code: nothing in the data ends
     * one or opens a tag or a comment. */
    PC_ASSERT_EQ_SIZE(count_of(page, "</script>"), 2);
    PC_ASSERT_EQ_SIZE(count_of(page, "<script"), 2);
    PC_ASSERT(strstr(page, "<img") == NULL);
    PC_ASSERT(strstr(page, "<b>") == NULL);
    PC_ASSERT(strstr(page, "<!--") == NULL);
    PC_ASSERT(strstr(page, "\\u003c/script\\u003e\\u003cimg id=pwned") != NULL);
    PC_ASSERT(strstr(page, "\\u0026 \\ufffd\\ufffd") != NULL);
    long bad = first_bad_utf8(page);
    if (bad >= 0)
        PC_FAIL("the page is not UTF-8 at byte %ld: '%.20s'", bad, page + bad);
    /* Nothing is fetched: the page forbids it. */
    PC_ASSERT(strstr(page, "content=\"default-src 'none';") != NULL);
    free(page);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        PC_SKIP("no %s (a build outside the source tree?): %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    PC_ASSERT_NOT_NULL(m);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, m);
    fclose(f);
    PC_ASSERT_EQ_INT(fclose(m), 0);
    return text;
}

/* Does doc have a heading ("#"s then a space) whose GitHub anchor is
 * anchor: lower case, punctuation but '-' and '_' dropped, ' ' as '-'? */
static int has_anchor(const char *doc, const char *anchor, size_t len)
{
    for (const char *p = doc; (p = strstr(p, "\n#")) != NULL; p++) {
        const char *h = p + 1;
        while (*h == '#')
            h++;
        if (*h++ != ' ')
            continue;
        char slug[512];
        size_t n = 0;
        for (; *h && *h != '\n' && n + 1 < sizeof slug; h++) {
            char c = *h;
            if (c >= 'A' && c <= 'Z')
                slug[n++] = (char)(c - 'A' + 'a');
            else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_')
                slug[n++] = c;
            else if (c == ' ')
                slug[n++] = '-';
        }
        if (n == len && memcmp(slug, anchor, len) == 0)
            return 1;
    }
    return 0;
}

/* Every "PREFIX...#anchor" string in page has its heading in doc. */
static size_t check_anchors(const char *page, const char *prefix, const char *doc)
{
    size_t checked = 0;
    for (const char *p = strstr(page, prefix); p; p = strstr(p + 1, prefix)) {
        const char *anchor = p + strlen(prefix);
        size_t len = strcspn(anchor, "\"");
        if (!has_anchor(doc, anchor, len))
            PC_FAIL("the page links to %s%.*s: no such heading", prefix + 1, (int)len,
                    anchor);
        checked++;
    }
    return checked;
}

PC_TEST(links_resolve, "report-html.links-resolve")
{
    char *behaviours = read_text(PIPELOOP_SOURCE_DIR "/docs/behaviours.md");
    char *findings = read_text(PIPELOOP_SOURCE_DIR "/docs/findings.md");
    char *page = page_of("{\"subjects\": [], \"results\": []}", "");
    /* Every spec row links to its section, every finding to its heading. */
    PC_ASSERT_EQ_SIZE(check_anchors(page, "\"docs/behaviours.md#", behaviours),
                      pc_spec_count());
    PC_ASSERT_EQ_SIZE(check_anchors(page, "\"docs/findings.md#", findings),
                      pc_finding_count());
    size_t scripts = 0;
    for (const char *p = strstr(page, "\"findings/"); p;
         p = strstr(p + 1, "\"findings/")) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%.*s", PIPELOOP_SOURCE_DIR,
                 (int)strcspn(p + 1, "\""), p + 1);
        if (access(path, R_OK) != 0)
            PC_FAIL("the page links to %s: %s", path, strerror(errno));
        scripts++;
    }
    PC_ASSERT_EQ_SIZE(scripts, pc_finding_count());
    free(page);
    free(findings);
    free(behaviours);
}

PC_TEST(findings_table, "docs.findings-table")
{
    char *doc = read_text(PIPELOOP_SOURCE_DIR "/docs/findings.md");
    size_t headings = 0;
    for (const char *p = strstr(doc, "\n### "); p; p = strstr(p + 1, "\n### "))
        headings += (p[5] == 'A' || p[5] == 'U') && p[6] >= '0' && p[6] <= '9';
    PC_ASSERT_EQ_SIZE(pc_finding_count(), headings);
    for (size_t i = 0; i < pc_finding_count(); i++) {
        const pc_finding *f = pc_finding_get(i);
        char needle[512];
        snprintf(needle, sizeof needle, "\n### %s\n", f->heading);
        const char *at = strstr(doc, needle);
        if (at == NULL)
            PC_FAIL("%s: no heading '### %s' in docs/findings.md", f->code, f->heading);
        const char *next = strstr(at + 1, "\n### ");
        /* "- Script: [path](../path)", or the first of "- Scripts: ...". */
        snprintf(needle, sizeof needle, "\n- Script: [%s](../%s)", f->script, f->script);
        const char *script = strstr(at, needle);
        snprintf(needle, sizeof needle, "\n- Scripts: [%s](../%s)", f->script, f->script);
        if (script == NULL || (next && script > next))
            script = strstr(at, needle);
        if (script == NULL || (next && script > next))
            PC_FAIL("%s: its entry does not name the script %s", f->code, f->script);
        PC_ASSERT(strncmp(f->heading, f->code, strlen(f->code)) == 0);
        for (const char *id = f->ids; *id;) {
            size_t len = strcspn(id, " ");
            char one[16];
            snprintf(one, sizeof one, "%.*s", (int)len, id);
            if (pc_spec_find(one) == NULL || strstr(f->heading, one) == NULL)
                PC_FAIL("%s: ID %s is not a spec ID named in its heading", f->code, one);
            id += len + (id[len] == ' ');
        }
    }
    free(doc);
}

PC_TEST(browser, "report-html.browser")
{
    pc_set_timeout_ms(600000);
    const char *no_browser = getenv("PIPECHECK_NO_BROWSER");
    if (no_browser && *no_browser)
        PC_SKIP("PIPECHECK_NO_BROWSER is set: the browser check does not run");
    char dir[PATH_MAX], pipecheck[PATH_MAX + 16], work[64];
    snprintf(dir, sizeof dir, "%s", pc_self_path());
    *strrchr(dir, '/') = '\0';
    snprintf(pipecheck, sizeof pipecheck, "%s/pipecheck", dir);
    if (access(pipecheck, X_OK) != 0)
        PC_FAIL("%s is missing: it is built with the tests", pipecheck);
    snprintf(work, sizeof work, "/tmp/pipecheck-html-XXXXXX");
    PC_ASSERT_NOT_NULL(mkdtemp(work));
    const char *argv[] = {"env",
                          "python3",
                          PIPELOOP_SOURCE_DIR "/tests/browser/check_html_report.py",
                          pipecheck,
                          PIPELOOP_SOURCE_DIR,
                          work,
                          NULL};
    int status, rm_status;
    char *text = pc_run_capture("/usr/bin/env", argv, &status);
    const char *rm[] = {"rm", "-rf", work, NULL};
    free(pc_run_capture("/bin/rm", rm, &rm_status));
    if (status == 127)
        PC_SKIP("no python3 to run the browser check: %s", text);
    if (status == 77)
        PC_SKIP("%s", text);
    if (status != 0)
        PC_FAIL("the browser check failed (exit %d):\n%s", status, text);
    printf("# %s", text);
    free(text);
}
