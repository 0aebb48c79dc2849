/* How a transport does non-blocking I/O on an fd it adopted, without
 * changing what other holders of the same open file description see
 * (spec C6, X1-X5).
 *
 * O_NONBLOCK is a flag of the open file description, which a dup, a parent
 * shell or a sibling in a pipeline may share.  Setting it makes their
 * blocking reads and writes fail with EAGAIN; restoring it while another
 * transport of ours uses the same description makes that transport block
 * the loop.  So, per fd, at connect:
 *
 *   stream socket        recv/sendmsg with MSG_DONTWAIT
 *   pipe, FIFO, tty      a private description: the file is opened again
 *   (not a pty master)   through /proc/self/fd/N and put in place of fd
 *   anonymous pipe,      preadv2/pwritev2 with RWF_NOWAIT
 *   if that fails
 *   anything else        O_NONBLOCK on the shared description, restored
 *                        when the last transport on it is gone
 *
 * FIFOs cannot use RWF_NOWAIT: the kernel (6.x) gives FMODE_NOWAIT only to
 * the files pipe2() makes, so preadv2 on a FIFO answers EOPNOTSUPP.
 */
#define _GNU_SOURCE /* pipe2, preadv2, pwritev2, dup3, O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"

unsigned pl__io_refuse;

const char *pl_io_mode_name(int mode)
{
    switch (mode) {
    case PL_IO_NOWAIT:
        return "rwf-nowait";
    case PL_IO_DONTWAIT:
        return "msg-dontwait";
    case PL_IO_REOPENED:
        return "reopened";
    case PL_IO_NONBLOCK:
        return "nonblock";
    default:
        return "unknown";
    }
}

/* ---- RWF_NOWAIT on anonymous pipes ------------------------------------- */

/* 1: works, -1: refused, 0: not known yet.  Every anonymous pipe has the
 * same file operations, so one probe on a private pipe answers for all. */
static atomic_int nowait_state;

static int nowait_works(void)
{
    int state = atomic_load_explicit(&nowait_state, memory_order_relaxed);
    if (state)
        return state > 0;
    int fds[2];
    if (pl__pipe(fds, 0) < 0)
        return 0; /* no fd to probe with (EMFILE): ask again next time */
    char byte = 0;
    struct iovec iov = {&byte, 1};
    /* An empty pipe must say EAGAIN, not block and not EOPNOTSUPP/EINVAL,
     * and a pipe with room must take the byte. */
    state = pl__read_nowait(fds[0], &byte, 1) == -EAGAIN &&
                    pl__writev_nowait(fds[1], &iov, 1) == 1
                ? 1
                : -1;
    pl__close(fds[0]);
    pl__close(fds[1]);
    atomic_store_explicit(&nowait_state, state, memory_order_relaxed);
    return state > 0;
}

void pl__io_probe_nowait(void)
{
    (void)nowait_works();
}

static int is_anonymous_pipe(int fd)
{
    struct statfs fs;
    return fstatfs(fd, &fs) == 0 && fs.f_type == PIPEFS_MAGIC;
}

/* ---- a private description ------------------------------------------- */

static int reopenable(int fd, int kind)
{
    if (pl__io_refuse & PL__REFUSE_REOPEN)
        return 0;
    if (kind == PL__FD_PIPE)
        return 1;
    /* A tty, but not a pty master: opening /dev/ptmx again would make a
     * new pty.  TIOCGPTN answers only on a master. */
    unsigned ptn;
    return kind == PL__FD_CHAR && isatty(fd) && ioctl(fd, TIOCGPTN, &ptn) < 0;
}

/* A FIFO's read end opened again after its last writer left never reports
 * the hang-up: the kernel suppresses POLLHUP for a reader opened
 * O_NONBLOCK while no writer is there, until a writer comes, so the
 * transport would wait for an end that has already come (and, on
 * io_uring, take its read of 0 for a FIFO that never had a writer, R12).
 * The caller's description saw the writer and says POLLHUP: then it is
 * the one to use.  Checked after the new open, so a writer that leaves in
 * between is seen by the caller's description, and one that leaves later
 * by both. */
static int hang_up_hidden(int fd, int private_fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                          {.fd = private_fd, .events = POLLIN}};
    if (poll(p, 2, 0) < 0)
        return 0;
    return (p[0].revents & POLLHUP) && !(p[1].revents & POLLHUP);
}

/* Open the file behind fd again, non-blocking, and put the new description
 * in fd's place (same number, same close-on-exec bit).  The old description
 * is left exactly as it was for whoever else holds it. */
static int reopen_private(int fd, int status_flags)
{
    char path[48];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int keep = status_flags & (O_ACCMODE | O_APPEND | O_DIRECT);
    int private_fd = open(path, keep | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (private_fd < 0)
        return -errno; /* no /proc, ENXIO (FIFO without reader), EMFILE, ... */
    struct stat was, now;
    int err = 0;
    if (fstat(fd, &was) < 0 || fstat(private_fd, &now) < 0)
        err = -errno;
    else if (was.st_dev != now.st_dev || was.st_ino != now.st_ino ||
             was.st_rdev != now.st_rdev)
        err = -ENXIO; /* not the same file after all */
    else if (S_ISFIFO(was.st_mode) && (keep & O_ACCMODE) != O_WRONLY &&
             hang_up_hidden(fd, private_fd))
        err = -EPIPE; /* its writers are gone: keep the caller's description */
    int fd_flags = err ? -1 : fcntl(fd, F_GETFD);
    if (!err && (fd_flags < 0 ||
                 dup3(private_fd, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0))
        err = -errno;
    pl__close(private_fd);
    return err;
}

/* ---- O_NONBLOCK on a shared description, counted ----------------------- */

/* The descriptions of this process on which some transport set (or found)
 * O_NONBLOCK, with the fds of the transports using each.  Process-wide:
 * transports of different loops and threads may share a description. */
struct pl__shared {
    struct pl__shared *next;
    dev_t dev;
    ino_t ino;
    int was_nonblocking; /* O_NONBLOCK before the first transport */
    int *fds;
    size_t nfds, cap;
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pl__shared *shared_list;

/* Do fds a and b (of one file) share one description?  kcmp answers
 * exactly; where it is missing (no CONFIG_KCMP, seccomp) fds of the same
 * file are counted together, which may restore the flag later than needed
 * but never while a transport still depends on it. */
static int same_description(int a, int b)
{
    if (pl__io_refuse & PL__REFUSE_KCMP)
        return 1;
    pid_t pid = getpid();
    long r = syscall(SYS_kcmp, (long)pid, (long)pid, (long)KCMP_FILE, (long)a, (long)b);
    return r < 0 ? 1 : r == 0;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static int shared_acquire(int fd, struct pl__shared **out)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    int err = 0;
    pthread_mutex_lock(&shared_lock);
    struct pl__shared *e = shared_list;
    while (e && !(e->dev == st.st_dev && e->ino == st.st_ino &&
                  same_description(e->fds[0], fd)))
        e = e->next;
    int created = !e;
    if (created) {
        int flags = fcntl(fd, F_GETFL);
        e = flags < 0 ? NULL : pl__calloc(1, sizeof *e);
        if (!e) {
            err = flags < 0 ? -errno : -ENOMEM;
            goto out;
        }
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->was_nonblocking = (flags & O_NONBLOCK) != 0;
    }
    if (e->nfds == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 2;
        int *fds = pl__realloc(e->fds, cap * sizeof *fds);
        if (!fds) {
            err = -ENOMEM;
            goto fail;
        }
        e->fds = fds;
        e->cap = cap;
    }
    /* Also for a sibling: without kcmp it may be another description of
     * the same file, which must not stay blocking. */
    err = set_nonblocking(fd);
    if (err)
        goto fail;
    e->fds[e->nfds++] = fd;
    if (created) {
        e->next = shared_list;
        shared_list = e;
    }
    *out = e;
    goto out;
fail:
    if (created) {
        free(e->fds);
        free(e);
    }
out:
    pthread_mutex_unlock(&shared_lock);
    return err;
}

void pl__shared_release(struct pl__shared *e, int fd)
{
    pthread_mutex_lock(&shared_lock);
    for (size_t i = 0; i < e->nfds; i++) {
        if (e->fds[i] == fd) {
            e->fds[i] = e->fds[--e->nfds];
            break;
        }
    }
    if (e->nfds == 0) {
        /* The last transport on the description: give back the flag as it
         * was, leaving any other flag someone changed meanwhile. */
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && !e->was_nonblocking)
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        struct pl__shared **link = &shared_list;
        while (*link != e)
            link = &(*link)->next;
        *link = e->next;
        free(e->fds);
        free(e);
    }
    pthread_mutex_unlock(&shared_lock);
}

/* ---- the choice -------------------------------------------------------- */

int pl__io_mode_choose(int fd, int kind, int status_flags, unsigned connect_flags,
                       unsigned char *mode, struct pl__shared **shared)
{
    *shared = NULL;
    if (!(connect_flags & PL_CONNECT_SHARED_NONBLOCK)) {
        if (kind == PL__FD_SOCKET) {
            *mode = PL_IO_DONTWAIT;
            return 0;
        }
        /* A private description first, even for an anonymous pipe that
         * could use RWF_NOWAIT: it costs four syscalls once, where
         * preadv2/pwritev2 take the kernel's vectored path on every call
         * (bench/nowait_cost: about 1.3x read/write for 1-byte calls). */
        if (reopenable(fd, kind) && reopen_private(fd, status_flags) == 0) {
            *mode = PL_IO_REOPENED;
            return 0;
        }
        if (kind == PL__FD_PIPE && !(pl__io_refuse & PL__REFUSE_NOWAIT) &&
            is_anonymous_pipe(fd) && nowait_works()) {
            *mode = PL_IO_NOWAIT;
            return 0;
        }
    }
    *mode = PL_IO_NONBLOCK;
    return shared_acquire(fd, shared);
}

/* ---- reading and writing in the chosen mode ------------------------------ */

ssize_t pl__io_mode_read(int fd, int mode, void *buf, size_t len)
{
    switch (mode) {
    case PL_IO_NOWAIT:
        return pl__read_nowait(fd, buf, len);
    case PL_IO_DONTWAIT:
        return pl__recv(fd, buf, len, MSG_DONTWAIT);
    default: /* a private description, or the shared one: O_NONBLOCK is set */
        return pl__read(fd, buf, len);
    }
}

ssize_t pl__io_mode_writev(pl_loop *loop, int fd, int kind, int mode,
                           const struct iovec *iov, int iovcnt)
{
    if (kind == PL__FD_SOCKET)
        return pl__sendv(fd, iov, iovcnt, mode == PL_IO_DONTWAIT ? MSG_DONTWAIT : 0);
    if (kind == PL__FD_CHAR) /* ttys answer EIO, never SIGPIPE */
        return pl__writev(fd, iov, iovcnt);

    struct pl__sigpipe_guard guard;
    pl__sigpipe_enter(loop, &guard);
    ssize_t n = mode == PL_IO_NOWAIT ? pl__writev_nowait(fd, iov, iovcnt)
                : iovcnt == 1        ? pl__write(fd, iov[0].iov_base, iov[0].iov_len)
                                     : pl__writev(fd, iov, iovcnt);
    pl__sigpipe_leave(&guard, n);
    return n;
}
