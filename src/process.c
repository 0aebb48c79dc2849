/* Subprocess transports (asyncio's BaseSubprocessTransport and
 * _UnixSubprocessTransport, with the OURS decisions of spec group S).
 *
 * A process owns a pipe transport per PIPE slot (stdin, stdout, stderr and
 * any extra fd), driven by internal protocols whose user pointer is the
 * slot; they forward to the subprocess protocol with the child's fd
 * number.  How the child is started is spawn.c's business.  The child's
 * exit is watched with a pidfd registered
 * as an internal fd watcher, or, where the kernel has no pidfd, with one
 * SIGCHLD handler shared by all of a loop's processes and waitpid() on our
 * own pids only.  connection_made, process_exited and connection_lost run
 * from one queued "progress" callback that looks at the state and does
 * whatever is due, in order (spec S2).  A detached child closed while it
 * runs is released: a thread of ours reaps it, and the object finishes
 * without its exit (spec S16). */
#define _GNU_SOURCE /* pidfd syscalls */
#include <assert.h>
#include <errno.h>
#include <signal.h>
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

/* One child fd with (possibly) a pipe transport of ours on the other end;
 * the transport's user pointer is its slot. */
struct pipe_slot {
    pl_process *p;
    int fd;          /* the child's fd number */
    pl_transport *t; /* NULL if not a pipe, and once lost */
};

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
    int pipes_open; /* pipes whose connection_lost has not run */
    int refs;       /* the library's (until CL), queued progress, user */
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
    unsigned char pty;            /* stdio on a pty: slots 0 and 1 on its master */
    unsigned char detached;       /* options.detached: close lets the child run */
    unsigned char released;       /* closed while running detached: no longer watched */
    unsigned char hold_exit;      /* pl__process_hold_exit: leave the leader a zombie */
    unsigned char held;           /* it has exited and is left unreaped (hold_exit) */
    size_t nslots;                /* 3 + options.nextra */
    struct pipe_slot slots[];     /* fds 0-2, then the extras in order */
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

static void process_held(pl_process *p);
static void reap_held(pl_process *p);

/* Has our child exited?  Looks without reaping (waitid WNOWAIT): 1 if it
 * has, 0 if not (or if someone else reaped it: the reap will say). */
static int has_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do
        r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
    return r < 0 || info.si_pid == pid;
}

/* waitpid for one of our own children, never -1: other code in the
 * process may own other children.  1 if reaped (or, with hold_exit, seen
 * to have exited and held), 0 if still running. */
static int try_reap(pl_process *p)
{
    if (p->held)
        return 1;
    if (p->hold_exit) {
        if (!has_exited(p->pid))
            return 0;
        process_held(p);
        return 1;
    }
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
        if (p->hold_exit) {
            r = has_exited(p->pid) ? p->pid : 0;
        } else {
            do
                r = waitpid(p->pid, &status, WNOHANG);
            while (r < 0 && errno == EINTR);
        }
        if (r == 0) {
            link = &p->sigchld_next;
            continue;
        }
        if (r < 0)
            status = 255 << 8; /* see try_reap */
        *link = p->sigchld_next;
        p->on_sigchld_list = 0;
        if (p->hold_exit)
            process_held(p); /* reaped later: see pl__process_hold_exit */
        else
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
    if (p->stdin_paused && !p->pw_delivered && p->slots[0].t) {
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
    if (p->held && p->pipes_open == 0) {
        /* The outputs ended: the group's id may go.  This callback goes on
         * with what the reap would have queued. */
        p->scheduled = 1;
        reap_held(p);
        p->scheduled = 0;
    }
    if (p->reaped && !p->exit_delivered && !p->released) {
        p->exit_delivered = 1;
        if (p->protocol->process_exited)
            p->protocol->process_exited(p, p->user);
    }
    /* connection_lost waits for the exit and for every pipe (spec S2, S4):
     * a grandchild holding stdout delays it, not process_exited.  A
     * released child's exit is not waited for (spec S16). */
    if ((p->exit_delivered || p->released) && p->pipes_open == 0 && !p->finished) {
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
    p->held = 0;
    if (WIFEXITED(status))
        p->returncode = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        p->returncode = -WTERMSIG(status);
    else
        p->returncode = 255;
    unwatch(p);
    schedule(p);
}

/* The child has exited but stays a zombie, so that its pid (and the id
 * of the group it leads) cannot be reused: watching stops, and the reap
 * waits for reap_held. */
static void process_held(pl_process *p)
{
    p->held = 1;
    unwatch(p);
    if (p->pipes_open == 0)
        schedule(p); /* nothing to wait for: progress reaps it */
}

/* Reap a held zombie now (blocking is fine: it has exited). */
static void reap_held(pl_process *p)
{
    if (!p->held)
        return;
    int status = 0;
    pid_t r;
    do
        r = waitpid(p->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        status = 255 << 8; /* see try_reap */
    process_reaped(p, status);
}

void pl__process_hold_exit(pl_process *p)
{
    p->hold_exit = 1;
}

/* ---- the pipes' internal protocols ------------------------------------- */

static void pipe_data(pl_transport *t, const void *data, size_t len, void *user)
{
    struct pipe_slot *slot = user;
    pl_process *p = slot->p;
    PL__UNUSED(t);
    /* Pipe transports start reading after their own connection_made, which
     * was queued before the process's: make_connection is a no-op here in
     * practice, and a guarantee of spec S2 if that ever changes. */
    make_connection(p);
    if (p->protocol->pipe_data_received)
        p->protocol->pipe_data_received(p, slot->fd, data, len, p->user);
}

static void pipe_lost(pl_transport *t, int error, void *user)
{
    struct pipe_slot *slot = user;
    pl_process *p = slot->p;
    PL__UNUSED(t);
    make_connection(p);
    assert(slot->t && p->pipes_open > 0);
    slot->t = NULL;
    p->pipes_open--;
    if (slot == &p->slots[0])
        p->stdin_paused = 0;
    if (p->protocol->pipe_connection_lost)
        p->protocol->pipe_connection_lost(p, slot->fd, error, p->user);
    if ((p->reaped || p->released || p->held) && p->pipes_open == 0)
        schedule(p);
}

/* Only fd 0's transport forwards flow control: the protocol's
 * pause_writing has no fd argument (spec S9, S15). */
static void stdin_pause(pl_transport *t, void *user)
{
    pl_process *p = ((struct pipe_slot *)user)->p;
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
    pl_process *p = ((struct pipe_slot *)user)->p;
    PL__UNUSED(t);
    p->stdin_paused = 0;
    if (p->pw_delivered) {
        p->pw_delivered = 0;
        if (p->protocol->resume_writing)
            p->protocol->resume_writing(p, p->user);
    }
}

static const pl_protocol stdin_protocol = {.connection_lost = pipe_lost,
                                           .pause_writing = stdin_pause,
                                           .resume_writing = stdin_resume};
static const pl_protocol read_protocol = {.data_received = pipe_data,
                                          .connection_lost = pipe_lost};
static const pl_protocol write_protocol = {.connection_lost = pipe_lost};

/* For transports of a spawn that failed half way: they are aborted and
 * finish on their own, telling nobody. */
static const pl_protocol orphan_protocol = {0};

/* ---- spawning ---------------------------------------------------------- */

int pl_spawn(pl_loop *loop, const pl_spawn_options *options,
             const pl_process_protocol *protocol, void *user, pl_process **process)
{
    if (!loop || !options || !protocol || !process)
        return -EINVAL;
    int err = pl__spawn_check(options);
    if (err)
        return err;

    size_t nslots = 3 + options->nextra;
    pl_process *p = pl__calloc(1, sizeof *p + nslots * sizeof p->slots[0]);
    if (!p)
        return -ENOMEM;
    p->loop = loop;
    p->protocol = protocol;
    p->user = user;
    p->refs = 1;
    p->nslots = nslots;
    for (size_t i = 0; i < nslots; i++) {
        p->slots[i].p = p;
        p->slots[i].fd = i < 3 ? (int)i : options->extra[i - 3].child_fd;
    }
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
    struct pl__spawn_plan plan;
    err = pl__spawn_plan_make(options, &plan);
    if (err)
        goto fail_sigchld;
    p->detached = options->detached != 0;
    p->leads_group = options->new_process_group || options->new_session || options->pty ||
                     options->detached;
    p->pty = options->pty != 0;
    err = pl__spawn_start(options, &plan, &p->pid);
    pl__spawn_plan_close_child_fds(&plan); /* the child's ends and copies */
    if (err) {
        pl__spawn_plan_free(&plan);
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
    for (size_t i = 0; i < nslots; i++) {
        struct pl__stdio_slot *s = &plan.slots[i];
        if (s->parent_end < 0)
            continue;
        const pl_protocol *proto = i == 0            ? &stdin_protocol
                                   : s->parent_reads ? &read_protocol
                                                     : &write_protocol;
        err = pl__connect_own_pipe(loop, s->parent_end, s->parent_reads, p->pty && i < 3,
                                   proto, &p->slots[i], &p->slots[i].t);
        if (err)
            goto fail_child;
        s->parent_end = -1;
        p->pipes_open++;
    }
    pl__spawn_plan_free(&plan);

    schedule(p); /* connection_made, in the next iteration */
    pl__loop_handle_add(loop);
    *process = p;
    return 0;

fail_child:
    /* Only ENOMEM/EMFILE get here.  Transports already connected own their
     * fds now: abort them with a protocol that tells nobody; they close
     * their fds when the loop next runs. */
    for (size_t i = 0; i < nslots; i++) {
        pl_transport *t = p->slots[i].t;
        if (t) {
            pl_transport_set_protocol(t, &orphan_protocol);
            pl_transport_set_user(t, NULL);
            pl_transport_abort(t);
        }
    }
    pl__spawn_plan_free(&plan);
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
    pl__spawn_kill_and_reap(p->pid);
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

/* ---- letting a detached child go ---------------------------------------- */

static void *reap_released(void *arg)
{
    pid_t pid = (pid_t)(intptr_t)arg;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* A detached thread that blocks in waitpid for this one pid.  It starts
 * with every signal blocked, so that it never takes a signal meant for the
 * loop's thread (a signalfd, or the SIGCHLD of another child). */
static int start_reaper(pid_t pid)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc)
        return -rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 128u * 1024u);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    rc = pthread_create(&thread, &attr, reap_released, (void *)(intptr_t)pid);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return -rc;
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
        return p->released ? -ECHILD : -EAGAIN;
    *returncode = p->returncode;
    return 0;
}

pl_transport *pl_process_get_pipe_transport(const pl_process *p, int fd)
{
    if (!p || fd < 0)
        return NULL;
    if (fd < 3)
        return p->slots[fd].t;
    for (size_t i = 3; i < p->nslots; i++)
        if (p->slots[i].fd == fd)
            return p->slots[i].t;
    return NULL;
}

int pl_process_send_signal(pl_process *p, int signum)
{
    if (!p || signum < 0 || signum >= NSIG)
        return -EINVAL;
    if (p->released)
        return -ESRCH; /* no longer ours to watch, so no longer ours to signal */
    /* Reap first if it has exited: a zombie would accept the signal and
     * we promise never to signal an exited child (spec S5, S6). */
    if (!p->reaped)
        try_reap(p);
    if (p->reaped || p->held)
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
    if (p->released)
        return -ESRCH;
    if (!p->reaped)
        try_reap(p);
    /* While the leader is not reaped its pid, which is the group's id,
     * cannot be given to anyone else; afterwards it could be, so the
     * group is not signalled (spec S6 for groups).  A leader held as a
     * zombie (pl__process_hold_exit) keeps the id: its group is signalled,
     * then it is reaped. */
    if (p->reaped)
        return -ESRCH;
    int err = kill(-p->pid, signum) < 0 ? -errno : 0;
    if (p->held && signum != 0)
        reap_held(p);
    return err;
}

int pl_process_set_window_size(pl_process *p, unsigned short rows, unsigned short cols)
{
    if (!p || !p->pty || rows == 0 || cols == 0)
        return -EINVAL;
    /* Either master transport will do: they share one description. */
    pl_transport *t = p->slots[1].t ? p->slots[1].t : p->slots[0].t;
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
    if (p->detached && !p->reaped && !try_reap(p)) {
        /* Let it run on: a thread of ours waits for it from now on, so
         * that it never stays a zombie, whatever becomes of this object
         * and the loop (spec S16).  If no thread can be had, nothing has
         * changed and the caller hears why. */
        int err = start_reaper(p->pid);
        if (err)
            return err;
        unwatch(p);
        p->released = 1;
        schedule(p); /* connection_lost, once every pipe is gone */
    }
    p->closed = 1;
    reap_held(p);
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].t)
            pl_transport_close(p->slots[i].t);
    /* The watcher reaps the killed child; connection_lost follows once it
     * has and every pipe has closed (spec S5, S10). */
    if (!p->reaped && !p->released)
        pl_process_send_signal(p, SIGKILL);
    return 0;
}

int pl__process_abandon(pl_process *p, int group)
{
    int killed = 0;
    if (p->finished)
        return 0;
    if (!p->reaped && !p->released) {
        /* Not reaped: the pid and the group id are still the child's. */
        if (group && p->leads_group && kill(-p->pid, SIGKILL) == 0)
            killed = PL_RUN_KILLED_GROUP;
        if (p->held) {
            reap_held(p);
        } else {
            if (kill(p->pid, SIGKILL) == 0 && !killed)
                killed = PL_RUN_KILLED_CHILD;
            int status = 0;
            pid_t r;
            do
                r = waitpid(p->pid, &status, 0);
            while (r < 0 && errno == EINTR);
            process_reaped(p, r < 0 ? 255 << 8 : status);
        }
    }
    p->closed = 1;
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].t)
            pl_transport_abort(p->slots[i].t);
    return killed;
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
