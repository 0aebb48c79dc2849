/* Read and write pipe transports (asyncio's _UnixReadPipeTransport and
 * _UnixWritePipeTransport, with the OURS decisions of the spec). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef IOV_MAX /* XSI; Linux's value */
#define IOV_MAX 1024
#endif

#define DEFAULT_HIGH (64u * 1024u)
#define DEFAULT_LOW (16u * 1024u)
/* Internal callbacks a transport can have queued at once: connection_made,
 * eof_received, the lent-write drain and connection_lost. */
#define RESERVED_CALLBACKS 4
/* iovecs one flush hands to writev. */
#define FLUSH_IOVS 64

struct pl_transport {
    pl_loop *loop;
    struct pl__io io;
    const pl_protocol *protocol;
    void *user;
    int fd;
    struct pl__shared *shared; /* PL_IO_NONBLOCK on a caller's fd: the
                                  description whose flag we counted */
    unsigned char is_read;
    unsigned char fd_kind;      /* PL__FD_* */
    unsigned char io_mode;      /* PL_IO_* */
    unsigned char closing;      /* is_closing() */
    unsigned char cl_queued;    /* connection_lost has been scheduled */
    unsigned char lost;         /* connection_lost has started */
    unsigned char made;         /* connection_made has been called */
    unsigned char started;      /* connection_made has returned */
    unsigned char paused;       /* read side: pause_reading in effect */
    unsigned char pw_called;    /* write side: protocol is paused */
    unsigned char close_called; /* close() was called (no eof_received) */
    unsigned char anon_pipe;    /* a pipe2() end the library made: a read of 0
                                   is its end (no FIFO without a writer) */

    /* Read side.  completion_reads: the backend completes this transport's
     * reads (PL__IO_COMPLETION_READ).  await_readiness: it had no buffer
     * free and the fd no data, so wait by readiness once. */
    unsigned char completion_reads;
    unsigned char await_readiness;
    int cl_error;
    int refs;

    unsigned char drain_queued; /* drain_cb is queued */
    struct pl__wq q;            /* unsent bytes, copied and lent */
    size_t high, low;
};

int pl__pause_keeps_reading;

/* ---- lifetime ------------------------------------------------------------ */

void pl_transport_ref(pl_transport *t)
{
    t->refs++;
}

void pl_transport_unref(pl_transport *t)
{
    assert(t->refs > 0);
    if (--t->refs == 0)
        free(t); /* its queue went with connection_lost */
}

static void connection_lost_cb(pl_loop *loop, void *arg)
{
    pl_transport *t = arg;
    PL__UNUSED(loop);
    t->lost = 1;
    t->closing = 1;
    if (t->protocol->connection_lost)
        t->protocol->connection_lost(t, t->cl_error, t->user);
    /* The fd goes only after the protocol has seen the loss.  If we set
     * O_NONBLOCK on a description others may hold, the last transport of
     * this process on it takes the flag back (spec C6, X4). */
    pl__io_detach(t->loop, &t->io);
    if (t->shared)
        pl__shared_release(t->shared, t->fd);
    pl__close(t->fd);
    t->fd = -1;
    pl__wq_free(&t->q);
    pl__loop_unreserve(t->loop, RESERVED_CALLBACKS);
    pl__loop_handle_remove(t->loop);
    pl_transport_unref(t);
}

/* Report lent writes that completed (the kernel took them, or they were
 * dropped), from the loop. */
static void drain_cb(pl_loop *loop, void *arg)
{
    pl_transport *t = arg;
    PL__UNUSED(loop);
    t->drain_queued = 0;
    struct pl__wq_done d;
    while (pl__wq_pop_done(&t->q, &d))
        d.done(t, d.data, d.len, d.status, d.user);
}

static void schedule_drain(pl_transport *t)
{
    if (t->drain_queued)
        return;
    t->drain_queued = 1;
    pl__call_soon_reserved(t->loop, drain_cb, t);
}

/* Start closing now and deliver connection_lost(error) in the next
 * iteration.  Everything that ends a transport funnels through here, which
 * is what makes connection_lost run exactly once (spec D5). */
static void schedule_lost(pl_transport *t, int error)
{
    t->closing = 1;
    if (t->cl_queued)
        return;
    t->cl_queued = 1;
    t->cl_error = error;
    (void)pl__io_set(t->loop, &t->io, 0);
    /* Lent writes that will never go are reported before the loss. */
    if (pl__wq_drop(&t->q, error ? error : PL_ECLOSED))
        schedule_drain(t);
    pl__call_soon_reserved(t->loop, connection_lost_cb, t);
}

/* ---- connect ----------------------------------------------------------- */

static void read_ready(pl_loop *loop, struct pl__io *io, unsigned revents);
static void maybe_pause(pl_transport *t);
static void write_ready(pl_loop *loop, struct pl__io *io, unsigned revents);

static unsigned wanted_events(const pl_transport *t)
{
    /* A write side that is closing still flushes its buffer (spec D2);
     * only a scheduled connection_lost stops all watching. */
    if (!t->started || t->cl_queued)
        return 0;
    if (t->is_read)
        return (t->paused || t->closing)                    ? 0u
               : t->completion_reads && !t->await_readiness ? PL__IO_COMPLETION_READ
                                                            : PL__IO_IN;
    /* An idle write side still listens for HUP/ERR to notice its reader
     * going away without writing (spec E1). */
    return t->q.len > 0 ? PL__IO_OUT : PL__IO_ERRONLY;
}

static void update_events(pl_transport *t)
{
    int err = pl__io_set(t->loop, &t->io, wanted_events(t));
    if (err)
        schedule_lost(t, err);
}

static void connection_made_cb(pl_loop *loop, void *arg)
{
    pl_transport *t = arg;
    PL__UNUSED(loop);
    t->made = 1;
    if (t->protocol->connection_made)
        t->protocol->connection_made(t, t->user);
    /* Reading (or watching for the reader's loss) starts only now, so that
     * pause_reading inside connection_made sticks (spec C5).  Where the
     * backend can complete reads, pipes and sockets are read that way; a
     * tty is left to readiness, as its reads may not honour the backend's
     * no-wait attempt and would each tie up a kernel worker.  While the
     * syscall-fault hook is set every transport reads for itself, so that
     * the hook sees its reads. */
    t->started = 1;
    if (t->is_read && t->fd_kind != PL__FD_CHAR && !pl__sys_fault)
        t->completion_reads = (unsigned char)pl__io_completion_reads(t->loop);
    if (!t->cl_queued)
        update_events(t);
    if (!t->is_read && !t->cl_queued)
        maybe_pause(t);
}

/* Make the transport for an fd already checked (kind, direction, owner,
 * watchability).  flags are its file status flags.  own: a pipe the library
 * made, which nobody else shares, so plain O_NONBLOCK is right and never
 * needs undoing; otherwise connect_flags (PL_CONNECT_*) pick the I/O mode. */
static int adopt(pl_loop *loop, int fd, const pl_protocol *protocol, void *user,
                 pl_transport **out, int is_read, int kind, int flags, int own,
                 unsigned connect_flags)
{
    if (is_read && !pl__loop_read_buffer(loop))
        return -ENOMEM;
    pl_transport *t = pl__calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->loop = loop;
    t->protocol = protocol;
    t->user = user;
    t->fd = fd;
    t->is_read = (unsigned char)is_read;
    t->fd_kind = (unsigned char)kind;
    t->high = DEFAULT_HIGH;
    t->low = DEFAULT_LOW;
    t->refs = 1;
    pl__io_init(&t->io, fd, is_read ? read_ready : write_ready);
    t->io.owned = 1;
    int err = pl__loop_reserve(loop, RESERVED_CALLBACKS);
    if (err)
        goto fail;
    err = pl__io_attach(loop, &t->io);
    if (err)
        goto fail_unreserve;
    /* Last, so that a failure before it leaves the caller's fd untouched;
     * only the O_NONBLOCK fallback can fail, and it then changed nothing. */
    if (own) {
        t->anon_pipe = kind == PL__FD_PIPE;
        t->io_mode = PL_IO_NONBLOCK;
        if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
            err = -errno;
    } else {
        err = pl__io_mode_choose(fd, kind, flags, connect_flags, &t->io_mode, &t->shared);
    }
    if (err)
        goto fail_detach;
    pl__call_soon_reserved(loop, connection_made_cb, t);
    pl__loop_handle_add(loop);
    *out = t;
    return 0;

fail_detach:
    pl__io_detach(loop, &t->io);
fail_unreserve:
    pl__loop_unreserve(loop, RESERVED_CALLBACKS);
fail:
    free(t);
    return err;
}

static int connect_pipe(pl_loop *loop, int fd, unsigned connect_flags,
                        const pl_protocol *protocol, void *user, pl_transport **out,
                        int is_read)
{
    if (!loop || !protocol || !out ||
        (connect_flags & ~(unsigned)PL_CONNECT_SHARED_NONBLOCK))
        return -EINVAL;
    int kind = pl__fd_kind(fd);
    if (kind < 0)
        return kind;
    /* One fd, one owner (spec C3): checked before anything else about
     * the fd, so a second owner always hears -EEXIST. */
    if ((size_t)fd < loop->nios && loop->ios[fd])
        return -EEXIST;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -EBADF;
    int mode = flags & O_ACCMODE;
    if (is_read ? mode == O_WRONLY : mode == O_RDONLY)
        return PL_EDIRECTION;
    if (pl__io_probe(loop, fd) != 0)
        return PL_ENOTWATCHABLE;
    return adopt(loop, fd, protocol, user, out, is_read, kind, flags, 0, connect_flags);
}

int pl__connect_own_pipe(pl_loop *loop, int fd, int is_read, int is_tty,
                         const pl_protocol *protocol, void *user, pl_transport **out)
{
    /* A pipe end pipe2() just made: its kind, direction and flags are
     * known and every backend can watch it, so none of the checks above
     * needs a syscall. */
    int flags = is_read ? O_RDONLY : O_WRONLY;
    return adopt(loop, fd, protocol, user, out, is_read,
                 is_tty ? PL__FD_CHAR : PL__FD_PIPE, flags, 1, 0);
}

int pl_connect_read_pipe(pl_loop *loop, int fd, const pl_protocol *protocol, void *user,
                         pl_transport **transport)
{
    return connect_pipe(loop, fd, 0, protocol, user, transport, 1);
}

int pl_connect_write_pipe(pl_loop *loop, int fd, const pl_protocol *protocol, void *user,
                          pl_transport **transport)
{
    return connect_pipe(loop, fd, 0, protocol, user, transport, 0);
}

int pl_connect_read_pipe_ex(pl_loop *loop, int fd, unsigned flags,
                            const pl_protocol *protocol, void *user,
                            pl_transport **transport)
{
    return connect_pipe(loop, fd, flags, protocol, user, transport, 1);
}

int pl_connect_write_pipe_ex(pl_loop *loop, int fd, unsigned flags,
                             const pl_protocol *protocol, void *user,
                             pl_transport **transport)
{
    return connect_pipe(loop, fd, flags, protocol, user, transport, 0);
}

/* ---- reading ----------------------------------------------------------- */

static void eof_cb(pl_loop *loop, void *arg)
{
    pl_transport *t = arg;
    PL__UNUSED(loop);
    /* close() after the EOF was read but before it was reported: the
     * caller closed, so it hears only connection_lost (spec R8). */
    if (t->close_called)
        return;
    /* The return value would keep a socket half open; a pipe cannot be
     * (spec R7). */
    if (t->protocol->eof_received)
        (void)t->protocol->eof_received(t, t->user);
}

static void read_eof(pl_transport *t)
{
    /* eof_received and connection_lost run in the next iteration, in this
     * order (spec R6); schedule_lost stops reading. */
    pl__call_soon_reserved(t->loop, eof_cb, t);
    schedule_lost(t, 0);
}

/* A read of 0 on a pipe: is the write side really gone?  poll(2) says
 * POLLHUP only once a writer has come and gone; a FIFO opened before any
 * writer reads 0 without it. */
static int pipe_hung_up(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) < 0)
        return 1;
    return (p.revents & POLLHUP) && !(p.revents & POLLIN);
}

static void read_ready(pl_loop *loop, struct pl__io *io, unsigned revents)
{
    pl_transport *t = PL__CONTAINER_OF(io, pl_transport, io);
    PL__UNUSED(revents);
    /* A paused transport is not called: pausing takes its read events away
     * and dispatch delivers only what a watcher still wants (spec L3).  A
     * failed update leaves them, but it has also started the close. */
    if (t->closing)
        return;
    char *buf = loop->read_buffer;
    ssize_t n = -ENOBUFS;
    int no_buffer = 0;
    if (t->await_readiness) {
        /* Readable after a wait by readiness: read it ourselves, and go
         * back to completion reads for what follows. */
        t->await_readiness = 0;
        update_events(t);
    } else if (t->completion_reads) {
        n = pl__io_take_read(loop, &t->io, &buf);
        if (n == -ENOBUFS) { /* the backend had no buffer free: read it ourselves */
            buf = loop->read_buffer;
            no_buffer = 1;
        }
    }
    if (n == -ENOBUFS)
        n = pl__io_mode_read(t->fd, t->io_mode, buf, PL_READ_SIZE);
    if (n > 0) {
        if (t->protocol->data_received)
            t->protocol->data_received(t, buf, (size_t)n, t->user);
        return;
    }
    if (n == 0) {
        if (t->completion_reads && t->fd_kind == PL__FD_PIPE && !t->anon_pipe &&
            !pipe_hung_up(t->fd)) {
            /* A FIFO that never had a writer reads 0 but is not at its
             * end (spec R12); only readiness can wait for a writer, so
             * this transport reads that way from now on.  A pipe of our
             * own pipe2() had its writer from the start: 0 is its end,
             * and asking poll(2) would cost a syscall per EOF (W6). */
            t->completion_reads = 0;
            update_events(t);
            return;
        }
        read_eof(t);
        return;
    }
    if (n == -EAGAIN || n == -EWOULDBLOCK) { /* spec R9 */
        /* The backend ran out of buffers (paused transports may hold
         * them all) before anything arrived here: a completion read armed
         * again would fail at once, so wait for data by readiness. */
        if (no_buffer) {
            t->await_readiness = 1;
            update_events(t);
        }
        return;
    }
    /* A pty master reads EIO once the slave side has closed: that is the
     * terminal's end of file (OURS, spec R11). */
    if (n == -EIO && t->fd_kind == PL__FD_CHAR) {
        read_eof(t);
        return;
    }
    schedule_lost(t, (int)n); /* spec R10: no eof_received */
}

static int check_read(const pl_transport *t)
{
    if (!t)
        return -EINVAL;
    return t->is_read ? 0 : PL_EDIRECTION;
}

int pl_transport_pause_reading(pl_transport *t)
{
    int err = check_read(t);
    if (err)
        return err;
    if (t->closing || t->paused)
        return 0;
    t->paused = 1;
    if (pl__pause_keeps_reading)
        return 0; /* the mutant pipecheck-broken: reading goes on */
    update_events(t);
    return 0;
}

int pl_transport_resume_reading(pl_transport *t)
{
    int err = check_read(t);
    if (err)
        return err;
    if (t->closing || !t->paused)
        return 0;
    t->paused = 0;
    update_events(t);
    return 0;
}

int pl_transport_is_reading(const pl_transport *t)
{
    int err = check_read(t);
    if (err)
        return err;
    return !t->paused && !t->closing;
}

/* ---- writing ----------------------------------------------------------- */

static int check_write(const pl_transport *t)
{
    if (!t)
        return -EINVAL;
    if (t->is_read)
        return PL_EDIRECTION;
    return 0;
}

static void maybe_pause(pl_transport *t)
{
    /* Before connection_made has run the protocol hears nothing; the
     * check is repeated right after it (CM comes first: spec C4). */
    if (!t->made || t->pw_called || t->q.len <= t->high)
        return;
    t->pw_called = 1;
    if (t->protocol->pause_writing)
        t->protocol->pause_writing(t, t->user);
}

static void maybe_resume(pl_transport *t)
{
    if (!t->pw_called || t->q.len > t->low)
        return;
    t->pw_called = 0;
    if (t->protocol->resume_writing)
        t->protocol->resume_writing(t, t->user);
}

/* A lent write, as given to pl_transport_write_lent. */
struct lent {
    const void *data;
    size_t len;
    pl_write_done_cb done;
    void *user;
};

/* Report a lent write that will not be queued (copied writes: nothing). */
static void complete_lent(pl_transport *t, const struct lent *lent, int status)
{
    if (!lent)
        return;
    pl__wq_complete(&t->q, lent->data, lent->len, status, lent->done, lent->user);
    schedule_drain(t);
}

/* The write path shared by copied and lent writes: send what the kernel
 * takes now if nothing is queued (spec W2), queue the rest in order. */
static ssize_t send_or_queue(pl_transport *t, const struct iovec *iov, int iovcnt,
                             size_t total, const struct lent *lent)
{
    size_t sent = 0;
    int was_empty = t->q.len == 0;
    if (was_empty) {
        /* writev takes at most IOV_MAX pieces; the rest is queued below,
         * so any count is one write of the concatenation (spec W4). */
        ssize_t n = pl__io_mode_writev(t->loop, t->fd, t->fd_kind, t->io_mode, iov,
                                       iovcnt < IOV_MAX ? iovcnt : IOV_MAX);
        if (n >= 0) {
            sent = (size_t)n;
        } else if (n != -EAGAIN && n != -EWOULDBLOCK) {
            /* The reader is gone (EPIPE) or the fd failed: the caller
             * learns it from connection_lost (spec E3). */
            complete_lent(t, lent, (int)n);
            schedule_lost(t, (int)n);
            return (ssize_t)total;
        }
        if (sent == total) {
            complete_lent(t, lent, 0); /* reported from the loop */
            return (ssize_t)total;
        }
    }
    int err = lent ? pl__wq_append_lent(&t->q, lent->data, lent->len, sent, lent->done,
                                        lent->user)
                   : pl__wq_append_copy(&t->q, iov, iovcnt, sent, total - sent);
    if (err) {
        if (sent == 0)
            return err;
        /* Part of the data is already in the kernel and the rest cannot be
         * kept: the stream is broken, so end it and say why. */
        complete_lent(t, lent, err);
        schedule_lost(t, err);
        return (ssize_t)total;
    }
    if (was_empty)
        update_events(t); /* start watching for room */
    maybe_pause(t);
    return (ssize_t)total;
}

ssize_t pl_transport_writev(pl_transport *t, const struct iovec *iov, int iovcnt)
{
    int err = check_write(t);
    if (err)
        return err;
    if (iovcnt < 0 || (iovcnt > 0 && !iov))
        return -EINVAL;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_base && iov[i].iov_len)
            return -EINVAL;
        if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
            return -EINVAL; /* the sum must not wrap */
        total += iov[i].iov_len;
    }
    /* A write after the end is refused whatever its length (W6 before
     * W3): it is a mistake in the caller that asyncio would hide. */
    if (t->closing)
        return PL_ECLOSED;
    if (total == 0)
        return 0; /* spec W3: no syscall */
    return send_or_queue(t, iov, iovcnt, total, NULL);
}

ssize_t pl_transport_write(pl_transport *t, const void *data, size_t len)
{
    if (!data && len)
        return -EINVAL;
    struct iovec iov = {(void *)(uintptr_t)data, len};
    return pl_transport_writev(t, &iov, 1);
}

ssize_t pl_transport_write_lent(pl_transport *t, const void *data, size_t len,
                                pl_write_done_cb done, void *user)
{
    int err = check_write(t);
    if (err)
        return err;
    if (!done || (!data && len) || len > SSIZE_MAX)
        return -EINVAL;
    if (t->closing)
        return PL_ECLOSED;
    if (len == 0)
        return 0;
    /* The completion's slot first, so reporting it never allocates. */
    err = pl__wq_reserve_done(&t->q);
    if (err)
        return err;
    struct lent lent = {data, len, done, user};
    struct iovec iov = {(void *)(uintptr_t)data, len};
    return send_or_queue(t, &iov, 1, len, &lent);
}

static void write_ready(pl_loop *loop, struct pl__io *io, unsigned revents)
{
    pl_transport *t = PL__CONTAINER_OF(io, pl_transport, io);
    PL__UNUSED(loop);
    if (t->cl_queued)
        return;
    if (revents & (PL_ERR | PL_HUP)) {
        /* The reader went away.  With nothing buffered that is a clean end
         * (spec E1); with bytes that can never arrive it is EPIPE (E2). */
        schedule_lost(t, t->q.len ? -EPIPE : 0);
        return;
    }
    if (t->q.len == 0)
        return;
    struct iovec iov[FLUSH_IOVS];
    ssize_t n = pl__io_mode_writev(t->loop, t->fd, t->fd_kind, t->io_mode, iov,
                                   pl__wq_iov(&t->q, iov, FLUSH_IOVS));
    if (n < 0) {
        if (n != -EAGAIN && n != -EWOULDBLOCK)
            schedule_lost(t, (int)n);
        return;
    }
    if (pl__wq_consume(&t->q, (size_t)n))
        schedule_drain(t);
    /* As asyncio: the protocol may resume (and write more) first. */
    maybe_resume(t);
    if (t->q.len == 0 && !t->cl_queued) {
        if (t->closing)
            schedule_lost(t, 0); /* flushed: the graceful close ends (D2) */
        else
            update_events(t);
    }
}

int pl_transport_write_eof(pl_transport *t)
{
    int err = check_write(t);
    if (err)
        return err;
    return pl_transport_close(t);
}

int pl_transport_can_write_eof(const pl_transport *t)
{
    int err = check_write(t);
    return err ? err : 1;
}

size_t pl_transport_get_write_buffer_size(const pl_transport *t)
{
    return t ? t->q.len : 0;
}

int pl_transport_set_write_buffer_limits(pl_transport *t, int64_t high, int64_t low)
{
    int err = check_write(t);
    if (err)
        return err;
    if (high == PL_LIMIT_UNSET && low == PL_LIMIT_UNSET) {
        high = DEFAULT_HIGH;
        low = DEFAULT_LOW;
    } else if (high == PL_LIMIT_UNSET) {
        if (low < 0 || low > INT64_MAX / 4)
            return -EINVAL;
        high = 4 * low;
    } else if (low == PL_LIMIT_UNSET) {
        if (high < 0)
            return -EINVAL;
        low = high / 4;
    }
    if (high < 0 || low < 0 || high < low)
        return -EINVAL; /* spec F2 */
    t->high = (size_t)high;
    t->low = (size_t)low;
    if (t->lost)
        return 0;
    /* Apply the new marks at once (OURS, spec F6). */
    maybe_pause(t);
    maybe_resume(t);
    return 0;
}

int pl_transport_get_write_buffer_limits(const pl_transport *t, size_t *high, size_t *low)
{
    int err = check_write(t);
    if (err)
        return err;
    if (high)
        *high = t->high;
    if (low)
        *low = t->low;
    return 0;
}

/* ---- closing ----------------------------------------------------------- */

int pl_transport_close(pl_transport *t)
{
    if (!t)
        return -EINVAL;
    t->close_called = 1;
    if (t->closing)
        return 0;
    t->closing = 1;
    if (!t->is_read && t->q.len > 0) {
        /* Keep writing until the buffer is empty (spec D2). */
        return 0;
    }
    schedule_lost(t, 0);
    return 0;
}

int pl_transport_abort(pl_transport *t)
{
    if (!t)
        return -EINVAL;
    t->close_called = 1;
    schedule_lost(t, 0); /* drops the buffer (spec D4); once only (D5) */
    return 0;
}

int pl_transport_is_closing(const pl_transport *t)
{
    return t ? t->closing : 1;
}

/* ---- accessors --------------------------------------------------------- */

int pl_transport_get_fd(const pl_transport *t)
{
    return t ? t->fd : -1;
}

pl_loop *pl_transport_get_loop(const pl_transport *t)
{
    return t->loop;
}

void *pl_transport_get_user(const pl_transport *t)
{
    return t->user;
}

void pl_transport_set_user(pl_transport *t, void *user)
{
    t->user = user;
}

const pl_protocol *pl_transport_get_protocol(const pl_transport *t)
{
    return t->protocol;
}

int pl_transport_set_protocol(pl_transport *t, const pl_protocol *protocol)
{
    if (!t || !protocol)
        return -EINVAL;
    t->protocol = protocol;
    return 0;
}

int pl_transport_is_read(const pl_transport *t)
{
    return t->is_read;
}

int pl_transport_get_io_mode(const pl_transport *t)
{
    return t ? t->io_mode : -EINVAL;
}
