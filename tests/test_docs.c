/*
 * The behaviour catalogue resolves every ID a reader meets: each spec ID
 * (pipecheck's matrix rows, pipecheck.h) and each group prefix of a
 * registered test name has an entry in docs/behaviours.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#ifndef PIPELOOP_SOURCE_DIR
#define PIPELOOP_SOURCE_DIR "."
#endif

/* The file at path, NUL-terminated (malloc'd); NULL with errno set when it
 * cannot be opened. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0, n;
    char *text = malloc(cap);
    PC_ASSERT_NOT_NULL(text);
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            cap *= 2;
            text = realloc(text, cap);
            PC_ASSERT_NOT_NULL(text);
        }
    }
    fclose(f);
    text[len] = '\0';
    return text;
}

/* The file at path, or the test fails. */
static char *slurp_or_fail(const char *path)
{
    char *text = slurp(path);
    if (text == NULL)
        PC_FAIL("%s: %s", path, strerror(errno));
    return text;
}

static char *read_catalogue(void)
{
    const char *path = PIPELOOP_SOURCE_DIR "/docs/behaviours.md";
    char *text = slurp(path);
    if (text == NULL)
        PC_SKIP("no %s (a build outside the source tree?): %s", path, strerror(errno));
    return text;
}

/* A behaviour ID: capitals then digits ("R4", "S10"). */
static int is_behaviour_id(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && isupper((unsigned char)s[i]))
        i++;
    if (i == 0 || i == len)
        return 0;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    return i == len;
}

static void expect_entry(const char *text, const char *group, size_t len)
{
    char needle[80];
    if (is_behaviour_id(group, len))
        snprintf(needle, sizeof needle, "\n| %.*s |", (int)len, group);
    else
        snprintf(needle, sizeof needle, "| `%.*s.*` |", (int)len, group);
    if (strstr(text, needle) == NULL)
        PC_FAIL("'%.*s' has no entry in docs/behaviours.md (looked for \"%s\")", (int)len,
                group, needle + (needle[0] == '\n'));
}

PC_TEST(catalogue, "docs.behaviours-catalogue-has-every-id")
{
    char *text = read_catalogue();
    for (size_t i = 0; i < pc_spec_count(); i++)
        expect_entry(text, pc_spec_get(i)->id, strlen(pc_spec_get(i)->id));
    size_t checked = 0;
    for (size_t i = 0; i < pc_test_count(); i++) {
        const char *name = pc_test_name(i);
        const char *dot = strchr(name, '.');
        if (dot == NULL || (pc_test_flags(i) & PC_TEST_HIDDEN))
            continue;
        expect_entry(text, name, (size_t)(dot - name));
        checked++;
    }
    PC_ASSERT_GT_SIZE(checked, 0);
    free(text);
}

/* ---- every FAIL of asyncio and uvloop is its own row's ------------------- */

/*
 * A conformance test asserts its own behaviour; a step it needs that is
 * another behaviour's is a PC_REQUIRE of that ID, which gives "blocked by
 * ID", never FAIL on the wrong row.  Checked on real runs of asyncio and
 * uvloop (epoll; pipes and ptys, where most of their failures are): every
 * failure message that names a line of check/suite/ must name a line of
 * its own test's body (the PC_CONFORMANCE block of its ID and slug), or of
 * a static helper that body calls.  A failure without such a line (the
 * test's time limit, an exception the subject's loop reported, a crash),
 * or a wait that ran out, is the subject's conduct during that very test,
 * so it counts as its row's.
 */

/* The start of line number line (1-based) of text, or NULL. */
static const char *line_start(const char *text, long line)
{
    const char *p = text;
    for (long i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return p;
}

/* The body of the PC_CONFORMANCE block with this ID and slug: from its
 * "PC_CONFORMANCE(" to the next top-level "\n}\n" (*end). */
static const char *conformance_block(const char *text, const char *id, const char *slug,
                                     const char **end)
{
    char want_id[64], want_slug[192];
    snprintf(want_id, sizeof want_id, ".id = \"%s\"", id);
    snprintf(want_slug, sizeof want_slug, ".slug = \"%s\"", slug);
    for (const char *p = strstr(text, "PC_CONFORMANCE("); p;
         p = strstr(p + 1, "PC_CONFORMANCE(")) {
        const char *brace = strstr(p, "\n{");
        if (!brace)
            break;
        size_t head = (size_t)(brace - p);
        char *h = strndup(p, head);
        PC_ASSERT_NOT_NULL(h);
        int match = strstr(h, want_id) && strstr(h, want_slug);
        free(h);
        if (match) {
            *end = strstr(brace, "\n}\n");
            if (!*end)
                *end = brace + strlen(brace);
            return p;
        }
    }
    return NULL;
}

/* Is the failure at file:line inside the test of row id and slug, or in a
 * static helper of that file that its body calls?  On no, *why says what
 * the line is. */
static int line_is_own(const char *file, long line, const char *id, const char *slug,
                       char *why, size_t whylen)
{
    char *text = slurp_or_fail(file);
    const char *at = line_start(text, line);
    int own = 0;
    if (at == NULL) {
        snprintf(why, whylen, "no line %ld in %.200s", line, file);
        goto out;
    }
    /* The top-level definition the line is in: the last line before it
     * that starts in column 0 with a name (not a brace, comment or #). */
    const char *def = NULL;
    for (const char *p = text; p && p <= at;) {
        if (*p != ' ' && *p != '{' && *p != '}' && *p != '/' && *p != '*' && *p != '#' &&
            *p != '\n' && *p != '\t')
            def = p;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    const char *end = NULL;
    const char *block = conformance_block(text, id, slug, &end);
    if (def && strncmp(def, "PC_CONFORMANCE(", 15) == 0) {
        own = block == def;
        if (!own)
            snprintf(why, whylen, "it is in the body of another test: %.60s", def);
        goto out;
    }
    /* A helper: its name is the word before the first '(' of the line. */
    const char *paren = def ? strchr(def, '(') : NULL;
    const char *nl = def ? strchr(def, '\n') : NULL;
    if (!paren || (nl && paren > nl) || !block) {
        snprintf(why, whylen, "it is not in a test of %s.%s", id, slug);
        goto out;
    }
    const char *name = paren;
    while (name > def && (isalnum((unsigned char)name[-1]) || name[-1] == '_'))
        name--;
    char call[96];
    snprintf(call, sizeof call, "%.*s(", (int)(paren - name), name);
    char *body = strndup(block, (size_t)(end - block));
    PC_ASSERT_NOT_NULL(body);
    own = strstr(body, call) != NULL;
    free(body);
    if (!own)
        snprintf(why, whylen, "it is in %.*s, which the test of %s.%s does not call",
                 (int)(paren - name), name, id, slug);
out:
    free(text);
    return own;
}

/* The JSON string value after key in line (unescaping \" and \\), into
 * buf; the first line of it only (up to a "\n" escape). */
static int json_field(const char *line, const char *key, char *buf, size_t len)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *p = strstr(line, pattern);
    if (!p)
        return 0;
    p += strlen(pattern);
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < len) {
        if (p[0] == '\\' && p[1] == 'n')
            break;
        if (p[0] == '\\' && p[1])
            p++;
        buf[n++] = *p++;
    }
    buf[n] = '\0';
    return 1;
}

static size_t audit_subject(const char *subject)
{
    char pipecheck[4096], json[128];
    const char *self = pc_self_path(), *slash = strrchr(self, '/');
    PC_ASSERT_NOT_NULL(slash);
    snprintf(pipecheck, sizeof pipecheck, "%.*s/pipecheck", (int)(slash - self), self);
    if (access(pipecheck, X_OK) != 0)
        PC_SKIP("no pipecheck next to this binary (%s)", pipecheck);
    snprintf(json, sizeof json, "/tmp/pipeloop-audit-%d-%s.json", (int)getpid(), subject);
    const char *argv[] = {pipecheck,   "--subject", subject, "--kinds", "any,pipe,pty",
                          "--backend", "epoll",     "-j",    "2",       "--json",
                          json,        NULL};
    int status;
    char *out = pc_run_capture(pipecheck, argv, &status);
    free(out);
    FILE *f = fopen(json, "re");
    if (f == NULL)
        return 0; /* the subject is not installed: its one line, no file */
    char *text = slurp_or_fail(json);
    fclose(f);
    unlink(json);
    size_t checked = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "\"status\": \"fail\""))
            continue;
        char name[256], id[16], message[1024];
        if (!json_field(line, "test", name, sizeof name) ||
            !json_field(line, "id", id, sizeof id) ||
            !json_field(line, "message", message, sizeof message))
            PC_FAIL("a result line without test, id or message: %s", line);
        checked++;
        const char *loc = strstr(message, "/check/suite/");
        /* A wait that ran out (in a helper's loop, too) is the subject's
         * conduct in this test, as a time limit is: its row's. */
        if (loc == NULL || strstr(message, ": timed out waiting for: ") != NULL)
            continue;
        /* The S group's process recorder (conform_util.c) checks S2's
         * order as the callbacks come: on an S2 row, the row's own check. */
        if (strcmp(id, "S2") == 0 && strstr(loc, "/check/suite/conform_util.c:") != NULL)
            continue;
        while (loc > message && loc[-1] != ' ')
            loc--;
        char file[1024];
        long lineno = 0;
        const char *colon = strstr(loc, ".c:");
        PC_ASSERT_NOT_NULL(colon);
        snprintf(file, sizeof file, "%.*s", (int)(colon + 2 - loc), loc);
        lineno = strtol(colon + 3, NULL, 10);
        /* "ID.slug@kind/backend" -> slug */
        char slug[128];
        const char *dot = strchr(name, '.'), *at = strchr(name, '@');
        PC_ASSERT(dot && at && at > dot);
        snprintf(slug, sizeof slug, "%.*s", (int)(at - dot - 1), dot + 1);
        char why[256];
        if (!line_is_own(file, lineno, id, slug, why, sizeof why))
            PC_FAIL("%s %s fails on row %s by a check that is not its own (%s); make it "
                    "a PC_REQUIRE of the behaviour it belongs to: %s",
                    subject, name, id, why, message);
    }
    free(text);
    return checked;
}

PC_TEST(fail_rows, "docs.fail-messages-name-own-row")
{
    pc_set_timeout_ms(600000);
    if (system("python3 -c 'import asyncio' >/dev/null 2>&1") != 0)
        PC_SKIP("no python3 for the asyncio adapter");
    size_t checked = audit_subject("asyncio");
    checked += audit_subject("uvloop");
    /* asyncio fails some rows on pipes and ptys (findings A4, A8...): a
     * run without any failure would check nothing. */
    PC_ASSERT_GT_SIZE(checked, 0);
    printf("%zu FAIL messages of asyncio and uvloop checked\n", checked);
}
