/* Subprocess transports (asyncio's BaseSubprocessTransport and
 * _UnixSubprocessTransport, with the OURS decisions of spec group S).
 *
 * A process owns up to three pipe transports, made with the public
 * pl_connect_*_pipe calls and driven by internal protocols whose user
 * pointer is the process; they forward to the subprocess protocol with the
 * child's fd number.  The child's exit is watched with a pidfd registered
 * as an internal fd watcher, or, where the kernel has no pidfd, with one
 * SIGCHLD handler shared by all of a loop's processes and waitpid() on our
 * own pids only.  connection_made, process_exited and connection_lost run
 * from one queued "progress" callback that looks at the state and does
 * whatever is due, in order (spec S2). */
#define _GNU_SOURCE /* pidfd syscalls, posix_spawn_file_actions_addchdir_np */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef NSIG
#define NSIG 65
#endif

extern char **environ;

struct pl_process {
    pl_loop *loop;
    const pl_process_protocol *protocol;
    void *user;
    pid_t pid;
    int returncode;
    /* The pidfd watcher; its fd is -1 without a pidfd or once reaped. */
    struct pl__io pidfd_io;
    /* SIGCHLD mode: the loop's list of children not yet reaped. */
    struct pl_process *sigchld_next;
    pl_transport *pipes[3]; /* NULL for non-PIPE slots and once lost */
    int pipes_open;         /* pipes whose connection_lost has not run */
    int refs;               /* the library's (until CL), queued progress, user */
    unsigned char on_sigchld_list;
    unsigned char reaped;
    unsigned char closed;         /* pl_process_close was called */
    unsigned char scheduled;      /* a progress callback is queued */
    unsigned char made;           /* connection_made has been called */
    unsigned char exit_delivered; /* process_exited has been called */
    unsigned char finished;       /* connection_lost has been called */
    unsigned char stdin_paused;   /* the stdin transport is paused */
    unsigned char pw_delivered;   /* the protocol saw pause_writing */
    unsigned char leads_group;    /* new_process_group or new_session */
    unsigned char pty;            /* stdio on a pty: pipes[0] and [1] on its master */
};

/* ---- lifetime ---------------------------------------------------------- */

static void process_release(pl_process *p, int n)
{
    assert(p->refs >= n);
    p->refs -= n;
    if (p->refs == 0)
        free(p);
}

void pl_process_ref(pl_process *p)
{
    p->refs++;
}

void pl_process_unref(pl_process *p)
{
    /* Dropping the library's own reference before connection_lost would
     * free a live process: that is a caller bug, not a runtime state. */
    assert(p->finished || p->refs > 1);
    process_release(p, 1);
}

/* ---- watching the child: pidfd or SIGCHLD ------------------------------- */

/*
 * Without pidfds a loop learns of exits from SIGCHLD.  A signal has one
 * owner loop at a time (pl_loop_add_signal), so one handler serves every
 * pidfd-less process of that loop; another loop's pidfd-less spawn gets
 * -EBUSY meanwhile.  The handler is installed on demand and removed when
 * the loop's last such child has been reaped, so that pl_loop_close is not
 * refused for it.  The lock only guards the owner against spawns on other
 * threads; the list itself is touched by the owner loop's thread alone.
 */
static pthread_mutex_t sigchld_lock = PTHREAD_MUTEX_INITIALIZER;
static pl_loop *sigchld_loop;
static pl_process *sigchld_list;

static void process_reaped(pl_process *p, int status);

/* waitpid for one of our own children, never -1: other code in the
 * process may own other children.  1 if reaped, 0 if still running. */
static int try_reap(pl_process *p)
{
    int status = 0;
    pid_t r;
    do
        r = waitpid(p->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    if (r < 0) {
        /* ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, or a
         * waitpid(-1) elsewhere).  The status is lost; like asyncio we
         * report 255. */
        status = 255 << 8;
    }
    process_reaped(p, status);
    return 1;
}

static void on_sigchld(pl_loop *loop, int signum, void *user)
{
    PL__UNUSED(signum);
    PL__UNUSED(user);
    pthread_mutex_lock(&sigchld_lock);
    pl_process **link = &sigchld_list;
    while (*link) {
        pl_process *p = *link;
        int status = 0;
        pid_t r;
        do
            r = waitpid(p->pid, &status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            link = &p->sigchld_next;
            continue;
        }
        if (r < 0)
            status = 255 << 8; /* see try_reap */
        *link = p->sigchld_next;
        p->on_sigchld_list = 0;
        process_reaped(p, status); /* queues callbacks, never runs them */
    }
    if (!sigchld_list && sigchld_loop == loop) {
        pl_loop_remove_signal(loop, SIGCHLD);
        sigchld_loop = NULL;
    }
    pthread_mutex_unlock(&sigchld_lock);
}

/* Make sure the loop's SIGCHLD handler is installed, before the spawn so
 * that no exit can be missed.  -EBUSY if another loop (or the user, on
 * this loop) owns SIGCHLD. */
static int sigchld_acquire(pl_loop *loop)
{
    int err = 0;
    pthread_mutex_lock(&sigchld_lock);
    if (sigchld_loop && sigchld_loop != loop) {
        err = -EBUSY;
    } else if (!sigchld_loop) {
        err = pl_loop_add_signal(loop, SIGCHLD, on_sigchld, NULL);
        if (err == -EEXIST)
            err = -EBUSY;
        if (!err)
            sigchld_loop = loop;
    }
    pthread_mutex_unlock(&sigchld_lock);
    return err;
}

static void sigchld_release_locked(pl_loop *loop)
{
    if (!sigchld_list && sigchld_loop == loop) {
        pl_loop_remove_signal(loop, SIGCHLD);
        sigchld_loop = NULL;
    }
}

static void sigchld_link(pl_process *p)
{
    pthread_mutex_lock(&sigchld_lock);
    p->sigchld_next = sigchld_list;
    sigchld_list = p;
    p->on_sigchld_list = 1;
    pthread_mutex_unlock(&sigchld_lock);
}

static void sigchld_unlink(pl_process *p)
{
    pthread_mutex_lock(&sigchld_lock);
    if (p->on_sigchld_list) {
        pl_process **link = &sigchld_list;
        while (*link != p)
            link = &(*link)->sigchld_next;
        *link = p->sigchld_next;
        p->on_sigchld_list = 0;
    }
    sigchld_release_locked(p->loop);
    pthread_mutex_unlock(&sigchld_lock);
}

static void on_pidfd(pl_loop *loop, struct pl__io *io, unsigned revents)
{
    PL__UNUSED(loop);
    PL__UNUSED(revents);
    pl_process *p = PL__CONTAINER_OF(io, pl_process, pidfd_io);
    /* A pidfd is readable once the child has exited, so this reaps; should
     * it not (a spurious wakeup), the level-triggered watch comes back. */
    try_reap(p);
}

static void unwatch(pl_process *p)
{
    if (p->pidfd_io.fd >= 0) {
        pl__io_detach(p->loop, &p->pidfd_io);
        pl__close(p->pidfd_io.fd);
        p->pidfd_io.fd = -1;
    }
    if (p->on_sigchld_list)
        sigchld_unlink(p);
}

/* Is there a pidfd_open?  Probed once, on our own pid.  The environment
 * variable PIPELOOP_NO_PIDFD=1 forces the SIGCHLD path (for tests). */
static int use_pidfd(void)
{
    static atomic_int state; /* 0 unknown, 1 pidfds work, 2 they do not */
    const char *env = getenv("PIPELOOP_NO_PIDFD");
    if (env && *env && strcmp(env, "0") != 0)
        return 0;
    int s = atomic_load(&state);
    if (s == 0) {
        long fd = syscall(SYS_pidfd_open, (long)getpid(), 0L);
        if (fd >= 0) {
            pl__close((int)fd);
            s = 1;
        } else {
            /* ENOSYS on old kernels, EPERM under some seccomp filters;
             * anything else (EMFILE) says nothing about support. */
            s = (errno == ENOSYS || errno == EPERM) ? 2 : 1;
        }
        atomic_store(&state, s);
    }
    return s == 1;
}

/* ---- progress: connection_made, process_exited, connection_lost -------- */

static void make_connection(pl_process *p)
{
    if (p->made)
        return;
    p->made = 1;
    if (p->protocol->connection_made)
        p->protocol->connection_made(p, p->user);
    /* A write made before connection_made may have paused stdin; the
     * protocol hears of it only now, so pause/resume stay ordered. */
    if (p->stdin_paused && !p->pw_delivered && p->pipes[0]) {
        p->pw_delivered = 1;
        if (p->protocol->pause_writing)
            p->protocol->pause_writing(p, p->user);
    }
}

static void progress_cb(pl_loop *loop, void *arg)
{
    pl_process *p = arg;
    PL__UNUSED(loop);
    int drop = 1; /* the queued callback's reference */
    p->scheduled = 0;
    make_connection(p);
    if (p->reaped && !p->exit_delivered) {
        p->exit_delivered = 1;
        if (p->protocol->process_exited)
            p->protocol->process_exited(p, p->user);
    }
    /* connection_lost waits for the exit and for every pipe (spec S2, S4):
     * a grandchild holding stdout delays it, not process_exited. */
    if (p->exit_delivered && p->pipes_open == 0 && !p->finished) {
        p->finished = 1;
        if (p->protocol->connection_lost)
            p->protocol->connection_lost(p, p->user);
        pl__loop_unreserve(p->loop, 1);
        pl__loop_handle_remove(p->loop);
        drop++; /* the library's reference */
    }
    process_release(p, drop);
}

/* Queue a progress callback unless one is queued.  At most one is queued
 * at a time, into the ready-queue slot reserved at spawn, so this cannot
 * fail.  The queued callback holds a reference. */
static void schedule(pl_process *p)
{
    if (p->scheduled || p->finished)
        return;
    p->scheduled = 1;
    p->refs++;
    pl__call_soon_reserved(p->loop, progress_cb, p);
}

static void process_reaped(pl_process *p, int status)
{
    assert(!p->reaped);
    p->reaped = 1;
    if (WIFEXITED(status))
        p->returncode = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        p->returncode = -WTERMSIG(status);
    else
        p->returncode = 255;
    unwatch(p);
    schedule(p);
}

/* ---- the pipes' internal protocols ------------------------------------- */

static void pipe_data(pl_process *p, int fd, const void *data, size_t len)
{
    /* Pipe transports start reading after their own connection_made, which
     * was queued before the process's: make_connection is a no-op here in
     * practice, and a guarantee of spec S2 if that ever changes. */
    make_connection(p);
    if (p->protocol->pipe_data_received)
        p->protocol->pipe_data_received(p, fd, data, len, p->user);
}

static void pipe_lost(pl_process *p, int fd, int error)
{
    make_connection(p);
    assert(p->pipes[fd] && p->pipes_open > 0);
    p->pipes[fd] = NULL;
    p->pipes_open--;
    if (fd == 0)
        p->stdin_paused = 0;
    if (p->protocol->pipe_connection_lost)
        p->protocol->pipe_connection_lost(p, fd, error, p->user);
    if (p->reaped && p->pipes_open == 0)
        schedule(p);
}

static void stdin_lost(pl_transport *t, int error, void *user)
{
    PL__UNUSED(t);
    pipe_lost(user, 0, error);
}

static void stdin_pause(pl_transport *t, void *user)
{
    pl_process *p = user;
    PL__UNUSED(t);
    p->stdin_paused = 1;
    if (p->made && !p->pw_delivered) {
        p->pw_delivered = 1;
        if (p->protocol->pause_writing)
            p->protocol->pause_writing(p, p->user);
    }
}

static void stdin_resume(pl_transport *t, void *user)
{
    pl_process *p = user;
    PL__UNUSED(t);
    p->stdin_paused = 0;
    if (p->pw_delivered) {
        p->pw_delivered = 0;
        if (p->protocol->resume_writing)
            p->protocol->resume_writing(p, p->user);
    }
}

static void stdout_data(pl_transport *t, const void *data, size_t len, void *user)
{
    PL__UNUSED(t);
    pipe_data(user, 1, data, len);
}

static void stdout_lost(pl_transport *t, int error, void *user)
{
    PL__UNUSED(t);
    pipe_lost(user, 1, error);
}

static void stderr_data(pl_transport *t, const void *data, size_t len, void *user)
{
    PL__UNUSED(t);
    pipe_data(user, 2, data, len);
}

static void stderr_lost(pl_transport *t, int error, void *user)
{
    PL__UNUSED(t);
    pipe_lost(user, 2, error);
}

static const pl_protocol pipe_protocols[3] = {
    {.connection_lost = stdin_lost,
     .pause_writing = stdin_pause,
     .resume_writing = stdin_resume},
    {.data_received = stdout_data, .connection_lost = stdout_lost},
    {.data_received = stderr_data, .connection_lost = stderr_lost},
};

/* For transports of a spawn that failed half way: they are aborted and
 * finish on their own, telling nobody. */
static const pl_protocol orphan_protocol = {0};

/* ---- spawning ---------------------------------------------------------- */

/* What each of the child's fds 0-2 becomes. */
struct stdio_plan {
    int src[3];         /* parent fd to dup2 onto fd i; -1: closed in the child */
    int keep[3];        /* 1: the child inherits the parent's fd i as it is */
    int parent_end[3];  /* our end of a PIPE slot (or of the pty), else -1 */
    char pty_slave[64]; /* options.pty: the slave the child opens as 0-2 */
    int to_close[8];    /* parent fds to close once the child is started */
    int nto_close;
};

static int plan_add_close(struct stdio_plan *plan, int fd)
{
    assert(plan->nto_close < (int)(sizeof plan->to_close / sizeof plan->to_close[0]));
    plan->to_close[plan->nto_close++] = fd;
    return fd;
}

static void plan_close(struct stdio_plan *plan)
{
    for (int i = 0; i < plan->nto_close; i++)
        pl__close(plan->to_close[i]);
    plan->nto_close = 0;
}

static void plan_close_parent_ends(struct stdio_plan *plan)
{
    for (int i = 0; i < 3; i++) {
        if (plan->parent_end[i] >= 0)
            pl__close(plan->parent_end[i]);
        plan->parent_end[i] = -1;
    }
}

static int check_options(const pl_spawn_options *o)
{
    if (!o->file || !*o->file)
        return -EINVAL;
    if (o->pty) {
        /* The pty is the child's stdin, stdout and stderr. */
        for (int i = 0; i < 3; i++)
            if (o->stdio[i].kind != PL_STDIO_INHERIT)
                return -EINVAL;
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        switch (o->stdio[i].kind) {
        case PL_STDIO_INHERIT:
        case PL_STDIO_PIPE:
        case PL_STDIO_DEVNULL:
            break;
        case PL_STDIO_FD:
            if (o->stdio[i].fd < 0 || fcntl(o->stdio[i].fd, F_GETFD) < 0)
                return -EBADF;
            break;
        case PL_STDIO_STDOUT:
            if (i != 2)
                return -EINVAL;
            break;
        default:
            return -EINVAL;
        }
    }
    return 0;
}

/*
 * Open what the child's stdio needs and decide, per slot, the parent fd it
 * is copied from.  Every fd opened here is O_CLOEXEC, so the child gets
 * exactly fds 0-2 (spec S8).  Sources below 3 are first copied to fds >= 3:
 * otherwise one slot's dup2 could overwrite another slot's source (stdin
 * from the caller's fd 1 while stdout is a pipe), and dup2(i, i) would not
 * clear FD_CLOEXEC.
 */
/* options.pty: a new pty; we keep the master twice (the stdin write
 * transport and the stdout read transport share its description), the
 * child opens the slave by name after setsid(), which makes it the child's
 * controlling terminal. */
static int plan_pty(const pl_spawn_options *o, struct stdio_plan *plan)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return -errno;
    struct winsize ws = {o->pty_rows ? o->pty_rows : 24, o->pty_cols ? o->pty_cols : 80,
                         0, 0};
    int err = 0;
    if (grantpt(master) < 0 || unlockpt(master) < 0 || ioctl(master, TIOCSWINSZ, &ws) < 0)
        err = -errno;
    else if ((err = ptsname_r(master, plan->pty_slave, sizeof plan->pty_slave)) != 0)
        err = -err;
    int copy = err ? -1 : fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (!err && copy < 0)
        err = -errno;
    if (err) {
        pl__close(master);
        return err;
    }
    plan->parent_end[0] = copy;
    plan->parent_end[1] = master;
    return 0;
}

static int plan_stdio(const pl_spawn_options *o, struct stdio_plan *plan)
{
    plan->nto_close = 0;
    plan->pty_slave[0] = '\0';
    for (int i = 0; i < 3; i++) {
        plan->src[i] = -1;
        plan->keep[i] = 0;
        plan->parent_end[i] = -1;
    }
    if (o->pty)
        return plan_pty(o, plan);
    /* Look at the parent's own fds 0-2 before opening anything: a closed
     * one would be reused by the pipes opened below. */
    for (int i = 0; i < 3; i++) {
        if (o->stdio[i].kind != PL_STDIO_INHERIT)
            continue;
        int flags = fcntl(i, F_GETFD);
        if (flags < 0)
            plan->src[i] = -1;
        else if (flags & FD_CLOEXEC)
            plan->src[i] = i;
        else
            plan->keep[i] = 1;
    }
    int err = 0;
    int devnull = -1;
    for (int i = 0; i < 3; i++) {
        switch (o->stdio[i].kind) {
        case PL_STDIO_PIPE: {
            int fds[2];
            err = pl__pipe(fds, 0);
            if (err)
                goto fail;
            /* stdin: the child reads fds[0]; stdout/stderr: it writes fds[1]. */
            plan->parent_end[i] = i == 0 ? fds[1] : fds[0];
            plan->src[i] = plan_add_close(plan, i == 0 ? fds[0] : fds[1]);
            break;
        }
        case PL_STDIO_DEVNULL:
            if (devnull < 0) {
                devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull < 0) {
                    err = -errno;
                    goto fail;
                }
                plan_add_close(plan, devnull);
            }
            plan->src[i] = devnull;
            break;
        case PL_STDIO_FD:
            plan->src[i] = o->stdio[i].fd;
            break;
        case PL_STDIO_STDOUT:
            plan->src[2] = plan->keep[1] ? 1 : plan->src[1];
            break;
        case PL_STDIO_INHERIT:
            break;
        }
    }
    for (int i = 0; i < 3; i++) {
        if (plan->keep[i] || plan->src[i] < 0 || plan->src[i] >= 3)
            continue;
        int copy = fcntl(plan->src[i], F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
            err = -errno;
            goto fail;
        }
        int old = plan->src[i];
        plan->src[i] = plan_add_close(plan, copy);
        /* stderr into stdout shares stdout's copy. */
        for (int j = i + 1; j < 3; j++)
            if (!plan->keep[j] && plan->src[j] == old)
                plan->src[j] = copy;
    }
    return 0;

fail:
    plan_close(plan);
    plan_close_parent_ends(plan);
    return err;
}

/* Start the child.  Exec and chdir failures come back from posix_spawn,
 * which has already reaped the failed child (glibc reports them through
 * its CLONE_VFORK child), so nothing is left behind (spec S7). */
static int start_child(const pl_spawn_options *o, const struct stdio_plan *plan,
                       pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc)
        return -rc;
    rc = posix_spawnattr_init(&attr);
    if (rc) {
        posix_spawn_file_actions_destroy(&actions);
        return -rc;
    }

    if (o->pty) {
        /* After setsid (which posix_spawn does before the file actions),
         * opening the slave without O_NOCTTY makes it the controlling
         * terminal. */
        rc = posix_spawn_file_actions_addopen(&actions, 0, plan->pty_slave, O_RDWR, 0);
        if (!rc)
            rc = posix_spawn_file_actions_adddup2(&actions, 0, 1);
        if (!rc)
            rc = posix_spawn_file_actions_adddup2(&actions, 0, 2);
    }
    for (int i = 0; i < 3 && !rc && !o->pty; i++) {
        if (plan->keep[i])
            continue;
        if (plan->src[i] < 0)
            rc = posix_spawn_file_actions_addclose(&actions, i);
        else
            rc = posix_spawn_file_actions_adddup2(&actions, plan->src[i], i);
    }
    if (!rc && o->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&actions, o->cwd);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Library fds are O_CLOEXEC; this also keeps out the caller's own fds
     * that are not (asyncio's close_fds=True): the child has exactly 0-2. */
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif

    /* The child starts with every signal at its default action and none
     * blocked, whatever the parent (or this library: SIGPIPE during
     * writes, SIGCHLD handling) set (spec S8). */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    /* setsid also makes a new group; a session leader may not then call
     * setpgid (EPERM), so a new session never asks for both. */
    int new_session = o->new_session || o->pty;
    int own_group = o->new_process_group && !new_session;
    if (new_session)
        flags |= POSIX_SPAWN_SETSID;
    if (own_group)
        flags |= POSIX_SPAWN_SETPGROUP;
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc && own_group)
        rc = posix_spawnattr_setpgroup(&attr, 0);
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, (short)flags);

    if (!rc) {
        char *default_argv[2] = {(char *)(uintptr_t)o->file, NULL};
        char *const *argv = o->argv ? o->argv : default_argv;
        char *const *envp = o->env ? o->env : environ;
        rc = posix_spawnp(pid, o->file, &actions, &attr, argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return -rc;
}

/* Undo a started child when a later step of pl_spawn fails: it has run
 * nothing of the caller's yet, so SIGKILL and a blocking reap are quick. */
static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int pl_spawn(pl_loop *loop, const pl_spawn_options *options,
             const pl_process_protocol *protocol, void *user, pl_process **process)
{
    if (!loop || !options || !protocol || !process)
        return -EINVAL;
    int err = check_options(options);
    if (err)
        return err;

    pl_process *p = pl__calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->loop = loop;
    p->protocol = protocol;
    p->user = user;
    p->refs = 1;
    pl__io_init(&p->pidfd_io, -1, on_pidfd);
    int pidfd_mode = use_pidfd();

    /* The one progress callback that may be queued at a time. */
    err = pl__loop_reserve(loop, 1);
    if (err)
        goto fail_free;
    if (!pidfd_mode) {
        err = sigchld_acquire(loop);
        if (err)
            goto fail_unreserve;
    }
    struct stdio_plan plan;
    err = plan_stdio(options, &plan);
    if (err)
        goto fail_sigchld;
    p->leads_group = options->new_process_group || options->new_session || options->pty;
    p->pty = options->pty != 0;
    err = start_child(options, &plan, &p->pid);
    plan_close(&plan); /* the child's ends and copies */
    if (err) {
        plan_close_parent_ends(&plan);
        goto fail_sigchld;
    }

    if (pidfd_mode) {
        err = pl__sys_fault ? pl__sys_fault(PL__SYS_NEW_FD, -1, NULL) : 0;
        long fd = err ? -1 : syscall(SYS_pidfd_open, (long)p->pid, 0L);
        if (fd < 0) {
            if (!err)
                err = -errno;
            goto fail_child;
        }
        p->pidfd_io.fd = (int)fd;
        err = pl__io_attach(loop, &p->pidfd_io);
        if (!err)
            err = pl__io_set(loop, &p->pidfd_io, PL__IO_IN);
        if (err)
            goto fail_child;
    } else {
        /* An exit before this point left SIGCHLD pending for the handler
         * installed above, so the loop will look at this pid. */
        sigchld_link(p);
    }

    /* Pipe transports last: their connection_made is queued before the
     * process's, so each has started reading by the time the protocol's
     * connection_made runs, and none can have delivered data before it. */
    for (int i = 0; i < 3; i++) {
        if (plan.parent_end[i] < 0)
            continue;
        err = pl__connect_own_pipe(loop, plan.parent_end[i], i != 0, p->pty,
                                   &pipe_protocols[i], p, &p->pipes[i]);
        if (err)
            goto fail_child;
        plan.parent_end[i] = -1;
        p->pipes_open++;
    }

    schedule(p); /* connection_made, in the next iteration */
    pl__loop_handle_add(loop);
    *process = p;
    return 0;

fail_child:
    /* Only ENOMEM/EMFILE get here.  Transports already connected own their
     * fds now: abort them with a protocol that tells nobody; they close
     * their fds when the loop next runs. */
    for (int i = 0; i < 3; i++) {
        if (p->pipes[i]) {
            pl_transport_set_protocol(p->pipes[i], &orphan_protocol);
            pl_transport_set_user(p->pipes[i], NULL);
            pl_transport_abort(p->pipes[i]);
        }
    }
    plan_close_parent_ends(&plan);
    if (p->pidfd_io.fd >= 0) {
        pl__io_detach(loop, &p->pidfd_io);
        pl__close(p->pidfd_io.fd);
    }
    if (p->on_sigchld_list) {
        pthread_mutex_lock(&sigchld_lock);
        pl_process **link = &sigchld_list;
        while (*link != p)
            link = &(*link)->sigchld_next;
        *link = p->sigchld_next;
        pthread_mutex_unlock(&sigchld_lock);
    }
    kill_and_reap(p->pid);
fail_sigchld:
    if (!pidfd_mode) {
        pthread_mutex_lock(&sigchld_lock);
        sigchld_release_locked(loop);
        pthread_mutex_unlock(&sigchld_lock);
    }
fail_unreserve:
    pl__loop_unreserve(loop, 1);
fail_free:
    free(p);
    return err;
}

/* ---- operations -------------------------------------------------------- */

pid_t pl_process_get_pid(const pl_process *p)
{
    return p ? p->pid : -1;
}

int pl_process_get_returncode(const pl_process *p, int *returncode)
{
    if (!p || !returncode)
        return -EINVAL;
    if (!p->reaped)
        return -EAGAIN;
    *returncode = p->returncode;
    return 0;
}

pl_transport *pl_process_get_pipe_transport(const pl_process *p, int fd)
{
    if (!p || fd < 0 || fd > 2)
        return NULL;
    return p->pipes[fd];
}

int pl_process_send_signal(pl_process *p, int signum)
{
    if (!p || signum < 0 || signum >= NSIG)
        return -EINVAL;
    /* Reap first if it has exited: a zombie would accept the signal and
     * we promise never to signal an exited child (spec S5, S6). */
    if (!p->reaped)
        try_reap(p);
    if (p->reaped)
        return -ESRCH;
    long r;
    if (p->pidfd_io.fd >= 0)
        r = syscall(SYS_pidfd_send_signal, (long)p->pidfd_io.fd, (long)signum, NULL, 0L);
    else
        r = kill(p->pid, signum); /* not reaped: the pid cannot be recycled */
    return r < 0 ? -errno : 0;
}

int pl_process_send_signal_group(pl_process *p, int signum)
{
    if (!p || signum < 0 || signum >= NSIG || !p->leads_group)
        return -EINVAL;
    if (!p->reaped)
        try_reap(p);
    /* While the leader is not reaped its pid, which is the group's id,
     * cannot be given to anyone else; afterwards it could be, so the
     * group is not signalled (spec S6 for groups). */
    if (p->reaped)
        return -ESRCH;
    return kill(-p->pid, signum) < 0 ? -errno : 0;
}

int pl_process_set_window_size(pl_process *p, unsigned short rows, unsigned short cols)
{
    if (!p || !p->pty || rows == 0 || cols == 0)
        return -EINVAL;
    /* Either master transport will do: they share one description. */
    pl_transport *t = p->pipes[1] ? p->pipes[1] : p->pipes[0];
    if (!t)
        return PL_ECLOSED;
    struct winsize ws = {rows, cols, 0, 0};
    return ioctl(pl_transport_get_fd(t), TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int pl_process_terminate(pl_process *p)
{
    return pl_process_send_signal(p, SIGTERM);
}

int pl_process_kill(pl_process *p)
{
    return pl_process_send_signal(p, SIGKILL);
}

int pl_process_close(pl_process *p)
{
    if (!p)
        return -EINVAL;
    if (p->closed || p->finished)
        return 0;
    p->closed = 1;
    for (int i = 0; i < 3; i++)
        if (p->pipes[i])
            pl_transport_close(p->pipes[i]);
    /* The watcher reaps the killed child; connection_lost follows once it
     * has and every pipe has closed (spec S5, S10). */
    if (!p->reaped)
        pl_process_send_signal(p, SIGKILL);
    return 0;
}

void *pl_process_get_user(const pl_process *p)
{
    return p ? p->user : NULL;
}

void pl_process_set_user(pl_process *p, void *user)
{
    if (p)
        p->user = user;
}

pl_loop *pl_process_get_loop(const pl_process *p)
{
    return p ? p->loop : NULL;
}
