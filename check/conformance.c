/* The conformance suite's registry: every test body is instantiated once
 * per applicable pipe kind and per backend. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipecheck.h"

struct instance {
    struct instance *next; /* all instances stay reachable until exit */
    const pc_conformance *test;
    const pc_kind *kind;
    const char *backend;
    unsigned loop_flags;
};

static const struct {
    const char *name;
    unsigned flags;
} backends[] = {{"epoll", PL_LOOP_EPOLL}, {"poll", PL_LOOP_POLL}};

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
    ctx.backend = in->backend;
    ctx.loop_flags = in->loop_flags;
    ctx.impl = pc_impl_current();
    ctx.seed = pc_seed() ^ hash_name(pc_current_test());
    PC_ASSERT_OK(pl_loop_new(&ctx.loop, ctx.loop_flags));
    in->test->fn(&ctx);
    int err = pl_loop_close(ctx.loop);
    if (err)
        PC_FAIL("pl_loop_close after the test: %s (a transport or watcher was left "
                "open)",
                pl_err_name(err));
}

static void add_instance(const pc_conformance *test, const pc_kind *kind, size_t b)
{
    struct instance *in = malloc(sizeof *in);
    if (!in)
        abort();
    in->test = test;
    in->kind = kind;
    in->backend = backends[b].name;
    in->loop_flags = backends[b].flags;
    char name[256];
    if (kind)
        snprintf(name, sizeof name, "%s.%s@%s/%s", test->id, test->slug, kind->name,
                 in->backend);
    else
        snprintf(name, sizeof name, "%s.%s@%s", test->id, test->slug, in->backend);
    /* The instance lives as long as the process: the runner keeps arg. */
    if (pc_test_add(name, run_instance, in, 0) != 0) {
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
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        if (test->needs == PC_NEEDS_LOOP) {
            add_instance(test, NULL, b);
            continue;
        }
        for (size_t k = 0; k < pc_kind_count(); k++)
            if (pc_conformance_applies(test, pc_kind_get(k)))
                add_instance(test, pc_kind_get(k), b);
    }
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

pl_transport *pc_ctx_connect(pc_ctx *ctx, pc_dir dir, int fd, pc_recorder *rec)
{
    pl_transport *t = NULL;
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
