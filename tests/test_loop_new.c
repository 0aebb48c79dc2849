/* What pl_loop_new asks of the process: the fds each backend takes, and
 * RLIMIT_MEMLOCK for an io_uring ring made without CAP_IPC_LOCK (charged
 * on today's kernels too: the explicit request fails with -ENOMEM, the
 * default falls back to epoll). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pipecheck.h>

#include "conform.h"

/* The fds a loop holds for its life: two with epoll (the epoll fd and the
 * wakeup eventfd) and io_uring (the ring and the eventfd), one with poll
 * (the eventfd); all given back by pl_loop_close. */
PC_TEST(loop_fds_per_backend, "loop.fds-per-backend")
{
    static const struct {
        unsigned flag;
        int fds;
    } backends[] = {{PL_LOOP_EPOLL, 2}, {PL_LOOP_POLL, 1}, {PL_LOOP_IO_URING, 2}};
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        int before = conform_open_fds();
        pl_loop *loop;
        int err = pl_loop_new(&loop, backends[i].flag);
        if (err == -ENOSYS && backends[i].flag == PL_LOOP_IO_URING)
            continue; /* no io_uring here: its fds are not taken either */
        PC_ASSERT_OK(err);
        PC_ASSERT_EQ_INT(conform_open_fds() - before, backends[i].fds);
        PC_ASSERT_OK(pl_loop_close(loop));
        PC_ASSERT_EQ_INT(conform_open_fds(), before);
    }
}

/* ---- RLIMIT_MEMLOCK without CAP_IPC_LOCK ----------------------------------- */

static int drop_cap_ipc_lock(void)
{
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &head, data) < 0)
        return -1;
    data[0].effective &= ~(1u << CAP_IPC_LOCK);
    data[0].permitted &= ~(1u << CAP_IPC_LOCK);
    data[0].inheritable &= ~(1u << CAP_IPC_LOCK);
    return (int)syscall(SYS_capset, &head, data);
}

struct echo {
    char got[8];
    size_t len;
};

static void echo_data(pl_transport *t, const void *data, size_t len, void *user)
{
    struct echo *e = user;
    (void)t;
    if (e->len + len <= sizeof e->got) {
        memcpy(e->got + e->len, data, len);
        e->len += len;
    }
}

static const pl_protocol echo_protocol = {.data_received = echo_data};

/* A byte through a read transport on the loop: 0 if it arrived. */
static int one_byte_through(pl_loop *loop)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    struct echo e = {{0}, 0};
    pl_transport *t;
    int rc = -1;
    if (pl_connect_read_pipe(loop, fds[0], &echo_protocol, &e, &t) == 0) {
        if (write(fds[1], "x", 1) == 1)
            for (int i = 0; i < 100 && e.len == 0; i++)
                if (pl_loop_run_once(loop, 50) < 0)
                    break;
        rc = e.len == 1 && e.got[0] == 'x' ? 0 : -1;
        pl_transport_abort(t);
        (void)pl_loop_run_once(loop, 0);
    } else {
        close(fds[0]);
    }
    close(fds[1]);
    return rc;
}

/* In a child without CAP_IPC_LOCK, with the soft limit at 64 KiB: an
 * explicit io_uring loop is refused with -ENOMEM and the default is an
 * epoll loop that works; with the limit back at the hard one, io_uring
 * works.  The child's exit status says which step failed. */
static int memlock_child(void)
{
    if (drop_cap_ipc_lock() < 0)
        return 10;
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        return 11;
    rlim_t hard = rl.rlim_max;
    rl.rlim_cur = 64 * 1024;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
        rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        return 12;
    pl_loop *loop = NULL;
    if (pl_loop_new(&loop, PL_LOOP_IO_URING) != -ENOMEM)
        return 13;
    if (pl_loop_new(&loop, 0) != 0)
        return 14;
    if (strcmp(pl_loop_backend(loop), "epoll") != 0)
        return 15;
    if (one_byte_through(loop) != 0)
        return 16;
    if (pl_loop_close(loop) != 0)
        return 17;
    if (hard != RLIM_INFINITY && hard < 8u * 1024 * 1024)
        return 0; /* no room to show the other side */
    rl.rlim_cur = hard;
    if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        return 18;
    if (pl_loop_new(&loop, PL_LOOP_IO_URING) != 0)
        return 19;
    if (one_byte_through(loop) != 0)
        return 20;
    return pl_loop_close(loop) == 0 ? 0 : 21;
}

PC_TEST(uring_memlock_charged, "uring.memlock-charged-without-cap-ipc-lock")
{
    pl_loop *loop;
    int err = pl_loop_new(&loop, PL_LOOP_IO_URING);
    if (err)
        PC_SKIP("n/a: no io_uring loop here: %s", strerror(-err));
    PC_ASSERT_OK(pl_loop_close(loop));
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0)
        _exit(memlock_child());
    int status = 0;
    PC_ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    PC_ASSERT(WIFEXITED(status));
    PC_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}
