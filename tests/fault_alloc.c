/* Allocation-failure sweeps (fault.alloc.*): make the N-th allocation
 * inside the library fail, for N = 1, 2, ... until a run of the scenario
 * completes without reaching N, and check at every failure point that
 *   - every call returns 0 or -ENOMEM, and -ENOMEM was reported somewhere
 *     (a call, a connection_lost, a lent write's completion): a failure is
 *     never swallowed;
 *   - every transport's connection_lost runs exactly once, with 0 or
 *     -ENOMEM; every lent write is reported exactly once;
 *   - bytes that arrive are the written stream's prefix, in order;
 *   - no fd or child is left, and a new loop still works afterwards.
 * ASan (in CI) adds: no leak, no use after free, at any failure point.
 * Each test prints how many failure points it covered. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/internal.h" /* pl__alloc_fail_at: the failure hook */
#include "conform.h"

struct sweep {
    int saw_enomem; /* this run reported -ENOMEM somewhere */
};

/* A call's result: 1 if it failed (with -ENOMEM, else the test fails). */
static int failed(struct sweep *sw, long result, const char *what)
{
    if (result >= 0)
        return 0;
    if (result != -ENOMEM)
        PC_FAIL("%s: %s, expected 0 or ENOMEM (fail at allocation %lu)", what,
                pl_err_name((int)result), pl__alloc_fail_at);
    sw->saw_enomem = 1;
    return 1;
}

#define FAILED(sw, call) failed(sw, (long)(call), #call)

/* Close the loop, running it until the transports it still has are gone. */
static void loop_finish(pl_loop *loop)
{
    int err;
    int rounds = 0;
    while ((err = pl_loop_close(loop)) == -EBUSY) {
        PC_ASSERT_LT_INT(rounds++, 100000);
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 1000), 0);
    }
    PC_ASSERT_OK(err);
}

typedef void (*scenario_fn)(struct sweep *sw, unsigned backend);

static void count_call(pl_loop *loop, void *user)
{
    (void)loop;
    ++*(int *)user;
}

/* After a run: nothing left behind, and the library works again. */
static void check_clean(int base_fd, unsigned backend)
{
    PC_ASSERT_EQ_INT(conform_lowest_free_fd(), base_fd);
    PC_ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, backend));
    int ran = 0;
    PC_ASSERT_OK(pl_call_soon(loop, count_call, &ran));
    PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 0), 1);
    PC_ASSERT_EQ_INT(ran, 1);
    PC_ASSERT_OK(pl_loop_close(loop));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sweep(const char *name, scenario_fn fn, unsigned backend)
{
    int base_fd = conform_lowest_free_fd();
    pl__alloc_nsites = 0;
    unsigned long points = 0;
    for (unsigned long n = 1;; n++) {
        struct sweep sw = {0};
        pl__alloc_count = 0;
        pl__alloc_fail_at = n;
        fn(&sw, backend);
        unsigned long reached = pl__alloc_count;
        pl__alloc_fail_at = 0;
        check_clean(base_fd, backend);
        if (reached < n)
            break; /* the whole scenario ran without reaching allocation n */
        points++;
        if (!sw.saw_enomem)
            PC_FAIL("%s: allocation %lu failed and nobody was told", name, n);
        PC_ASSERT_LT_UINT(n, 100000);
    }
    PC_ASSERT_GT_UINT(points, 0);
    printf("# %s: %lu allocation failure points at %zu sites, each handled:", name,
           points, pl__alloc_nsites);
    qsort(pl__alloc_sites, pl__alloc_nsites, sizeof pl__alloc_sites[0], by_name);
    for (size_t i = 0; i < pl__alloc_nsites; i++) {
        const char *slash = strrchr(pl__alloc_sites[i], '/');
        printf(" %s", slash ? slash + 1 : pl__alloc_sites[i]);
    }
    printf("\n");
}

/* ---- scenarios ------------------------------------------------------------ */

/* Loop creation, call_soon and timers under load (the ready queue and the
 * timer heap grow many times), threadsafe calls. */
static void scenario_loop(struct sweep *sw, unsigned backend)
{
    pl_loop *loop;
    if (FAILED(sw, pl_loop_new(&loop, backend)))
        return;
    int ran = 0, accepted = 0;
    for (int i = 0; i < 600; i++) {
        if (!FAILED(sw, pl_call_soon(loop, count_call, &ran)))
            accepted++;
        if (!FAILED(sw, pl_call_later(loop, (uint64_t)(i % 3), count_call, &ran, NULL)))
            accepted++;
    }
    if (!FAILED(sw, pl_call_soon_threadsafe(loop, count_call, &ran)))
        accepted++;
    int rounds = 0;
    while (ran < accepted) {
        PC_ASSERT_LT_INT(rounds++, 1000);
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 100), 0);
    }
    PC_ASSERT_EQ_INT(ran, accepted); /* everything accepted ran, once */
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* Transports: a write transport and a read transport on one pipe in one
 * loop; copied writes that buffer and grow the ring, lent writes, writev. */
struct pipe_state {
    struct sweep *sw;
    int made[2];
    int lost[2];
    int error[2];
    uint64_t received;
    int order_ok;
    int lent_reported;
    int lent_status;
};

static const uint64_t SEED = 0x5eed;

static void t_made(pl_transport *t, void *user)
{
    struct pipe_state *s = user;
    s->made[pl_transport_is_read(t)]++;
}

static void t_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    struct pipe_state *s = user;
    if (pc_pattern_check(SEED, s->received, data, len) != len)
        s->order_ok = 0;
    s->received += len;
}

static void t_lost(pl_transport *t, int error, void *user)
{
    struct pipe_state *s = user;
    int r = pl_transport_is_read(t);
    s->lost[r]++;
    s->error[r] = error;
    if (error == -ENOMEM)
        s->sw->saw_enomem = 1;
}

static void t_lent_done(pl_transport *t, const void *data, size_t len, int status,
                        void *user)
{
    (void)t, (void)data, (void)len;
    struct pipe_state *s = user;
    s->lent_reported++;
    s->lent_status = status;
    if (status == -ENOMEM)
        s->sw->saw_enomem = 1;
}

static const pl_protocol pipe_protocol = {t_made, t_data, NULL, t_lost, NULL, NULL};

/* A write's result: the bytes it accepted count as sent; -ENOMEM took
 * nothing; PL_ECLOSED means an earlier failure (told through
 * connection_lost) already ended the stream.  Returns 1 if it is over. */
static int wrote(struct sweep *sw, pl_transport *w, ssize_t n, uint64_t *sent)
{
    if (n == PL_ECLOSED && pl_transport_is_closing(w))
        return 1;
    if (FAILED(sw, n))
        return 1;
    *sent += (uint64_t)n;
    return 0;
}

static void scenario_pipe(struct sweep *sw, unsigned backend)
{
    enum { COPIED = 300 * 1024, LENT = 64 * 1024, PIECES = 3 };
    static unsigned char data[COPIED + LENT + PIECES * 1000];
    pc_pattern_fill(SEED, 0, data, sizeof data);
    struct pipe_state s = {.sw = sw, .order_ok = 1};
    pl_loop *loop;
    if (FAILED(sw, pl_loop_new(&loop, backend)))
        return;
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    pl_transport *r = NULL, *w = NULL;
    if (FAILED(sw, pl_connect_read_pipe(loop, fds[0], &pipe_protocol, &s, &r)))
        close(fds[0]);
    if (FAILED(sw, pl_connect_write_pipe(loop, fds[1], &pipe_protocol, &s, &w))) {
        close(fds[1]);
        w = NULL;
    }
    uint64_t sent = 0; /* bytes the writer accepted, in stream order */
    int lent_queued = 0;
    if (w) {
        /* Each write either takes everything or nothing (-ENOMEM); once
         * one failed the stream stops, so what arrives is a prefix. */
        int broken = 0;
        for (size_t off = 0; off < COPIED && !broken; off += 50 * 1024)
            broken = wrote(sw, w, pl_transport_write(w, data + off, 50 * 1024), &sent);
        if (!broken) {
            broken = wrote(
                sw, w, pl_transport_write_lent(w, data + COPIED, LENT, t_lent_done, &s),
                &sent);
            lent_queued = !broken;
        }
        if (!broken) {
            struct iovec iov[PIECES];
            for (int i = 0; i < PIECES; i++)
                iov[i] = (struct iovec){data + COPIED + LENT + i * 1000, 1000};
            (void)wrote(sw, w, pl_transport_writev(w, iov, PIECES), &sent);
        }
        PC_ASSERT_OK(pl_transport_close(w));
    }
    loop_finish(loop);
    /* Callbacks exactly once; errors only ENOMEM; the bytes a prefix. */
    for (int i = 0; i < 2; i++) {
        int had = i ? r != NULL : w != NULL;
        PC_ASSERT_EQ_INT(s.lost[i], had);
        PC_ASSERT_EQ_INT(s.made[i], had);
        if (had && s.error[i] != 0 && s.error[i] != -EPIPE)
            PC_ASSERT_ERR(s.error[i], -ENOMEM);
    }
    PC_ASSERT_EQ_INT(s.order_ok, 1);
    PC_ASSERT_LE_UINT(s.received, sent);
    if (r && w && s.error[0] == 0 && s.error[1] == 0)
        PC_ASSERT_EQ_UINT(s.received, sent); /* nothing lost unannounced */
    PC_ASSERT_EQ_INT(s.lent_reported, lent_queued);
}

/* Signals: a handler is added (the table and the loop's list allocate),
 * the signal is delivered and handled, the handler removed. */
static void on_signal(pl_loop *loop, int signum, void *user)
{
    (void)loop, (void)signum;
    ++*(int *)user;
}

static void scenario_signal(struct sweep *sw, unsigned backend)
{
    pl_loop *loop;
    if (FAILED(sw, pl_loop_new(&loop, backend)))
        return;
    int got = 0;
    if (!FAILED(sw, pl_loop_add_signal(loop, SIGUSR2, on_signal, &got))) {
        PC_ASSERT_OK(raise(SIGUSR2));
        int rounds = 0;
        while (!got) {
            PC_ASSERT_LT_INT(rounds++, 100);
            PC_ASSERT_GE_INT(pl_loop_run_once(loop, 1000), 0);
        }
        PC_ASSERT_OK(pl_loop_remove_signal(loop, SIGUSR2));
    }
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* Spawn with every stdio option: pipes (three transports), /dev/null, an
 * fd of ours, stderr into stdout, inherit. */
struct proc_state {
    struct sweep *sw;
    int lost;
    int pipes_lost;
    uint64_t out;
};

static void p_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    (void)p, (void)fd, (void)data;
    ((struct proc_state *)user)->out += len;
}

static void p_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    (void)p, (void)fd;
    struct proc_state *s = user;
    s->pipes_lost++;
    if (error == -ENOMEM)
        s->sw->saw_enomem = 1;
    else if (error != 0 && error != -EPIPE)
        PC_FAIL("pipe %d lost with %s", fd, pl_err_name(error));
}

static void p_lost(pl_process *p, void *user)
{
    (void)p;
    ((struct proc_state *)user)->lost++;
}

static const pl_process_protocol proc_protocol = {.pipe_data_received = p_data,
                                                  .pipe_connection_lost = p_pipe_lost,
                                                  .connection_lost = p_lost};

static void scenario_spawn(struct sweep *sw, unsigned backend)
{
    static const int layouts[][3] = {
        {PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE},
        {PL_STDIO_DEVNULL, PL_STDIO_FD, PL_STDIO_STDOUT},
        {PL_STDIO_INHERIT, PL_STDIO_PIPE, PL_STDIO_DEVNULL},
    };
    pl_loop *loop;
    if (FAILED(sw, pl_loop_new(&loop, backend)))
        return;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    PC_ASSERT_GE_INT(devnull, 0);
    for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
        static char sh[] = "sh", dash_c[] = "-c", script[] = "echo out; echo err >&2";
        static char extra_script[] = "echo out; echo err >&2; echo three >&3";
        char *argv[] = {sh, dash_c, script, NULL};
        pl_spawn_options o;
        memset(&o, 0, sizeof o);
        o.file = "sh";
        o.argv = argv;
        for (int i = 0; i < 3; i++) {
            o.stdio[i].kind = (enum pl_stdio_kind)layouts[l][i];
            o.stdio[i].fd = devnull;
        }
        /* The last layout also has extra fds (spec S15): a pipe each way
         * and an fd, so the slots and their transports are swept too. */
        const pl_stdio_extra extra[] = {
            {.child_fd = 3, .kind = PL_STDIO_PIPE, .parent_reads = 1},
            {.child_fd = 4, .kind = PL_STDIO_PIPE, .parent_reads = 0},
            {.child_fd = 6, .kind = PL_STDIO_FD, .fd = devnull},
        };
        if (l == sizeof layouts / sizeof layouts[0] - 1) {
            argv[2] = extra_script;
            o.extra = extra;
            o.nextra = sizeof extra / sizeof extra[0];
        }
        struct proc_state s = {.sw = sw};
        pl_process *p;
        if (FAILED(sw, pl_spawn(loop, &o, &proc_protocol, &s, &p)))
            continue;
        if (o.stdio[0].kind == PL_STDIO_PIPE)
            (void)pl_transport_close(pl_process_get_pipe_transport(p, 0));
        if (o.nextra)
            (void)pl_transport_close(pl_process_get_pipe_transport(p, 4));
        int rounds = 0;
        while (!s.lost) {
            PC_ASSERT_LT_INT(rounds++, 10000);
            PC_ASSERT_GE_INT(pl_loop_run_once(loop, 1000), 0);
        }
        PC_ASSERT_EQ_INT(s.lost, 1);
    }
    close(devnull);
    loop_finish(loop);
}

/* Public fd watchers, and transports that fall back to O_NONBLOCK on a
 * shared description (three on one description: the registry grows). */
static void on_io(pl_loop *loop, int fd, unsigned revents, void *user)
{
    (void)loop, (void)fd, (void)revents;
    ++*(int *)user;
}

static void scenario_watchers_shared(struct sweep *sw, unsigned backend)
{
    pl_loop *loop;
    if (FAILED(sw, pl_loop_new(&loop, backend)))
        return;
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    int hits = 0;
    if (!FAILED(sw, pl_loop_add_writer(loop, fds[1], on_io, &hits))) {
        PC_ASSERT_EQ_INT(pl_loop_run_once(loop, 1000), 1);
        PC_ASSERT_OK(pl_loop_remove_writer(loop, fds[1]));
    }
    struct pipe_state s = {.sw = sw, .order_ok = 1};
    int ends[3] = {fds[0], fcntl(fds[0], F_DUPFD_CLOEXEC, 0),
                   fcntl(fds[0], F_DUPFD_CLOEXEC, 0)};
    int connected = 0;
    for (int i = 0; i < 3; i++) {
        pl_transport *t;
        if (FAILED(sw, pl_connect_read_pipe_ex(loop, ends[i], PL_CONNECT_SHARED_NONBLOCK,
                                               &pipe_protocol, &s, &t)))
            close(ends[i]);
        else
            connected++;
    }
    close(fds[1]); /* EOF for every reader */
    loop_finish(loop);
    PC_ASSERT_EQ_INT(s.lost[1], connected);
    PC_ASSERT_EQ_INT(s.made[1], connected);
}

/* ---- registration ------------------------------------------------------- */

/* A sweep gets a test's whole budget: it reruns the scenario once per
 * allocation. */
static void run_sweep(const pc_backend *backend, scenario_fn fn)
{
    pc_set_timeout_ms(120000);
    sweep(pc_current_test(), fn, backend->flag);
}

PC_TEST_EACH_BACKEND(sweep_loop, "fault.alloc.loop-calls-timers")
{
    run_sweep(backend, scenario_loop);
}

PC_TEST_EACH_BACKEND(sweep_pipe, "fault.alloc.pipe-transports")
{
    run_sweep(backend, scenario_pipe);
}

PC_TEST_EACH_BACKEND(sweep_signal, "fault.alloc.signals")
{
    run_sweep(backend, scenario_signal);
}

PC_TEST_EACH_BACKEND(sweep_spawn, "fault.alloc.spawn-stdio")
{
    run_sweep(backend, scenario_spawn);
}

PC_TEST_EACH_BACKEND(sweep_watchers_shared, "fault.alloc.watchers-shared-flags")
{
    run_sweep(backend, scenario_watchers_shared);
}
