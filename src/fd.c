/* fd helpers: the one place where EINTR is retried and fds are classified. */
#define _GNU_SOURCE /* pipe2, preadv2, pwritev2 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

int pl__close(int fd)
{
    /* On Linux the fd is released even when close() reports EINTR, so a
     * retry could close an fd another thread has just been given. */
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

int pl__fd_kind(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -EBADF;
    if (S_ISFIFO(st.st_mode))
        return PL__FD_PIPE;
    if (S_ISCHR(st.st_mode))
        return PL__FD_CHAR;
    if (S_ISSOCK(st.st_mode)) {
        int type = 0, domain = 0;
        socklen_t len = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
            return -errno;
        len = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
            return -errno;
        if (type == SOCK_STREAM && domain == AF_UNIX)
            return PL__FD_SOCKET;
    }
    return PL_EFDKIND;
}

int (*pl__sys_fault)(enum pl__sys_op op, int fd, size_t *len);

/* The fault hook's verdict for one call: 0 to make it (with *len perhaps
 * lowered), or -errno to fail it without making it. */
static int fault(enum pl__sys_op op, int fd, size_t *len)
{
    return pl__sys_fault ? pl__sys_fault(op, fd, len) : 0;
}

int pl__pipe(int fds[2], int nonblock)
{
    int err = fault(PL__SYS_NEW_FD, -1, NULL);
    if (err)
        return err;
    if (pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) < 0)
        return -errno;
    return 0;
}

/* Run one read or write call through the hook, retrying EINTR (the hook's
 * EINTR too, which is how tests reach the retry).  The macro keeps each
 * helper's own syscall inline. */
#define FAULTY_CALL(op, fd, len, call)                                                   \
    do {                                                                                 \
        int injected = fault(op, fd, &(len));                                            \
        if (injected) {                                                                  \
            errno = -injected;                                                           \
            n = -1;                                                                      \
        } else {                                                                         \
            n = (call);                                                                  \
        }                                                                                \
    } while (n < 0 && errno == EINTR)

ssize_t pl__read(int fd, void *buf, size_t len)
{
    ssize_t n;
    FAULTY_CALL(PL__SYS_READ, fd, len, read(fd, buf, len));
    return n < 0 ? -errno : n;
}

ssize_t pl__write(int fd, const void *buf, size_t len)
{
    ssize_t n;
    FAULTY_CALL(PL__SYS_WRITE, fd, len, write(fd, buf, len));
    return n < 0 ? -errno : n;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    return total;
}

/* A vectored write the hook may shorten: then only a prefix of the first
 * piece goes, which is still a prefix of the concatenation.  Without a hook
 * the pieces are not even summed. */
#define FAULTY_WRITEV(fd, iov, iovcnt, call, short_call)                                 \
    do {                                                                                 \
        size_t total = pl__sys_fault ? iov_total(iov, iovcnt) : 0, len = total;          \
        FAULTY_CALL(PL__SYS_WRITE, fd, len, len < total ? (short_call) : (call));        \
    } while (0)

ssize_t pl__writev(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t n;
    FAULTY_WRITEV(
        fd, iov, iovcnt, writev(fd, iov, iovcnt),
        write(fd, iov[0].iov_base, len < iov[0].iov_len ? len : iov[0].iov_len));
    return n < 0 ? -errno : n;
}

ssize_t pl__read_nowait(int fd, void *buf, size_t len)
{
    ssize_t n;
    struct iovec iov = {buf, len};
    FAULTY_CALL(PL__SYS_READ, fd, iov.iov_len, preadv2(fd, &iov, 1, -1, RWF_NOWAIT));
    return n < 0 ? -errno : n;
}

ssize_t pl__writev_nowait(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t n;
    struct iovec first = iov[0];
    FAULTY_WRITEV(fd, iov, iovcnt, pwritev2(fd, iov, iovcnt, -1, RWF_NOWAIT),
                  (first.iov_len = len < first.iov_len ? len : first.iov_len,
                   pwritev2(fd, &first, 1, -1, RWF_NOWAIT)));
    return n < 0 ? -errno : n;
}

ssize_t pl__recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t n;
    FAULTY_CALL(PL__SYS_READ, fd, len, recv(fd, buf, len, flags));
    return n < 0 ? -errno : n;
}

ssize_t pl__sendv(int fd, const struct iovec *iov, int iovcnt, int flags)
{
    struct msghdr msg = {0};
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    struct iovec first = iov[0];
    struct msghdr short_msg = {0};
    short_msg.msg_iov = &first;
    short_msg.msg_iovlen = 1;
    ssize_t n;
    FAULTY_WRITEV(fd, iov, iovcnt, sendmsg(fd, &msg, MSG_NOSIGNAL | flags),
                  (first.iov_len = len < first.iov_len ? len : first.iov_len,
                   sendmsg(fd, &short_msg, MSG_NOSIGNAL | flags)));
    return n < 0 ? -errno : n;
}
