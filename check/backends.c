/* The table of loop backends, and tests registered once per backend. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipecheck.h"

const pc_backend pc_backends[PC_BACKEND_COUNT] = {
    {.name = "epoll", .column = "epoll", .flag = PL_LOOP_EPOLL},
    {.name = "poll", .column = "poll", .flag = PL_LOOP_POLL},
    {.name = "io_uring", .column = "uring", .flag = PL_LOOP_IO_URING, .optional = 1},
};

const pc_backend *pc_backend_find(const char *name)
{
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++)
        if (strcmp(pc_backends[b].name, name) == 0)
            return &pc_backends[b];
    return NULL;
}

int pc_backend_available(const pc_backend *backend)
{
    if (!backend->optional)
        return 0;
    pl_loop *loop = NULL;
    int err = pl_loop_new(&loop, backend->flag);
    if (err == 0)
        pl_loop_close(loop);
    return err;
}

/* One registration.  All stay reachable until exit, as the runner keeps
 * their address. */
struct on_backend {
    struct on_backend *next;
    void (*fn)(const pc_backend *backend, void *arg);
    const pc_backend *backend;
    void *arg;
};

static struct on_backend *registrations;

static void run_on_backend(void *arg)
{
    const struct on_backend *on = arg;
    int err = pc_backend_available(on->backend);
    /* A backend may be compiled out or refused by the kernel (io_uring in
     * containers): its tests are then n/a with the reason, not failures.
     * Any other error is the test's to report. */
    if (err == -ENOSYS || err == -EPERM || err == -ENOMEM)
        PC_SKIP("n/a: no %s loop here: %s%s", on->backend->name, pl_strerror(err),
                err == -ENOSYS
                    ? " (no liburing at build time, or no io_uring in the kernel)"
                    : "");
    on->fn(on->backend, on->arg);
}

int pc_test_add_on_backend(const char *name, const pc_backend *backend,
                           void (*fn)(const pc_backend *backend, void *arg), void *arg,
                           unsigned flags)
{
    if (!name || !backend || !fn)
        return -EINVAL;
    char full[256];
    /* "loop.signal@poll", or after a kind "R9.eintr-storm@pipe/poll". */
    int n = snprintf(full, sizeof full, "%s%c%s", name, strchr(name, '@') ? '/' : '@',
                     backend->name);
    if (n < 0 || (size_t)n >= sizeof full)
        return -EINVAL;
    struct on_backend *on = malloc(sizeof *on);
    if (!on)
        return -ENOMEM;
    on->fn = fn;
    on->backend = backend;
    on->arg = arg;
    int err = pc_test_add(full, run_on_backend, on, flags);
    if (err) {
        free(on);
        return err;
    }
    on->next = registrations;
    registrations = on;
    return 0;
}

int pc_test_add_each_backend(const char *name,
                             void (*fn)(const pc_backend *backend, void *arg), void *arg,
                             unsigned flags)
{
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++) {
        int err = pc_test_add_on_backend(name, &pc_backends[b], fn, arg, flags);
        if (err)
            return err;
    }
    return 0;
}
