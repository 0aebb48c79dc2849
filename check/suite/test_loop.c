/* Tests of the loop core: the ready queue, timers, fd watchers, the
 * thread-safe wakeup, signals and the refusals.  Every body is written once
 * and registered for each backend from the table at the end; names are
 * "<spec id or loop>.<what>@<backend>". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conform.h"
#include "pipecheck.h"

static pl_loop *loop_open(const pc_backend *b)
{
    pl_loop *loop = NULL;
    PC_ASSERT_ERR(pl_loop_new(&loop, b->flag), 0);
    PC_ASSERT_NOT_NULL(loop);
    PC_ASSERT_EQ_STR(pl_loop_backend(loop), b->name);
    return loop;
}

static void loop_done(pl_loop *loop)
{
    PC_ASSERT_ERR(pl_loop_close(loop), 0);
}

static void pipe_open(int fds[2])
{
    PC_ASSERT_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
}

static void fd_close(int *fd)
{
    if (*fd >= 0) {
        PC_ASSERT_EQ_INT(close(*fd), 0);
        *fd = -1;
    }
}

/* Run iterations until *flag is set, for at most timeout_ms (scaled) of
 * loop time.  Each iteration waits at most until the deadline, so a missing
 * event fails the test instead of hanging it. */
static void run_until(pl_loop *loop, const int *flag, unsigned timeout_ms)
{
    uint64_t deadline = pl_loop_update_time(loop) + pc_scale_ms(timeout_ms);
    while (!*flag) {
        uint64_t now = pl_loop_update_time(loop);
        if (now >= deadline)
            PC_FAIL("nothing happened within %u ms", pc_scale_ms(timeout_ms));
        PC_ASSERT_OK(pl_loop_run_once(loop, (int)(deadline - now)));
    }
}

/* ---- call_soon ------------------------------------------------------------ */

struct order_log {
    int seen[64];
    int n;
    pl_loop *loop;
};

struct order_item {
    struct order_log *log;
    int value;
    struct order_item *queue_next; /* queued from inside the callback */
};

static void log_value(pl_loop *loop, void *user)
{
    struct order_item *item = user;
    PC_ASSERT_EQ_PTR(loop, item->log->loop);
    PC_ASSERT_LT_INT(item->log->n, 64);
    item->log->seen[item->log->n++] = item->value;
    if (item->queue_next)
        PC_ASSERT_ERR(pl_call_soon(loop, log_value, item->queue_next), 0);
}

PC_TEST_EACH_BACKEND(test_call_soon_fifo, "loop.call-soon-fifo")
{
    pl_loop *loop = loop_open(backend);
    struct order_log log = {.loop = loop};
    struct order_item items[50];
    for (int i = 0; i < 50; i++) {
        items[i] = (struct order_item){&log, i, NULL};
        PC_ASSERT_ERR(pl_call_soon(loop, log_value, &items[i]), 0);
    }
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 50);
    PC_ASSERT_EQ_INT(log.n, 50);
    for (int i = 0; i < 50; i++)
        PC_ASSERT_EQ_INT(log.seen[i], i);
    /* Nothing is left: an idle iteration runs nothing. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    PC_ASSERT_ERR(pl_call_soon(loop, NULL, NULL), -EINVAL);
    loop_done(loop);
}

/* L1: what an iteration queues runs in the next one, after what was
 * already queued, in FIFO order. */
PC_TEST_EACH_BACKEND(test_iteration_batch, "L1.iteration-batch")
{
    pl_loop *loop = loop_open(backend);
    struct order_log log = {.loop = loop};
    struct order_item late[3] = {{&log, 10, NULL}, {&log, 11, NULL}, {&log, 12, NULL}};
    struct order_item early[3] = {
        {&log, 0, &late[0]}, {&log, 1, &late[1]}, {&log, 2, &late[2]}};
    for (int i = 0; i < 3; i++)
        PC_ASSERT_ERR(pl_call_soon(loop, log_value, &early[i]), 0);

    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 3);
    PC_ASSERT_EQ_INT(log.n, 3);
    PC_ASSERT_EQ_INT(log.seen[0], 0);
    PC_ASSERT_EQ_INT(log.seen[1], 1);
    PC_ASSERT_EQ_INT(log.seen[2], 2);

    /* A callback queued during an iteration must not make the next
     * iteration block: the wait is zero even with timeout -1. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, -1), 3);
    PC_ASSERT_EQ_INT(log.n, 6);
    for (int i = 0; i < 3; i++)
        PC_ASSERT_EQ_INT(log.seen[3 + i], 10 + i);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    loop_done(loop);
}

/* ---- timers ----------------------------------------------------------------- */

struct timer_rec {
    uint64_t when;
    uint32_t made; /* creation order */
    int cancelled;
    int fired;
};

struct timer_log {
    pl_loop *loop;
    struct timer_rec *recs;
    uint32_t *order; /* indexes of recs in firing order */
    size_t n;
};

static struct timer_log *g_timer_log;

static void timer_fire(pl_loop *loop, void *user)
{
    struct timer_rec *rec = user;
    struct timer_log *log = g_timer_log;
    PC_ASSERT_EQ_INT(rec->cancelled, 0);
    PC_ASSERT_EQ_INT(rec->fired, 0);
    /* A timer never runs before its deadline. */
    PC_ASSERT_LE_UINT(rec->when, pl_loop_time(loop));
    rec->fired = 1;
    log->order[log->n++] = rec->made;
}

/* Fired timers must come in (deadline, creation) order. */
static void check_timer_order(const struct timer_log *log)
{
    for (size_t i = 1; i < log->n; i++) {
        const struct timer_rec *a = &log->recs[log->order[i - 1]];
        const struct timer_rec *b = &log->recs[log->order[i]];
        if (a->when > b->when || (a->when == b->when && a->made > b->made))
            PC_FAIL("timer %u (deadline %llu) fired before timer %u (deadline %llu)",
                    (unsigned)a->made, (unsigned long long)a->when, (unsigned)b->made,
                    (unsigned long long)b->when);
    }
}

PC_TEST_EACH_BACKEND(test_timer_order, "loop.timer-order")
{
    pl_loop *loop = loop_open(backend);
    uint64_t now = pl_loop_update_time(loop);
    /* Deadlines relative to now, in creation order.  Past deadlines are all
     * due at once, which puts the heap's ordering, not the clock, under
     * test; equal deadlines must keep creation order. */
    static const int64_t rel[] = {-5, -9, -5, -1, -9, -7, -5, 0, -3, -9};
    enum { N = sizeof rel / sizeof rel[0] };
    struct timer_rec recs[N + 1];
    uint32_t order[N + 1];
    struct timer_log log = {loop, recs, order, 0};
    g_timer_log = &log;
    for (uint32_t i = 0; i < N; i++) {
        recs[i] = (struct timer_rec){(uint64_t)((int64_t)now + rel[i]), i, 0, 0};
        PC_ASSERT_ERR(pl_call_at(loop, recs[i].when, timer_fire, &recs[i], NULL), 0);
    }
    /* One future timer, far enough away that a preempted (or valgrind)
     * run cannot reach it before the check below. */
    recs[N] = (struct timer_rec){now + 600000, N, 0, 0};
    pl_timer_id future;
    PC_ASSERT_ERR(pl_call_at(loop, recs[N].when, timer_fire, &recs[N], &future), 0);
    PC_ASSERT_NE_UINT(future, 0);

    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), N);
    PC_ASSERT_EQ_SIZE(log.n, (size_t)N);
    check_timer_order(&log);
    PC_ASSERT_EQ_INT(recs[N].fired, 0);

    /* Now 30 ms away: run_once(-1) must sleep until it, not forever and
     * not return early. */
    PC_ASSERT_OK(pl_timer_cancel(loop, future));
    uint64_t t0 = pl_loop_update_time(loop);
    recs[N].when = t0 + 30;
    PC_ASSERT_OK(pl_call_later(loop, 30, timer_fire, &recs[N], NULL));
    while (!recs[N].fired)
        PC_ASSERT_OK(pl_loop_run_once(loop, -1));
    PC_ASSERT_GE_UINT(pl_loop_time(loop), t0 + 30);
    check_timer_order(&log);
    g_timer_log = NULL;
    loop_done(loop);
}

static void count_call(pl_loop *loop, void *user)
{
    (void)loop;
    ++*(int *)user;
}

PC_TEST_EACH_BACKEND(test_timer_cancel, "loop.timer-cancel")
{
    pl_loop *loop = loop_open(backend);
    int ran_a = 0, ran_b = 0, ran_c = 0;
    pl_timer_id a, b, c;
    PC_ASSERT_ERR(pl_call_later(loop, 0, count_call, &ran_a, &a), 0);
    PC_ASSERT_ERR(pl_call_later(loop, 0, count_call, &ran_b, &b), 0);
    PC_ASSERT_NE_UINT(a, b);
    PC_ASSERT_ERR(pl_timer_cancel(loop, b), 0);
    PC_ASSERT_ERR(pl_timer_cancel(loop, b), -ENOENT); /* cancelled */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    PC_ASSERT_EQ_INT(ran_a, 1);
    PC_ASSERT_EQ_INT(ran_b, 0);
    PC_ASSERT_ERR(pl_timer_cancel(loop, a), -ENOENT); /* fired */

    /* A new timer reuses the freed slot: the old ids stay stale. */
    PC_ASSERT_ERR(pl_call_later(loop, 0, count_call, &ran_c, &c), 0);
    PC_ASSERT_NE_UINT(c, a);
    PC_ASSERT_NE_UINT(c, b);
    PC_ASSERT_ERR(pl_timer_cancel(loop, a), -ENOENT);
    PC_ASSERT_ERR(pl_timer_cancel(loop, b), -ENOENT);
    PC_ASSERT_ERR(pl_timer_cancel(loop, 0), -ENOENT);
    PC_ASSERT_ERR(pl_timer_cancel(loop, c ^ ((uint64_t)1 << 40)), -ENOENT);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    PC_ASSERT_EQ_INT(ran_c, 1);
    PC_ASSERT_EQ_INT(ran_b, 0);
    PC_ASSERT_ERR(pl_call_later(loop, 0, NULL, NULL, NULL), -EINVAL);
    loop_done(loop);
}

/* 100,000 timers with random deadlines up to 25 ms ahead (and some already
 * due), half of them cancelled: the rest fire in (deadline, creation) order,
 * each exactly once, never early. */
PC_TEST_EACH_BACKEND(test_timers_many, "loop.timers-100k")
{
    enum { N = 100000 };
    pl_loop *loop = loop_open(backend);
    struct timer_rec *recs = calloc(N, sizeof *recs);
    uint32_t *order = calloc(N, sizeof *order);
    pl_timer_id *ids = calloc(N, sizeof *ids);
    PC_ASSERT_NOT_NULL(recs);
    PC_ASSERT_NOT_NULL(order);
    PC_ASSERT_NOT_NULL(ids);
    struct timer_log log = {loop, recs, order, 0};
    g_timer_log = &log;
    uint64_t rng = pc_seed() | 1;
    uint64_t base = pl_loop_update_time(loop) - 5;
    for (uint32_t i = 0; i < N; i++) {
        recs[i] = (struct timer_rec){base + conform_xorshift(&rng) % 30, i, 0, 0};
        PC_ASSERT_ERR(pl_call_at(loop, recs[i].when, timer_fire, &recs[i], &ids[i]), 0);
    }
    size_t cancelled = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (conform_xorshift(&rng) & 1) {
            PC_ASSERT_ERR(pl_timer_cancel(loop, ids[i]), 0);
            recs[i].cancelled = 1;
            cancelled++;
        }
    }
    uint64_t deadline = pl_loop_update_time(loop) + pc_scale_ms(4000);
    while (log.n < N - cancelled) {
        PC_ASSERT_LT_UINT(pl_loop_update_time(loop), deadline);
        PC_ASSERT_OK(pl_loop_run_once(loop, 100));
    }
    PC_ASSERT_EQ_SIZE(log.n, N - cancelled);
    check_timer_order(&log);
    for (uint32_t i = 0; i < N; i++) {
        PC_ASSERT_EQ_INT(recs[i].fired, !recs[i].cancelled);
        if (recs[i].cancelled)
            PC_ASSERT_ERR(pl_timer_cancel(loop, ids[i]), -ENOENT);
    }
    /* Everything ran: with no timer left, an idle iteration runs nothing. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    g_timer_log = NULL;
    free(ids);
    free(order);
    free(recs);
    loop_done(loop);
}

/* ---- call_soon_threadsafe ------------------------------------------------ */

struct wake_ctx {
    pl_loop *loop;
    pid_t loop_tid;
    atomic_int entering; /* the loop thread is about to block */
    int ran;
    pthread_t ran_on;
    int thread_err;
};

static void wake_cb(pl_loop *loop, void *user)
{
    struct wake_ctx *ctx = user;
    PC_ASSERT_EQ_PTR(loop, ctx->loop);
    ctx->ran++;
    ctx->ran_on = pthread_self();
}

/* Is thread tid asleep (state S) right now?  Read from /proc. */
static int thread_sleeping(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'S';
}

static void *wake_thread(void *arg)
{
    struct wake_ctx *ctx = arg;
    /* Call only once the loop thread is blocked in the backend's wait: it
     * announced it is entering run_once, and the kernel shows it asleep
     * (nothing else between the two can sleep). */
    while (!atomic_load(&ctx->entering))
        sched_yield();
    for (;;) {
        int s = thread_sleeping(ctx->loop_tid);
        if (s != 0)
            break; /* asleep, or /proc unreadable: call anyway */
        sched_yield();
    }
    ctx->thread_err = pl_call_soon_threadsafe(ctx->loop, wake_cb, ctx);
    return NULL;
}

/* L4: a loop blocked in run_once(-1) wakes for call_soon_threadsafe. */
PC_TEST_EACH_BACKEND(test_threadsafe_wakeup, "L4.threadsafe-wakeup")
{
    pc_set_timeout_ms(5000);
    pl_loop *loop = loop_open(backend);
    struct wake_ctx ctx = {.loop = loop, .loop_tid = (pid_t)syscall(SYS_gettid)};
    atomic_init(&ctx.entering, 0);
    pthread_t thread;
    PC_ASSERT_EQ_INT(pthread_create(&thread, NULL, wake_thread, &ctx), 0);
    atomic_store(&ctx.entering, 1);
    /* No timers, nothing ready: only the wakeup can end this call. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, -1), 1);
    PC_ASSERT_EQ_INT(pthread_join(thread, NULL), 0);
    PC_ASSERT_ERR(ctx.thread_err, 0);
    PC_ASSERT_EQ_INT(ctx.ran, 1);
    PC_ASSERT(pthread_equal(ctx.ran_on, pthread_self()));
    PC_ASSERT_ERR(pl_call_soon_threadsafe(loop, NULL, NULL), -EINVAL);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    loop_done(loop);
}

/* Many threadsafe calls from a thread racing the loop: all run, in order. */
struct burst_ctx;
struct burst_item {
    struct burst_ctx *ctx;
    int value;
};

struct burst_ctx {
    pl_loop *loop;
    int next;
    int bad;
    struct burst_item items[1000];
};

static void burst_cb(pl_loop *loop, void *user)
{
    (void)loop;
    struct burst_item *item = user;
    if (item->value != item->ctx->next)
        item->ctx->bad = 1;
    item->ctx->next++;
}

static void *burst_thread(void *arg)
{
    struct burst_ctx *ctx = arg;
    for (int i = 0; i < 1000; i++)
        if (pl_call_soon_threadsafe(ctx->loop, burst_cb, &ctx->items[i]) != 0)
            ctx->bad = 1;
    return NULL;
}

PC_TEST_EACH_BACKEND(test_threadsafe_burst, "L4.threadsafe-burst")
{
    pl_loop *loop = loop_open(backend);
    static struct burst_ctx ctx;
    ctx.loop = loop;
    for (int i = 0; i < 1000; i++)
        ctx.items[i] = (struct burst_item){&ctx, i};
    pthread_t thread;
    PC_ASSERT_EQ_INT(pthread_create(&thread, NULL, burst_thread, &ctx), 0);
    uint64_t deadline = pl_loop_update_time(loop) + pc_scale_ms(3000);
    while (ctx.next < 1000) {
        PC_ASSERT_LT_UINT(pl_loop_update_time(loop), deadline);
        PC_ASSERT_OK(pl_loop_run_once(loop, 100));
    }
    PC_ASSERT_EQ_INT(pthread_join(thread, NULL), 0);
    PC_ASSERT_EQ_INT(ctx.bad, 0);
    PC_ASSERT_EQ_INT(ctx.next, 1000);
    loop_done(loop);
}

/* ---- fd watchers ---------------------------------------------------------- */

struct io_rec {
    int calls;
    unsigned events;
    int fd;
    ssize_t read_result;
    int order; /* global call order, to check reader-before-writer */
};

static int g_io_order;

static void io_record(pl_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop;
    struct io_rec *r = user;
    r->calls++;
    r->events = events;
    r->fd = fd;
    r->order = ++g_io_order;
}

static void io_record_and_read(pl_loop *loop, int fd, unsigned events, void *user)
{
    struct io_rec *r = user;
    io_record(loop, fd, events, user);
    char c;
    r->read_result = read(fd, &c, 1);
}

/* L2: a pipe whose writer closed reports HUP alone, and the reader sees
 * EOF only by reading 0. */
PC_TEST_EACH_BACKEND(test_read_hup_eof, "L2.read-hup-eof")
{
    pl_loop *loop = loop_open(backend);
    int fds[2];
    pipe_open(fds);
    struct io_rec r = {0};
    r.read_result = -2;
    PC_ASSERT_ERR(pl_loop_add_reader(loop, fds[0], io_record_and_read, &r), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0); /* nothing yet */
    fd_close(&fds[1]);
    run_until(loop, &r.calls, 1000);
    PC_ASSERT_EQ_INT(r.calls, 1);
    PC_ASSERT_EQ_INT(r.fd, fds[0]);
    PC_ASSERT_EQ_UINT(r.events, PL_HUP);
    PC_ASSERT_EQ_INT(r.read_result, 0);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fds[0]), 0);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fds[0]), -ENOENT);
    fd_close(&fds[0]);
    loop_done(loop);
}

/* L2: a full pipe's write end whose reader closed reports ERR alone, to a
 * writer watcher and to a reader watcher on that fd; the reader runs first. */
PC_TEST_EACH_BACKEND(test_write_err_only, "L2.write-err-only")
{
    pl_loop *loop = loop_open(backend);
    int fds[2];
    pipe_open(fds);
    PC_ASSERT_GT_INT(pc_fill_until_full(fds[1], 1, 0), 0);
    struct io_rec as_reader = {0}, as_writer = {0};
    PC_ASSERT_ERR(pl_loop_add_writer(loop, fds[1], io_record, &as_writer), 0);
    PC_ASSERT_ERR(pl_loop_add_reader(loop, fds[1], io_record, &as_reader), 0);
    /* Full, reader present: nothing to report. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    fd_close(&fds[0]);
    run_until(loop, &as_writer.calls, 1000);
    PC_ASSERT_EQ_INT(as_reader.calls, 1);
    PC_ASSERT_EQ_INT(as_writer.calls, 1);
    PC_ASSERT_EQ_UINT(as_reader.events, PL_ERR);
    PC_ASSERT_EQ_UINT(as_writer.events, PL_ERR);
    PC_ASSERT_LT_INT(as_reader.order, as_writer.order);
    PC_ASSERT_ERR(pl_loop_remove_writer(loop, fds[1]), 0);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fds[1]), 0);
    fd_close(&fds[1]);
    loop_done(loop);
}

/* An empty pipe's write end with a writer watcher gets WRITABLE; once the
 * reader closes, PL_ERR is added. */
PC_TEST_EACH_BACKEND(test_writable_then_err, "L2.writable-then-err")
{
    pl_loop *loop = loop_open(backend);
    int fds[2];
    pipe_open(fds);
    struct io_rec w = {0};
    PC_ASSERT_ERR(pl_loop_add_writer(loop, fds[1], io_record, &w), 0);
    run_until(loop, &w.calls, 1000);
    PC_ASSERT_EQ_UINT(w.events, PL_WRITABLE);
    fd_close(&fds[0]);
    w.calls = 0;
    run_until(loop, &w.calls, 1000);
    PC_ASSERT_EQ_UINT(w.events & PL_ERR, PL_ERR);
    PC_ASSERT_ERR(pl_loop_remove_writer(loop, fds[1]), 0);
    fd_close(&fds[1]);
    loop_done(loop);
}

struct remove_ctx {
    int fd[2]; /* the two read ends */
    int calls[2];
    int removed_other;
};

static void remove_other(pl_loop *loop, int fd, unsigned events, void *user)
{
    struct remove_ctx *ctx = user;
    (void)events;
    int me = fd == ctx->fd[0] ? 0 : 1;
    ctx->calls[me]++;
    if (!ctx->removed_other) {
        PC_ASSERT_ERR(pl_loop_remove_reader(loop, ctx->fd[1 - me]), 0);
        ctx->removed_other = 1;
    }
}

/* L3: two fds ready in the same iteration; the first callback removes the
 * other's reader, whose already collected event must then not run. */
PC_TEST_EACH_BACKEND(test_remove_in_callback, "L3.remove-in-callback")
{
    pl_loop *loop = loop_open(backend);
    int a[2], b[2];
    pipe_open(a);
    pipe_open(b);
    PC_ASSERT_EQ_INT(write(a[1], "x", 1), 1);
    PC_ASSERT_EQ_INT(write(b[1], "y", 1), 1);
    struct remove_ctx ctx = {{a[0], b[0]}, {0, 0}, 0};
    PC_ASSERT_ERR(pl_loop_add_reader(loop, a[0], remove_other, &ctx), 0);
    PC_ASSERT_ERR(pl_loop_add_reader(loop, b[0], remove_other, &ctx), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 1000), 1);
    PC_ASSERT_EQ_INT(ctx.calls[0] + ctx.calls[1], 1);
    int survivor = ctx.calls[0] ? 0 : 1;
    /* Level-triggered: the survivor fires again; the removed one never. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 1000), 1);
    PC_ASSERT_EQ_INT(ctx.calls[survivor], 2);
    PC_ASSERT_EQ_INT(ctx.calls[1 - survivor], 0);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, ctx.fd[1 - survivor]), -ENOENT);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, ctx.fd[survivor]), 0);
    fd_close(&a[0]);
    fd_close(&a[1]);
    fd_close(&b[0]);
    fd_close(&b[1]);
    loop_done(loop);
}

static void remove_self_and_writer(pl_loop *loop, int fd, unsigned events, void *user)
{
    io_record(loop, fd, events, user);
    PC_ASSERT_ERR(pl_loop_remove_writer(loop, fd), 0);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fd), 0);
}

/* L3 on one fd: a reader callback removing the writer of the same fd (and
 * itself) stops the writer callback of this very iteration. */
PC_TEST_EACH_BACKEND(test_remove_writer_same_fd, "L3.remove-writer-same-fd")
{
    pl_loop *loop = loop_open(backend);
    int sv[2];
    PC_ASSERT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    PC_ASSERT_EQ_INT(write(sv[1], "x", 1), 1); /* sv[0]: readable and writable */
    struct io_rec r = {0}, w = {0};
    PC_ASSERT_ERR(pl_loop_add_reader(loop, sv[0], remove_self_and_writer, &r), 0);
    PC_ASSERT_ERR(pl_loop_add_writer(loop, sv[0], io_record, &w), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 1000), 1);
    PC_ASSERT_EQ_INT(r.calls, 1);
    PC_ASSERT_EQ_UINT(r.events & PL_READABLE, PL_READABLE);
    PC_ASSERT_EQ_INT(w.calls, 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    fd_close(&sv[0]);
    fd_close(&sv[1]);
    /* Nothing is open any more: the loop closes. */
    loop_done(loop);
}

/* ---- signals -------------------------------------------------------------- */

static volatile sig_atomic_t g_prev_handler_calls;

static void prev_handler(int signum)
{
    (void)signum;
    g_prev_handler_calls++;
}

struct sig_ctx {
    int calls;
    int signum;
    pl_loop *loop;
};

static void on_sig(pl_loop *loop, int signum, void *user)
{
    struct sig_ctx *ctx = user;
    PC_ASSERT_EQ_PTR(loop, ctx->loop);
    ctx->calls++;
    ctx->signum = signum;
}

static int sigusr1_blocked(void)
{
    sigset_t cur;
    PC_ASSERT_EQ_INT(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
    return sigismember(&cur, SIGUSR1) == 1;
}

static void (*sigusr1_handler(void))(int)
{
    struct sigaction sa;
    PC_ASSERT_EQ_INT(sigaction(SIGUSR1, NULL, &sa), 0);
    return sa.sa_handler;
}

/* One round: add, deliver with kill(getpid()), remove; the disposition and
 * the mask before must be exactly what is there after. */
static void signal_round(pl_loop *loop, int blocked_before, void (*handler_before)(int))
{
    struct sig_ctx ctx = {0, 0, loop};
    PC_ASSERT_ERR(pl_loop_add_signal(loop, SIGUSR1, on_sig, &ctx), 0);
    PC_ASSERT_ERR(pl_loop_add_signal(loop, SIGUSR1, on_sig, &ctx), -EEXIST);
    PC_ASSERT_EQ_INT(sigusr1_blocked(), 0);
    PC_ASSERT(sigusr1_handler() != handler_before);
    /* Sent to ourselves, unblocked: the handler has run when kill returns,
     * so one iteration sees it and counts exactly the user's callback. */
    PC_ASSERT_EQ_INT(kill(getpid(), SIGUSR1), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, (int)pc_scale_ms(1000)), 1);
    PC_ASSERT_EQ_INT(ctx.calls, 1);
    PC_ASSERT_EQ_INT(ctx.signum, SIGUSR1);
    PC_ASSERT_EQ_INT(g_prev_handler_calls, 0);
    /* Two deliveries before the loop runs: coalesced into one call. */
    PC_ASSERT_EQ_INT(raise(SIGUSR1), 0);
    PC_ASSERT_EQ_INT(raise(SIGUSR1), 0);
    ctx.calls = 0;
    run_until(loop, &ctx.calls, 1000);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0);
    PC_ASSERT_EQ_INT(ctx.calls, 1);
    PC_ASSERT_ERR(pl_loop_remove_signal(loop, SIGUSR1), 0);
    PC_ASSERT_ERR(pl_loop_remove_signal(loop, SIGUSR1), -ENOENT);
    PC_ASSERT_EQ_INT(sigusr1_blocked(), blocked_before);
    PC_ASSERT(sigusr1_handler() == handler_before);
}

PC_TEST_EACH_BACKEND(test_signal, "loop.signal")
{
    pl_loop *loop = loop_open(backend);
    /* Default disposition, unblocked. */
    signal_round(loop, 0, SIG_DFL);

    /* A caller's own handler, and SIGUSR1 blocked in this thread. */
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prev_handler;
    sigemptyset(&sa.sa_mask);
    PC_ASSERT_EQ_INT(sigaction(SIGUSR1, &sa, &old_sa), 0);
    sigset_t set, old_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    PC_ASSERT_EQ_INT(pthread_sigmask(SIG_BLOCK, &set, &old_mask), 0);
    signal_round(loop, 1, prev_handler);
    PC_ASSERT_EQ_INT(g_prev_handler_calls, 0);

    PC_ASSERT_EQ_INT(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
    PC_ASSERT_EQ_INT(sigaction(SIGUSR1, &old_sa, NULL), 0);
    PC_ASSERT_ERR(pl_loop_add_signal(loop, SIGKILL, on_sig, NULL), -EINVAL);
    PC_ASSERT_ERR(pl_loop_add_signal(loop, SIGSTOP, on_sig, NULL), -EINVAL);
    PC_ASSERT_ERR(pl_loop_add_signal(loop, 0, on_sig, NULL), -EINVAL);
    PC_ASSERT_ERR(pl_loop_add_signal(loop, SIGUSR2, NULL, NULL), -EINVAL);
    PC_ASSERT(sigusr1_handler() == SIG_DFL);
    loop_done(loop);
}

/* ---- refusals --------------------------------------------------------------- */

static void close_inside(pl_loop *loop, void *user)
{
    int *result = user;
    result[0] = pl_loop_close(loop);
    result[1] = pl_loop_run_once(loop, 0);
    result[2] = pl_loop_run(loop);
    result[3] = pl_loop_is_running(loop);
}

/* L5: a running loop refuses close and re-entry; a loop with a watcher or a
 * signal handler refuses close and keeps working. */
PC_TEST_EACH_BACKEND(test_close_refusals, "L5.close-refusals")
{
    pl_loop *loop = loop_open(backend);
    int result[4] = {1, 1, 1, 0};
    PC_ASSERT_ERR(pl_call_soon(loop, close_inside, result), 0);
    PC_ASSERT_EQ_INT(pl_loop_is_running(loop), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    PC_ASSERT_ERR(result[0], -EBUSY);
    PC_ASSERT_ERR(result[1], -EBUSY);
    PC_ASSERT_ERR(result[2], -EBUSY);
    PC_ASSERT_EQ_INT(result[3], 1);

    int fds[2];
    pipe_open(fds);
    struct io_rec r = {0};
    PC_ASSERT_ERR(pl_loop_add_reader(loop, fds[0], io_record, &r), 0);
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    /* The refused close changed nothing: the watcher still works. */
    PC_ASSERT_EQ_INT(write(fds[1], "x", 1), 1);
    run_until(loop, &r.calls, 1000);
    PC_ASSERT_EQ_UINT(r.events, PL_READABLE);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fds[0]), 0);

    struct sig_ctx sctx = {0, 0, loop};
    PC_ASSERT_ERR(pl_loop_add_signal(loop, SIGUSR2, on_sig, &sctx), 0);
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    PC_ASSERT_EQ_INT(raise(SIGUSR2), 0);
    run_until(loop, &sctx.calls, 1000);
    PC_ASSERT_ERR(pl_loop_remove_signal(loop, SIGUSR2), 0);

    /* A refused close with only a writer watcher, too. */
    PC_ASSERT_ERR(pl_loop_add_writer(loop, fds[1], io_record, &r), 0);
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    PC_ASSERT_ERR(pl_loop_remove_writer(loop, fds[1]), 0);
    fd_close(&fds[0]);
    fd_close(&fds[1]);
    /* Pending timers and callbacks own nothing: close discards them. */
    PC_ASSERT_ERR(pl_call_later(loop, 100000, count_call, &r.calls, NULL), 0);
    PC_ASSERT_ERR(pl_call_soon(loop, count_call, &r.calls), 0);
    loop_done(loop);
}

PC_TEST_EACH_BACKEND(test_watcher_refusals, "loop.watcher-refusals")
{
    pl_loop *loop = loop_open(backend);
    int fds[2];
    pipe_open(fds);
    struct io_rec first = {0}, second = {0};
    PC_ASSERT_ERR(pl_loop_add_reader(loop, fds[0], io_record, &first), 0);
    PC_ASSERT_ERR(pl_loop_add_reader(loop, fds[0], io_record, &second), -EEXIST);
    PC_ASSERT_ERR(pl_loop_add_writer(loop, fds[1], io_record, &first), 0);
    PC_ASSERT_ERR(pl_loop_add_writer(loop, fds[1], io_record, &second), -EEXIST);
    PC_ASSERT_ERR(pl_loop_remove_writer(loop, fds[1]), 0);
    /* The refused second reader changed nothing: the first still fires. */
    PC_ASSERT_EQ_INT(write(fds[1], "x", 1), 1);
    run_until(loop, &first.calls, 1000);
    PC_ASSERT_EQ_INT(second.calls, 0);
    PC_ASSERT_EQ_INT(first.fd, fds[0]);

    PC_ASSERT_ERR(pl_loop_add_reader(loop, -1, io_record, NULL), -EBADF);
    PC_ASSERT_ERR(pl_loop_add_writer(loop, -1, io_record, NULL), -EBADF);
    int closed[2];
    pipe_open(closed);
    int dead = closed[0];
    fd_close(&closed[0]);
    fd_close(&closed[1]);
    PC_ASSERT_ERR(pl_loop_add_reader(loop, dead, io_record, NULL), -EBADF);
    PC_ASSERT_ERR(pl_loop_add_reader(loop, 1 << 20, io_record, NULL), -EBADF);
    PC_ASSERT_ERR(pl_loop_add_reader(loop, fds[1], NULL, NULL), -EINVAL);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fds[1]), -ENOENT);
    PC_ASSERT_ERR(pl_loop_remove_writer(loop, fds[0]), -ENOENT);
    PC_ASSERT_ERR(pl_loop_remove_reader(loop, -1), -ENOENT);
    PC_ASSERT_ERR(pl_loop_remove_signal(loop, SIGUSR1), -ENOENT);

    PC_ASSERT_ERR(pl_loop_remove_reader(loop, fds[0]), 0);
    fd_close(&fds[0]);
    fd_close(&fds[1]);
    loop_done(loop);
}

/* Every refusal of pl_loop_new leaves *loop untouched. */
PC_TEST_EACH_BACKEND(test_new_refusals, "loop.new-refusals")
{
    const pc_backend *b = backend;
    pl_loop *const sentinel = (pl_loop *)(void *)&sentinel;
    pl_loop *loop = sentinel;
    PC_ASSERT_ERR(pl_loop_new(&loop, PL_LOOP_EPOLL | PL_LOOP_POLL), -EINVAL);
    PC_ASSERT_EQ_PTR(loop, sentinel);
    PC_ASSERT_ERR(pl_loop_new(&loop, 1u << 7), -EINVAL);
    PC_ASSERT_EQ_PTR(loop, sentinel);
    PC_ASSERT_ERR(pl_loop_new(NULL, 0), -EINVAL);

    PC_ASSERT_EQ_INT(setenv("PIPELOOP_BACKEND", "bogus", 1), 0);
    PC_ASSERT_ERR(pl_loop_new(&loop, 0), -EINVAL);
    PC_ASSERT_EQ_PTR(loop, sentinel);
    /* An explicit flag does not read the environment. */
    PC_ASSERT_ERR(pl_loop_new(&loop, b->flag), 0);
    PC_ASSERT_EQ_STR(pl_loop_backend(loop), b->name);
    loop_done(loop);

    /* The environment chooses when no flag does. */
    PC_ASSERT_EQ_INT(setenv("PIPELOOP_BACKEND", b->name, 1), 0);
    PC_ASSERT_ERR(pl_loop_new(&loop, 0), 0);
    PC_ASSERT_EQ_STR(pl_loop_backend(loop), b->name);
    loop_done(loop);
    PC_ASSERT_EQ_INT(unsetenv("PIPELOOP_BACKEND"), 0);
    /* Without either: io_uring where a ring can be made, else epoll. */
    const char *expected = "epoll";
    if (pl_loop_new(&loop, PL_LOOP_IO_URING) == 0) {
        expected = "io_uring";
        loop_done(loop);
    }
    PC_ASSERT_ERR(pl_loop_new(&loop, 0), 0);
    PC_ASSERT_EQ_STR(pl_loop_backend(loop), expected);
    loop_done(loop);
}

/* ---- run and stop --------------------------------------------------------- */

struct spin_ctx {
    int runs;
    int stop_at;
};

/* Re-queues itself every iteration; stops the loop on its stop_at-th run. */
static void spin(pl_loop *loop, void *user)
{
    struct spin_ctx *ctx = user;
    ctx->runs++;
    if (ctx->runs == ctx->stop_at)
        pl_loop_stop(loop);
    PC_ASSERT_ERR(pl_call_soon(loop, spin, ctx), 0);
}

PC_TEST_EACH_BACKEND(test_run_stop, "loop.run-stop")
{
    pl_loop *loop = loop_open(backend);
    struct spin_ctx ctx = {0, 5};
    PC_ASSERT_ERR(pl_call_soon(loop, spin, &ctx), 0);
    uint64_t before = pl_loop_iteration(loop);
    PC_ASSERT_ERR(pl_loop_run(loop), 0);
    PC_ASSERT_EQ_INT(ctx.runs, 5);
    PC_ASSERT_EQ_UINT(pl_loop_iteration(loop) - before, 5);
    PC_ASSERT_EQ_INT(pl_loop_is_running(loop), 0);

    /* The spin re-queued by the last run is still pending. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    PC_ASSERT_EQ_INT(ctx.runs, 6);
    loop_done(loop);
}

static void stop_loop(pl_loop *loop, void *user)
{
    ++*(int *)user;
    pl_loop_stop(loop);
}

PC_TEST_EACH_BACKEND(test_stop_from_timer, "loop.stop-from-timer")
{
    pl_loop *loop = loop_open(backend);
    int fired = 0;
    uint64_t start = pl_loop_update_time(loop);
    PC_ASSERT_ERR(pl_call_later(loop, 20, stop_loop, &fired, NULL), 0);
    PC_ASSERT_ERR(pl_loop_run(loop), 0);
    PC_ASSERT_EQ_INT(fired, 1);
    PC_ASSERT_GE_UINT(pl_loop_time(loop), start + 20);
    loop_done(loop);
}

/* A stop before run lets exactly one iteration happen, and is used up. */
PC_TEST_EACH_BACKEND(test_stop_before_run, "loop.stop-before-run")
{
    pl_loop *loop = loop_open(backend);
    struct spin_ctx ctx = {0, 0};
    PC_ASSERT_ERR(pl_call_soon(loop, spin, &ctx), 0);
    pl_loop_stop(loop);
    uint64_t before = pl_loop_iteration(loop);
    PC_ASSERT_ERR(pl_loop_run(loop), 0);
    PC_ASSERT_EQ_UINT(pl_loop_iteration(loop) - before, 1);
    PC_ASSERT_EQ_INT(ctx.runs, 1);

    /* The stop was consumed: the next run goes on until the next stop. */
    ctx.stop_at = 4;
    before = pl_loop_iteration(loop);
    PC_ASSERT_ERR(pl_loop_run(loop), 0);
    PC_ASSERT_EQ_INT(ctx.runs, 4);
    PC_ASSERT_EQ_UINT(pl_loop_iteration(loop) - before, 3);

    /* A stop before run with nothing ready must not block either. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1); /* drain the spin */
    pl_loop_stop(loop);
    PC_ASSERT_ERR(pl_loop_run(loop), 0);
    loop_done(loop);
}

/* run_once consumes a stop, like asyncio's run_forever: one asked for
 * inside it, or before it, has had its effect when it returns, and the
 * next run_once(-1) waits for its timer instead of returning at once. */
PC_TEST_EACH_BACKEND(test_stop_in_run_once, "loop.stop-in-run-once")
{
    pl_loop *loop = loop_open(backend);
    int fired = 0;
    PC_ASSERT_ERR(pl_call_soon(loop, stop_loop, &fired), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    PC_ASSERT_EQ_INT(fired, 1);
    int timer_fired = 0;
    PC_ASSERT_ERR(pl_call_later(loop, 20, stop_loop, &timer_fired, NULL), 0);
    /* With the stop still pending this would not wait and run nothing. */
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, -1), 1);
    PC_ASSERT_EQ_INT(timer_fired, 1);

    /* A stop before run_once: that call does not wait, and uses it up. */
    pl_loop_stop(loop);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, -1), 0);
    PC_ASSERT_ERR(pl_call_later(loop, 20, stop_loop, &timer_fired, NULL), 0);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, -1), 1);
    PC_ASSERT_EQ_INT(timer_fired, 2);

    /* The stop of run_once does not leak into a later pl_loop_run. */
    struct spin_ctx ctx = {0, 3};
    PC_ASSERT_ERR(pl_call_soon(loop, spin, &ctx), 0);
    PC_ASSERT_ERR(pl_loop_run(loop), 0);
    PC_ASSERT_EQ_INT(ctx.runs, 3);
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1); /* drain the spin */
    loop_done(loop);
}

/* ---- errors and version ------------------------------------------------------ */

PC_TEST(test_errors, "loop.errors-and-version")
{
    PC_ASSERT_EQ_STR(pl_err_name(0), "OK");
    PC_ASSERT_EQ_STR(pl_err_name(-EPIPE), "EPIPE");
    PC_ASSERT_EQ_STR(pl_err_name(-EBUSY), "EBUSY");
    PC_ASSERT_EQ_STR(pl_err_name(PL_ECLOSED), "PL_ECLOSED");
    PC_ASSERT_EQ_STR(pl_err_name(PL_EOF), "PL_EOF");
    PC_ASSERT_EQ_STR(pl_err_name(12345), "UNKNOWN");
    PC_ASSERT_EQ_STR(pl_strerror(-EPIPE), "broken pipe");
    PC_ASSERT_EQ_STR(pl_strerror(PL_EOF), "end of file");
    PC_ASSERT_EQ_STR(pl_strerror(-99999), "unknown error");
    PC_ASSERT_NOT_NULL(pl_strerror(0));
    /* Library codes sit below the errno range. */
    PC_ASSERT_LT_INT(PL_EOF, -4095);
    PC_ASSERT_LT_INT(PL_ENOTWATCHABLE, -4095);

    PC_ASSERT_EQ_UINT(pl_version(), PL_VERSION_NUMBER);
    PC_ASSERT_EQ_UINT(PL_VERSION_NUMBER, PL_VERSION_MAJOR * 1000000 +
                                             PL_VERSION_MINOR * 1000 + PL_VERSION_PATCH);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", PL_VERSION_MAJOR, PL_VERSION_MINOR,
             PL_VERSION_PATCH);
    PC_ASSERT_EQ_STR(pl_version_string(), want);
}
