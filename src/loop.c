/* The loop core: creation, the iteration, the ready queue and the
 * thread-safe wakeup. */
#define _GNU_SOURCE /* eventfd */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ---- ready queue: a ring that grows by doubling and never shrinks ------ */

static int queue_grow(struct pl__queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct pl__callback *items = pl__malloc(cap * sizeof *items);
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < q->len; i++)
        items[i] = q->items[(q->head + i) & (q->cap - 1)];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static int queue_ensure(struct pl__queue *q, size_t need)
{
    while (q->cap < need) {
        int err = queue_grow(q);
        if (err)
            return err;
    }
    return 0;
}

int pl__queue_push(struct pl__queue *q, pl_callback cb, void *user)
{
    int err = queue_ensure(q, q->len + 1);
    if (err)
        return err;
    struct pl__callback *c = &q->items[(q->head + q->len) & (q->cap - 1)];
    c->cb = cb;
    c->user = user;
    q->len++;
    return 0;
}

static struct pl__callback queue_pop(struct pl__queue *q)
{
    assert(q->len > 0);
    struct pl__callback c = q->items[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
    return c;
}

void pl__queue_destroy(struct pl__queue *q)
{
    free(q->items);
    *q = (struct pl__queue){0};
}

/* ---- clock --------------------------------------------------------------- */

uint64_t pl_loop_update_time(pl_loop *loop)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    loop->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return loop->now_ms;
}

uint64_t pl_loop_time(const pl_loop *loop)
{
    return loop->now_ms;
}

uint64_t pl_loop_iteration(const pl_loop *loop)
{
    return loop->iteration;
}

const char *pl_loop_backend(const pl_loop *loop)
{
    return loop->backend->name;
}

int pl_loop_is_running(const pl_loop *loop)
{
    return loop->running;
}

/* ---- wakeup ------------------------------------------------------------ */

static void wakeup_drain(pl_loop *loop, struct pl__io *io, unsigned revents)
{
    PL__UNUSED(io);
    PL__UNUSED(revents);
    char buf[64];
    /* An eventfd yields its counter in one read; a pipe may need several. */
    while (pl__read(loop->wakeup_fd[0], buf, sizeof buf) > 0 &&
           loop->wakeup_fd[0] != loop->wakeup_fd[1])
        ;
    loop->signals_ran = pl__signals_dispatch(loop);
}

/* Async-signal-safe: the signal handler calls it too. */
void pl__loop_wakeup(pl_loop *loop)
{
    uint64_t one = 1;
    ssize_t n = write(loop->wakeup_fd[1], &one, sizeof one);
    (void)n; /* EAGAIN means a wakeup is already pending. */
}

static int wakeup_open(pl_loop *loop)
{
    if (pl__sys_fault) {
        int err = pl__sys_fault(PL__SYS_NEW_FD, -1, NULL);
        if (err)
            return err;
    }
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd >= 0) {
        loop->wakeup_fd[0] = loop->wakeup_fd[1] = fd;
        return 0;
    }
    if (errno != ENOSYS && errno != EINVAL)
        return -errno;
    return pl__pipe(loop->wakeup_fd, 1);
}

static void wakeup_close(pl_loop *loop)
{
    if (loop->wakeup_fd[0] >= 0)
        pl__close(loop->wakeup_fd[0]);
    if (loop->wakeup_fd[1] >= 0 && loop->wakeup_fd[1] != loop->wakeup_fd[0])
        pl__close(loop->wakeup_fd[1]);
    loop->wakeup_fd[0] = loop->wakeup_fd[1] = -1;
}

int pl_call_soon_threadsafe(pl_loop *loop, pl_callback cb, void *user)
{
    if (!loop || !cb)
        return -EINVAL;
    pthread_mutex_lock(&loop->ts_lock);
    int err = pl__queue_push(&loop->ts_queue, cb, user);
    pthread_mutex_unlock(&loop->ts_lock);
    if (err)
        return err;
    if (atomic_exchange(&loop->wakeup_pending, 1) == 0)
        pl__loop_wakeup(loop);
    return 0;
}

/* Move callbacks queued by other threads into the ready queue. */
static int take_threadsafe(pl_loop *loop)
{
    /* A plain load first: the exchange is a locked instruction, and
     * almost every iteration finds nothing queued. */
    if (atomic_load(&loop->wakeup_pending) == 0 ||
        atomic_exchange(&loop->wakeup_pending, 0) == 0)
        return 0;
    int err = 0;
    pthread_mutex_lock(&loop->ts_lock);
    while (loop->ts_queue.len > 0 && !err) {
        struct pl__callback c = loop->ts_queue.items[loop->ts_queue.head];
        err = pl_call_soon(loop, c.cb, c.user);
        if (!err)
            (void)queue_pop(&loop->ts_queue);
    }
    pthread_mutex_unlock(&loop->ts_lock);
    if (err) /* try again next iteration */
        atomic_store(&loop->wakeup_pending, 1);
    return err;
}

/* ---- creation and teardown --------------------------------------------- */

/* The backend a loop gets without a flag or PIPELOOP_BACKEND (why: see
 * docs/design.md, "The io_uring backend"): io_uring, falling back to epoll
 * where the kernel refuses a ring; epoll when built without liburing. */
#ifdef PL_HAVE_LIBURING
const struct pl__backend *pl__default_backend = &pl__backend_uring;
#else
const struct pl__backend *pl__default_backend = &pl__backend_epoll;
#endif

static int backend_from_flags(unsigned flags, const struct pl__backend **out,
                              int *is_default)
{
    *is_default = 0;
    const unsigned all = PL_LOOP_EPOLL | PL_LOOP_POLL | PL_LOOP_IO_URING;
    if (flags & ~all)
        return -EINVAL;
    unsigned chosen = flags & all;
    if (chosen & (chosen - 1))
        return -EINVAL; /* more than one backend */
    if (chosen == PL_LOOP_EPOLL)
        *out = &pl__backend_epoll;
    else if (chosen == PL_LOOP_POLL)
        *out = &pl__backend_poll;
    else if (chosen == PL_LOOP_IO_URING)
        *out = &pl__backend_uring;
    else {
        const char *env = getenv("PIPELOOP_BACKEND");
        if (!env || !*env) {
            *out = pl__default_backend;
            *is_default = 1;
        } else if (strcmp(env, "epoll") == 0)
            *out = &pl__backend_epoll;
        else if (strcmp(env, "poll") == 0)
            *out = &pl__backend_poll;
        else if (strcmp(env, "io_uring") == 0)
            *out = &pl__backend_uring;
        else
            return -EINVAL;
    }
    return 0;
}

int pl_loop_new(pl_loop **out, unsigned flags)
{
    if (!out)
        return -EINVAL;
    const struct pl__backend *backend;
    int is_default;
    int err = backend_from_flags(flags, &backend, &is_default);
    if (err)
        return err;
    pl_loop *loop = pl__calloc(1, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    loop->backend = backend;
    loop->backend_fd = -1;
    loop->wakeup_fd[0] = loop->wakeup_fd[1] = -1;
    atomic_init(&loop->wakeup_pending, 0);
    if (pthread_mutex_init(&loop->ts_lock, NULL) != 0) {
        free(loop);
        return -ENOMEM;
    }
    err = backend->init(loop);
    if (err && is_default && backend != &pl__backend_epoll) {
        /* A default io_uring the kernel refuses (ENOSYS, EPERM where a
         * container forbids it, ENOMEM under a low RLIMIT_MEMLOCK on old
         * kernels) falls back to epoll, which pl_loop_backend() then
         * names; asked for by name, it fails. */
        backend = loop->backend = &pl__backend_epoll;
        err = backend->init(loop);
    }
    if (err)
        goto fail;
    err = wakeup_open(loop);
    if (err)
        goto fail;
    pl__io_init(&loop->wakeup_io, loop->wakeup_fd[0], wakeup_drain);
    err = pl__io_attach(loop, &loop->wakeup_io);
    if (err)
        goto fail;
    err = pl__io_set(loop, &loop->wakeup_io, PL__IO_IN);
    if (err)
        goto fail;
    /* Learn now, while fds are to be had, whether RWF_NOWAIT works on
     * pipes: a transport falls back to it when it finds no fd to reopen
     * its pipe with (spec X1). */
    pl__io_probe_nowait();
    pl_loop_update_time(loop);
    *out = loop;
    return 0;

fail:
    pl__io_detach(loop, &loop->wakeup_io);
    wakeup_close(loop);
    backend->destroy(loop);
    free(loop->ios);
    free(loop->events);
    pthread_mutex_destroy(&loop->ts_lock);
    free(loop);
    return err;
}

int pl_loop_close(pl_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (loop->running || loop->nhandles > 0 || loop->signals)
        return -EBUSY;
    pl__io_detach(loop, &loop->wakeup_io);
    wakeup_close(loop);
    loop->backend->destroy(loop);
    pl__queue_destroy(&loop->ready);
    pl__queue_destroy(&loop->ts_queue);
    pl__timers_destroy(&loop->timers);
    pthread_mutex_destroy(&loop->ts_lock);
    free(loop->ios);
    free(loop->events);
    free(loop->read_buffer);
    free(loop);
    return 0;
}

void pl__loop_handle_add(pl_loop *loop)
{
    loop->nhandles++;
}

void pl__loop_handle_remove(pl_loop *loop)
{
    loop->nhandles--;
}

char *pl__loop_read_buffer(pl_loop *loop)
{
    if (!loop->read_buffer)
        loop->read_buffer = pl__malloc(PL_READ_SIZE);
    return loop->read_buffer;
}

int pl__loop_events_reserve(pl_loop *loop, size_t n)
{
    if (n <= loop->events_cap)
        return 0;
    size_t cap = loop->events_cap ? loop->events_cap : 64;
    while (cap < n)
        cap *= 2;
    struct pl__event *events = pl__realloc(loop->events, cap * sizeof *events);
    if (!events)
        return -ENOMEM;
    loop->events = events;
    loop->events_cap = cap;
    return 0;
}

/* ---- the iteration ----------------------------------------------------- */

int pl_call_soon(pl_loop *loop, pl_callback cb, void *user)
{
    if (!loop || !cb)
        return -EINVAL;
    int err = queue_ensure(&loop->ready, loop->ready.len + 1 + loop->ready_reserved);
    if (err)
        return err;
    return pl__queue_push(&loop->ready, cb, user);
}

int pl__loop_reserve(pl_loop *loop, size_t n)
{
    int err = queue_ensure(&loop->ready, loop->ready.len + loop->ready_reserved + n);
    if (err)
        return err;
    loop->ready_reserved += n;
    return 0;
}

void pl__loop_unreserve(pl_loop *loop, size_t n)
{
    assert(loop->ready_reserved >= n);
    loop->ready_reserved -= n;
}

void pl__call_soon_reserved(pl_loop *loop, pl_callback cb, void *user)
{
    int err = pl__queue_push(&loop->ready, cb, user);
    assert(err == 0);
    (void)err;
}

static int compute_timeout(pl_loop *loop, int timeout_ms)
{
    if (loop->ready.len > 0 || loop->stop || atomic_load(&loop->wakeup_pending))
        return 0;
    if (loop->timers.heap_len == 0)
        return timeout_ms;
    /* Only a timer's distance needs the clock before the wait: the time
     * the callbacks see is read after it. */
    int64_t next = pl__timers_next(&loop->timers, pl_loop_update_time(loop));
    if (timeout_ms < 0 || next < timeout_ms)
        return (int)next;
    return timeout_ms;
}

/* One iteration.  SIGPIPE may be left blocked by a pipe write in it: the
 * caller releases it (per pl_loop_run_once call, or once per pl_loop_run,
 * which saves two syscalls an iteration when every iteration writes). */
static int iterate(pl_loop *loop, int timeout_ms, int poll)
{
    loop->running = 1;
    loop->iteration++;

    int nevents = 0;
    if (poll) {
        int timeout = compute_timeout(loop, timeout_ms);
        nevents = pl__sys_fault ? pl__sys_fault(PL__SYS_POLL_WAIT, -1, NULL) : 0;
        if (nevents == 0)
            nevents = loop->backend->wait(loop, timeout);
    }
    if (nevents < 0) {
        /* The poller itself failed (its fd was closed under it, or no
         * memory): report it rather than spin. */
        loop->running = 0;
        return nevents;
    }
    pl_loop_update_time(loop);
    take_threadsafe(loop);

    /* Exactly the callbacks ready now run in this iteration (spec L1):
     * whatever the I/O, timer and ready callbacks below queue waits. */
    size_t nready = loop->ready.len;
    int ran = 0;

    if (nevents > 0)
        ran += pl__io_dispatch(loop, (size_t)nevents);
    if (loop->timers.heap_len > 0)
        ran += pl__timers_run(loop, &loop->timers, loop->now_ms);
    while (nready-- > 0) {
        struct pl__callback c = queue_pop(&loop->ready);
        c.cb(loop, c.user);
        ran++;
    }
    loop->running = 0;
    return ran;
}

int pl_loop_run_once(pl_loop *loop, int timeout_ms)
{
    if (!loop)
        return -EINVAL;
    if (loop->running)
        return -EBUSY;
    int ran = iterate(loop, timeout_ms, 1);
    /* One iteration is a whole run: a stop requested before or during it
     * has had its effect (no wait, return after this iteration) and is
     * consumed, as asyncio's run_forever clears _stopping on return. */
    loop->stop = 0;
    pl__sigpipe_release(loop);
    return ran;
}

int pl_loop_run(pl_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (loop->running)
        return -EBUSY;
    /* A stop requested before run still lets one iteration happen. */
    int err;
    do
        err = iterate(loop, -1, 1);
    while (!loop->stop && err >= 0);
    loop->stop = 0;
    pl__sigpipe_release(loop);
    return err < 0 ? err : 0;
}

int pl__loop_run_without_poller(pl_loop *loop)
{
    if (loop->running)
        return -EBUSY;
    int ran = iterate(loop, 0, 0);
    loop->stop = 0;
    pl__sigpipe_release(loop);
    return ran;
}

void pl_loop_stop(pl_loop *loop)
{
    loop->stop = 1;
}
