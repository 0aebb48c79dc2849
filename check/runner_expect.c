/*
 * Expected verdicts (--expect FILE): one "VERDICT NAME" a line, VERDICT
 * pass, fail, skip or any.  A subject with known failures (asyncio in
 * pipecheck's matrix) is judged against a baseline of its own verdicts,
 * so that a run tells "the same as before" from "something changed" -
 * which is what a mutant of the subject's code must be judged by.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

static int by_name(const void *a, const void *b)
{
    const struct pc__expected *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int verdict_of(const char *word, size_t len)
{
    static const struct {
        const char *word;
        int verdict;
    } words[] = {{"pass", PC_PASS}, {"fail", PC_FAIL}, {"skip", PC_SKIP}, {"any", -1}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].word) == len && memcmp(words[i].word, word, len) == 0)
            return words[i].verdict;
    return -2;
}

int pc__expect_load(struct pc__expect *e, const char *path, FILE *err)
{
    memset(e, 0, sizeof *e);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        int code = -errno;
        fprintf(err, "pipecheck: --expect %s: %s\n", path, strerror(errno));
        return code;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int code = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 &&
               (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *space = strchr(line, ' ');
        int verdict = space ? verdict_of(line, (size_t)(space - line)) : -2;
        if (verdict == -2 || space[1] == '\0') {
            fprintf(err,
                    "pipecheck: --expect %s:%zu: not 'pass|fail|skip|any NAME': %s\n",
                    path, lineno, line);
            code = -EINVAL;
            break;
        }
        if (e->count == e->cap) {
            size_t cap2 = e->cap ? 2 * e->cap : 64;
            struct pc__expected *grown = realloc(e->items, cap2 * sizeof *grown);
            if (grown == NULL) {
                code = -ENOMEM;
                break;
            }
            e->items = grown;
            e->cap = cap2;
        }
        char *name = strdup(space + 1);
        if (name == NULL) {
            code = -ENOMEM;
            break;
        }
        e->items[e->count++] = (struct pc__expected){.name = name, .verdict = verdict};
    }
    free(line);
    fclose(f);
    if (code < 0) {
        pc__expect_free(e);
        return code;
    }
    qsort(e->items, e->count, sizeof *e->items, by_name);
    e->active = 1;
    return 0;
}

int pc__expect_verdict(const struct pc__expect *e, const char *name)
{
    struct pc__expected key = {.name = (char *)(uintptr_t)name};
    const struct pc__expected *hit =
        e->count ? bsearch(&key, e->items, e->count, sizeof *e->items, by_name) : NULL;
    return hit ? hit->verdict : PC_PASS;
}

void pc__expect_free(struct pc__expect *e)
{
    for (size_t i = 0; i < e->count; i++)
        free(e->items[i].name);
    free(e->items);
    memset(e, 0, sizeof *e);
}
