/*
 * The SIGPIPE guard around a transport's writes to a pipe.
 *
 * A write to a pipe whose reader has gone raises SIGPIPE in the writing
 * thread.  We never touch the process-wide disposition (spec E3).  Inside
 * the loop the first pipe write blocks SIGPIPE in the loop's thread and the
 * end of pl_loop_run (or of the pl_loop_run_once call) restores the mask:
 * two rt_sigprocmask calls per run, none per write.  Outside the loop each
 * write blocks and restores around itself.  After an EPIPE the SIGPIPE our write
 * left pending is taken with sigtimedwait, unless the thread had SIGPIPE
 * blocked already, in which case pending signals are the caller's business.
 */
#include <errno.h>
#include <signal.h>

#include "internal.h"

static void sigpipe_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGPIPE);
}

static int sigpipe_block(void)
{
    sigset_t set, old;
    sigpipe_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    return sigismember(&old, SIGPIPE) == 1;
}

static void sigpipe_unblock(int was_blocked)
{
    if (was_blocked)
        return;
    sigset_t set;
    sigpipe_set(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void sigpipe_consume(int was_blocked)
{
    if (was_blocked)
        return;
    sigset_t set;
    sigpipe_set(&set);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
        ;
}

/* Per thread: the loop whose run blocked SIGPIPE in this thread, and
 * whether the thread had it blocked before.  Thread-local rather than per
 * loop, so that a second loop used from inside the first one's callback
 * knows the block is the library's own and still consumes its SIGPIPE. */
static _Thread_local pl_loop *guard_owner;
static _Thread_local int guard_was_blocked;

void pl__sigpipe_release(pl_loop *loop)
{
    if (guard_owner != loop)
        return;
    guard_owner = NULL;
    sigpipe_unblock(guard_was_blocked);
}

void pl__sigpipe_enter(pl_loop *loop, struct pl__sigpipe_guard *guard)
{
    guard->per_write = 0;
    if (guard_owner) {
        guard->was_blocked = guard_was_blocked;
    } else if (loop->running) {
        guard->was_blocked = guard_was_blocked = sigpipe_block();
        guard_owner = loop;
    } else {
        guard->was_blocked = sigpipe_block();
        guard->per_write = 1;
    }
}

void pl__sigpipe_leave(const struct pl__sigpipe_guard *guard, ssize_t result)
{
    if (result == -EPIPE)
        sigpipe_consume(guard->was_blocked);
    if (guard->per_write)
        sigpipe_unblock(guard->was_blocked);
}
