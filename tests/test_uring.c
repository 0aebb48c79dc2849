/* The io_uring backend's own hard parts: a ring the kernel refuses (the
 * explicit request fails, the default falls back), RLIMIT_MEMLOCK, fork,
 * a stale completion for a reused fd number, a full SQ and an overflowing
 * CQ, a closed transport releasing its pipe end at once, and a socket
 * condition io_uring always reports (EPOLLRDHUP) not spinning the loop. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pipecheck.h>

#include "../src/internal.h" /* pl__uring_refuse, pl__uring_entries, pl__default_backend */
#include "conform.h"

#define WAIT_MS 5000u

/* Make an io_uring loop or skip the test (n/a) where there is none. */
static pl_loop *uring_loop(void)
{
    pl_loop *loop = NULL;
    int err = pl_loop_new(&loop, PL_LOOP_IO_URING);
    if (err == -ENOSYS || err == -EPERM)
        PC_SKIP("n/a: no io_uring loop here: %s", pl_strerror(err));
    PC_ASSERT_OK(err);
    PC_ASSERT_EQ_STR(pl_loop_backend(loop), "io_uring");
    return loop;
}

/* ---- a ring the kernel refuses ------------------------------------------- */

PC_TEST(uring_refused_explicit, "uring.refused-explicit-request-fails")
{
    static const int refusals[] = {-ENOSYS, -EPERM, -ENOMEM};
    int base = conform_lowest_free_fd();
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        pl__uring_refuse = refusals[i];
        pl_loop *const sentinel = (pl_loop *)(void *)&sentinel;
        pl_loop *loop = sentinel;
        PC_ASSERT_ERR(pl_loop_new(&loop, PL_LOOP_IO_URING), refusals[i]);
        PC_ASSERT_EQ_PTR(loop, sentinel);
        /* Named in the environment it is asked for just the same. */
        PC_ASSERT_OK(setenv("PIPELOOP_BACKEND", "io_uring", 1));
        PC_ASSERT_ERR(pl_loop_new(&loop, 0), refusals[i]);
        PC_ASSERT_EQ_PTR(loop, sentinel);
        PC_ASSERT_OK(unsetenv("PIPELOOP_BACKEND"));
        /* The default falls back to epoll. */
        PC_ASSERT_OK(pl_loop_new(&loop, 0));
        PC_ASSERT_EQ_STR(pl_loop_backend(loop), "epoll");
        PC_ASSERT_OK(pl_loop_close(loop));
        PC_ASSERT_EQ_INT(conform_lowest_free_fd(), base);
    }
    pl__uring_refuse = 0;
}

static void count_cb(pl_loop *loop, void *user)
{
    (void)loop;
    ++*(int *)user;
}

/* io_uring is the default: a refused ring gives an epoll loop that says
 * so; a ring that can be made gives io_uring. */
PC_TEST(uring_refused_default, "uring.refused-default-falls-back-to-epoll")
{
    const struct pl__backend *saved = pl__default_backend;
    pl__default_backend = &pl__backend_uring;
    static const int refusals[] = {-ENOSYS, -EPERM, -ENOMEM};
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        pl__uring_refuse = refusals[i];
        pl_loop *loop = NULL;
        PC_ASSERT_OK(pl_loop_new(&loop, 0));
        PC_ASSERT_EQ_STR(pl_loop_backend(loop), "epoll");
        int ran = 0;
        PC_ASSERT_OK(pl_call_soon(loop, count_cb, &ran));
        PC_RUN_UNTIL(loop, ran == 1, WAIT_MS);
        PC_ASSERT_OK(pl_loop_close(loop));
    }
    pl__uring_refuse = 0;
    pl_loop *loop = NULL;
    int err = pl_loop_new(&loop, 0);
    PC_ASSERT_OK(err);
    const char *name = pl_loop_backend(loop);
    PC_ASSERT_OK(pl_loop_close(loop));
    pl__default_backend = saved;
    loop = NULL;
    if (pl_loop_new(&loop, PL_LOOP_IO_URING) == 0) {
        PC_ASSERT_OK(pl_loop_close(loop));
        PC_ASSERT_EQ_STR(name, "io_uring");
    } else {
        PC_ASSERT_EQ_STR(name, "epoll");
    }
}

/* ---- a small read transport ------------------------------------------------ */

struct reader {
    char data[256];
    size_t len;
    int eof, lost, lost_error;
};

static void reader_data(pl_transport *t, const void *data, size_t len, void *user)
{
    struct reader *r = user;
    (void)t;
    PC_ASSERT_LE_SIZE(r->len + len, sizeof r->data);
    memcpy(r->data + r->len, data, len);
    r->len += len;
}

static int reader_eof(pl_transport *t, void *user)
{
    (void)t;
    ((struct reader *)user)->eof++;
    return 0;
}

static void reader_lost(pl_transport *t, int error, void *user)
{
    struct reader *r = user;
    (void)t;
    r->lost++;
    r->lost_error = error;
}

static const pl_protocol reader_protocol = {
    .data_received = reader_data,
    .eof_received = reader_eof,
    .connection_lost = reader_lost,
};

/* "hello" through a pipe and a read transport, to EOF. */
static void roundtrip(pl_loop *loop)
{
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    struct reader r = {{0}, 0, 0, 0, 0};
    pl_transport *t;
    PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[0], &reader_protocol, &r, &t));
    PC_ASSERT_EQ_INT(write(fds[1], "hello", 5), 5);
    PC_RUN_UNTIL(loop, r.len == 5, WAIT_MS);
    PC_ASSERT_EQ_MEM(r.data, "hello", 5);
    PC_ASSERT_OK(close(fds[1]));
    PC_RUN_UNTIL(loop, r.lost == 1, WAIT_MS);
    PC_ASSERT_EQ_INT(r.eof, 1);
    PC_ASSERT_ERR(r.lost_error, 0);
}

/* With no lockable memory at all the ring is either made (kernels >= 5.12
 * charge it to the memory cgroup instead) and works, or refused with a
 * clear error; the default loop is made either way. */
PC_TEST(uring_memlock, "uring.memlock-limit-too-low")
{
    struct rlimit rl = {0, 0};
    PC_ASSERT_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
    pl_loop *loop = NULL;
    int err = pl_loop_new(&loop, PL_LOOP_IO_URING);
    if (err == 0) {
        roundtrip(loop);
        PC_ASSERT_OK(pl_loop_close(loop));
    } else {
        PC_ASSERT_EQ_INT(err == -ENOMEM || err == -EPERM || err == -ENOSYS, 1);
    }
    PC_ASSERT_OK(pl_loop_new(&loop, 0));
    roundtrip(loop);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- fork: the ring belongs to the process that made it ------------------ */

PC_TEST(uring_fork, "uring.fork-child-leaves-parent-ring-alone")
{
    pl_loop *loop = uring_loop();
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    struct reader r = {{0}, 0, 0, 0, 0};
    pl_transport *t;
    PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[0], &reader_protocol, &r, &t));
    PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0); /* the read poll is armed */
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0) {
        /* The child may not run the loop (its SQ is the parent's), and
         * closing the transport and the loop must submit nothing there. */
        int ok = pl_loop_run_once(loop, 0) == PL_EFORKED &&
                 pl_loop_run(loop) == PL_EFORKED && pl_transport_close(t) == 0 &&
                 pl_loop_run_once(loop, 0) == PL_EFORKED;
        _exit(ok ? 0 : 1);
    }
    int status;
    PC_ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    PC_ASSERT_EQ_INT(WIFEXITED(status), 1);
    PC_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    /* The parent's poll was not removed by the child's close. */
    PC_ASSERT_EQ_INT(write(fds[1], "abc", 3), 3);
    PC_RUN_UNTIL(loop, r.len == 3, WAIT_MS);
    PC_ASSERT_EQ_MEM(r.data, "abc", 3);
    PC_ASSERT_OK(close(fds[1]));
    PC_RUN_UNTIL(loop, r.lost == 1, WAIT_MS);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- a stale completion for a reused fd number ----------------------------- */

struct watched {
    int fd;
    int calls;
};

static void reader_cb(pl_loop *loop, int fd, unsigned events, void *user)
{
    struct watched *w = user;
    (void)loop;
    (void)events;
    PC_ASSERT_EQ_INT(fd, w->fd);
    w->calls++;
    /* Blocking read on a blocking pipe: a readiness lie would hang here
     * (and the runner's timeout would report it). */
    char c;
    PC_ASSERT_EQ_INT(read(fd, &c, 1), 1);
}

/* The first watcher's poll completes (its pipe became readable) but the
 * completion is not reaped before the watcher is removed, its fd closed,
 * and the number reused by a new pipe with a new watcher: the new watcher
 * must not be told its empty pipe is readable. */
PC_TEST(uring_stale, "uring.stale-completion-for-reused-fd-dropped")
{
    pl_loop *loop = uring_loop();
    int a[2], b[2];
    PC_ASSERT_OK(pipe2(a, O_CLOEXEC));
    struct watched first = {a[0], 0};
    PC_ASSERT_OK(pl_loop_add_reader(loop, a[0], reader_cb, &first));
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0); /* armed, nothing ready */
    PC_ASSERT_EQ_INT(write(a[1], "x", 1), 1);       /* its CQE is posted */
    PC_ASSERT_OK(pl_loop_remove_reader(loop, a[0]));
    int number = a[0];
    PC_ASSERT_OK(close(a[0]));
    PC_ASSERT_OK(pipe2(b, O_CLOEXEC));
    PC_ASSERT_EQ_INT(b[0], number);
    struct watched second = {b[0], 0};
    PC_ASSERT_OK(pl_loop_add_reader(loop, b[0], reader_cb, &second));
    for (int i = 0; i < 3; i++)
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
    PC_ASSERT_EQ_INT(first.calls, 0);
    PC_ASSERT_EQ_INT(second.calls, 0);
    PC_ASSERT_EQ_INT(write(b[1], "y", 1), 1);
    PC_RUN_UNTIL(loop, second.calls == 1, WAIT_MS);
    PC_ASSERT_OK(pl_loop_remove_reader(loop, b[0]));
    PC_ASSERT_OK(close(a[1]));
    PC_ASSERT_OK(close(b[0]));
    PC_ASSERT_OK(close(b[1]));
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- a full SQ and an overflowing CQ ------------------------------------ */

#define MANY 200

struct many {
    int fds[MANY][2];
    int calls[MANY];
    int total;
};

static struct many many;

static void many_cb(pl_loop *loop, int fd, unsigned events, void *user)
{
    int i = (int)(intptr_t)user;
    (void)events;
    PC_ASSERT_EQ_INT(fd, many.fds[i][0]);
    char c;
    PC_ASSERT_EQ_INT(read(fd, &c, 1), 1);
    PC_ASSERT_EQ_INT(c, (char)('a' + i % 26));
    many.calls[i]++;
    many.total++;
    PC_ASSERT_OK(pl_loop_remove_reader(loop, fd));
}

/* A ring of 4 SQEs and 8 CQEs, and 200 watchers whose fds are all ready:
 * arming them fills the SQ many times over, and their completions, all at
 * once, overflow the CQ into the kernel's backlog.  Each watcher runs
 * exactly once. */
PC_TEST(uring_overflow, "uring.full-sq-and-cq-overflow-lose-nothing")
{
    struct rlimit rl;
    PC_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_cur < 2 * MANY + 64)
        PC_SKIP("needs %d fds", 2 * MANY + 64);
    pl__uring_entries = 4;
    pl_loop *loop = uring_loop();
    for (int i = 0; i < MANY; i++) {
        PC_ASSERT_OK(pipe2(many.fds[i], O_CLOEXEC));
        char c = (char)('a' + i % 26);
        PC_ASSERT_EQ_INT(write(many.fds[i][1], &c, 1), 1);
        PC_ASSERT_OK(
            pl_loop_add_reader(loop, many.fds[i][0], many_cb, (void *)(intptr_t)i));
    }
    PC_RUN_UNTIL(loop, many.total == MANY, WAIT_MS);
    for (int i = 0; i < 3; i++)
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
    for (int i = 0; i < MANY; i++) {
        PC_ASSERT_EQ_INT(many.calls[i], 1);
        PC_ASSERT_OK(close(many.fds[i][0]));
        PC_ASSERT_OK(close(many.fds[i][1]));
    }
    PC_ASSERT_OK(pl_loop_close(loop));
    pl__uring_entries = 0;
}

/* ---- close releases the pipe end at once ---------------------------------- */

static void writer_lost(pl_transport *t, int error, void *user)
{
    (void)t;
    (void)error;
    ++*(int *)user;
}

static void never_cb(pl_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop;
    (void)fd;
    (void)events;
    ++*(int *)user;
}

/* A poll pins its file: were the removal left for the next wait, a closed
 * write transport's pipe end would stay open and its reader would not see
 * EOF until the loop turned again. */
PC_TEST(uring_close_releases, "uring.removal-releases-fd-at-once")
{
    pl_loop *loop = uring_loop();
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    static const pl_protocol proto = {.connection_lost = writer_lost};
    int lost = 0;
    pl_transport *t;
    PC_ASSERT_OK(pl_connect_write_pipe(loop, fds[1], &proto, &lost, &t));
    for (int i = 0; i < 2; i++) /* connection_made, and its poll armed */
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
    PC_ASSERT_OK(pl_transport_close(t));
    PC_RUN_UNTIL(loop, lost == 1, WAIT_MS);
    /* No further iteration: the read end sees EOF now. */
    PC_ASSERT_OK(fcntl(fds[0], F_SETFL, O_NONBLOCK));
    char c;
    PC_ASSERT_EQ_INT(read(fds[0], &c, 1), 0);
    PC_ASSERT_OK(close(fds[0]));

    /* A public watcher removed and its fd closed at once, with no wait in
     * between: the same.  (It watches a pipe's write end for reading, so
     * its poll stays armed: nothing ever completes it.) */
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    int called = 0;
    PC_ASSERT_OK(pl_loop_add_reader(loop, fds[1], never_cb, &called));
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    PC_ASSERT_OK(pl_loop_remove_reader(loop, fds[1]));
    PC_ASSERT_OK(close(fds[1]));
    PC_ASSERT_EQ_INT(called, 0);
    PC_ASSERT_OK(fcntl(fds[0], F_SETFL, O_NONBLOCK));
    PC_ASSERT_EQ_INT(read(fds[0], &c, 1), 0);
    PC_ASSERT_OK(close(fds[0]));
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- EPOLLRDHUP, which io_uring always reports, does not spin ------------ */

static void timer_cb(pl_loop *loop, void *user)
{
    (void)loop;
    ++*(int *)user;
}

/* A write transport with nothing to write waits only for HUP/ERR; on a
 * socket whose peer shut down its writing side a level-triggered poll
 * would complete at once, forever, with nothing to deliver. */
PC_TEST(uring_rdhup, "uring.peer-shutdown-does-not-spin")
{
    pl_loop *loop = uring_loop();
    int sv[2];
    PC_ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    static const pl_protocol proto = {.connection_lost = writer_lost};
    int lost = 0;
    pl_transport *t;
    PC_ASSERT_OK(pl_connect_write_pipe(loop, sv[0], &proto, &lost, &t));
    PC_ASSERT_OK(shutdown(sv[1], SHUT_WR));
    int fired = 0;
    PC_ASSERT_OK(pl_call_later(loop, 100, timer_cb, &fired, NULL));
    uint64_t start = pl_loop_iteration(loop);
    PC_RUN_UNTIL(loop, fired == 1, WAIT_MS);
    /* connection_made, the poll's first completion, the timer: a spinning
     * loop would have turned thousands of times in 100 ms. */
    PC_ASSERT_LE_UINT(pl_loop_iteration(loop) - start, 10);
    PC_ASSERT_EQ_INT(lost, 0);
    /* The transport still works, and still hears its reader go. */
    PC_ASSERT_EQ_INT((int)pl_transport_write(t, "z", 1), 1);
    char c;
    PC_RUN_UNTIL(loop, recv(sv[1], &c, 1, MSG_DONTWAIT) == 1, WAIT_MS);
    PC_ASSERT_EQ_INT(c, 'z');
    PC_ASSERT_OK(close(sv[1]));
    PC_ASSERT_EQ_INT((int)pl_transport_write(t, "w", 1), 1);
    PC_RUN_UNTIL(loop, lost == 1, WAIT_MS);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- completion reads ------------------------------------------------------ */

/* A closed read transport's read in flight holds its pipe end (the request
 * pins the file): it is cancelled at once, so once connection_lost has run
 * the writer sees its reader gone without another iteration. */
PC_TEST(uring_read_close_releases, "uring.read-in-flight-close-releases-fd")
{
    for (int single = 0; single < 2; single++) {
        pl__uring_single_reads = single; /* multishot, then one read at a time */
        pl_loop *loop = uring_loop();
        for (int use_abort = 0; use_abort < 2; use_abort++) {
            int fds[2];
            PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
            struct reader r = {{0}, 0, 0, 0, 0};
            pl_transport *t;
            PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[0], &reader_protocol, &r, &t));
            for (int i = 0; i < 2; i++) /* connection_made, and its read armed */
                PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
            PC_ASSERT_OK(use_abort ? pl_transport_abort(t) : pl_transport_close(t));
            PC_RUN_UNTIL(loop, r.lost == 1, WAIT_MS);
            struct pollfd p = {.fd = fds[1], .events = POLLOUT};
            PC_ASSERT_EQ_INT(poll(&p, 1, 0), 1);
            PC_ASSERT_EQ_UINT(p.revents & POLLERR, POLLERR);
            PC_ASSERT_EQ_SIZE(r.len, 0);
            PC_ASSERT_EQ_INT(r.eof, 0);
            PC_ASSERT_OK(close(fds[1]));
        }
        PC_ASSERT_OK(pl_loop_close(loop));
    }
    pl__uring_single_reads = 0;
}

/* Two readers whose data arrives in the same wait: whichever is told
 * first pauses the other, whose read has already finished in the kernel.
 * The paused one gets nothing until it resumes, then everything, in
 * order; abort instead of resume drops it with no data_received. */
struct pausing {
    pl_transport *t[2];
    struct reader r[2];
    int first; /* index of the one that got data first, or -1 */
};

static struct pausing pausing;

static void pausing_data(pl_transport *t, const void *data, size_t len, void *user)
{
    int i = (int)(intptr_t)user;
    reader_data(t, data, len, &pausing.r[i]);
    if (pausing.first < 0) {
        pausing.first = i;
        PC_ASSERT_OK(pl_transport_pause_reading(pausing.t[1 - i]));
    }
}

static void pausing_lost(pl_transport *t, int error, void *user)
{
    reader_lost(t, error, &pausing.r[(int)(intptr_t)user]);
}

static const pl_protocol pausing_protocol = {
    .data_received = pausing_data,
    .connection_lost = pausing_lost,
};

PC_TEST(uring_read_pause_race, "uring.read-finished-before-pause-kept-in-order")
{
    for (int single = 0; single < 2; single++) {
        pl__uring_single_reads = single; /* multishot, then one read at a time */
        pl_loop *loop = uring_loop();
        for (int use_abort = 0; use_abort < 2; use_abort++) {
            memset(&pausing, 0, sizeof pausing);
            pausing.first = -1;
            int fds[2][2];
            for (int i = 0; i < 2; i++) {
                PC_ASSERT_OK(pipe2(fds[i], O_CLOEXEC));
                PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[i][0], &pausing_protocol,
                                                  (void *)(intptr_t)i, &pausing.t[i]));
            }
            for (int i = 0; i < 2; i++) /* connection_made, and the reads armed */
                PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
            for (int i = 0; i < 2; i++)
                PC_ASSERT_EQ_INT(write(fds[i][1], "one,", 4), 4);
            PC_RUN_UNTIL(loop, pausing.first >= 0, WAIT_MS);
            int other = 1 - pausing.first;
            PC_ASSERT_EQ_INT(pl_transport_is_reading(pausing.t[other]), 0);
            PC_ASSERT_EQ_INT(write(fds[other][1], "two", 3), 3);
            for (int i = 0; i < 5; i++)
                PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
            PC_ASSERT_EQ_SIZE(pausing.r[other].len, 0);
            if (use_abort) {
                PC_ASSERT_OK(pl_transport_abort(pausing.t[other]));
                PC_RUN_UNTIL(loop, pausing.r[other].lost == 1, WAIT_MS);
                PC_ASSERT_EQ_SIZE(pausing.r[other].len, 0);
            } else {
                PC_ASSERT_OK(pl_transport_resume_reading(pausing.t[other]));
                PC_RUN_UNTIL(loop, pausing.r[other].len == 7, WAIT_MS);
                PC_ASSERT_EQ_MEM(pausing.r[other].data, "one,two", 7);
            }
            for (int i = 0; i < 2; i++) {
                PC_ASSERT_OK(close(fds[i][1]));
                if (!(use_abort && i == other))
                    PC_RUN_UNTIL(loop, pausing.r[i].lost == 1, WAIT_MS);
            }
            PC_ASSERT_EQ_MEM(pausing.r[pausing.first].data, "one,", 4);
        }
        PC_ASSERT_OK(pl_loop_close(loop));
    }
    pl__uring_single_reads = 0;
}

/* A read transport closed while its read had already taken bytes in the
 * kernel; its fd number is at once reused by a new pipe and transport.
 * The old read's completion must reach nobody: the new transport gets its
 * own bytes and only those.  (On this kernel the cancel is synchronous, so
 * the old completion is reaped before the fd number can be reused; the
 * sequence number on each read is the guard for kernels where it is not.) */
PC_TEST(uring_read_fd_reuse, "uring.read-fd-reused-while-cancel-pending")
{
    pl_loop *loop = uring_loop();
    for (int round = 0; round < 20; round++) {
        int old[2];
        PC_ASSERT_OK(pipe2(old, O_CLOEXEC));
        struct reader a = {{0}, 0, 0, 0, 0};
        pl_transport *ta;
        PC_ASSERT_OK(pl_connect_read_pipe(loop, old[0], &reader_protocol, &a, &ta));
        for (int i = 0; i < 2; i++)
            PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
        PC_ASSERT_EQ_INT(write(old[1], "stale", 5), 5);
        PC_ASSERT_OK(pl_transport_close(ta));
        PC_RUN_UNTIL(loop, a.lost == 1, WAIT_MS);
        int reused = old[0];
        int fresh[2];
        PC_ASSERT_OK(pipe2(fresh, O_CLOEXEC));
        PC_ASSERT_EQ_INT(fresh[0], reused);
        struct reader b = {{0}, 0, 0, 0, 0};
        pl_transport *tb;
        PC_ASSERT_OK(pl_connect_read_pipe(loop, fresh[0], &reader_protocol, &b, &tb));
        PC_ASSERT_EQ_INT(write(fresh[1], "new", 3), 3);
        PC_RUN_UNTIL(loop, b.len >= 3, WAIT_MS);
        PC_ASSERT_OK(close(fresh[1]));
        PC_RUN_UNTIL(loop, b.lost == 1, WAIT_MS);
        PC_ASSERT_EQ_SIZE(b.len, 3);
        PC_ASSERT_EQ_MEM(b.data, "new", 3);
        PC_ASSERT_EQ_SIZE(a.len, 0);
        PC_ASSERT_OK(close(old[1]));
    }
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* More readers with data in the same wait than the ring has buffers, and
 * more completions than its SQ and CQ hold: the reads that find no buffer
 * read the fd themselves, the CQ overflows into the kernel's backlog, and
 * every reader still gets its own bytes, once and in order, round after
 * round. */
#define RUNOUT_READERS 16
#define RUNOUT_ROUNDS 20
PC_TEST(uring_read_runout, "uring.read-buffers-run-out-nothing-lost")
{
    for (int single = 0; single < 2; single++) {
        pl__uring_single_reads = single; /* multishot, then one read at a time */
        pl__uring_rbufs = 2;
        pl__uring_entries = 4; /* and a 4-entry SQ, an 8-entry CQ */
        pl_loop *loop = uring_loop();
        pl__uring_entries = 0;
        int fds[RUNOUT_READERS][2];
        struct reader r[RUNOUT_READERS];
        pl_transport *t[RUNOUT_READERS];
        for (int i = 0; i < RUNOUT_READERS; i++) {
            PC_ASSERT_OK(pipe2(fds[i], O_CLOEXEC));
            r[i] = (struct reader){{0}, 0, 0, 0, 0};
            PC_ASSERT_OK(
                pl_connect_read_pipe(loop, fds[i][0], &reader_protocol, &r[i], &t[i]));
        }
        for (int i = 0; i < 2; i++)
            PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
        pl__uring_rbufs = 0; /* read when the first reader started */
        for (int round = 0; round < RUNOUT_ROUNDS; round++) {
            for (int i = 0; i < RUNOUT_READERS; i++) {
                char c = (char)('a' + (i + round) % 26);
                PC_ASSERT_EQ_INT(write(fds[i][1], &c, 1), 1);
            }
            int done = 0;
            while (!done) {
                PC_ASSERT_GE_INT(pl_loop_run_once(loop, (int)WAIT_MS), 0);
                done = 1;
                for (int i = 0; i < RUNOUT_READERS; i++)
                    done &= r[i].len == (size_t)round + 1;
            }
        }
        for (int i = 0; i < RUNOUT_READERS; i++) {
            for (int round = 0; round < RUNOUT_ROUNDS; round++)
                PC_ASSERT_EQ_INT(r[i].data[round], (char)('a' + (i + round) % 26));
            PC_ASSERT_OK(close(fds[i][1]));
        }
        PC_RUN_UNTIL(loop, r[RUNOUT_READERS - 1].lost == 1, WAIT_MS);
        for (int i = 0; i < RUNOUT_READERS; i++) {
            PC_RUN_UNTIL(loop, r[i].lost == 1, WAIT_MS);
            PC_ASSERT_EQ_INT(r[i].eof, 1);
            PC_ASSERT_EQ_SIZE(r[i].len, RUNOUT_ROUNDS);
        }
        PC_ASSERT_OK(pl_loop_close(loop));
    }
    pl__uring_single_reads = 0;
}

/* ---- one thread ------------------------------------------------------------ */

struct thread_run {
    pl_loop *loop;
    int result;
};

static void *run_once_thread(void *arg)
{
    struct thread_run *r = arg;
    r->result = pl_loop_run_once(r->loop, 0);
    return NULL;
}

/* The ring is single-issuer: a loop made here runs in another thread if
 * that thread is the first to run it; once one thread has run it, another
 * thread's run fails with -EEXIST and runs nothing, and the owner goes
 * on. */
PC_TEST(uring_one_thread, "uring.first-running-thread-owns-the-loop")
{
    /* Made here, first run (and so owned) by a worker. */
    pl_loop *loop = uring_loop();
    int ran = 0;
    PC_ASSERT_OK(pl_call_soon(loop, count_cb, &ran));
    struct thread_run r = {loop, -1};
    pthread_t th;
    PC_ASSERT_OK(pthread_create(&th, NULL, run_once_thread, &r));
    PC_ASSERT_OK(pthread_join(th, NULL));
    PC_ASSERT_EQ_INT(r.result, 1);
    PC_ASSERT_EQ_INT(ran, 1);
    PC_ASSERT_OK(pl_loop_close(loop));

    /* First run here: a worker's run is refused, this thread's goes on. */
    loop = uring_loop();
    ran = 0;
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    PC_ASSERT_OK(pl_call_soon(loop, count_cb, &ran));
    r = (struct thread_run){loop, -1};
    PC_ASSERT_OK(pthread_create(&th, NULL, run_once_thread, &r));
    PC_ASSERT_OK(pthread_join(th, NULL));
    if (r.result == -EEXIST) {
        PC_ASSERT_EQ_INT(ran, 0); /* a single-issuer ring (kernel 6.1+) */
        PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    } else {
        PC_ASSERT_EQ_INT(r.result, 1); /* an older kernel's plain ring */
    }
    PC_ASSERT_EQ_INT(ran, 1);
    if (r.result == -EEXIST) {
        /* Also with completions waiting to be reaped (a pause's cancel),
         * where a wait would make no syscall for the kernel to refuse. */
        int fds[2];
        PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
        struct reader rd = {{0}, 0, 0, 0, 0};
        pl_transport *t;
        PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[0], &reader_protocol, &rd, &t));
        for (int i = 0; i < 2; i++) /* connection_made, and its read armed */
            PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
        PC_ASSERT_OK(pl_transport_pause_reading(t));
        PC_ASSERT_OK(pl_call_soon(loop, count_cb, &ran));
        r = (struct thread_run){loop, -1};
        PC_ASSERT_OK(pthread_create(&th, NULL, run_once_thread, &r));
        PC_ASSERT_OK(pthread_join(th, NULL));
        PC_ASSERT_ERR(r.result, -EEXIST);
        PC_ASSERT_EQ_INT(ran, 1);
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 1);
        PC_ASSERT_EQ_INT(ran, 2);
        PC_ASSERT_OK(pl_transport_close(t));
        PC_RUN_UNTIL(loop, rd.lost == 1, WAIT_MS);
        PC_ASSERT_OK(close(fds[1]));
    }
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- paused readers holding every buffer ------------------------------------ */

struct holding {
    pl_transport *a;
    struct reader rb;
    size_t alen;
    int fired;
    int alost;
};

static struct holding holding;

static void holding_a_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t, (void)data, (void)user;
    holding.alen += len;
}

static void holding_a_lost(pl_transport *t, int error, void *user)
{
    (void)t, (void)error, (void)user;
    holding.alost++;
}

static void holding_pause(pl_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop, (void)events, (void)user;
    uint64_t v;
    PC_ASSERT_EQ_INT((int)read(fd, &v, sizeof v), (int)sizeof v);
    PC_ASSERT_OK(pl_transport_pause_reading(holding.a));
}

/* A reader paused right after the kernel finished its reads keeps their
 * buffers (they hold its data) until it resumes; with two buffers that is
 * all of them.  Another reader's ring read then fails at once for want of
 * a buffer: it must wait for data by readiness, not spin the loop, and
 * still get its bytes; the paused one gets all of its own on resume. */
PC_TEST(uring_read_held_buffers, "uring.read-buffers-held-by-paused-no-spin")
{
    pl__uring_rbufs = 2;
    pl_loop *loop = uring_loop();
    memset(&holding, 0, sizeof holding);
    int a[2], b[2];
    PC_ASSERT_OK(pipe2(a, O_CLOEXEC));
    PC_ASSERT_OK(pipe2(b, O_CLOEXEC));
    PC_ASSERT_GE_INT(fcntl(a[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
    static const pl_protocol a_proto = {.data_received = holding_a_data,
                                        .connection_lost = holding_a_lost};
    pl_transport *tb;
    PC_ASSERT_OK(pl_connect_read_pipe(loop, a[0], &a_proto, NULL, &holding.a));
    PC_ASSERT_OK(pl_connect_read_pipe(loop, b[0], &reader_protocol, &holding.rb, &tb));
    int ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    PC_ASSERT_GE_INT(ev, 0);
    PC_ASSERT_OK(pl_loop_add_reader(loop, ev, holding_pause, NULL));
    for (int i = 0; i < 3; i++) /* connection_made, reads and polls armed */
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
    pl__uring_rbufs = 0; /* read when the first reader started */
    /* The wakeup first, then the data: the watcher is told first and
     * pauses the reader whose reads the kernel has finished. */
    uint64_t one = 1;
    PC_ASSERT_EQ_INT((int)write(ev, &one, sizeof one), (int)sizeof one);
    static char big[192 * 1024];
    memset(big, 'x', sizeof big);
    PC_ASSERT_EQ_INT((int)write(a[1], big, sizeof big), (int)sizeof big);
    PC_RUN_UNTIL(loop, pl_transport_is_reading(holding.a) == 0, WAIT_MS);
    if (holding.alen != 0)
        PC_SKIP("n/a: the kernel reported the reader's data before the watcher's "
                "wakeup, so the paused reader holds no buffer");
    PC_ASSERT_EQ_INT((int)write(b[1], "z", 1), 1);
    PC_RUN_UNTIL(loop, holding.rb.len == 1, WAIT_MS);
    /* Idle now: a loop that waits turns a few times in 100 ms; one that
     * spins on failed reads turns thousands of times. */
    PC_ASSERT_OK(pl_call_later(loop, 100, timer_cb, &holding.fired, NULL));
    uint64_t start = pl_loop_iteration(loop);
    PC_RUN_UNTIL(loop, holding.fired == 1, WAIT_MS);
    PC_ASSERT_LE_UINT(pl_loop_iteration(loop) - start, 10);
    /* Readiness served B, and B is back on the ring afterwards. */
    PC_ASSERT_EQ_INT((int)write(b[1], "y", 1), 1);
    PC_RUN_UNTIL(loop, holding.rb.len == 2, WAIT_MS);
    PC_ASSERT_EQ_MEM(holding.rb.data, "zy", 2);
    PC_ASSERT_OK(pl_transport_resume_reading(holding.a));
    PC_RUN_UNTIL(loop, holding.alen == sizeof big, WAIT_MS);
    PC_ASSERT_OK(pl_loop_remove_reader(loop, ev));
    PC_ASSERT_OK(close(ev));
    PC_ASSERT_OK(close(a[1]));
    PC_ASSERT_OK(close(b[1]));
    PC_RUN_UNTIL(loop, holding.rb.lost == 1 && holding.alost == 1, WAIT_MS);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- a forked child's pl_loop_close ------------------------------------------ */

static const void *seen_buffer;

static void remember_buffer(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t, (void)len, (void)user;
    seen_buffer = data;
}

/* The read buffers are not inherited (MADV_DONTFORK), so in a child their
 * addresses are free for the child's own mappings; the child's
 * pl_loop_close must not unmap whatever it put there. */
PC_TEST(uring_fork_close, "uring.fork-child-close-leaves-its-memory-alone")
{
    pl_loop *loop = uring_loop();
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    static const pl_protocol proto = {.data_received = remember_buffer};
    pl_transport *t;
    seen_buffer = NULL;
    PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[0], &proto, NULL, &t));
    PC_ASSERT_EQ_INT(write(fds[1], "x", 1), 1);
    PC_RUN_UNTIL(loop, seen_buffer != NULL, WAIT_MS);
    PC_ASSERT_OK(pl_transport_close(t));
    for (int i = 0; i < 3; i++)
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 0), 0);
    long page = sysconf(_SC_PAGESIZE);
    void *at = (void *)((uintptr_t)seen_buffer & ~(uintptr_t)(page - 1));
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0) {
        /* The ring was used here, so a ring read's buffer was at `at`. */
        char *mine = mmap(at, (size_t)page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (mine != at)
            _exit(2); /* the address was not free: the buffers were inherited */
        if (pl_loop_close(loop) != 0)
            _exit(3);
        mine[0] = 'y'; /* SIGSEGV had close unmapped it */
        _exit(mine[0] == 'y' ? 0 : 4);
    }
    int status;
    PC_ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    PC_ASSERT_EQ_INT(WIFEXITED(status), 1);
    PC_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    PC_ASSERT_OK(close(fds[1]));
    PC_ASSERT_OK(pl_loop_close(loop));
}
