/* The poll(2) backend: portable, and able to watch fds epoll refuses (for
 * example /dev/null).  A dense pollfd array plus an fd -> slot map keeps
 * updates O(1); removal swaps the last slot into the hole. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "internal.h"

struct poll_data {
    struct pollfd *fds;
    uint32_t *gens; /* beside fds: the watcher generation of each slot */
    size_t len, cap;
    int *slot_of_fd; /* -1: not registered */
    size_t map_cap;
};

static int poll_init(pl_loop *loop)
{
    struct poll_data *data = pl__calloc(1, sizeof *data);
    if (!data)
        return -ENOMEM;
    loop->backend_fd = -1;
    loop->backend_data = data;
    return 0;
}

static void poll_destroy(pl_loop *loop)
{
    struct poll_data *data = loop->backend_data;
    if (data) {
        free(data->fds);
        free(data->gens);
        free(data->slot_of_fd);
        free(data);
    }
    loop->backend_data = NULL;
}

static short poll_mask(unsigned events)
{
    short mask = 0;
    if (events & PL__IO_IN)
        mask |= POLLIN;
    if (events & PL__IO_OUT)
        mask |= POLLOUT;
    return mask;
}

static int map_reserve(struct poll_data *data, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need <= data->map_cap)
        return 0;
    size_t cap = data->map_cap ? data->map_cap : 64;
    while (cap < need)
        cap *= 2;
    int *map = pl__realloc(data->slot_of_fd, cap * sizeof *map);
    if (!map)
        return -ENOMEM;
    for (size_t i = data->map_cap; i < cap; i++)
        map[i] = -1;
    data->slot_of_fd = map;
    data->map_cap = cap;
    return 0;
}

static int poll_update(pl_loop *loop, int fd, uint32_t gen, unsigned old_events,
                       unsigned new_events)
{
    struct poll_data *data = loop->backend_data;
    PL__UNUSED(old_events);
    if (new_events == 0) {
        /* Removing never allocates, so it cannot fail. */
        int slot = (size_t)fd < data->map_cap ? data->slot_of_fd[fd] : -1;
        if (slot < 0)
            return 0;
        size_t last = --data->len;
        if ((size_t)slot != last) {
            data->fds[slot] = data->fds[last];
            data->gens[slot] = data->gens[last];
            data->slot_of_fd[data->fds[slot].fd] = slot;
        }
        data->slot_of_fd[fd] = -1;
        return 0;
    }
    int err = map_reserve(data, fd);
    if (err)
        return err;
    int slot = data->slot_of_fd[fd];
    if (slot < 0) {
        /* Room for this fd's event too, so that waiting never allocates
         * (a full iteration cannot fail for want of memory). */
        err = pl__loop_events_reserve(loop, data->len + 1);
        if (err)
            return err;
        if (data->len == data->cap) {
            size_t cap = data->cap ? data->cap * 2 : 64;
            struct pollfd *fds = pl__realloc(data->fds, cap * sizeof *fds);
            if (!fds)
                return -ENOMEM;
            data->fds = fds;
            uint32_t *gens = pl__realloc(data->gens, cap * sizeof *gens);
            if (!gens)
                return -ENOMEM;
            data->gens = gens;
            data->cap = cap;
        }
        slot = (int)data->len++;
        data->slot_of_fd[fd] = slot;
        data->fds[slot].fd = fd;
    }
    data->gens[slot] = gen;
    data->fds[slot].events = poll_mask(new_events);
    data->fds[slot].revents = 0;
    return 0;
}

static int poll_wait_events(pl_loop *loop, int timeout_ms)
{
    struct poll_data *data = loop->backend_data;
    assert(loop->events_cap >= data->len); /* reserved by poll_update */
    int n = poll(data->fds, (nfds_t)data->len, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int out = 0;
    for (size_t i = 0; i < data->len && out < n; i++) {
        short r = data->fds[i].revents;
        if (!r)
            continue;
        unsigned revents = 0;
        if (r & POLLIN)
            revents |= PL_READABLE;
        if (r & POLLOUT)
            revents |= PL_WRITABLE;
        if (r & POLLHUP)
            revents |= PL_HUP;
        if (r & (POLLERR | POLLNVAL))
            revents |= PL_ERR;
        loop->events[out].fd = data->fds[i].fd;
        loop->events[out].gen = data->gens[i];
        loop->events[out].revents = revents;
        out++;
    }
    return out;
}

/* Readiness only: no detach step, and the completion-read slots stay NULL. */
const struct pl__backend pl__backend_poll = {
    .name = "poll",
    .init = poll_init,
    .destroy = poll_destroy,
    .update = poll_update,
    .wait = poll_wait_events,
};
