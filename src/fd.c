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

int pl__pipe(int fds[2], int nonblock)
{
    if (pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) < 0)
        return -errno;
    return 0;
}

ssize_t pl__read(int fd, void *buf, size_t len)
{
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t pl__write(int fd, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = write(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t pl__writev(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t n;
    do
        n = writev(fd, iov, iovcnt);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t pl__read_nowait(int fd, void *buf, size_t len)
{
    struct iovec iov = {buf, len};
    ssize_t n;
    do
        n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t pl__writev_nowait(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t n;
    do
        n = pwritev2(fd, iov, iovcnt, -1, RWF_NOWAIT);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t pl__recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t n;
    do
        n = recv(fd, buf, len, flags);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t pl__sendv(int fd, const struct iovec *iov, int iovcnt, int flags)
{
    struct msghdr msg = {0};
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    ssize_t n;
    do
        n = sendmsg(fd, &msg, MSG_NOSIGNAL | flags);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}
