/* Starting a child: the stdio plan (which parent fd becomes which child
 * fd) and the two ways of carrying it out.  posix_spawn is the default;
 * a fork+exec path (libuv's uv_spawn) is taken only when the child must
 * change its uid or gid, which posix_spawn cannot do.  Both give the child
 * the same fds, signal state, session and cwd. */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, setgroups */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef NSIG
#define NSIG 65
#endif

extern char **environ;

/* ---- options ----------------------------------------------------------- */

static int fd_is_open(int fd)
{
    return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static int check_extras(const pl_spawn_options *o)
{
    if (o->nextra && !o->extra)
        return -EINVAL;
    if (o->nextra > PL_STDIO_EXTRA_MAX - 3)
        return -EINVAL;
    unsigned char seen[PL_STDIO_EXTRA_MAX] = {0};
    for (size_t i = 0; i < o->nextra; i++) {
        const pl_stdio_extra *e = &o->extra[i];
        if (e->child_fd < 3 || e->child_fd >= PL_STDIO_EXTRA_MAX || seen[e->child_fd])
            return -EINVAL;
        seen[e->child_fd] = 1;
        switch (e->kind) {
        case PL_STDIO_PIPE:
        case PL_STDIO_DEVNULL:
            break;
        case PL_STDIO_INHERIT:
            if (!fd_is_open(e->child_fd))
                return -EBADF;
            break;
        case PL_STDIO_FD:
            if (!fd_is_open(e->fd))
                return -EBADF;
            break;
        default:
            return -EINVAL;
        }
    }
    return 0;
}

int pl__spawn_check(const pl_spawn_options *o)
{
    if (!o->file || !*o->file)
        return -EINVAL;
    int err = check_extras(o);
    if (err)
        return err;
    if (o->pty) {
        /* A detached child could not run on past pl_process_close: closing
         * the master hangs the terminal up, and the kernel sends SIGHUP
         * to the session it leads (spec S16). */
        if (o->detached)
            return -EINVAL;
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
            if (!fd_is_open(o->stdio[i].fd))
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

/* ---- the plan ---------------------------------------------------------- */

static int plan_add_close(struct pl__spawn_plan *plan, int fd)
{
    /* Room for two fds per slot (a pipe's child end and its copy), the
     * shared /dev/null and its copy: see pl__spawn_plan_make. */
    assert(plan->nto_close < 2 * plan->n + 2);
    plan->to_close[plan->nto_close++] = fd;
    return fd;
}

void pl__spawn_plan_close_child_fds(struct pl__spawn_plan *plan)
{
    for (size_t i = 0; i < plan->nto_close; i++)
        pl__close(plan->to_close[i]);
    plan->nto_close = 0;
}

void pl__spawn_plan_free(struct pl__spawn_plan *plan)
{
    for (size_t i = 0; plan->slots && i < plan->n; i++) {
        if (plan->slots[i].parent_end >= 0)
            pl__close(plan->slots[i].parent_end);
        plan->slots[i].parent_end = -1;
    }
    free(plan->slots);
    free(plan->to_close);
    plan->slots = NULL;
    plan->to_close = NULL;
}

/* options.pty: a new pty; we keep the master twice (the stdin write
 * transport and the stdout read transport share its description), the
 * child opens the slave by name after setsid(), which makes it the child's
 * controlling terminal. */
static int plan_pty(const pl_spawn_options *o, struct pl__spawn_plan *plan)
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
    plan->slots[0].parent_end = copy;
    plan->slots[1].parent_end = master;
    plan->slots[1].parent_reads = 1;
    return 0;
}

static int plan_pipe(struct pl__spawn_plan *plan, struct pl__stdio_slot *slot)
{
    int fds[2];
    int err = pl__pipe(fds, 0);
    if (err)
        return err;
    /* The child reads fds[0] when we write, and writes fds[1] when we read. */
    slot->parent_end = slot->parent_reads ? fds[0] : fds[1];
    slot->src = plan_add_close(plan, slot->parent_reads ? fds[1] : fds[0]);
    return 0;
}

/* A close-on-exec copy of fd at the lowest free number from 3 up that no
 * slot targets, so that no slot's dup2 in the child can overwrite it.  Only
 * numbers the caller could open anyway are used: with every target below
 * the fd limit this never needs one above it (a target at 1023 under the
 * usual limit of 1024 works). */
static int copy_off_targets(const struct pl__spawn_plan *plan, int fd)
{
    int from = 3;
    for (;;) {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, from);
        if (copy < 0)
            return -errno;
        if (copy >= PL_STDIO_EXTRA_MAX || !plan->is_target[copy])
            return copy;
        pl__close(copy);
        from = copy + 1;
    }
}

/*
 * Open what the child's fds need and decide, per slot, the parent fd it is
 * copied from.  Every fd opened here is O_CLOEXEC, so the child gets
 * exactly its slots (spec S8, S15).  A source whose number is also a
 * target (its own or another slot's) is first copied to a number no slot
 * targets: otherwise one slot's dup2 could overwrite another slot's source
 * (stdin from the caller's fd 1 while stdout is a pipe; an extra fd 5
 * taken from the caller's fd 4 while fd 4 is another extra), and
 * dup2(i, i) would not clear FD_CLOEXEC.  Other sources stay where they
 * are, so a plan needs no fd number above the ones it targets.
 */
int pl__spawn_plan_make(const pl_spawn_options *o, struct pl__spawn_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->n = 3 + o->nextra;
    plan->slots = pl__calloc(plan->n, sizeof *plan->slots);
    plan->to_close = pl__calloc(2 * plan->n + 2, sizeof *plan->to_close);
    if (!plan->slots || !plan->to_close) {
        free(plan->slots); /* not yet filled in: no fd to close */
        free(plan->to_close);
        plan->slots = NULL;
        plan->to_close = NULL;
        return -ENOMEM;
    }
    plan->base = 3;
    for (size_t i = 0; i < plan->n; i++) {
        struct pl__stdio_slot *s = &plan->slots[i];
        s->target = i < 3 ? (int)i : o->extra[i - 3].child_fd;
        s->src = -1;
        s->parent_end = -1;
        s->parent_reads = i < 3 ? i != 0 : o->extra[i - 3].parent_reads != 0;
        if (s->target >= plan->base)
            plan->base = s->target + 1;
        plan->is_target[s->target] = 1;
    }
    int err = 0;
    if (o->pty) {
        err = plan_pty(o, plan);
        if (err)
            goto fail;
    } else {
        /* Look at the parent's own fds 0-2 before opening anything: a
         * closed one would be reused by the pipes opened below. */
        for (int i = 0; i < 3; i++) {
            if (o->stdio[i].kind != PL_STDIO_INHERIT)
                continue;
            int flags = fcntl(i, F_GETFD);
            if (flags < 0)
                plan->slots[i].src = -1;
            else if (flags & FD_CLOEXEC)
                plan->slots[i].src = i;
            else
                plan->slots[i].keep = 1;
        }
    }
    int devnull = -1;
    for (size_t i = o->pty ? 3 : 0; i < plan->n; i++) {
        struct pl__stdio_slot *s = &plan->slots[i];
        enum pl_stdio_kind kind = i < 3 ? o->stdio[i].kind : o->extra[i - 3].kind;
        switch (kind) {
        case PL_STDIO_PIPE:
            err = plan_pipe(plan, s);
            if (err)
                goto fail;
            break;
        case PL_STDIO_DEVNULL:
            if (devnull < 0) {
                devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull < 0) {
                    err = -errno;
                    goto fail;
                }
                plan_add_close(plan, devnull);
            }
            s->src = devnull;
            break;
        case PL_STDIO_FD:
            s->src = i < 3 ? o->stdio[i].fd : o->extra[i - 3].fd;
            break;
        case PL_STDIO_STDOUT:
            s->src = plan->slots[1].keep ? 1 : plan->slots[1].src;
            break;
        case PL_STDIO_INHERIT:
            if (i >= 3)
                s->src = s->target; /* the caller's fd of that number */
            break;
        }
    }
    for (size_t i = 0; i < plan->n; i++) {
        struct pl__stdio_slot *s = &plan->slots[i];
        if (s->keep || s->src < 0 || s->src >= PL_STDIO_EXTRA_MAX ||
            !plan->is_target[s->src])
            continue;
        int copy = copy_off_targets(plan, s->src);
        if (copy < 0) {
            err = copy;
            goto fail;
        }
        int old = s->src;
        s->src = plan_add_close(plan, copy);
        /* Later slots with the same source (stderr into stdout, one fd
         * on two numbers) share the copy. */
        for (size_t j = i + 1; j < plan->n; j++)
            if (!plan->slots[j].keep && plan->slots[j].src == old)
                plan->slots[j].src = copy;
    }
    return 0;

fail:
    pl__spawn_plan_close_child_fds(plan);
    pl__spawn_plan_free(plan);
    return err;
}

/* ---- posix_spawn ------------------------------------------------------- */

static int add_fd_actions(const pl_spawn_options *o, const struct pl__spawn_plan *plan,
                          posix_spawn_file_actions_t *actions)
{
    int rc = 0;
    if (o->pty) {
        /* After setsid (which posix_spawn does before the file actions),
         * opening the slave without O_NOCTTY makes it the controlling
         * terminal. */
        rc = posix_spawn_file_actions_addopen(actions, 0, plan->pty_slave, O_RDWR, 0);
        if (!rc)
            rc = posix_spawn_file_actions_adddup2(actions, 0, 1);
        if (!rc)
            rc = posix_spawn_file_actions_adddup2(actions, 0, 2);
    }
    for (size_t i = o->pty ? 3 : 0; i < plan->n && !rc; i++) {
        const struct pl__stdio_slot *s = &plan->slots[i];
        if (s->keep)
            continue;
        if (s->src < 0)
            rc = posix_spawn_file_actions_addclose(actions, s->target);
        else
            rc = posix_spawn_file_actions_adddup2(actions, s->src, s->target);
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Library fds are O_CLOEXEC; this also keeps out the caller's own fds
     * that are not (asyncio's close_fds=True): the child has exactly its
     * slots.  Between 3 and base only the numbers no slot targets are
     * closed; glibc ignores EBADF on a close action. */
    for (int fd = 3; fd < plan->base && !rc; fd++)
        if (!plan->is_target[fd])
            rc = posix_spawn_file_actions_addclose(actions, fd);
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(actions, plan->base);
#endif
    return rc;
}

/* Exec and chdir failures come back from posix_spawn, which has already
 * reaped the failed child (glibc reports them through its CLONE_VFORK
 * child), so nothing is left behind (spec S7). */
static int start_posix_spawn(const pl_spawn_options *o, const struct pl__spawn_plan *plan,
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
    rc = add_fd_actions(o, plan, &actions);
    if (!rc && o->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&actions, o->cwd);

    /* The child starts with every signal at its default action and none
     * blocked, whatever the parent (or this library: SIGPIPE around
     * writes, SIGCHLD handling) set (spec S8). */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    /* setsid also makes a new group; a session leader may not then call
     * setpgid (EPERM), so a new session never asks for both. */
    int new_session = o->new_session || o->pty || o->detached;
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

/* ---- fork and exec, for uid and gid ------------------------------------ */

/* Everything the child needs, worked out before the fork: after it only
 * async-signal-safe calls are made (the caller may have threads). */
struct child_args {
    const pl_spawn_options *o;
    const struct pl__spawn_plan *plan;
    char *const *argv;
    char *const *envp;
    const char *path; /* the parent's PATH, for a file without '/' */
    int error_fd;     /* write end of the CLOEXEC pipe errors come back on */
    int fd_limit;     /* close_range fallback: close up to here */
};

__attribute__((noreturn)) static void child_fail(const struct child_args *a, int err)
{
    ssize_t r;
    do
        r = write(a->error_fd, &err, sizeof err);
    while (r < 0 && errno == EINTR);
    _exit(127);
}

static void close_from(const struct child_args *a, int from, int to)
{
    if (from > to)
        return;
    if (syscall(SYS_close_range, (unsigned)from, (unsigned)to, 0u) == 0)
        return;
    for (int fd = from; fd <= to && fd < a->fd_limit; fd++)
        close(fd);
}

/* execvp's search without its allocation and its ENOEXEC retry through
 * /bin/sh, so that it answers as posix_spawnp does. */
static int child_exec(const struct child_args *a)
{
    const char *file = a->o->file;
    if (strchr(file, '/')) {
        execve(file, a->argv, a->envp);
        return errno;
    }
    size_t flen = strlen(file);
    int err = ENOENT;
    const char *p = a->path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        char buf[PATH_MAX];
        if (dlen + 1 + flen + 1 <= sizeof buf) {
            size_t n = 0;
            if (dlen == 0) {
                buf[n++] = '.'; /* an empty entry is the current directory */
            } else {
                memcpy(buf, p, dlen);
                n = dlen;
            }
            buf[n++] = '/';
            memcpy(buf + n, file, flen + 1);
            execve(buf, a->argv, a->envp);
            switch (errno) {
            case EACCES:
                err = EACCES;
                break;
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT:
                break;
            default:
                return errno;
            }
        }
        if (!end)
            return err;
        p = end + 1;
    }
}

__attribute__((noreturn)) static void child_main(const struct child_args *a)
{
    const pl_spawn_options *o = a->o;
    const struct pl__spawn_plan *plan = a->plan;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)sigaction(sig, &dfl, NULL); /* glibc's own 32, 33: EINVAL */

    int new_session = o->new_session || o->pty || o->detached;
    if (new_session && setsid() < 0)
        child_fail(a, errno);
    if (o->new_process_group && !new_session && setpgid(0, 0) < 0)
        child_fail(a, errno);
    if (o->pty) {
        int fd = open(plan->pty_slave, O_RDWR);
        if (fd < 0)
            child_fail(a, errno);
        for (int i = 0; i < 3; i++)
            if (fd != i && dup2(fd, i) < 0)
                child_fail(a, errno);
        if (fd > 2)
            close(fd);
    }
    /* No source has a target's number: no dup2 here can overwrite a
     * source still to be used. */
    for (size_t i = o->pty ? 3 : 0; i < plan->n; i++) {
        const struct pl__stdio_slot *s = &plan->slots[i];
        if (s->keep)
            continue;
        if (s->src < 0)
            close(s->target);
        else if (dup2(s->src, s->target) < 0)
            child_fail(a, errno);
    }
    /* Every fd but the slots and the error pipe goes, the copies too. */
    for (int fd = 3; fd < plan->base; fd++)
        if (!plan->is_target[fd] && fd != a->error_fd)
            close(fd);
    if (a->error_fd >= plan->base) {
        close_from(a, plan->base, a->error_fd - 1);
        close_from(a, a->error_fd + 1, INT_MAX);
    } else {
        close_from(a, plan->base, INT_MAX);
    }

    if (o->cwd && chdir(o->cwd) < 0)
        child_fail(a, errno);
    /* Supplementary groups go first (an unprivileged caller may not drop
     * them: EPERM there is not an error, its own groups stay), then the
     * gid while we may still change it, then the uid. */
    if ((o->set_uid || o->set_gid) && setgroups(0, NULL) < 0 && errno != EPERM)
        child_fail(a, errno);
    if (o->set_gid && setgid(o->gid) < 0)
        child_fail(a, errno);
    if (o->set_uid && setuid(o->uid) < 0)
        child_fail(a, errno);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    child_fail(a, child_exec(a));
}

/* fork, then the child sets itself up and execs; a failure before the
 * exec comes back as an errno over a CLOEXEC pipe (which the exec closes:
 * EOF means it ran), and the failed child is reaped here (spec S7, S17). */
static int start_fork(const pl_spawn_options *o, const struct pl__spawn_plan *plan,
                      pid_t *pid)
{
    int errpipe[2];
    int err = pl__pipe(errpipe, 0);
    if (err)
        return err;
    /* The write end must survive the child's dup2s: on no target. */
    if (errpipe[1] < PL_STDIO_EXTRA_MAX && plan->is_target[errpipe[1]]) {
        int copy = copy_off_targets(plan, errpipe[1]);
        if (copy < 0) {
            err = copy;
            pl__close(errpipe[0]);
            pl__close(errpipe[1]);
            return err;
        }
        pl__close(errpipe[1]);
        errpipe[1] = copy;
    }
    struct rlimit rl;
    int fd_limit = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)fd_limit)
        fd_limit = (int)rl.rlim_cur;
    const char *path = getenv("PATH");
    char *default_argv[2] = {(char *)(uintptr_t)o->file, NULL};
    struct child_args a = {
        .o = o,
        .plan = plan,
        .argv = o->argv ? o->argv : default_argv,
        .envp = o->env ? o->env : environ,
        .path = path ? path : "/bin:/usr/bin",
        .error_fd = errpipe[1],
        .fd_limit = fd_limit,
    };
    /* Every signal blocked across the fork, so that no handler of the
     * caller's runs in the child before it has reset them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0)
        child_main(&a);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pl__close(errpipe[1]);
    if (child < 0) {
        pl__close(errpipe[0]);
        return -fork_errno;
    }
    int child_err = 0;
    ssize_t got = pl__read(errpipe[0], &child_err, sizeof child_err);
    pl__close(errpipe[0]);
    if (got == 0) {
        *pid = child;
        return 0;
    }
    /* It failed before its exec (or the read did): reap it. */
    if (got != (ssize_t)sizeof child_err)
        kill(child, SIGKILL);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    return got == (ssize_t)sizeof child_err ? -child_err : got < 0 ? (int)got : -EIO;
}

/* posix_spawn's close actions take only fds below the soft limit: with a
 * target at the top of it there is no number left to close from (glibc
 * refuses closefrom at the limit with EBADF), so such a plan starts with
 * fork+exec, which closes with close_range. */
static int plan_at_fd_limit(const struct pl__spawn_plan *plan)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
           (rlim_t)plan->base >= rl.rlim_cur;
}

int pl__spawn_start(const pl_spawn_options *o, const struct pl__spawn_plan *plan,
                    pid_t *pid)
{
    if (o->set_uid || o->set_gid || plan_at_fd_limit(plan))
        return start_fork(o, plan, pid);
    return start_posix_spawn(o, plan, pid);
}

/* Undo a started child when a later step of pl_spawn fails: it has run
 * nothing of the caller's yet, so SIGKILL and a blocking reap are quick. */
void pl__spawn_kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}
