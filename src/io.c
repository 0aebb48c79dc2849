/* fd watching: the loop's fd table, event dispatch, and the public
 * add/remove reader/writer API built on it. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "internal.h"

void pl__io_init(struct pl__io *io, int fd, pl__io_cb cb)
{
    io->fd = fd;
    io->events = 0;
    io->registered = 0;
    io->cb = cb;
    io->owned = 0;
}

static int table_reserve(pl_loop *loop, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need <= loop->nios)
        return 0;
    size_t cap = loop->nios ? loop->nios : 64;
    while (cap < need)
        cap *= 2;
    struct pl__io **ios = pl__realloc(loop->ios, cap * sizeof *ios);
    if (!ios)
        return -ENOMEM;
    for (size_t i = loop->nios; i < cap; i++)
        ios[i] = NULL;
    loop->ios = ios;
    loop->nios = cap;
    return 0;
}

static int fd_valid(int fd)
{
    return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

int pl__io_attach(pl_loop *loop, struct pl__io *io)
{
    /* Callers have checked that the fd is open (fstat, fcntl or because
     * they just made it); only its range matters here. */
    if (io->fd < 0)
        return -EBADF;
    int err = table_reserve(loop, io->fd);
    if (err)
        return err;
    if (loop->ios[io->fd])
        return -EEXIST;
    io->gen = ++loop->io_gen;
    loop->ios[io->fd] = io;
    return 0;
}

int pl__io_set(pl_loop *loop, struct pl__io *io, unsigned events)
{
    if (events != io->registered) {
        int err = events && pl__sys_fault
                      ? pl__sys_fault(PL__SYS_POLL_UPDATE, io->fd, NULL)
                      : 0;
        if (!err)
            err = loop->backend->update(loop, io->fd, io->gen, io->registered, events);
        if (err)
            return err;
        io->registered = events;
    }
    io->events = events;
    return 0;
}

void pl__io_detach(pl_loop *loop, struct pl__io *io)
{
    if (io->fd < 0 || (size_t)io->fd >= loop->nios || loop->ios[io->fd] != io)
        return;
    if (io->registered)
        loop->backend->update(loop, io->fd, io->gen, io->registered, 0);
    if (loop->backend->detach)
        loop->backend->detach(loop, io->fd);
    io->registered = 0;
    io->events = 0;
    /* Clearing the table slot is what cancels an event already collected
     * for this fd: dispatch looks the fd up again (spec L3). */
    loop->ios[io->fd] = NULL;
}

int pl__io_probe(pl_loop *loop, int fd)
{
    int err = loop->backend->update(loop, fd, 0, 0, PL__IO_ERRONLY);
    if (err)
        return err;
    loop->backend->update(loop, fd, 0, PL__IO_ERRONLY, 0);
    return 0;
}

int pl__io_completion_reads(pl_loop *loop)
{
    return loop->backend->completion_reads ? loop->backend->completion_reads(loop) : 0;
}

ssize_t pl__io_take_read(pl_loop *loop, struct pl__io *io, char **buf)
{
    assert(io->registered & PL__IO_COMPLETION_READ);
    return loop->backend->take_read(loop, io->fd, buf);
}

int pl__io_dispatch(pl_loop *loop, size_t n)
{
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = loop->events[i].fd;
        unsigned r = loop->events[i].revents;
        if (fd < 0 || (size_t)fd >= loop->nios)
            continue;
        struct pl__io *io = loop->ios[fd];
        /* A watcher gone, or replaced by a new one on a reused fd number
         * earlier in this iteration, gets nothing from this event. */
        if (!io || io->gen != loop->events[i].gen)
            continue;
        /* Deliver only what the watcher still wants: a direction removed
         * earlier in this iteration gets nothing (spec L3).  HUP and ERR
         * reach readers and writers alike (spec L2). */
        unsigned deliver = 0;
        if (io->events & (PL__IO_IN | PL__IO_COMPLETION_READ))
            deliver |= r & (PL_READABLE | PL_HUP | PL_ERR);
        if (io->events & PL__IO_OUT)
            deliver |= r & (PL_WRITABLE | PL_HUP | PL_ERR);
        if (io->events & PL__IO_ERRONLY)
            deliver |= r & (PL_HUP | PL_ERR);
        if (!deliver)
            continue;
        if (io == &loop->wakeup_io) {
            /* Count the signal handlers the wakeup ran, not the wakeup. */
            loop->signals_ran = 0;
            io->cb(loop, io, deliver);
            ran += loop->signals_ran;
            continue;
        }
        io->cb(loop, io, deliver);
        ran++;
    }
    return ran;
}

/* ---- public watchers --------------------------------------------------- */

struct watch {
    struct pl__io io;
    pl_io_cb reader;
    void *reader_user;
    pl_io_cb writer;
    void *writer_user;
    int dispatching; /* inside watch_cb: freeing waits until it returns */
    int dead;
};

static unsigned watch_events(const struct watch *w)
{
    return (w->reader ? PL__IO_IN : 0u) | (w->writer ? PL__IO_OUT : 0u);
}

static void watch_free(pl_loop *loop, struct watch *w)
{
    pl__io_detach(loop, &w->io);
    pl__loop_handle_remove(loop);
    if (w->dispatching)
        w->dead = 1;
    else
        free(w);
}

static void watch_cb(pl_loop *loop, struct pl__io *io, unsigned revents)
{
    struct watch *w = PL__CONTAINER_OF(io, struct watch, io);
    int fd = io->fd;
    w->dispatching = 1;
    unsigned for_reader = revents & (PL_READABLE | PL_HUP | PL_ERR);
    if (w->reader && for_reader)
        w->reader(loop, fd, for_reader, w->reader_user);
    unsigned for_writer = revents & (PL_WRITABLE | PL_HUP | PL_ERR);
    /* The reader may have removed the writer (or both): look again. */
    if (!w->dead && w->writer && for_writer)
        w->writer(loop, fd, for_writer, w->writer_user);
    w->dispatching = 0;
    if (w->dead)
        free(w);
}

static int watch_add(pl_loop *loop, int fd, pl_io_cb cb, void *user, int write)
{
    if (!loop || !cb)
        return -EINVAL;
    if (!fd_valid(fd))
        return -EBADF;
    int err = table_reserve(loop, fd);
    if (err)
        return err;
    struct pl__io *io = loop->ios[fd];
    struct watch *w;
    int fresh = 0;
    if (io) {
        if (io->cb != watch_cb || io->owned)
            return -EEXIST; /* a transport or the loop owns it (spec C3) */
        w = PL__CONTAINER_OF(io, struct watch, io);
        if (write ? w->writer != NULL : w->reader != NULL)
            return -EEXIST;
    } else {
        w = pl__calloc(1, sizeof *w);
        if (!w)
            return -ENOMEM;
        pl__io_init(&w->io, fd, watch_cb);
        fresh = 1;
    }
    unsigned events = watch_events(w) | (write ? PL__IO_OUT : PL__IO_IN);
    if (fresh) {
        err = pl__io_attach(loop, &w->io);
        if (err) {
            free(w);
            return err;
        }
    }
    err = pl__io_set(loop, &w->io, events);
    if (err) {
        if (fresh) {
            pl__io_detach(loop, &w->io);
            free(w);
        }
        return err;
    }
    if (write) {
        w->writer = cb;
        w->writer_user = user;
    } else {
        w->reader = cb;
        w->reader_user = user;
    }
    if (fresh)
        pl__loop_handle_add(loop);
    return 0;
}

static int watch_remove(pl_loop *loop, int fd, int write)
{
    if (!loop)
        return -EINVAL;
    if (fd < 0 || (size_t)fd >= loop->nios || !loop->ios[fd] ||
        loop->ios[fd]->cb != watch_cb)
        return -ENOENT;
    struct watch *w = PL__CONTAINER_OF(loop->ios[fd], struct watch, io);
    if (write ? w->writer == NULL : w->reader == NULL)
        return -ENOENT;
    if (write)
        w->writer = NULL;
    else
        w->reader = NULL;
    unsigned events = watch_events(w);
    if (events == 0) {
        watch_free(loop, w);
        return 0;
    }
    /* Dropping a direction cannot fail in a way that matters: the dispatch
     * filter already ignores the removed direction. */
    (void)pl__io_set(loop, &w->io, events);
    return 0;
}

int pl_loop_add_reader(pl_loop *loop, int fd, pl_io_cb cb, void *user)
{
    return watch_add(loop, fd, cb, user, 0);
}

int pl_loop_add_writer(pl_loop *loop, int fd, pl_io_cb cb, void *user)
{
    return watch_add(loop, fd, cb, user, 1);
}

int pl_loop_remove_reader(pl_loop *loop, int fd)
{
    return watch_remove(loop, fd, 0);
}

int pl_loop_remove_writer(pl_loop *loop, int fd)
{
    return watch_remove(loop, fd, 1);
}
