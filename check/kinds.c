/* Pipe kinds: the factories that make a (near, far) pair of every kind the
 * conformance suite runs over, the facts in which the kinds differ, and the
 * helpers that shrink and fill the kernel buffer between the two ends. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum kind_impl {
    IMPL_PIPE,
    IMPL_FIFO,
    IMPL_FIFO_NB,
    IMPL_SOCKETPAIR,
    IMPL_PTY_MASTER,
    IMPL_PTY_SLAVE,
    IMPL_CHILD,
};

#define KIB ((size_t)1024)

/* The capacity bounds are measured upper bounds (tests/test_kinds.c checks
 * them): a pipe holds 16 pages by default and one page when shrunk; a unix
 * stream socket is bounded by the sender's SO_SNDBUF (which the kernel
 * doubles) plus one skb; a pty by its 64 KiB flip buffer limit plus the
 * line discipline's 4 KiB, and more on the master side. */
static const pc_kind kinds[] = {
    {"pipe", "anonymous pipe(2)",
     PC_KIND_HAS_PIPE_SIZE | PC_KIND_HUP_ON_PEER_CLOSE | PC_KIND_WRITE_SEES_IDLE_CLOSE,
     64 * KIB, 4 * KIB, IMPL_PIPE},
    {"fifo", "named FIFO, each end opened blocking, from two threads",
     PC_KIND_HAS_PIPE_SIZE | PC_KIND_FIFO | PC_KIND_CAN_NEVER_HAVE_WRITER |
         PC_KIND_HUP_ON_PEER_CLOSE | PC_KIND_WRITE_SEES_IDLE_CLOSE,
     64 * KIB, 4 * KIB, IMPL_FIFO},
    {"fifo-nb", "named FIFO, reader opened O_NONBLOCK first, then the writer",
     PC_KIND_HAS_PIPE_SIZE | PC_KIND_FIFO | PC_KIND_CAN_NEVER_HAVE_WRITER |
         PC_KIND_HUP_ON_PEER_CLOSE | PC_KIND_WRITE_SEES_IDLE_CLOSE,
     64 * KIB, 4 * KIB, IMPL_FIFO_NB},
    {"socketpair", "AF_UNIX SOCK_STREAM socketpair(2)",
     PC_KIND_SOCKET | PC_KIND_HUP_ON_PEER_CLOSE | PC_KIND_WRITE_SEES_IDLE_CLOSE |
         PC_KIND_NEAR_WRITE_END_READABLE,
     1024 * KIB, 64 * KIB, IMPL_SOCKETPAIR},
    {"pty", "pseudo-terminal, near end the master, slave raw",
     PC_KIND_TTY | PC_KIND_EOF_IS_EIO | PC_KIND_HUP_ON_PEER_CLOSE |
         PC_KIND_WRITE_SEES_IDLE_CLOSE | PC_KIND_NEAR_CLOSE_DROPS |
         PC_KIND_NEAR_WRITE_END_READABLE | PC_KIND_PTY_MASTER,
     256 * KIB, 256 * KIB, IMPL_PTY_MASTER},
    {"pty-slave", "pseudo-terminal, near end the raw slave",
     PC_KIND_TTY | PC_KIND_HUP_ON_PEER_CLOSE | PC_KIND_WRITE_SEES_IDLE_CLOSE |
         PC_KIND_FAR_CLOSE_DROPS | PC_KIND_NEAR_WRITE_END_READABLE,
     256 * KIB, 256 * KIB, IMPL_PTY_SLAVE},
    {"child", "pipe whose far end is in a helper child process",
     PC_KIND_HAS_PIPE_SIZE | PC_KIND_CHILD | PC_KIND_HUP_ON_PEER_CLOSE |
         PC_KIND_WRITE_SEES_IDLE_CLOSE,
     64 * KIB, 4 * KIB, IMPL_CHILD},
};

#define NKINDS (sizeof kinds / sizeof kinds[0])

const pc_kind *pc_kind_get(size_t index)
{
    return index < NKINDS ? &kinds[index] : NULL;
}

size_t pc_kind_count(void)
{
    return NKINDS;
}

const pc_kind *pc_kind_find(const char *name)
{
    for (size_t i = 0; name && i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- factories ------------------------------------------------------------ */

static int open_pipe(pc_pair *pair)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pair->near = pair->dir == PC_DIR_READ ? fds[0] : fds[1];
    pair->far = pair->dir == PC_DIR_READ ? fds[1] : fds[0];
    return 0;
}

static int open_socketpair(pc_pair *pair)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        return -errno;
    pair->near = fds[0];
    pair->far = fds[1];
    return 0;
}

static int open_pty(pc_pair *pair, int near_is_master)
{
    int err = 0;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return -errno;
    char name[128];
    if (grantpt(master) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, name, sizeof name) != 0) {
        err = -errno;
        close(master);
        return err;
    }
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        err = -errno;
        close(master);
        return err;
    }
    /* Raw mode: no echo, no line editing, no CR/NL mapping, no flow
     * control characters, so the pty passes any byte stream unchanged. */
    struct termios tio;
    if (tcgetattr(slave, &tio) < 0) {
        err = -errno;
        goto fail;
    }
    cfmakeraw(&tio);
    if (tcsetattr(slave, TCSANOW, &tio) < 0) {
        err = -errno;
        goto fail;
    }
    pair->near = near_is_master ? master : slave;
    pair->far = near_is_master ? slave : master;
    return 0;

fail:
    close(master);
    close(slave);
    return err;
}

static int make_fifo(pc_pair *pair)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 128)
        tmp = "/tmp";
    char dir[sizeof pair->path - 8];
    snprintf(dir, sizeof dir, "%s/pipecheck-XXXXXX", tmp);
    if (!mkdtemp(dir)) /* mkdtemp makes it 0700 */
        return -errno;
    snprintf(pair->path, sizeof pair->path, "%s/fifo", dir);
    if (mkfifo(pair->path, 0600) < 0) {
        int err = -errno;
        rmdir(dir);
        pair->path[0] = '\0';
        return err;
    }
    return 0;
}

static void remove_fifo(pc_pair *pair)
{
    if (!pair->path[0])
        return;
    unlink(pair->path);
    char *slash = strrchr(pair->path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(pair->path);
    }
    pair->path[0] = '\0';
}

struct fifo_opener {
    const char *path;
    int flags;
    int fd;
    int err;
};

static void *fifo_open_thread(void *arg)
{
    struct fifo_opener *o = arg;
    do
        o->fd = open(o->path, o->flags);
    while (o->fd < 0 && errno == EINTR);
    o->err = o->fd < 0 ? -errno : 0;
    return NULL;
}

static int fifo_flags(const pc_pair *pair, int near)
{
    int read_end = (pair->dir == PC_DIR_READ) == near;
    return (read_end ? O_RDONLY : O_WRONLY) | O_CLOEXEC;
}

/* Blocking open: opening one end of a FIFO blocks until the other end is
 * opened, so the far end is opened in a thread while this one opens the
 * near end. */
static int open_fifo_blocking(pc_pair *pair)
{
    struct fifo_opener far = {pair->path, fifo_flags(pair, 0), -1, 0};
    pthread_t thread;
    int err = pthread_create(&thread, NULL, fifo_open_thread, &far);
    if (err)
        return -err;
    struct fifo_opener near = {pair->path, fifo_flags(pair, 1), -1, 0};
    fifo_open_thread(&near);
    pthread_join(thread, NULL);
    if (near.err || far.err) {
        if (near.fd >= 0)
            close(near.fd);
        if (far.fd >= 0)
            close(far.fd);
        return near.err ? near.err : far.err;
    }
    pair->near = near.fd;
    pair->far = far.fd;
    return 0;
}

/* Non-blocking open: the reader first, with O_NONBLOCK (which succeeds with
 * no writer), then the writer (which succeeds because a reader exists).
 * The reader keeps O_NONBLOCK when it is the near end: a transport must
 * then find and restore exactly those flags (spec C6). */
static int open_fifo_nb(pc_pair *pair, int defer_far)
{
    int reader = open(pair->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (reader < 0)
        return -errno;
    if (pair->dir == PC_DIR_READ) {
        pair->near = reader;
        if (defer_far)
            return 0;
        return pc_pair_open_far(pair);
    }
    int writer = open(pair->path, O_WRONLY | O_CLOEXEC);
    if (writer < 0) {
        int err = -errno;
        close(reader);
        return err;
    }
    /* The far reader belongs to a peer that expects a blocking fd. */
    int fl = fcntl(reader, F_GETFL);
    fcntl(reader, F_SETFL, fl & ~O_NONBLOCK);
    pair->near = writer;
    pair->far = reader;
    return 0;
}

int pc_pair_open_far(pc_pair *pair)
{
    if (!pair || !pair->kind || !(pair->kind->flags & PC_KIND_FIFO))
        return -EINVAL;
    if (pair->far >= 0)
        return -EALREADY;
    /* The near end may already belong to a transport (pair->near == -1);
     * the open below fails with ENXIO if no reader exists at all. */
    if (pair->dir != PC_DIR_READ)
        return -EINVAL;
    int fd = open(pair->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    pair->far = fd;
    return 0;
}

int pc_pair_open(const pc_kind *kind, pc_dir dir, unsigned flags, pc_pair *pair)
{
    if (!kind || !pair || (dir != PC_DIR_READ && dir != PC_DIR_WRITE) ||
        (flags & ~(unsigned)PC_OPEN_DEFER_FAR))
        return -EINVAL;
    int defer = (flags & PC_OPEN_DEFER_FAR) != 0;
    if (defer && (!(kind->flags & PC_KIND_CAN_NEVER_HAVE_WRITER) || dir != PC_DIR_READ))
        return -EINVAL;
    pc_pair p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.dir = dir;
    p.near = p.far = -1;
    int err;
    switch ((enum kind_impl)kind->impl) {
    case IMPL_PIPE:
    case IMPL_CHILD:
        err = open_pipe(&p);
        break;
    case IMPL_SOCKETPAIR:
        err = open_socketpair(&p);
        break;
    case IMPL_PTY_MASTER:
        err = open_pty(&p, 1);
        break;
    case IMPL_PTY_SLAVE:
        err = open_pty(&p, 0);
        break;
    case IMPL_FIFO:
    case IMPL_FIFO_NB:
        err = make_fifo(&p);
        if (err)
            break;
        /* A deferred far end needs a reader that opens without a writer. */
        if (kind->impl == IMPL_FIFO_NB || defer) {
            err = open_fifo_nb(&p, defer);
            /* The blocking kind hands over a blocking reader either way. */
            if (!err && kind->impl == IMPL_FIFO)
                fcntl(p.near, F_SETFL, fcntl(p.near, F_GETFL) & ~O_NONBLOCK);
        } else
            err = open_fifo_blocking(&p);
        if (err)
            remove_fifo(&p);
        break;
    default:
        err = -EINVAL;
    }
    if (err) {
        close_fd(&p.near);
        close_fd(&p.far);
        return err;
    }
    *pair = p;
    return 0;
}

void pc_pair_close(pc_pair *pair)
{
    if (!pair)
        return;
    if (pair->peer)
        pc_peer_stop(pair->peer, NULL);
    close_fd(&pair->near);
    close_fd(&pair->far);
    remove_fifo(pair);
}

/* ---- buffer size ------------------------------------------------------------ */

int pc_pair_shrink(pc_pair *pair, size_t bytes)
{
    if (!pair || !pair->kind || bytes == 0 || bytes > (size_t)1 << 30)
        return -EINVAL;
    int any = pair->near >= 0 ? pair->near : pair->far;
    if (any < 0)
        return -EBADF;
    if (pair->kind->flags & PC_KIND_HAS_PIPE_SIZE) {
        /* Both ends share the one pipe buffer. */
        if (fcntl(any, F_SETPIPE_SZ, (int)bytes) < 0)
            return -errno;
        return 0;
    }
    if (pair->kind->flags & PC_KIND_SOCKET) {
        int writer = pair->dir == PC_DIR_WRITE ? pair->near : pair->far;
        int reader = pair->dir == PC_DIR_WRITE ? pair->far : pair->near;
        int size = (int)bytes;
        if (writer >= 0 &&
            setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) < 0)
            return -errno;
        if (reader >= 0 &&
            setsockopt(reader, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
            return -errno;
        return 0;
    }
    return -ENOTSUP;
}

ssize_t pc_fill_until_full(int fd, uint64_t seed, uint64_t offset)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    size_t chunk = 64 * KIB;
    unsigned char *buf = malloc(chunk);
    ssize_t total = 0;
    ssize_t result = 0;
    if (!buf) {
        result = -ENOMEM;
        goto out;
    }
    /* Halve the write size on EAGAIN down to one byte: a pipe refuses a
     * large write while it still has room for a smaller one. */
    for (;;) {
        pc_pattern_fill(seed, offset + (uint64_t)total, buf, chunk);
        ssize_t n = pc__write_nosigpipe(fd, buf, chunk);
        if (n > 0) {
            total += n;
            continue;
        }
        if (n == -EAGAIN && chunk > 1) {
            chunk /= 2;
            continue;
        }
        if (n != -EAGAIN && total == 0)
            result = n;
        break;
    }
    if (result == 0)
        result = total;
out:
    free(buf);
    if (!(flags & O_NONBLOCK))
        fcntl(fd, F_SETFL, flags);
    return result;
}
