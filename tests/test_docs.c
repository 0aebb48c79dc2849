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

#include <pipecheck.h>

#ifndef PIPELOOP_SOURCE_DIR
#define PIPELOOP_SOURCE_DIR "."
#endif

static char *read_catalogue(void)
{
    const char *path = PIPELOOP_SOURCE_DIR "/docs/behaviours.md";
    FILE *f = fopen(path, "re");
    if (f == NULL)
        PC_SKIP("no %s (a build outside the source tree?): %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    PC_ASSERT_NOT_NULL(text);
    size_t n;
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
