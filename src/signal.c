/* Signals.  The library's handler only counts the delivery and writes to
 * the owning loop's wakeup fd (both async-signal-safe); the loop runs the
 * user's callback on its own thread.  The process disposition and the
 * thread's mask are saved by the first handler for a signal and restored
 * when it is removed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef NSIG
#define NSIG 65
#endif

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(int) sig_wakefd[NSIG];
static atomic_uint sig_pending[NSIG];
static pl_loop *sig_owner[NSIG];
static struct sigaction sig_saved[NSIG];
static int sig_was_blocked[NSIG];

static void on_signal(int signum)
{
    int saved_errno = errno;
    if (signum > 0 && signum < NSIG) {
        atomic_fetch_add(&sig_pending[signum], 1u);
        int fd = atomic_load(&sig_wakefd[signum]);
        if (fd >= 0) {
            uint64_t one = 1;
            ssize_t n = write(fd, &one, sizeof one);
            (void)n;
        }
    }
    errno = saved_errno;
}

int pl_loop_add_signal(pl_loop *loop, int signum, pl_signal_cb cb, void *user)
{
    if (!loop || !cb || signum <= 0 || signum >= NSIG || signum == SIGKILL ||
        signum == SIGSTOP)
        return -EINVAL;
    for (struct pl__signal *s = loop->signals; s; s = s->next)
        if (s->signum == signum)
            return -EEXIST;
    struct pl__signal *s = pl__malloc(sizeof *s);
    if (!s)
        return -ENOMEM;

    int err = 0;
    pthread_mutex_lock(&sig_lock);
    if (sig_owner[signum]) {
        err = -EBUSY;
        goto out;
    }
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, signum);
    /* Block while switching so that no delivery sees half a setup. */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    atomic_store(&sig_pending[signum], 0u);
    atomic_store(&sig_wakefd[signum], loop->wakeup_fd[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(signum, &sa, &sig_saved[signum]) < 0) {
        err = -errno;
        atomic_store(&sig_wakefd[signum], -1);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        goto out;
    }
    sig_was_blocked[signum] = sigismember(&old, signum) == 1;
    sig_owner[signum] = loop;
    sigdelset(&old, signum);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
    pthread_mutex_unlock(&sig_lock);
    if (err) {
        free(s);
        return err;
    }
    s->signum = signum;
    s->cb = cb;
    s->user = user;
    s->next = loop->signals;
    loop->signals = s;
    return 0;
}

int pl_loop_remove_signal(pl_loop *loop, int signum)
{
    if (!loop)
        return -EINVAL;
    struct pl__signal **link = &loop->signals;
    while (*link && (*link)->signum != signum)
        link = &(*link)->next;
    if (!*link)
        return -ENOENT;
    struct pl__signal *s = *link;
    *link = s->next;
    free(s);

    pthread_mutex_lock(&sig_lock);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, signum);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    sigaction(signum, &sig_saved[signum], NULL);
    atomic_store(&sig_wakefd[signum], -1);
    sig_owner[signum] = NULL;
    if (!sig_was_blocked[signum])
        sigdelset(&old, signum);
    else
        sigaddset(&old, signum);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_unlock(&sig_lock);
    return 0;
}

int pl__signals_dispatch(pl_loop *loop)
{
    /* First take every pending delivery, then run the handlers, looking
     * each up again: a callback may remove any handler (its own, or one the
     * library holds, such as SIGCHLD when a process is reaped). */
    int pending[NSIG];
    int npending = 0;
    for (struct pl__signal *s = loop->signals; s; s = s->next)
        if (atomic_exchange(&sig_pending[s->signum], 0u) > 0)
            pending[npending++] = s->signum;
    int ran = 0;
    for (int i = 0; i < npending; i++) {
        struct pl__signal *s = loop->signals;
        while (s && s->signum != pending[i])
            s = s->next;
        if (!s)
            continue;
        s->cb(loop, s->signum, s->user);
        ran++;
    }
    return ran;
}
