/* The conformance suite's registry: every test body is instantiated once
 * per applicable pipe kind and per backend. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipecheck.h"

struct instance {
    struct instance *next; /* all instances stay reachable until exit */
    const char *name;      /* the registered name */
    const pc_conformance *test;
    const pc_kind *kind;
    const pc_backend *backend;
};

static struct instance *instances;

#define MAX_TESTS 512
static const pc_conformance *registry[MAX_TESTS];
static size_t nregistry;

size_t pc_conformance_count(void)
{
    return nregistry;
}

const pc_conformance *pc_conformance_get(size_t i)
{
    return i < nregistry ? registry[i] : NULL;
}

int pc_conformance_applies(const pc_conformance *test, const pc_kind *kind)
{
    if (test->needs == PC_NEEDS_LOOP)
        return kind == NULL;
    if (!kind)
        return 0;
    return (kind->flags & test->required) == test->required &&
           (kind->flags & test->excludes) == 0;
}

/* FNV-1a, to give every instance its own reproducible seed. */
static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

static void run_instance(void *arg)
{
    const struct instance *in = arg;
    if (in->test->timeout_ms)
        pc_set_timeout_ms(in->test->timeout_ms);
    pc_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.test = in->test;
    ctx.kind = in->kind;
    ctx.backend = in->backend->name;
    ctx.loop_flags = in->backend->flag;
    ctx.impl = pc_subject_current();
    ctx.seed = pc_seed() ^ hash_name(pc_current_test());
    /* A test that needs what the subject lacks does not apply to it; the
     * CLI reports such instances as n/a without running them. */
    unsigned missing = in->test->caps & ~ctx.impl->caps;
    if (missing & PC_CAP_IS_READING)
        PC_SKIP("n/a: the subject has no is_reading (%s)", ctx.impl->describe);
    if (missing)
        PC_SKIP("n/a: %s lacks %s", ctx.impl->name,
                pc_subject_cap_name(missing & -missing));
    if (!pc_subject_has_backend(ctx.impl, ctx.backend))
        PC_SKIP("n/a: %s has no %s backend", ctx.impl->name, ctx.backend);
    int made = pc_loop_new(&ctx.loop, ctx.backend);
    /* io_uring may be compiled out or refused by the kernel (containers):
     * its column is then n/a with the reason, not a failure. */
    if (made != 0 && in->backend->optional &&
        (made == -ENOSYS || made == -EPERM || made == -ENOMEM))
        PC_SKIP("n/a: %s cannot make an io_uring loop here: %s%s", ctx.impl->name,
                pl_strerror(made),
                made == -ENOSYS
                    ? " (no liburing at build time, or no io_uring in the kernel)"
                    : "");
    PC_ASSERT_OK(made);
    in->test->fn(&ctx);
    int err = pc_loop_close(ctx.loop);
    if (err)
        PC_FAIL("closing the loop after the test: %s (a transport or watcher was left "
                "open)",
                pl_err_name(err));
}

static void add_instance(const pc_conformance *test, const pc_kind *kind,
                         const pc_backend *backend)
{
    struct instance *in = malloc(sizeof *in);
    if (!in)
        abort();
    in->test = test;
    in->kind = kind;
    in->backend = backend;
    char name[256];
    if (kind)
        snprintf(name, sizeof name, "%s.%s@%s/%s", test->id, test->slug, kind->name,
                 backend->name);
    else
        snprintf(name, sizeof name, "%s.%s@%s", test->id, test->slug, backend->name);
    /* The instance lives as long as the process: the runner keeps arg. */
    in->name = strdup(name);
    if (!in->name || pc_test_add(name, run_instance, in, 0) != 0) {
        free((char *)in->name);
        free(in);
        return;
    }
    in->next = instances;
    instances = in;
}

void pc_conformance_add(const pc_conformance *test)
{
    if (nregistry == MAX_TESTS) {
        fprintf(stderr, "pipecheck: too many conformance tests (max %d)\n", MAX_TESTS);
        abort();
    }
    registry[nregistry++] = test;
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++) {
        if (test->needs == PC_NEEDS_LOOP) {
            add_instance(test, NULL, &pc_backends[b]);
            continue;
        }
        for (size_t k = 0; k < pc_kind_count(); k++)
            if (pc_conformance_applies(test, pc_kind_get(k)))
                add_instance(test, pc_kind_get(k), &pc_backends[b]);
    }
}

void pc__conformance_set_source(const pc_conformance *test, const char *file, int line)
{
    char name[256];
    snprintf(name, sizeof name, "%s.%s", test->id, test->slug);
    pc_test_set_source(name, file, line);
}

const pc_conformance *pc_conformance_of(const char *name, const char **backend)
{
    for (const struct instance *in = instances; in; in = in->next)
        if (strcmp(in->name, name) == 0) {
            if (backend)
                *backend = in->backend->name;
            return in->test;
        }
    return NULL;
}

void pc_ctx_open_pair(pc_ctx *ctx, pc_dir dir, unsigned flags, pc_pair *pair)
{
    int err = pc_pair_open(ctx->kind, dir, flags, pair);
    if (err == -ENOENT || err == -ENXIO || err == -ENOSYS)
        PC_SKIP("this machine cannot make a %s pair: %s", ctx->kind->name,
                pl_err_name(err));
    if (err)
        PC_FAIL("pc_pair_open(%s): %s", ctx->kind->name, pl_err_name(err));
}

pc_transport *pc_ctx_connect(pc_ctx *ctx, pc_dir dir, int fd, pc_recorder *rec)
{
    pc_transport *t = NULL;
    int err =
        dir == PC_DIR_READ
            ? ctx->impl->connect_read_pipe(ctx->loop, fd, &pc_recorder_protocol, rec, &t)
            : ctx->impl->connect_write_pipe(ctx->loop, fd, &pc_recorder_protocol, rec,
                                            &t);
    if (err)
        PC_FAIL("connect %s pipe on %s: %s", dir == PC_DIR_READ ? "read" : "write",
                ctx->kind ? ctx->kind->name : "fd", pl_err_name(err));
    return t;
}

void pc_blocked_by(const char *file, int line, const char *id, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* The running test's own ID: "F4.rw-...@pipe/epoll" -> "F4". */
    const char *name = pc_current_test();
    const char *dot = name ? strchr(name, '.') : NULL;
    int own = dot && strlen(id) == (size_t)(dot - name) &&
              strncmp(name, id, (size_t)(dot - name)) == 0;
    if (own)
        pc_fail(file, line, "%s", message);
    if (pc_subject_has(PC_CAP_PIPELOOP_API))
        pc_fail(file, line, "precondition %s failed: %s", id, message);
    pc_skip(PC_BLOCKED_PREFIX "%s: %s:%d: %s", id, file, line, message);
}
