/* The io_uring backend: readiness through IORING_OP_POLL_ADD, with every
 * registration change of an iteration queued as SQEs and submitted by the
 * same io_uring_enter that waits, so an iteration costs one syscall.
 *
 * Polls are one-shot and re-armed after each delivery: a one-shot poll
 * checks readiness when armed, which gives the level-triggered contract
 * the transports and public watchers rely on (a multishot poll reports
 * wakeups, i.e. edges).  Multishot is used in one place, where level would
 * spin: a poll that completed with nothing the watcher asked for (a socket
 * whose peer shut down writing reports EPOLLRDHUP, which io_uring always
 * includes) is re-armed as a multishot poll, which reports only new
 * wakeups; the first completion the watcher wants turns it back into a
 * one-shot poll.
 *
 * A poll holds a reference to its file, so removing a registration is
 * submitted at once (not at the next wait): a transport's close() must
 * release a pipe end when it returns, as with epoll, or its peer would not
 * see EOF until this loop iterated again.
 *
 * Built without liburing the backend is a stub whose init fails with
 * -ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int pl__uring_refuse;
unsigned pl__uring_entries;

#ifdef PL_HAVE_LIBURING

#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#define URING_SQ_ENTRIES 256u
#define URING_CQ_ENTRIES 4096u
#define URING_BATCH 1024u

/* user_data: the fd in the low 32 bits, the arm's sequence number in bits
 * 32..62; bit 63 marks the library's own removals, whose completions carry
 * nothing. */
#define UD_INTERNAL (1ull << 63)
#define SEQ_MASK 0x7fffffffu

enum { ARM_NONE, ARM_ONESHOT, ARM_MULTI };

struct uring_fd {
    uint32_t gen;       /* the watcher's, from update */
    uint32_t seq;       /* of the poll armed now */
    uint32_t batch;     /* the wait whose events hold this fd's entry */
    uint32_t batch_idx; /* that entry */
    unsigned wanted;    /* PL__IO_* */
    unsigned armed_mask;
    unsigned char armed; /* ARM_* */
    unsigned char dirty; /* on the dirty list */
    unsigned char edge;  /* next arm: multishot (see the file comment) */
};

struct uring_state {
    struct io_uring ring;
    struct uring_fd *fds;
    size_t nfds;
    int *dirty; /* nfds slots */
    size_t ndirty;
    uint32_t seq;
    uint32_t batch;
    unsigned fork_gen;
};

/* Bumped in every child fork() makes: a loop whose ring was made under an
 * earlier value belongs to an ancestor, and its shared ring must not be
 * touched (its SQ and CQ are mapped MAP_SHARED). */
static atomic_uint fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, count_fork);
}

static int forked(const struct uring_state *s)
{
    return s->fork_gen != atomic_load(&fork_gen);
}

static int uring_init(pl_loop *loop)
{
    if (pl__uring_refuse)
        return pl__uring_refuse;
    int err = pl__loop_events_reserve(loop, URING_BATCH);
    if (err)
        return err;
    pthread_once(&atfork_once, register_atfork);
    struct uring_state *s = pl__calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    struct io_uring_params p = {0};
    unsigned entries = pl__uring_entries ? pl__uring_entries : URING_SQ_ENTRIES;
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    p.cq_entries = pl__uring_entries ? 2 * pl__uring_entries : URING_CQ_ENTRIES;
    err = io_uring_queue_init_params(entries, &s->ring, &p);
    if (err < 0) {
        free(s);
        return err;
    }
    /* Without NODROP a full CQ loses completions, and a lost poll
     * completion is a watcher that never fires again (kernels >= 5.5). */
    if (!(p.features & IORING_FEAT_NODROP)) {
        io_uring_queue_exit(&s->ring);
        free(s);
        return -ENOSYS;
    }
    s->fork_gen = atomic_load(&fork_gen);
    loop->backend_fd = s->ring.ring_fd;
    loop->backend_data = s;
    return 0;
}

static void uring_destroy(pl_loop *loop)
{
    struct uring_state *s = loop->backend_data;
    if (s) {
        /* In a forked child this unmaps the child's view and closes its
         * copy of the fd: the parent's ring is not touched. */
        io_uring_queue_exit(&s->ring);
        free(s->fds);
        free(s->dirty);
        free(s);
    }
    loop->backend_fd = -1;
    loop->backend_data = NULL;
}

/* An SQE, submitting what is queued to make room if the SQ is full.  NULL
 * if even that fails (the CQ overflow list is full: -EBUSY). */
static struct io_uring_sqe *get_sqe(struct uring_state *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (sqe)
        return sqe;
    if (io_uring_submit(&s->ring) < 0)
        return NULL;
    return io_uring_get_sqe(&s->ring);
}

static uint64_t user_data(int fd, uint32_t seq)
{
    return (uint64_t)(seq & SEQ_MASK) << 32 | (uint32_t)fd;
}

static int queue_remove(struct uring_state *s, int fd, struct uring_fd *f)
{
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_remove(sqe, user_data(fd, f->seq));
    io_uring_sqe_set_data64(sqe, UD_INTERNAL);
    f->armed = ARM_NONE;
    return 0;
}

/* The fd table and the dirty list grow together: an fd is on the list at
 * most once, so marking one dirty never allocates (a completion can always
 * be re-armed). */
static int fds_reserve(struct uring_state *s, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need <= s->nfds)
        return 0;
    size_t cap = s->nfds ? s->nfds : 64;
    while (cap < need)
        cap *= 2;
    int *dirty = pl__realloc(s->dirty, cap * sizeof *dirty);
    if (!dirty)
        return -ENOMEM;
    s->dirty = dirty;
    struct uring_fd *fds = pl__realloc(s->fds, cap * sizeof *fds);
    if (!fds)
        return -ENOMEM;
    for (size_t i = s->nfds; i < cap; i++)
        fds[i] = (struct uring_fd){0};
    s->fds = fds;
    s->nfds = cap;
    return 0;
}

static void mark_dirty(struct uring_state *s, int fd)
{
    struct uring_fd *f = &s->fds[fd];
    if (f->dirty)
        return;
    s->dirty[s->ndirty++] = fd;
    f->dirty = 1;
}

static int uring_update(pl_loop *loop, int fd, uint32_t gen, unsigned old_events,
                        unsigned new_events)
{
    struct uring_state *s = loop->backend_data;
    PL__UNUSED(old_events);
    /* pl__io_probe (gen 0): io_uring polls any fd poll(2) can, and a file
     * that cannot be polled reports itself ready, as with poll(2). */
    if (gen == 0 || forked(s))
        return 0;
    if (new_events == 0) {
        if ((size_t)fd < s->nfds) {
            struct uring_fd *f = &s->fds[fd];
            f->wanted = 0;
            f->edge = 0;
            if (f->armed != ARM_NONE) {
                /* Submitted now: the poll pins the file (file comment).
                 * Should it fail, the poll's completion is stale anyway. */
                if (queue_remove(s, fd, f) == 0)
                    (void)io_uring_submit(&s->ring);
                f->armed = ARM_NONE;
            }
        }
        return 0;
    }
    int err = fds_reserve(s, fd);
    if (err)
        return err;
    struct uring_fd *f = &s->fds[fd];
    if (f->gen != gen || f->wanted != new_events)
        f->edge = 0;
    f->gen = gen;
    f->wanted = new_events;
    mark_dirty(s, fd);
    return 0;
}

static unsigned poll_mask(unsigned events)
{
    unsigned mask = 0;
    if (events & PL__IO_IN)
        mask |= POLLIN;
    if (events & PL__IO_OUT)
        mask |= POLLOUT;
    /* PL__IO_ERRONLY: io_uring always adds POLLERR and POLLHUP. */
    return mask;
}

/* Bring each dirty fd's kernel poll in line with what its watcher wants.
 * Returns 0, or -EBUSY if the SQ could not take more (the rest stay dirty
 * and are tried again next iteration). */
static int flush_dirty(struct uring_state *s)
{
    size_t i = 0;
    int err = 0;
    for (; i < s->ndirty; i++) {
        int fd = s->dirty[i];
        struct uring_fd *f = &s->fds[fd];
        if (f->armed != ARM_NONE &&
            (f->wanted != f->armed_mask || (f->armed == ARM_MULTI && !f->edge))) {
            err = queue_remove(s, fd, f);
            if (err)
                break;
        }
        if (f->wanted && f->armed == ARM_NONE) {
            struct io_uring_sqe *sqe = get_sqe(s);
            if (!sqe) {
                err = -EBUSY;
                break;
            }
            if (f->edge)
                io_uring_prep_poll_multishot(sqe, fd, poll_mask(f->wanted));
            else
                io_uring_prep_poll_add(sqe, fd, poll_mask(f->wanted));
            f->seq = ++s->seq & SEQ_MASK;
            io_uring_sqe_set_data64(sqe, user_data(fd, f->seq));
            f->armed = f->edge ? ARM_MULTI : ARM_ONESHOT;
            f->armed_mask = f->wanted;
        }
        f->dirty = 0;
    }
    size_t left = s->ndirty - i;
    for (size_t j = 0; j < left; j++)
        s->dirty[j] = s->dirty[i + j];
    s->ndirty = left;
    return err;
}

static unsigned revents_of(int res)
{
    if (res < 0)
        return PL_ERR; /* e.g. -EBADF: the fd was closed under its watcher */
    unsigned r = 0;
    unsigned mask = (unsigned)res;
    if (mask & POLLIN)
        r |= PL_READABLE;
    if (mask & POLLOUT)
        r |= PL_WRITABLE;
    if (mask & POLLHUP)
        r |= PL_HUP;
    if (mask & (POLLERR | POLLNVAL))
        r |= PL_ERR;
    return r;
}

static unsigned wanted_revents(unsigned wanted)
{
    unsigned w = PL_HUP | PL_ERR;
    if (wanted & PL__IO_IN)
        w |= PL_READABLE;
    if (wanted & PL__IO_OUT)
        w |= PL_WRITABLE;
    return w;
}

/* Turn the completions now in the CQ into loop->events, at most one entry
 * per fd.  Returns the count. */
static int harvest(pl_loop *loop, struct uring_state *s)
{
    if (io_uring_cq_has_overflow(&s->ring))
        (void)io_uring_get_events(&s->ring); /* flush the kernel's backlog */
    s->batch++;
    size_t n = 0;
    unsigned seen = 0;
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&s->ring, head, cqe)
    {
        uint64_t ud = cqe->user_data;
        int fd = (int)(uint32_t)ud;
        uint32_t seq = (uint32_t)(ud >> 32) & SEQ_MASK;
        struct uring_fd *f = (size_t)fd < s->nfds ? &s->fds[fd] : NULL;
        /* Removals, and polls removed or re-armed since (a reused fd
         * number's earlier watcher included), carry nothing. */
        if ((ud & UD_INTERNAL) || !f || f->armed == ARM_NONE || f->seq != seq) {
            seen++;
            continue;
        }
        /* A poll the kernel ended itself (-ECANCELED: a multishot poll
         * whose CQE had no room) says nothing about the fd: re-arm. */
        unsigned r = cqe->res == -ECANCELED
                         ? 0u
                         : revents_of(cqe->res) & wanted_revents(f->wanted);
        if (r && f->batch != s->batch && n == loop->events_cap)
            break; /* no room: the rest wait in the CQ for the next wait */
        seen++;
        if (!(cqe->flags & IORING_CQE_F_MORE))
            f->armed = ARM_NONE;
        /* Re-arming is left to the next flush, after dispatch has had
         * its say on what the watcher still wants. */
        f->edge = r ? 0 : 1;
        if ((f->armed == ARM_NONE || !f->edge) && f->wanted)
            mark_dirty(s, fd);
        if (!r)
            continue;
        if (f->batch == s->batch) {
            loop->events[f->batch_idx].revents |= r;
            continue;
        }
        f->batch = s->batch;
        f->batch_idx = (uint32_t)n;
        loop->events[n].fd = fd;
        loop->events[n].gen = f->gen;
        loop->events[n].revents = r;
        n++;
    }
    io_uring_cq_advance(&s->ring, seen);
    return (int)n;
}

static int uring_wait(pl_loop *loop, int timeout_ms)
{
    struct uring_state *s = loop->backend_data;
    if (forked(s))
        return PL_EFORKED;
    if (flush_dirty(s) != 0)
        timeout_ms = 0; /* the SQ is stuck: reap, then try again */
    int err;
    if (io_uring_cq_ready(&s->ring) > 0 || timeout_ms == 0) {
        err = io_uring_sq_ready(&s->ring) ? io_uring_submit(&s->ring) : 0;
    } else if (timeout_ms < 0) {
        err = io_uring_submit_and_wait(&s->ring, 1);
    } else {
        struct __kernel_timespec ts = {
            .tv_sec = timeout_ms / 1000,
            .tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
        };
        struct io_uring_cqe *cqe;
        err = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
    }
    /* EINTR, a timeout, and a submission the kernel pushed back (EBUSY,
     * EAGAIN: the completions below make room) are not failures. */
    if (err < 0 && err != -EINTR && err != -ETIME && err != -EBUSY && err != -EAGAIN)
        return err;
    return harvest(loop, s);
}

const struct pl__backend pl__backend_uring = {
    "io_uring", uring_init, uring_destroy, uring_update, uring_wait,
};

#else /* !PL_HAVE_LIBURING */

static int uring_init(pl_loop *loop)
{
    PL__UNUSED(loop);
    /* Built without liburing; a forced refusal still wins, as with it. */
    return pl__uring_refuse ? pl__uring_refuse : -ENOSYS;
}

static void uring_destroy(pl_loop *loop)
{
    PL__UNUSED(loop);
}

static int uring_update(pl_loop *loop, int fd, uint32_t gen, unsigned old_events,
                        unsigned new_events)
{
    PL__UNUSED(loop);
    PL__UNUSED(fd);
    PL__UNUSED(gen);
    PL__UNUSED(old_events);
    PL__UNUSED(new_events);
    return -ENOSYS;
}

static int uring_wait(pl_loop *loop, int timeout_ms)
{
    PL__UNUSED(loop);
    PL__UNUSED(timeout_ms);
    return -ENOSYS;
}

const struct pl__backend pl__backend_uring = {
    "io_uring", uring_init, uring_destroy, uring_update, uring_wait,
};

#endif
