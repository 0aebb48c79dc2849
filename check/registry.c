/* The test registry: what PC_TEST and pc_test_add register (from
 * constructors, before main), in registration order, for the runner and
 * the options to select from. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

static struct pc__test_entry *tests;
static size_t test_count, test_cap;
static int registration_error;

/* Where tests are defined, by name or name@ prefix: see pc_test_set_source. */
struct source {
    char *name;
    const char *file;
    int line;
};
static struct source *sources;
static size_t source_count;

int pc_test_add(const char *name, void (*fn)(void *arg), void *arg, unsigned flags)
{
    int err = -EINVAL;
    if (name == NULL || name[0] == '\0' || fn == NULL ||
        (flags & ~(unsigned)PC_TEST_HIDDEN))
        goto fail;
    err = -ENOMEM;
    if (test_count == test_cap) {
        size_t cap = test_cap ? 2 * test_cap : 64;
        struct pc__test_entry *bigger = realloc(tests, cap * sizeof *bigger);
        if (bigger == NULL)
            goto fail;
        tests = bigger;
        test_cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        goto fail;
    tests[test_count++] = (struct pc__test_entry){copy, fn, arg, flags};
    return 0;
fail:
    if (registration_error == 0)
        registration_error = err;
    return err;
}

/* Free the registry at exit so that leak checkers see a clean parent. */
void pc_test_set_source(const char *name, const char *file, int line)
{
    char *copy = name && file ? strdup(name) : NULL;
    struct source *bigger =
        copy ? realloc(sources, (source_count + 1) * sizeof *bigger) : NULL;
    if (bigger == NULL) {
        free(copy); /* the source stays unknown: only --explain misses it */
        return;
    }
    sources = bigger;
    sources[source_count++] = (struct source){copy, file, line};
}

const char *pc_test_source(size_t i, int *line)
{
    const char *name = pc_test_name(i);
    for (size_t s = 0; name && s < source_count; s++) {
        size_t len = strlen(sources[s].name);
        if (strncmp(name, sources[s].name, len) == 0 &&
            (name[len] == '\0' || name[len] == '@' || name[len] == '/')) {
            if (line)
                *line = sources[s].line;
            return sources[s].file;
        }
    }
    return NULL;
}

__attribute__((destructor)) static void registry_free(void)
{
    for (size_t i = 0; i < source_count; i++)
        free(sources[i].name);
    free(sources);
    sources = NULL;
    source_count = 0;
    for (size_t i = 0; i < test_count; i++)
        free(tests[i].name);
    free(tests);
    tests = NULL;
    test_count = test_cap = 0;
}

size_t pc_test_count(void)
{
    return test_count;
}

const char *pc_test_name(size_t i)
{
    return i < test_count ? tests[i].name : NULL;
}

unsigned pc_test_flags(size_t i)
{
    return i < test_count ? tests[i].flags : 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_unique_names(void)
{
    if (test_count < 2)
        return 0;
    char **names = malloc(test_count * sizeof *names);
    if (names == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < test_count; i++)
        names[i] = tests[i].name;
    qsort(names, test_count, sizeof *names, compare_names);
    int err = 0;
    for (size_t i = 1; i < test_count; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            fprintf(stderr, "pipecheck: two tests are named '%s'\n", names[i]);
            err = -EEXIST;
        }
    free(names);
    return err;
}

struct pc__test_entry *pc__registry_entry(size_t i)
{
    return i < test_count ? &tests[i] : NULL;
}

int pc__registry_check(void)
{
    if (registration_error < 0) {
        fprintf(stderr, "pipecheck: registering a test failed: %s\n",
                strerror(-registration_error));
        return registration_error;
    }
    return check_unique_names();
}
