/* Hostile conditions: running out of fds must give a clear error and leave
 * nothing behind (no fd, no child); a storm of signals interrupting every
 * wait (EINTR) must lose nothing.  On both backends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "conform.h"

static void set_fd_limit(rlim_t soft)
{
    struct rlimit rl;
    PC_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    rl.rlim_cur = soft;
    PC_ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
}

/* pl_loop_new needs two fds (epoll: the poller and the wakeup; poll: the
 * wakeup); with room for fewer it fails with -EMFILE and keeps none. */
PC_TEST_EACH_BACKEND(loop_new_without_fds, "loop.new-without-fds")
{
    unsigned flags = backend->flag;
    struct rlimit saved;
    PC_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &saved));
    int low = conform_lowest_free_fd();
    int needed = flags == PL_LOOP_POLL ? 1 : 2;
    for (int room = 0; room < needed; room++) {
        set_fd_limit((rlim_t)(low + room));
        pl_loop *loop = NULL;
        PC_ASSERT_ERR(pl_loop_new(&loop, flags), -EMFILE);
        PC_ASSERT_NULL(loop);
        set_fd_limit(saved.rlim_cur);
        /* Nothing was kept: the lowest free fd is where it was. */
        PC_ASSERT_EQ_INT(conform_lowest_free_fd(), low);
    }
    set_fd_limit((rlim_t)(low + needed));
    pl_loop *loop = NULL;
    PC_ASSERT_OK(pl_loop_new(&loop, flags));
    set_fd_limit(saved.rlim_cur);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* X1 with no spare fd: reopening the pipe needs one, so the transport
 * takes RWF_NOWAIT instead (probed when the loop was made), still leaving
 * the description's flags alone, and moves data. */
static const pl_protocol quiet = {0};

PC_TEST_EACH_BACKEND(connect_without_spare_fd, "X1.connect-without-spare-fd@pipe")
{
    unsigned flags = backend->flag;
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, flags));
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    int status = fcntl(fds[1], F_GETFL);
    struct rlimit saved;
    PC_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &saved));
    set_fd_limit((rlim_t)conform_lowest_free_fd());
    pl_transport *t;
    int err = pl_connect_write_pipe(loop, fds[1], &quiet, NULL, &t);
    set_fd_limit(saved.rlim_cur);
    PC_ASSERT_OK(err);
    PC_ASSERT_EQ_INT(pl_transport_get_io_mode(t), PL_IO_NOWAIT);
    PC_ASSERT_EQ_INT(fcntl(fds[1], F_GETFL), status);
    PC_ASSERT_EQ_INT(pl_transport_write(t, "ok", 2), 2);
    char buf[2];
    PC_ASSERT_EQ_INT(read(fds[0], buf, 2), 2);
    PC_ASSERT_EQ_MEM(buf, "ok", 2);
    PC_ASSERT_OK(pl_transport_close(t));
    while (pl_loop_close(loop) == -EBUSY)
        PC_ASSERT_GE_INT(pl_loop_run_once(loop, 1000), 0);
    close(fds[0]);
}

struct spawn_state {
    int lost;
};

static void spawn_lost(pl_process *p, void *user)
{
    struct spawn_state *s = user;
    (void)p;
    s->lost = 1;
}

/* pl_spawn with stdin, stdout and stderr on pipes opens six fds and a
 * pidfd; at every point where the fds run out it must fail with -EMFILE,
 * with no fd open and no child left (the runner checks both). */
PC_TEST_EACH_BACKEND(spawn_without_fds, "S7.spawn-without-fds")
{
    unsigned flags = backend->flag;
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, flags));
    struct rlimit saved;
    PC_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &saved));
    int low = conform_lowest_free_fd();
    static const pl_process_protocol proto = {.connection_lost = spawn_lost};
    char *argv[] = {(char *)"cat", NULL};
    pl_spawn_options o = conform_program(argv);
    for (int i = 0; i < 3; i++)
        o.stdio[i].kind = PL_STDIO_PIPE;
    int failures = 0, successes = 0;
    for (int room = 0; room < 12; room++) {
        set_fd_limit((rlim_t)(low + room));
        struct spawn_state s = {0};
        pl_process *p = NULL;
        int err = pl_spawn(loop, &o, &proto, &s, &p);
        set_fd_limit(saved.rlim_cur);
        if (err) {
            PC_ASSERT_ERR(err, -EMFILE);
            PC_ASSERT_EQ_INT(conform_lowest_free_fd(), low);
            failures++;
            continue;
        }
        successes++;
        PC_ASSERT_OK(pl_process_close(p));
        PC_RUN_UNTIL(loop, s.lost, 5000);
        PC_ASSERT_EQ_INT(conform_lowest_free_fd(), low);
    }
    /* Both outcomes were reached: the limit really bit, and enough room
     * was enough. */
    PC_ASSERT_GT_INT(failures, 0);
    PC_ASSERT_GT_INT(successes, 0);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- EINTR -------------------------------------------------------------- */

static volatile sig_atomic_t alarms;

static void on_alarm(int signum)
{
    (void)signum;
    alarms++;
}

struct storm {
    pl_transport *writer;
    uint64_t sent, received, total;
    int lost;
    int paused;
    uint64_t seed;
};

static void storm_pump(struct storm *s)
{
    unsigned char buf[16384];
    while (!s->paused && s->sent < s->total) {
        size_t n = sizeof buf;
        if (n > s->total - s->sent)
            n = (size_t)(s->total - s->sent);
        pc_pattern_fill(s->seed, s->sent, buf, n);
        PC_ASSERT_EQ_INT(pl_transport_write(s->writer, buf, n), (int)n);
        s->sent += n;
    }
    if (s->sent == s->total)
        PC_ASSERT_OK(pl_transport_close(s->writer));
}

static void storm_made(pl_transport *t, void *user)
{
    struct storm *s = user;
    if (!pl_transport_is_read(t))
        storm_pump(s);
}

static void storm_pause(pl_transport *t, void *user)
{
    (void)t;
    ((struct storm *)user)->paused = 1;
}

static void storm_resume(pl_transport *t, void *user)
{
    struct storm *s = user;
    (void)t;
    s->paused = 0;
    storm_pump(s);
}

static void storm_data(pl_transport *t, const void *data, size_t len, void *user)
{
    struct storm *s = user;
    (void)t;
    size_t bad = pc_pattern_check(s->seed, s->received, data, len);
    if (bad < len)
        PC_FAIL("byte %llu is wrong", (unsigned long long)(s->received + bad));
    s->received += len;
}

static void storm_lost(pl_transport *t, int error, void *user)
{
    (void)t;
    PC_ASSERT_ERR(error, 0);
    ((struct storm *)user)->lost++;
}

/* SIGALRM every 200 us, without SA_RESTART, while 8 MiB go through a pipe
 * in one loop: every blocked wait is interrupted, and nothing may be lost,
 * doubled or reported as an error. */
PC_TEST_EACH_BACKEND(eintr_storm, "R9.eintr-storm@pipe")
{
    unsigned flags = backend->flag;
    pc_set_timeout_ms(20000);
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: waits fail with EINTR */
    PC_ASSERT_OK(sigaction(SIGALRM, &sa, &old_sa));
    pl_loop *loop;
    PC_ASSERT_OK(pl_loop_new(&loop, flags));
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    fcntl(fds[0], F_SETPIPE_SZ, 4096); /* many small waits */
    struct storm s = {NULL, 0, 0, 8u << 20, 0, 0, pc_seed()};
    static const pl_protocol proto = {storm_made, storm_data,  NULL,
                                      storm_lost, storm_pause, storm_resume};
    pl_transport *reader;
    PC_ASSERT_OK(pl_connect_read_pipe(loop, fds[0], &proto, &s, &reader));
    PC_ASSERT_OK(pl_connect_write_pipe(loop, fds[1], &proto, &s, &s.writer));
    struct itimerval every = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
    PC_ASSERT_OK(setitimer(ITIMER_REAL, &every, NULL));
    uint64_t deadline = pc_deadline_ms(15000);
    while (s.lost < 2) {
        int r = pl_loop_run_once(loop, 1000);
        if (r < 0)
            PC_FAIL("pl_loop_run_once: %s", pl_err_name(r));
        PC_ASSERT_LT_UINT(pc_deadline_ms(0), deadline);
    }
    PC_ASSERT_OK(setitimer(ITIMER_REAL, &off, NULL));
    PC_ASSERT_OK(sigaction(SIGALRM, &old_sa, NULL));
    PC_ASSERT_EQ_UINT(s.received, s.total);
    PC_ASSERT_GT_INT(alarms, 0);
    PC_ASSERT_OK(pl_loop_close(loop));
}
