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
 * Reads of pipe transports are completions, not readiness
 * (PL__IO_COMPLETION_READ, the completion_reads and take_read slots): the
 * backend keeps one IORING_OP_READ in flight per reading transport, into a
 * buffer the kernel picks from a ring of loop-owned buffers when data
 * arrives (IOSQE_BUFFER_SELECT), so a message costs no poll and no read(2):
 * the io_uring_enter that waits also reaps the data.  The finished read is
 * parked on its fd until the transport takes it (pl__io_take_read) from its
 * callback; its buffer goes back to the ring at the next wait, after the
 * callback has returned.  Pausing cancels the read in flight; if it
 * finished before the cancel took hold, its data stays parked and is
 * delivered on resume, in order.  A detached watcher's read is cancelled at
 * once (the request holds the file: the peer must see the close) and its
 * late completion, matched by a sequence number, only returns its buffer,
 * so a reused fd number never gets another's data.  When every buffer is
 * in use the read completes with -ENOBUFS and the transport reads the fd
 * itself that once.
 *
 * Built without liburing the backend is a stub whose init fails with
 * -ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int pl__uring_refuse;
unsigned pl__uring_entries;
unsigned pl__uring_rbufs;
int pl__uring_no_reads;
int pl__uring_single_reads;

#ifdef PL_HAVE_LIBURING

#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>

#define URING_SQ_ENTRIES 256u
#define URING_CQ_ENTRIES 4096u
#define URING_BATCH 1024u

/* user_data: the fd in the low 32 bits, the arm's sequence number in bits
 * 32..61; bit 62 marks a read, bit 63 the library's own removals and
 * cancellations, whose completions carry nothing. */
#define UD_INTERNAL (1ull << 63)
#define UD_READ (1ull << 62)
#define SEQ_MASK 0x3fffffffu

/* The read buffers: RBUF_COUNT of RBUF_SIZE bytes, one buffer group. */
#define RBUF_COUNT PL__URING_RBUF_COUNT
#define RBUF_SIZE PL__URING_RBUF_SIZE
#define RBUF_GROUP 0

enum { ARM_NONE, ARM_ONESHOT, ARM_MULTI };
/* A completion read request: none, or in flight (a multishot read stays
 * in flight across its completions). */
enum { RD_IDLE, RD_FLIGHT };
/* IORING_OP_READ_MULTISHOT (kernel 6.7), newer than liburing 2.3. */
#define OP_READ_MULTISHOT 49
#define POLL_BITS (PL__IO_IN | PL__IO_OUT | PL__IO_ERRONLY)

struct uring_fd {
    uint32_t gen;       /* the watcher's, from update */
    uint32_t seq;       /* of the poll armed now */
    uint32_t batch;     /* the wait whose events hold this fd's entry */
    uint32_t batch_idx; /* that entry */
    unsigned wanted;    /* PL__IO_* */
    unsigned armed_mask;
    unsigned char armed;     /* ARM_* */
    unsigned char dirty;     /* on the dirty list */
    unsigned char edge;      /* next arm: multishot (see the file comment) */
    unsigned char rd;        /* RD_* */
    unsigned char rd_cancel; /* a cancel was sent for the read in flight */
    unsigned char ready;     /* on the ready list */
    unsigned char has_final; /* final_res is parked after the queue */
    uint32_t rd_seq;         /* of the read request in flight */
    /* Finished reads not yet taken, in order: buffers chained through
     * the state's bnext, each with its byte count in bres; then at most
     * one result without data (end of file, an error, -ENOBUFS), which
     * ended the request. */
    int q_head, q_tail;
    int final_res;
    int taken_bid; /* lent to the callback that took it, or -1 */
};

struct uring_state {
    struct io_uring ring;
    struct uring_fd *fds;
    size_t nfds;
    int *dirty; /* nfds slots */
    size_t ndirty;
    int *ready; /* nfds slots: fds with a parked read to report */
    size_t nready;
    /* Read buffers: br_state 0 not tried, 1 registered, -1 refused. */
    int br_state;
    struct io_uring_buf_ring *br;
    char *bufs;
    unsigned nbufs;
    uint16_t *give; /* buffers to hand back at the next wait */
    unsigned ngive;
    int *bnext;                 /* per buffer: the next parked buffer of its fd, or -1 */
    int *bres;                  /* per buffer: bytes read into it */
    unsigned char multishot_ok; /* a multishot read has completed */
    unsigned char no_multishot; /* the kernel has none: one read a time */
    uint32_t seq;
    uint32_t batch;
    unsigned fork_gen;
    unsigned char deferred; /* IORING_SETUP_DEFER_TASKRUN */
    unsigned char enabled;  /* the ring is enabled (see uring_init) */
    pthread_t owner;        /* deferred: the thread that enabled it */
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
    /* Completions are worked off only when the loop asks for them (in
     * its io_uring_enter), not by interrupting whatever the thread is
     * doing: DEFER_TASKRUN, which needs a single submitter.  The ring
     * starts disabled and is enabled by the first thread that submits or
     * waits, the loop's thread.  Kernels before 6.1 lack these: the ring
     * is then made without them. */
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
    p.cq_entries = pl__uring_entries ? 2 * pl__uring_entries : URING_CQ_ENTRIES;
    err = io_uring_queue_init_params(entries, &s->ring, &p);
    if (err == -EINVAL) {
        p = (struct io_uring_params){0};
        p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
        p.cq_entries = pl__uring_entries ? 2 * pl__uring_entries : URING_CQ_ENTRIES;
        err = io_uring_queue_init_params(entries, &s->ring, &p);
        s->enabled = 1;
    } else {
        s->deferred = 1;
    }
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
        /* The buffers are MADV_DONTFORK: in a forked child their
         * addresses may hold the child's own mappings by now. */
        if (s->br_state > 0 && !forked(s)) {
            munmap(s->br, s->nbufs * (sizeof(struct io_uring_buf) + sizeof(uint16_t) +
                                      2 * sizeof(int)));
            munmap(s->bufs, (size_t)s->nbufs * RBUF_SIZE);
        }
        free(s->fds);
        free(s->dirty);
        free(s->ready);
        free(s);
    }
    loop->backend_fd = -1;
    loop->backend_data = NULL;
}

static int enable(struct uring_state *s)
{
    if (s->enabled)
        return 0;
    /* liburing 2.3 declares io_uring_enable_rings() but does not export
     * it: the register call itself. */
    if (syscall(__NR_io_uring_register, s->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
                NULL, 0) < 0)
        return -errno;
    s->enabled = 1;
    s->owner = pthread_self();
    return 0;
}

/* Submit what is queued now.  With DEFER_TASKRUN the kernel finishes a
 * cancelled request (and lets go of its file) only when asked for
 * events, so ask at once. */
static int submit_now(struct uring_state *s)
{
    int err = enable(s);
    if (err)
        return err;
    return s->deferred ? io_uring_submit_and_get_events(&s->ring)
                       : io_uring_submit(&s->ring);
}

/* An SQE, submitting what is queued to make room if the SQ is full.  NULL
 * if even that fails (the CQ overflow list is full: -EBUSY). */
static struct io_uring_sqe *get_sqe(struct uring_state *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (sqe)
        return sqe;
    if (submit_now(s) < 0)
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
    int *ready = pl__realloc(s->ready, cap * sizeof *ready);
    if (!ready)
        return -ENOMEM;
    s->ready = ready;
    struct uring_fd *fds = pl__realloc(s->fds, cap * sizeof *fds);
    if (!fds)
        return -ENOMEM;
    for (size_t i = s->nfds; i < cap; i++)
        fds[i] = (struct uring_fd){.q_head = -1, .q_tail = -1, .taken_bid = -1};
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

/* ---- read buffers ---------------------------------------------------------- */

/* Register the ring of read buffers, once.  Its pages are pinned by the
 * kernel and written by it: MADV_DONTFORK keeps them out of children,
 * which must not touch the ring anyway. */
static int rbufs_setup(struct uring_state *s)
{
    if (s->br_state)
        return s->br_state > 0 ? 0 : -ENOSYS;
    s->br_state = -1;
    if (pl__uring_no_reads)
        return -ENOSYS;
    s->no_multishot = pl__uring_single_reads != 0;
    unsigned n = pl__uring_rbufs ? pl__uring_rbufs : RBUF_COUNT;
    /* One mapping: the ring (page-aligned, as the kernel wants), then the
     * per-buffer chains and counts and the list of buffers to hand back;
     * the buffers in a second mapping. */
    size_t ring_bytes =
        n * (sizeof(struct io_uring_buf) + sizeof(uint16_t) + 2 * sizeof(int));
    size_t buf_bytes = (size_t)n * RBUF_SIZE;
    void *br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    if (br == MAP_FAILED)
        return -ENOMEM;
    void *bufs =
        mmap(NULL, buf_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bufs == MAP_FAILED) {
        munmap(br, ring_bytes);
        return -ENOMEM;
    }
    (void)madvise(br, ring_bytes, MADV_DONTFORK);
    (void)madvise(bufs, buf_bytes, MADV_DONTFORK);
    struct io_uring_buf_reg reg = {0};
    reg.ring_addr = (uint64_t)(uintptr_t)br;
    reg.ring_entries = n;
    reg.bgid = RBUF_GROUP;
    int err = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (err < 0) {
        munmap(bufs, buf_bytes);
        munmap(br, ring_bytes);
        return err;
    }
    s->br = br;
    s->bufs = bufs;
    s->nbufs = n;
    char *tail = (char *)br + n * sizeof(struct io_uring_buf);
    s->bnext = (int *)(void *)tail;
    s->bres = s->bnext + n;
    s->give = (uint16_t *)(void *)(s->bres + n);
    io_uring_buf_ring_init(s->br);
    int mask = io_uring_buf_ring_mask(n);
    for (unsigned i = 0; i < n; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * RBUF_SIZE, RBUF_SIZE,
                              (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(s->br, (int)n);
    s->br_state = 1;
    return 0;
}

/* Hand buffer bid back at the next wait: a callback may still be reading
 * it now, and a read the kernel finishes meanwhile must not pick it. */
static void give_later(struct uring_state *s, int bid)
{
    if (bid >= 0 && (unsigned)bid < s->nbufs)
        s->give[s->ngive++] = (uint16_t)bid;
}

static void give_now(struct uring_state *s)
{
    if (!s->ngive)
        return;
    int mask = io_uring_buf_ring_mask(s->nbufs);
    for (unsigned i = 0; i < s->ngive; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)s->give[i] * RBUF_SIZE, RBUF_SIZE,
                              s->give[i], mask, (int)i);
    io_uring_buf_ring_advance(s->br, (int)s->ngive);
    s->ngive = 0;
}

/* ---- completion reads -------------------------------------------------- */

static int arm_read(struct uring_state *s, int fd, struct uring_fd *f)
{
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe)
        return -EBUSY;
    /* A multishot read stays armed and completes once per arrival, each
     * into a buffer of the ring, so reading costs no arming per message. */
    if (s->no_multishot)
        io_uring_prep_read(sqe, fd, NULL, RBUF_SIZE, (uint64_t)-1);
    else
        io_uring_prep_rw(OP_READ_MULTISHOT, sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RBUF_GROUP;
    f->rd_seq = ++s->seq & SEQ_MASK;
    io_uring_sqe_set_data64(sqe, UD_READ | user_data(fd, f->rd_seq));
    f->rd = RD_FLIGHT;
    f->rd_cancel = 0;
    return 0;
}

/* Cancel fd's read in flight, submitted at once: the request holds the
 * file, and a transport that closes must let its peer see that now.
 * What it read before the cancel took hold stays parked (a pause). */
static void cancel_read(struct uring_state *s, int fd, struct uring_fd *f)
{
    if (f->rd != RD_FLIGHT || f->rd_cancel)
        return;
    struct io_uring_sqe *sqe = get_sqe(s);
    if (!sqe)
        return; /* the SQ is stuck: the next pause or drop tries again */
    io_uring_prep_cancel64(sqe, UD_READ | user_data(fd, f->rd_seq), 0);
    io_uring_sqe_set_data64(sqe, UD_INTERNAL);
    (void)submit_now(s);
    f->rd_cancel = 1;
}

static int parked(const struct uring_fd *f)
{
    return f->q_head >= 0 || f->has_final;
}

/* Forget fd's reads for good: what is parked goes back to the ring, and
 * the request's completions still to come only give their buffers back. */
static void drop_read(struct uring_state *s, int fd, struct uring_fd *f)
{
    if (f->rd == RD_FLIGHT)
        cancel_read(s, fd, f);
    f->rd = RD_IDLE;
    for (int bid = f->q_head; bid >= 0;) {
        int next = s->bnext[bid];
        give_later(s, bid);
        bid = next;
    }
    f->q_head = f->q_tail = -1;
    f->has_final = 0;
    give_later(s, f->taken_bid);
    f->taken_bid = -1;
}

static int uring_completion_reads(pl_loop *loop)
{
    struct uring_state *s = loop->backend_data;
    return !forked(s) && rbufs_setup(s) == 0;
}

/* A read of fd that finished: report it in the next wait's events. */
static void mark_ready(struct uring_state *s, int fd, struct uring_fd *f)
{
    if (f->ready)
        return;
    s->ready[s->nready++] = fd;
    f->ready = 1;
}

static ssize_t uring_take_read(pl_loop *loop, int fd, char **buf)
{
    struct uring_state *s = loop->backend_data;
    if (forked(s) || fd < 0 || (size_t)fd >= s->nfds)
        return -EAGAIN;
    struct uring_fd *f = &s->fds[fd];
    /* Only the callback that took the last one can be reading it, and it
     * has returned: take is called once per event. */
    give_later(s, f->taken_bid);
    f->taken_bid = -1;
    ssize_t res;
    if (f->q_head >= 0) {
        int bid = f->q_head;
        f->q_head = s->bnext[bid];
        if (f->q_head < 0)
            f->q_tail = -1;
        *buf = s->bufs + (size_t)bid * RBUF_SIZE;
        f->taken_bid = bid;
        res = s->bres[bid];
    } else if (f->has_final) {
        f->has_final = 0;
        res = f->final_res;
    } else {
        return -EAGAIN;
    }
    if (parked(f))
        mark_ready(s, fd, f); /* one result per iteration, the rest next */
    mark_dirty(s, fd);        /* the next wait gives the buffer back */
    return res;
}

static void uring_detach(pl_loop *loop, int fd)
{
    struct uring_state *s = loop->backend_data;
    if (forked(s) || fd < 0 || (size_t)fd >= s->nfds)
        return;
    drop_read(s, fd, &s->fds[fd]);
}

/* ---- registrations ----------------------------------------------------- */

static int uring_update(pl_loop *loop, int fd, uint32_t gen, unsigned old_events,
                        unsigned new_events)
{
    struct uring_state *s = loop->backend_data;
    PL__UNUSED(old_events);
    /* pl__io_probe (gen 0): io_uring polls any fd poll(2) can, and a file
     * that cannot be polled reports itself ready, as with poll(2). */
    if (gen == 0 || forked(s))
        return 0;
    if ((size_t)fd < s->nfds && s->fds[fd].gen != gen)
        drop_read(s, fd, &s->fds[fd]); /* an earlier watcher's */
    if (new_events == 0) {
        if ((size_t)fd < s->nfds) {
            struct uring_fd *f = &s->fds[fd];
            f->wanted = 0;
            f->edge = 0;
            cancel_read(s, fd, f); /* a pause keeps what it already read */
            if (f->armed != ARM_NONE) {
                /* Submitted now: the poll pins the file (file comment).
                 * Should it fail, the poll's completion is stale anyway. */
                if (queue_remove(s, fd, f) == 0)
                    (void)submit_now(s);
                f->armed = ARM_NONE;
            }
        }
        return 0;
    }
    int err = fds_reserve(s, fd);
    if (err)
        return err;
    struct uring_fd *f = &s->fds[fd];
    if (f->gen != gen || (f->wanted & POLL_BITS) != (new_events & POLL_BITS))
        f->edge = 0;
    f->gen = gen;
    f->wanted = new_events;
    if (!(new_events & PL__IO_COMPLETION_READ))
        cancel_read(s, fd, f);
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

/* Bring each dirty fd's kernel poll and read in line with what its
 * watcher wants.  Returns 0, or -EBUSY if the SQ could not take more (the
 * rest stay dirty and are tried again next iteration). */
static int flush_dirty(struct uring_state *s)
{
    size_t i = 0;
    int err = 0;
    give_now(s);
    for (; i < s->ndirty; i++) {
        int fd = s->dirty[i];
        struct uring_fd *f = &s->fds[fd];
        unsigned pw = f->wanted & POLL_BITS;
        if (f->armed != ARM_NONE &&
            (pw != f->armed_mask || (f->armed == ARM_MULTI && !f->edge))) {
            err = queue_remove(s, fd, f);
            if (err)
                break;
        }
        if (pw && f->armed == ARM_NONE) {
            struct io_uring_sqe *sqe = get_sqe(s);
            if (!sqe) {
                err = -EBUSY;
                break;
            }
            if (f->edge)
                io_uring_prep_poll_multishot(sqe, fd, poll_mask(pw));
            else
                io_uring_prep_poll_add(sqe, fd, poll_mask(pw));
            f->seq = ++s->seq & SEQ_MASK;
            io_uring_sqe_set_data64(sqe, user_data(fd, f->seq));
            f->armed = f->edge ? ARM_MULTI : ARM_ONESHOT;
            f->armed_mask = pw;
        }
        give_later(s, f->taken_bid); /* the callback that took it is over */
        f->taken_bid = -1;
        if (f->wanted & PL__IO_COMPLETION_READ) {
            /* After the end or an error nothing more is read; after
             * -ENOBUFS, only once the transport has read for itself. */
            if (f->rd == RD_IDLE && !f->has_final) {
                err = arm_read(s, fd, f);
                if (err)
                    break;
            }
            if (parked(f))
                mark_ready(s, fd, f); /* e.g. finished while paused */
        }
        f->dirty = 0;
    }
    give_now(s);
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
    if (wanted & (PL__IO_IN | PL__IO_COMPLETION_READ))
        w |= PL_READABLE;
    if (wanted & PL__IO_OUT)
        w |= PL_WRITABLE;
    return w;
}

/* Add r to fd's entry of this batch, making one if needed (the caller has
 * checked there is room). */
static size_t put_event(pl_loop *loop, struct uring_state *s, int fd, struct uring_fd *f,
                        unsigned r, size_t n)
{
    if (f->batch == s->batch) {
        loop->events[f->batch_idx].revents |= r;
        return n;
    }
    f->batch = s->batch;
    f->batch_idx = (uint32_t)n;
    loop->events[n].fd = fd;
    loop->events[n].gen = f->gen;
    loop->events[n].revents = r;
    return n + 1;
}

/* A read's completion: park its result on the fd.  Returns the revents
 * to report (0: nothing). */
static unsigned read_done(struct uring_state *s, int fd, struct uring_fd *f, uint32_t seq,
                          const struct io_uring_cqe *cqe)
{
    int bid = (cqe->flags & IORING_CQE_F_BUFFER)
                  ? (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT)
                  : -1;
    if (!f || f->rd != RD_FLIGHT || f->rd_seq != seq) {
        give_later(s, bid); /* a dropped read's: only the buffer matters */
        return 0;
    }
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (more)
        s->multishot_ok = 1;
    else
        f->rd = RD_IDLE; /* the request is over */
    int res = cqe->res;
    if (res > 0 && bid >= 0) {
        s->bres[bid] = res;
        s->bnext[bid] = -1;
        if (f->q_tail >= 0)
            s->bnext[f->q_tail] = bid;
        else
            f->q_head = bid;
        f->q_tail = bid;
    } else {
        give_later(s, bid);
        int retry = res == -ECANCELED || res == -EINTR || res == -EAGAIN;
        /* A kernel without multishot reads refuses the first one. */
        if (res == -EINVAL && !s->multishot_ok && !s->no_multishot) {
            s->no_multishot = 1;
            retry = 1;
        }
        if (retry) {
            if (f->rd == RD_IDLE && (f->wanted & PL__IO_COMPLETION_READ))
                mark_dirty(s, fd); /* resumed before the cancel took hold */
            return 0;
        }
        f->has_final = 1;
        f->final_res = res;
    }
    return (f->wanted & PL__IO_COMPLETION_READ) ? PL_READABLE : 0u;
}

/* Turn the completions now in the CQ into loop->events, at most one entry
 * per fd.  Returns the count. */
static int harvest(pl_loop *loop, struct uring_state *s)
{
    if (io_uring_cq_has_overflow(&s->ring))
        (void)io_uring_get_events(&s->ring); /* flush the kernel's backlog */
    s->batch++;
    size_t n = 0;
    /* Reads that finished while their transport was paused, now resumed. */
    size_t r_i = 0;
    for (; r_i < s->nready && n < loop->events_cap; r_i++) {
        int fd = s->ready[r_i];
        struct uring_fd *f = &s->fds[fd];
        f->ready = 0;
        if (parked(f) && (f->wanted & PL__IO_COMPLETION_READ))
            n = put_event(loop, s, fd, f, PL_READABLE, n);
    }
    size_t r_left = s->nready - r_i;
    for (size_t j = 0; j < r_left; j++)
        s->ready[j] = s->ready[r_i + j];
    s->nready = r_left;

    unsigned seen = 0;
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&s->ring, head, cqe)
    {
        uint64_t ud = cqe->user_data;
        int fd = (int)(uint32_t)ud;
        uint32_t seq = (uint32_t)(ud >> 32) & SEQ_MASK;
        struct uring_fd *f = (size_t)fd < s->nfds ? &s->fds[fd] : NULL;
        if (ud & UD_INTERNAL) {
            seen++;
            continue;
        }
        if (f && f->batch != s->batch && n == loop->events_cap)
            break; /* no room: the rest wait in the CQ for the next wait */
        seen++;
        if (ud & UD_READ) {
            unsigned r = read_done(s, fd, f, seq, cqe);
            if (r)
                n = put_event(loop, s, fd, f, r, n);
            continue;
        }
        /* Polls removed or re-armed since (a reused fd number's earlier
         * watcher included) carry nothing. */
        if (!f || f->armed == ARM_NONE || f->seq != seq)
            continue;
        /* A poll the kernel ended itself (-ECANCELED: a multishot poll
         * whose CQE had no room) says nothing about the fd: re-arm. */
        unsigned r = cqe->res == -ECANCELED
                         ? 0u
                         : revents_of(cqe->res) & wanted_revents(f->wanted);
        if (!(cqe->flags & IORING_CQE_F_MORE))
            f->armed = ARM_NONE;
        /* Re-arming is left to the next flush, after dispatch has had
         * its say on what the watcher still wants. */
        f->edge = r ? 0 : 1;
        if ((f->armed == ARM_NONE || !f->edge) && (f->wanted & POLL_BITS))
            mark_dirty(s, fd);
        if (r)
            n = put_event(loop, s, fd, f, r, n);
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
    if (s->nready)
        timeout_ms = 0; /* parked reads to report */
    int err = enable(s);
    if (err)
        return err;
    /* Another thread than the ring's owner is refused, as the kernel
     * would refuse its io_uring_enter, also when completions are waiting
     * and no syscall would be made. */
    if (s->deferred && !pthread_equal(s->owner, pthread_self()))
        return -EEXIST;
    if (io_uring_cq_ready(&s->ring) > 0) {
        err = io_uring_sq_ready(&s->ring) ? io_uring_submit(&s->ring) : 0;
    } else if (timeout_ms == 0) {
        err = s->deferred                   ? io_uring_submit_and_get_events(&s->ring)
              : io_uring_sq_ready(&s->ring) ? io_uring_submit(&s->ring)
                                            : 0;
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
    .name = "io_uring",
    .init = uring_init,
    .destroy = uring_destroy,
    .update = uring_update,
    .wait = uring_wait,
    .detach = uring_detach,
    .completion_reads = uring_completion_reads,
    .take_read = uring_take_read,
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

/* No completion reads: the slots stay NULL. */
const struct pl__backend pl__backend_uring = {
    .name = "io_uring",
    .init = uring_init,
    .destroy = uring_destroy,
    .update = uring_update,
    .wait = uring_wait,
};

#endif
