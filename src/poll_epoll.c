/* The epoll(7) backend: the default where the preferred backend is
 * refused by the kernel or not built (loop.c chooses). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

#define EPOLL_BATCH 1024

struct epoll_state {
    struct epoll_event events[EPOLL_BATCH];
};

static int epoll_init(pl_loop *loop)
{
    int err = pl__loop_events_reserve(loop, EPOLL_BATCH);
    if (err)
        return err;
    struct epoll_state *data = pl__malloc(sizeof *data);
    if (!data)
        return -ENOMEM;
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        free(data);
        return err;
    }
    loop->backend_fd = fd;
    loop->backend_data = data;
    return 0;
}

static void epoll_destroy(pl_loop *loop)
{
    if (loop->backend_fd >= 0)
        pl__close(loop->backend_fd);
    loop->backend_fd = -1;
    free(loop->backend_data);
    loop->backend_data = NULL;
}

static uint32_t epoll_mask(unsigned events)
{
    uint32_t mask = 0;
    if (events & PL__IO_IN)
        mask |= EPOLLIN;
    if (events & PL__IO_OUT)
        mask |= EPOLLOUT;
    /* PL__IO_ERRONLY registers with no direction: epoll always reports
     * EPOLLHUP and EPOLLERR. */
    return mask;
}

static int epoll_update(pl_loop *loop, int fd, uint32_t gen, unsigned old_events,
                        unsigned new_events)
{
    struct epoll_event ev = {0};
    ev.events = epoll_mask(new_events);
    ev.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd;
    int op;
    if (old_events == 0)
        op = EPOLL_CTL_ADD;
    else if (new_events == 0)
        op = EPOLL_CTL_DEL;
    else
        op = EPOLL_CTL_MOD;
    if (epoll_ctl(loop->backend_fd, op, fd, &ev) < 0) {
        /* A DEL after the fd was closed elsewhere has nothing to undo. */
        if (op == EPOLL_CTL_DEL)
            return 0;
        return -errno;
    }
    return 0;
}

static int epoll_wait_events(pl_loop *loop, int timeout_ms)
{
    struct epoll_state *data = loop->backend_data;
    int n = epoll_wait(loop->backend_fd, data->events, EPOLL_BATCH, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = data->events[i].events;
        unsigned revents = 0;
        if (e & EPOLLIN)
            revents |= PL_READABLE;
        if (e & EPOLLOUT)
            revents |= PL_WRITABLE;
        if (e & EPOLLHUP)
            revents |= PL_HUP;
        if (e & EPOLLERR)
            revents |= PL_ERR;
        loop->events[i].fd = (int)(uint32_t)data->events[i].data.u64;
        loop->events[i].gen = (uint32_t)(data->events[i].data.u64 >> 32);
        loop->events[i].revents = revents;
    }
    return n;
}

/* Readiness only: no detach step, and the completion-read slots stay NULL. */
const struct pl__backend pl__backend_epoll = {
    .name = "epoll",
    .init = epoll_init,
    .destroy = epoll_destroy,
    .update = epoll_update,
    .wait = epoll_wait_events,
};
