/* Syscall faults (fault.sys.*): the library's reads, writes, poller
 * registrations and fd-making calls go through a test hook
 * (pl__sys_fault), which here answers at seeded random points with short
 * reads and writes, EINTR, spurious EAGAIN, EIO, ENOMEM/ENOSPC from the
 * poller and EMFILE/ENFILE for new fds.  Invariants: every byte arrives
 * once and in order (or the transport ends with the injected error, once);
 * the callback grammar holds (the recorder checks CM first, CL once and
 * last, no DR after ER, PW/RW alternating); nothing is left behind.
 * The seed is the run's (--seed replays it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/internal.h" /* pl__sys_fault, pl__io_refuse */
#include "conform.h"

#define WAIT_MS 20000u

/* ---- the hook ------------------------------------------------------------- */

static struct {
    uint64_t rng;
    int fds[2];          /* only these fds' reads and writes are faulted */
    unsigned percent;    /* chance that a call gets some fault */
    int fail_read_error; /* after read_budget bytes, reads fail with this */
    uint64_t read_budget;
    int fail_write_error; /* after write_budget bytes, writes fail with this */
    uint64_t write_budget;
    int poll_error; /* registrations of fds[] fail with this */
    int new_fd_error;
    unsigned new_fd_countdown; /* fail the N-th new fd (1 = the next) */
    unsigned injected;
    unsigned eintr, eagain, shortened; /* the random faults, by kind */
} hook;

static uint64_t rng_next(void)
{
    hook.rng ^= hook.rng << 13;
    hook.rng ^= hook.rng >> 7;
    hook.rng ^= hook.rng << 17;
    return hook.rng;
}

static int ours(int fd)
{
    return fd >= 0 && (fd == hook.fds[0] || fd == hook.fds[1]);
}

static int fault_hook(enum pl__sys_op op, int fd, size_t *len)
{
    if (op == PL__SYS_NEW_FD) {
        if (hook.new_fd_countdown && --hook.new_fd_countdown == 0) {
            hook.injected++;
            return hook.new_fd_error;
        }
        return 0;
    }
    if (!ours(fd))
        return 0;
    if (op == PL__SYS_POLL_UPDATE) {
        if (hook.poll_error)
            hook.injected++;
        return hook.poll_error;
    }
    if (op == PL__SYS_READ && hook.fail_read_error) {
        if (hook.read_budget == 0) {
            hook.injected++;
            return hook.fail_read_error;
        }
        if (*len > hook.read_budget) /* data_received counts it down */
            *len = (size_t)hook.read_budget;
    }
    if (op == PL__SYS_WRITE && hook.fail_write_error && hook.write_budget == 0) {
        hook.injected++;
        return hook.fail_write_error;
    }
    if (rng_next() % 100 >= hook.percent)
        return 0;
    hook.injected++;
    switch (rng_next() % 4) {
    case 0:
        hook.eintr++;
        return -EINTR; /* retried inside the library */
    case 1:
        hook.eagain++;
        return -EAGAIN; /* spurious: readiness will come again */
    default:
        /* Short: at least one byte (a read of 0 would be end of file). */
        if (*len > 1) {
            /* Half the time only the last few bytes are left out: bugs
             * that lose a tail hide from uniformly random lengths. */
            size_t cut = 1 + (size_t)(rng_next() % (*len - 1));
            if (rng_next() % 2 && cut > 16)
                cut = 1 + (size_t)(rng_next() % 16);
            *len -= cut;
        }
        hook.shortened++;
        return 0;
    }
}

static void hook_reset(int fd0, int fd1, unsigned percent)
{
    memset(&hook, 0, sizeof hook);
    hook.rng = pc_seed() | 1;
    hook.fds[0] = fd0;
    hook.fds[1] = fd1;
    hook.percent = percent;
    pl__sys_fault = fault_hook;
}

static void hook_off(void)
{
    pl__sys_fault = NULL;
}

/* ---- a stream through faults ---------------------------------------------- */

struct stream {
    struct conform_writer writer; /* first: pump's argument is the stream */
    pl_transport *w;
    uint64_t total, sent;
    int lent_pending;
    int lent_reported;
    int lent_error;
    unsigned dr_calls;
    unsigned char chunk[64 * 1024];
    unsigned char lent[3][16 * 1024];
    int lent_busy[3];
};

static uint64_t seed_of_stream(void)
{
    return pc_seed() ^ 0x9e3779b97f4a7c15u;
}

static void lent_done(pl_transport *t, const void *data, size_t len, int status,
                      void *user)
{
    (void)t, (void)len;
    struct stream *s = user;
    for (int i = 0; i < 3; i++)
        if (data == s->lent[i])
            s->lent_busy[i] = 0;
    s->lent_pending--;
    s->lent_reported++;
    if (status)
        s->lent_error = status;
}

/* Write until paused or done: copied, lent and vectored writes of random
 * sizes, then close (a graceful close that must flush everything). */
static void pump(struct conform_writer *writer, pc_transport *t)
{
    struct stream *s = (struct stream *)writer;
    s->w = pc_transport_native(t);
    while (!s->writer.paused && s->sent < s->total && !pl_transport_is_closing(s->w)) {
        size_t n = 1 + (size_t)(rng_next() % (16 * 1024));
        if (n > s->total - s->sent)
            n = (size_t)(s->total - s->sent);
        uint64_t seed = seed_of_stream();
        ssize_t r;
        unsigned how = (unsigned)(rng_next() % 3);
        int slot = -1;
        for (int i = 0; i < 3 && how == 1; i++)
            if (!s->lent_busy[i])
                slot = i;
        if (how == 1 && slot >= 0) {
            if (n > sizeof s->lent[0])
                n = sizeof s->lent[0];
            pc_pattern_fill(seed, s->sent, s->lent[slot], n);
            s->lent_busy[slot] = 1;
            s->lent_pending++;
            r = pl_transport_write_lent(s->w, s->lent[slot], n, lent_done, s);
        } else if (how == 2 && n >= 2) {
            pc_pattern_fill(seed, s->sent, s->chunk, n);
            struct iovec iov[2] = {{s->chunk, n / 2}, {s->chunk + n / 2, n - n / 2}};
            r = pl_transport_writev(s->w, iov, 2);
        } else {
            pc_pattern_fill(seed, s->sent, s->chunk, n);
            r = pl_transport_write(s->w, s->chunk, n);
        }
        if (r == PL_ECLOSED) /* an injected error already ended it */
            return;
        PC_ASSERT_EQ_INT(r, (ssize_t)n);
        s->sent += n;
    }
    if (s->sent == s->total)
        PC_ASSERT_OK(pl_transport_close(s->w));
}

static void resume_later(pl_loop *loop, void *user)
{
    (void)loop;
    (void)pl_transport_resume_reading(user);
}

/* The reader pauses now and then and resumes from a later iteration. */
static void r_data(pc_transport *pt, const void *data, size_t len, void *user)
{
    (void)data, (void)len;
    struct stream *s = user;
    pl_transport *t = pc_transport_native(pt);
    if (++s->dr_calls % 7 == 0) {
        PC_ASSERT_OK(pl_transport_pause_reading(t));
        PC_ASSERT_OK(pl_call_soon(pl_transport_get_loop(t), resume_later, t));
    }
}

static const pc_protocol reader_hooks = {.data_received = r_data};

enum stream_kind { STREAM_PIPE, STREAM_PIPE_NOWAIT, STREAM_SOCKET };

static const struct {
    const char *name;
    enum stream_kind kind;
} stream_kinds[] = {
    {"pipe", STREAM_PIPE},
    {"pipe-nowait", STREAM_PIPE_NOWAIT},
    {"socketpair", STREAM_SOCKET},
};

static void open_stream_fds(enum stream_kind kind, int *rfd, int *wfd)
{
    /* Without the reopen, pipes use RWF_NOWAIT (PL_IO_NOWAIT). */
    pl__io_refuse = kind == STREAM_PIPE_NOWAIT ? PL__REFUSE_REOPEN : 0;
    int fds[2];
    if (kind == STREAM_SOCKET)
        PC_ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
    else
        PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    *rfd = fds[0];
    *wfd = fds[1];
}

/* A pipeloop loop the recorders can use (they take the bench's pc_loop);
 * returns the library's own. */
static pl_loop *new_loop(const pc_backend *backend, pc_loop **bench_loop)
{
    PC_ASSERT_OK(pc_subject_pipeloop.loop_new(bench_loop, backend->name));
    return pc_loop_native(*bench_loop);
}

/* A transport driving a recorder. */
static pl_transport *connect_recorded(pc_loop *loop, int fd, int is_read,
                                      pc_recorder *rec)
{
    pc_transport *t;
    PC_ASSERT_OK(is_read ? pc_subject_pipeloop.connect_read_pipe(
                               loop, fd, &pc_recorder_protocol, rec, &t)
                         : pc_subject_pipeloop.connect_write_pipe(
                               loop, fd, &pc_recorder_protocol, rec, &t));
    return pc_transport_native(t);
}

/* Connect reader and writer recorders (hooks as given) on one loop. */
static void connect_both(pc_loop *loop, int rfd, int wfd, pc_recorder *rrec,
                         pc_recorder *wrec, pl_transport **r, pl_transport **w)
{
    *r = connect_recorded(loop, rfd, 1, rrec);
    *w = connect_recorded(loop, wfd, 0, wrec);
}

static void transfer(const pc_backend *backend, void *arg)
{
    enum stream_kind kind = *(const enum stream_kind *)arg;
    pc_set_timeout_ms(60000);
    pc_loop *bench_loop;
    pl_loop *loop = new_loop(backend, &bench_loop);
    int rfd, wfd;
    open_stream_fds(kind, &rfd, &wfd);
    static struct stream s;
    memset(&s, 0, sizeof s);
    s.writer.fill = pump;
    s.total = 16u << 20; /* enough calls that each fault kind comes >= 10 times */
    pc_recorder *rrec = pc_recorder_new(bench_loop, "read transport");
    pc_recorder *wrec = pc_recorder_new(bench_loop, "write transport");
    pc_recorder_expect_pattern(rrec, seed_of_stream());
    pc_recorder_set_hooks(rrec, &reader_hooks, &s);
    pc_recorder_set_hooks(wrec, &conform_writer_hooks, &s);
    pl_transport *r, *w;
    connect_both(bench_loop, rfd, wfd, rrec, wrec, &r, &w);
    if (kind == STREAM_PIPE_NOWAIT)
        PC_ASSERT_EQ_INT(pl_transport_get_io_mode(r), PL_IO_NOWAIT);
    hook_reset(rfd, wfd, 40);
    PC_RUN_UNTIL(loop, pc_recorder_lost(rrec) && pc_recorder_lost(wrec), WAIT_MS);
    hook_off();
    /* Every kind of fault happened, many times. */
    PC_ASSERT_GE_UINT(hook.eintr, 10);
    PC_ASSERT_GE_UINT(hook.eagain, 10);
    PC_ASSERT_GE_UINT(hook.shortened, 10);
    /* Everything arrived once and in order (the recorder checked the
     * pattern), then EOF; both ends finished cleanly. */
    PC_ASSERT_EQ_UINT(s.sent, s.total);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rrec), s.total);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(rrec, PC_EV_ER), 1);
    PC_ASSERT_ERR(pc_recorder_error(rrec), 0);
    PC_ASSERT_ERR(pc_recorder_error(wrec), 0);
    PC_ASSERT_EQ_INT(s.lent_pending, 0);
    PC_ASSERT_EQ_INT(s.lent_error, 0);
    printf("# %u EINTR, %u spurious EAGAIN, %u short calls; %d lent writes, %zu PW\n",
           hook.eintr, hook.eagain, hook.shortened, s.lent_reported,
           pc_recorder_count(wrec, PC_EV_PW));
    pc_recorder_free(rrec);
    pc_recorder_free(wrec);
    PC_ASSERT_OK(pl_loop_close(loop));
    pl__io_refuse = 0;
}

/* ---- one error, reported once ------------------------------------------- */

/* EIO on a read after some data: the data before it arrived in order, then
 * CL(-EIO), without eof_received (spec R10). */
static void count_read(pc_transport *t, const void *data, size_t len, void *user)
{
    (void)t, (void)data, (void)user;
    hook.read_budget -= len;
}

static const pc_protocol budget_hooks = {.data_received = count_read};

static void read_eio(const pc_backend *backend, void *arg)
{
    enum stream_kind kind = *(const enum stream_kind *)arg;
    pc_loop *bench_loop;
    pl_loop *loop = new_loop(backend, &bench_loop);
    int rfd, wfd;
    open_stream_fds(kind, &rfd, &wfd);
    pc_recorder *rec = pc_recorder_new(bench_loop, "read transport");
    pc_recorder_expect_pattern(rec, 11);
    pc_recorder_set_hooks(rec, &budget_hooks, NULL);
    (void)connect_recorded(bench_loop, rfd, 1, rec);
    hook_reset(rfd, -1, 20);
    hook.fail_read_error = -EIO;
    hook.read_budget = 3000;
    unsigned char buf[5000];
    pc_pattern_fill(11, 0, buf, sizeof buf);
    PC_ASSERT_EQ_INT(write(wfd, buf, sizeof buf), (int)sizeof buf);
    PC_RUN_UNTIL(loop, pc_recorder_lost(rec), WAIT_MS);
    hook_off();
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), 3000);
    PC_ASSERT_ERR(pc_recorder_error(rec), -EIO);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(rec, PC_EV_ER), 0);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(rec, PC_EV_CL), 1);
    close(wfd);
    pc_recorder_free(rec);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* A write that fails (EIO, ENOSPC) with data buffered and a lent write
 * pending: CL(error) once; the lent write is reported once, with it. */
struct lent_probe {
    int reported;
    int status;
};

static void probe_done(pl_transport *t, const void *data, size_t len, int status,
                       void *user)
{
    (void)t, (void)data, (void)len;
    struct lent_probe *p = user;
    p->reported++;
    p->status = status;
}

static void write_error_case(const pc_backend *backend, enum stream_kind kind, int error)
{
    pc_loop *bench_loop;
    pl_loop *loop = new_loop(backend, &bench_loop);
    int rfd, wfd;
    open_stream_fds(kind, &rfd, &wfd);
    pc_recorder *rec = pc_recorder_new(bench_loop, "write transport");
    pl_transport *t;
    t = connect_recorded(bench_loop, wfd, 0, rec);
    PC_RUN_UNTIL(loop, pc_recorder_count(rec, PC_EV_CM) == 1, WAIT_MS);
    hook_reset(-1, wfd, 0);
    hook.fail_write_error = -EAGAIN; /* the kernel is "full": all is queued */
    static unsigned char data[100000];
    PC_ASSERT_EQ_INT(pl_transport_write(t, data, 40000), 40000);
    struct lent_probe probe = {0, 0};
    PC_ASSERT_EQ_INT(pl_transport_write_lent(t, data, sizeof data, probe_done, &probe),
                     (int)sizeof data);
    hook.fail_write_error = error; /* the flush fails */
    PC_RUN_UNTIL(loop, pc_recorder_lost(rec), WAIT_MS);
    hook_off();
    PC_ASSERT_ERR(pc_recorder_error(rec), error);
    PC_ASSERT_EQ_SIZE(pc_recorder_count(rec, PC_EV_CL), 1);
    PC_ASSERT_EQ_INT(probe.reported, 1);
    PC_ASSERT_ERR(probe.status, error);
    int unread = -1;
    PC_ASSERT_OK(ioctl(rfd, FIONREAD, &unread));
    PC_ASSERT_EQ_INT(unread, 0); /* nothing went after the failure */
    close(rfd);
    pc_recorder_free(rec);
    PC_ASSERT_OK(pl_loop_close(loop));
}

static void write_error(const pc_backend *backend, void *arg)
{
    enum stream_kind kind = *(const enum stream_kind *)arg;
    write_error_case(backend, kind, -EIO);
    write_error_case(backend, kind, -ENOSPC);
}

/* The poller refuses a registration (epoll_ctl: ENOMEM, or ENOSPC past
 * max_user_watches): a read transport that cannot start reading, and a
 * write transport that cannot watch for room, end with CL(error) once and
 * nothing else. */
static void poll_update_error(const pc_backend *backend, void *arg)
{
    enum stream_kind kind = *(const enum stream_kind *)arg;
    static const int errors[] = {-ENOMEM, -ENOSPC};
    for (size_t e = 0; e < 2; e++) {
        pc_loop *bench_loop;
        pl_loop *loop = new_loop(backend, &bench_loop);
        int rfd, wfd;
        open_stream_fds(kind, &rfd, &wfd);
        pc_recorder *rrec = pc_recorder_new(bench_loop, "read transport");
        pc_recorder *wrec = pc_recorder_new(bench_loop, "write transport");
        pl_transport *r, *w;
        connect_both(bench_loop, rfd, wfd, rrec, wrec, &r, &w);
        hook_reset(rfd, wfd, 0);
        hook.poll_error = errors[e];
        /* Both start watching in connection_made's iteration. */
        PC_RUN_UNTIL(loop, pc_recorder_lost(rrec) && pc_recorder_lost(wrec), WAIT_MS);
        hook_off();
        PC_ASSERT_EQ_STR(pc_recorder_sequence(rrec), "CM CL");
        PC_ASSERT_EQ_STR(pc_recorder_sequence(wrec), "CM CL");
        PC_ASSERT_ERR(pc_recorder_error(rrec), errors[e]);
        PC_ASSERT_ERR(pc_recorder_error(wrec), errors[e]);
        pc_recorder_free(rrec);
        pc_recorder_free(wrec);
        PC_ASSERT_OK(pl_loop_close(loop));
    }
}

/* EMFILE/ENFILE for each fd the library makes: the loop's wakeup, a
 * child's stdio pipes, its pidfd.  The call fails with that error and
 * leaves no fd and no child. */

static void spawn_lost(pl_process *p, void *user)
{
    (void)p;
    ++*(int *)user;
}

PC_TEST_EACH_BACKEND(new_fd_errors, "fault.sys.new-fd-error")
{
    static const int errors[] = {-EMFILE, -ENFILE};
    int base = conform_lowest_free_fd();
    for (size_t e = 0; e < 2; e++) {
        hook_reset(-1, -1, 0);
        hook.new_fd_error = errors[e];
        hook.new_fd_countdown = 1;
        pl_loop *loop = NULL;
        PC_ASSERT_ERR(pl_loop_new(&loop, backend->flag), errors[e]);
        PC_ASSERT_NULL(loop);
        PC_ASSERT_EQ_INT(conform_lowest_free_fd(), base);
        hook_off();
        PC_ASSERT_OK(pl_loop_new(&loop, backend->flag));
        /* The n-th new fd of a spawn with three pipes: each pipe, then the
         * pidfd (where the kernel has pidfds). */
        static const pl_process_protocol proto = {.connection_lost = spawn_lost};
        char *argv[4];
        pl_spawn_options o = conform_sh("exit 0", argv);
        for (int i = 0; i < 3; i++)
            o.stdio[i].kind = PL_STDIO_PIPE;
        for (unsigned n = 1;; n++) {
            hook_reset(-1, -1, 0);
            hook.new_fd_error = errors[e];
            hook.new_fd_countdown = n;
            int lost = 0;
            pl_process *p;
            int err = pl_spawn(loop, &o, &proto, &lost, &p);
            unsigned injected = hook.injected;
            hook_off();
            if (!injected) {
                PC_ASSERT_OK(err);
                PC_ASSERT_GE_UINT(n, 4); /* three pipes at least */
                PC_RUN_UNTIL(loop, lost == 1, WAIT_MS);
                break;
            }
            PC_ASSERT_ERR(err, errors[e]);
            PC_ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
            PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 0); /* nothing queued */
        }
        PC_ASSERT_OK(pl_loop_close(loop));
        PC_ASSERT_EQ_INT(conform_lowest_free_fd(), base);
    }
}

/* ---- registration ------------------------------------------------------- */

/* The tests that move data run on every stream kind and backend:
 * "fault.sys.transfer@pipe-nowait/poll". */
__attribute__((constructor)) static void register_fault_sys(void)
{
    static const struct {
        const char *name;
        void (*fn)(const pc_backend *backend, void *arg);
    } tests[] = {
        {"fault.sys.transfer", transfer},
        {"fault.sys.read-eio", read_eio},
        {"fault.sys.write-error", write_error},
        {"fault.sys.poll-update-error", poll_update_error},
    };
    for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++) {
        for (size_t k = 0; k < sizeof stream_kinds / sizeof stream_kinds[0]; k++) {
            char name[96];
            snprintf(name, sizeof name, "%s@%s", tests[t].name, stream_kinds[k].name);
            (void)pc_test_add_each_backend(name, tests[t].fn,
                                           (void *)&stream_kinds[k].kind, 0);
        }
    }
}
