/* Regression tests for bugs found in review, each on both backends where
 * the backend matters. */
#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#include "conform.h"

/* ---- a signal callback that removes another handler --------------------- */

struct sig_state {
    int usr1_ran, usr2_ran;
};

static void on_usr2(pl_loop *loop, int signum, void *user)
{
    struct sig_state *s = user;
    (void)signum;
    s->usr2_ran++;
    /* Remove the other handler while the loop is dispatching signals. */
    PC_ASSERT_OK(pl_loop_remove_signal(loop, SIGUSR1));
}

static void on_usr1(pl_loop *loop, int signum, void *user)
{
    struct sig_state *s = user;
    (void)signum;
    s->usr1_ran++;
    PC_ASSERT_OK(pl_loop_remove_signal(loop, SIGUSR2));
}

PC_TEST_EACH_BACKEND(signal_removes_other, "loop.signal-callback-removes-other")
{
    unsigned flags = backend->flag;
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, flags));
    struct sig_state s = {0, 0};
    PC_ASSERT_OK(pl_loop_add_signal(loop, SIGUSR1, on_usr1, &s));
    PC_ASSERT_OK(pl_loop_add_signal(loop, SIGUSR2, on_usr2, &s));
    /* Both are delivered before the loop looks: one dispatch sees both. */
    PC_ASSERT_OK(raise(SIGUSR1));
    PC_ASSERT_OK(raise(SIGUSR2));
    PC_RUN_UNTIL(loop, s.usr1_ran + s.usr2_ran >= 1, 2000);
    pc_run_until_quiet(loop, 20, 2000);
    /* Whichever ran first removed the other, which then did not run. */
    PC_ASSERT_EQ_INT(s.usr1_ran + s.usr2_ran, 1);
    int left = s.usr1_ran ? SIGUSR1 : SIGUSR2;
    PC_ASSERT_OK(pl_loop_remove_signal(loop, left));
    PC_ASSERT_ERR(pl_loop_remove_signal(loop, left == SIGUSR1 ? SIGUSR2 : SIGUSR1),
                  -ENOENT);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- a timer callback makes a timer that is already due ----------------- */

struct timer_state {
    pl_loop *loop;
    char order[8];
    int n;
    uint64_t iteration_b, iteration_c;
};

static void timer_c(pl_loop *loop, void *user)
{
    struct timer_state *s = user;
    s->order[s->n++] = 'C';
    s->iteration_c = pl_loop_iteration(loop);
}

static void timer_b(pl_loop *loop, void *user)
{
    struct timer_state *s = user;
    s->order[s->n++] = 'B';
    s->iteration_b = pl_loop_iteration(loop);
}

static void timer_a(pl_loop *loop, void *user)
{
    struct timer_state *s = user;
    s->order[s->n++] = 'A';
    /* A deadline in the past, made while A and B are both due. */
    PC_ASSERT_OK(pl_call_at(loop, 0, timer_c, s, NULL));
}

PC_TEST_EACH_BACKEND(timer_made_due, "loop.timer-made-by-timer-runs-later")
{
    unsigned flags = backend->flag;
    struct timer_state s;
    memset(&s, 0, sizeof s);
    PC_ASSERT_OK(pl_loop_new(&s.loop, flags));
    uint64_t when = pl_loop_time(s.loop) + 1;
    PC_ASSERT_OK(pl_call_at(s.loop, when, timer_a, &s, NULL));
    PC_ASSERT_OK(pl_call_at(s.loop, when, timer_b, &s, NULL));
    PC_RUN_UNTIL(s.loop, s.n == 3, 2000);
    /* B was due in the same run as A and runs in it; C, made by A, runs
     * in a later iteration, after B. */
    PC_ASSERT_EQ_STR(s.order, "ABC");
    PC_ASSERT_GT_UINT(s.iteration_c, s.iteration_b);
    PC_ASSERT_OK(pl_loop_close(s.loop));
}

/* ---- the poller failing ends the run ------------------------------------ */

static int find_epoll_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int found = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strcmp(target, "anon_inode:[eventpoll]") == 0)
                found = atoi(e->d_name);
        }
    }
    closedir(d);
    return found;
}

static void close_poller(pl_loop *loop, void *user)
{
    (void)loop;
    PC_ASSERT_OK(close(*(int *)user));
}

PC_TEST(poller_failure, "loop.poller-failure-ends-run@epoll")
{
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, PL_LOOP_EPOLL));
    int epfd = find_epoll_fd();
    PC_ASSERT_GE_INT(epfd, 0);
    PC_ASSERT_OK(pl_call_soon(loop, close_poller, &epfd));
    /* Without the fix this spins forever (and the runner's timeout fails
     * the test). */
    PC_ASSERT_ERR(pl_loop_run(loop), -EBADF);
    PC_ASSERT_ERR(pl_loop_run_once(loop, 0), -EBADF);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- SIGPIPE with two loops in one thread ------------------------------- */

struct two_loops {
    pl_transport *a, *b;
    ssize_t wrote_a, wrote_b;
};

static void write_both(pl_loop *loop, void *user)
{
    struct two_loops *s = user;
    /* A's write blocks SIGPIPE for A's run; B's write then hits a pipe
     * without a reader.  Its SIGPIPE must be taken back, not left pending
     * to kill the process when A's run ends. */
    s->wrote_a = pl_transport_write(s->a, "x", 1);
    s->wrote_b = pl_transport_write(s->b, "y", 1);
    pl_loop_stop(loop);
}

static const pl_protocol silent = {0};

PC_TEST(sigpipe_two_loops, "E3.two-loops-one-thread")
{
    pl_loop *a, *b;
    PC_ASSERT_OK(pl_loop_new(&a, 0));
    PC_ASSERT_OK(pl_loop_new(&b, 0));
    int pa[2], pb[2];
    PC_ASSERT_OK(pipe2(pa, O_CLOEXEC));
    PC_ASSERT_OK(pipe2(pb, O_CLOEXEC));
    close(pb[0]); /* B's reader is gone */
    struct two_loops s = {NULL, NULL, 0, 0};
    PC_ASSERT_OK(pl_connect_write_pipe(a, pa[1], &silent, NULL, &s.a));
    PC_ASSERT_OK(pl_connect_write_pipe(b, pb[1], &silent, NULL, &s.b));
    PC_ASSERT_OK(pl_call_soon(a, write_both, &s));
    PC_ASSERT_OK(pl_loop_run(a));
    PC_ASSERT_EQ_INT(s.wrote_a, 1);
    PC_ASSERT_EQ_INT(s.wrote_b, 1);
    sigset_t pending;
    PC_ASSERT_OK(sigpending(&pending));
    PC_ASSERT_EQ_INT(sigismember(&pending, SIGPIPE), 0);
    pl_transport_close(s.a);
    pl_transport_close(s.b);
    while (pl_loop_close(a) == -EBUSY)
        PC_ASSERT_OK(pl_loop_run_once(a, 100));
    while (pl_loop_close(b) == -EBUSY)
        PC_ASSERT_OK(pl_loop_run_once(b, 100));
    close(pa[0]);
}

/* ---- writev lengths that wrap ------------------------------------------ */

PC_TEST(writev_wrap, "W3.writev-length-overflow")
{
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, 0));
    int p[2];
    PC_ASSERT_OK(pipe2(p, O_CLOEXEC));
    pl_transport *t;
    PC_ASSERT_OK(pl_connect_write_pipe(loop, p[1], &silent, NULL, &t));
    char b[2] = {'a', 'b'};
    struct iovec iov[2] = {{b, SIZE_MAX}, {b, 2}};
    PC_ASSERT_ERR(pl_transport_writev(t, iov, 2), -EINVAL);
    struct iovec half[2] = {{b, (size_t)SSIZE_MAX}, {b, 1}};
    PC_ASSERT_ERR(pl_transport_writev(t, half, 2), -EINVAL);
    /* Refused means untouched: the transport still works. */
    PC_ASSERT_EQ_SIZE(pl_transport_get_write_buffer_size(t), 0);
    PC_ASSERT_EQ_INT(pl_transport_write(t, "ok", 2), 2);
    char in[2];
    PC_ASSERT_EQ_INT(read(p[0], in, 2), 2);
    PC_ASSERT_OK(pl_transport_close(t));
    while (pl_loop_close(loop) == -EBUSY)
        PC_ASSERT_OK(pl_loop_run_once(loop, 100));
    close(p[0]);
}

/* ---- an fd number reused within one iteration -------------------------- */

struct reuse {
    int fd[2];      /* the two watched read ends (both readable) */
    int writer[2];  /* their write ends */
    int swapped;    /* the first callback replaced the other watcher */
    int old_ran;    /* a replaced watcher ran after all */
    int new_ran;    /* the new watcher on the reused number ran */
    int new_writer; /* write end of the pipe now behind the reused number */
    int replaced;   /* the fd number whose watcher was replaced */
};

static void reuse_new_cb(pl_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop;
    (void)fd;
    (void)events;
    ((struct reuse *)user)->new_ran = 1;
}

static void reuse_cb(pl_loop *loop, int fd, unsigned events, void *user)
{
    struct reuse *r = user;
    (void)events;
    char byte;
    if (r->swapped) {
        if (fd == r->replaced)
            r->old_ran = 1; /* the removed watcher got the old event */
        (void)read(fd, &byte, 1);
        return;
    }
    PC_ASSERT_EQ_INT(read(fd, &byte, 1), 1);
    r->swapped = 1;
    /* Replace the other watcher: remove it, close its fd, put an empty
     * pipe's read end at the same number and watch that. */
    int other = fd == r->fd[0] ? r->fd[1] : r->fd[0];
    r->replaced = other;
    PC_ASSERT_OK(pl_loop_remove_reader(loop, other));
    int fresh[2];
    PC_ASSERT_OK(pipe2(fresh, O_CLOEXEC));
    PC_ASSERT_EQ_INT(dup3(fresh[0], other, O_CLOEXEC), other);
    close(fresh[0]);
    r->new_writer = fresh[1];
    PC_ASSERT_OK(pl_loop_add_reader(loop, other, reuse_new_cb, r));
}

PC_TEST_EACH_BACKEND(fd_reuse_in_iteration, "L3.fd-number-reused-in-iteration")
{
    unsigned flags = backend->flag;
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, flags));
    struct reuse r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 2; i++) {
        int p[2];
        PC_ASSERT_OK(pipe2(p, O_CLOEXEC));
        r.fd[i] = p[0];
        r.writer[i] = p[1];
        PC_ASSERT_EQ_INT(write(p[1], "x", 1), 1);
        PC_ASSERT_OK(pl_loop_add_reader(loop, p[0], reuse_cb, &r));
    }
    /* One iteration sees both readable; the first callback swaps the
     * other.  The event collected for the old fd must reach nobody: the
     * new pipe is empty. */
    PC_RUN_UNTIL(loop, r.swapped, 2000);
    pc_run_until_quiet(loop, 20, 2000);
    PC_ASSERT_EQ_INT(r.old_ran, 0);
    PC_ASSERT_EQ_INT(r.new_ran, 0);
    /* The new watcher works once its pipe has data. */
    PC_ASSERT_EQ_INT(write(r.new_writer, "y", 1), 1);
    PC_RUN_UNTIL(loop, r.new_ran, 2000);
    for (int i = 0; i < 2; i++) {
        pl_loop_remove_reader(loop, r.fd[i]);
        close(r.fd[i]);
        close(r.writer[i]);
    }
    close(r.new_writer);
    PC_ASSERT_OK(pl_loop_close(loop));
}
