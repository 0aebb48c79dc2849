/* The subprocess promises at their edges (S14, S15, S16): an extra fd at
 * the top of the usual fd limit, one output's overflow leaving the other
 * collected, a group killed after its leader exited, a detached child with
 * a pty, pl_run_sync on a loop whose poller fails for good.  Every test
 * runs on each backend and on the SIGCHLD fallback (SPAWN_TEST); the ones
 * where the start path matters run again on the fork+exec path (an
 * identity asked for: the caller's own), as S17.fork-path-*. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pipecheck.h>

#include "../../src/internal.h" /* pl__sys_fault */
#include "conform.h"

/* `sh -c script`, on the fork+exec path if fork_path. */
static pl_spawn_options sh(int fork_path, const char *script, char **argv)
{
    pl_spawn_options o = conform_sh(script, argv);
    if (fork_path)
        conform_same_identity(&o);
    return o;
}

/* Processes of group pgid that are not zombies, from /proc. */
static int group_alive(pid_t pgid)
{
    int n = 0;
    DIR *d = opendir("/proc");
    PC_ASSERT_NOT_NULL(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        pid_t pgrp = 0;
        char state = conform_proc_stat((pid_t)atoi(e->d_name), NULL, &pgrp);
        if (state && pgrp == pgid && state != 'Z' && state != 'X')
            n++;
    }
    closedir(d);
    return n;
}

/* SIGKILL takes effect asynchronously: poll /proc until the group has no
 * live member, for at most a few (scaled) seconds. */
static void assert_group_gone(pid_t pgid)
{
    uint64_t deadline = pc_deadline_ms(5000);
    while (group_alive(pgid) > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u > deadline)
            PC_FAIL("process group %d still has %d live members", (int)pgid,
                    group_alive(pgid));
        (void)poll(NULL, 0, 5);
    }
}

/* ---- a small process recorder: output per fd, the end ------------------- */

#define TOP 1023 /* the highest fd number under the usual soft limit of 1024 */

struct out {
    char data[4096];
    size_t len;
};

struct rec {
    struct out fd1, top;
    int lost_pipes, finished;
};

static void out_add(struct out *o, const void *data, size_t len)
{
    PC_ASSERT(o->len + len < sizeof o->data);
    memcpy(o->data + o->len, data, len);
    o->len += len;
    o->data[o->len] = '\0';
}

static void rec_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    struct rec *r = user;
    (void)p;
    PC_ASSERT(fd == 1 || fd == TOP);
    out_add(fd == 1 ? &r->fd1 : &r->top, data, len);
}

static void rec_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    (void)p;
    (void)fd;
    PC_ASSERT_ERR(error, 0);
    ((struct rec *)user)->lost_pipes++;
}

static void rec_lost(pl_process *p, void *user)
{
    (void)p;
    ((struct rec *)user)->finished = 1;
}

static const pl_process_protocol rec_protocol = {.pipe_data_received = rec_data,
                                                 .pipe_connection_lost = rec_pipe_lost,
                                                 .connection_lost = rec_lost};

/* ---- S15: an extra fd at the top of the fd limit --------------------------- */

/* With RLIMIT_NOFILE at 1024, child fd 1023 is a pipe of ours and 1022 is
 * the caller's own fd 1023 (a source on a target's number, copied aside
 * below the limit); the child has exactly 0-2, 1022 and 1023. */
static void extra_fd_at_limit(const pc_backend *backend, int fork_path)
{
    struct rlimit rl;
    PC_ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1024)
        PC_SKIP("the hard fd limit is below 1024");
    rl.rlim_cur = 1024;
    PC_ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
    pl_loop *loop = conform_spawn_loop(backend);
    int side[2];
    PC_ASSERT_OK(pipe2(side, O_CLOEXEC));
    PC_ASSERT_EQ_INT(dup3(side[1], TOP, O_CLOEXEC), TOP);
    close(side[1]);

    const pl_stdio_extra extra[] = {
        {.child_fd = TOP - 1, .kind = PL_STDIO_FD, .fd = TOP},
        {.child_fd = TOP, .kind = PL_STDIO_PIPE, .parent_reads = 1},
    };
    /* dash redirects single-digit fds only: the two are opened again
     * through /proc (a pipe reopens as itself). */
    static const char script[] =
        "echo top > /proc/$$/fd/1023; echo side > /proc/$$/fd/1022;"
        " i=0; while [ $i -lt 1024 ]; do [ -e /proc/$$/fd/$i ] && printf '%s ' $i;"
        " i=$((i+1)); done; echo";
    char *argv[4];
    pl_spawn_options o = sh(fork_path, script, argv);
    o.stdio[0].kind = PL_STDIO_DEVNULL;
    o.stdio[1].kind = PL_STDIO_PIPE;
    o.stdio[2].kind = PL_STDIO_INHERIT;
    o.extra = extra;
    o.nextra = 2;
    struct rec r;
    memset(&r, 0, sizeof r);
    pl_process *p;
    PC_ASSERT_OK(pl_spawn(loop, &o, &rec_protocol, &r, &p));
    close(TOP); /* the child has its copy */
    PC_RUN_UNTIL(loop, r.finished, 10000);

    PC_ASSERT_EQ_STR(r.fd1.data, "0 1 2 1022 1023 \n");
    PC_ASSERT_EQ_STR(r.top.data, "top\n");
    PC_ASSERT_EQ_INT(r.lost_pipes, 2);
    char got[16] = {0};
    PC_ASSERT_EQ_INT(read(side[0], got, sizeof got - 1), 5);
    PC_ASSERT_EQ_STR(got, "side\n");
    close(side[0]);
    PC_ASSERT_OK(pl_loop_close(loop));
    conform_assert_no_children();
}

/* ---- S14: run results --------------------------------------------------- */

struct got {
    int done;
    pl_run_result r;
};

static void keep_result(pl_run_result *result, void *user)
{
    struct got *g = user;
    g->done++;
    g->r = *result;
    result->out = result->err = NULL; /* taken */
}

static void got_free(struct got *g)
{
    pl_run_result_free(&g->r);
}

/* stdout passes the limit and the child is killed; a background command
 * that outlives it (it waits for the shell to be gone) then writes to
 * stderr, which is kept: it is within its own limit.  Then the same with
 * the streams the other way round. */
SPAWN_TEST(run_overflow_per_stream, "S14.run-overflow-per-stream")
{
    const int fork_path = 0;
    pl_loop *loop = conform_spawn_loop(backend);
    static const char *const scripts[2] = {
        "(while kill -0 $$ 2>/dev/null; do sleep 0.01; done; printf LATE >&2) >/dev/null "
        "&"
        " head -c 2000 /dev/zero; wait",
        "(while kill -0 $$ 2>/dev/null; do sleep 0.01; done; printf LATE) 2>/dev/null &"
        " head -c 2000 /dev/zero >&2; wait",
    };
    for (int s = 0; s < 2; s++) {
        char *argv[4];
        pl_spawn_options o = sh(fork_path, scripts[s], argv);
        pl_run_options ro = {.max_output = 1000};
        struct got g;
        memset(&g, 0, sizeof g);
        PC_ASSERT_OK(pl_run(loop, &o, &ro, keep_result, &g));
        PC_RUN_UNTIL(loop, g.done, 10000);
        size_t full_len = s == 0 ? g.r.out_len : g.r.err_len;
        const char *late = s == 0 ? g.r.err : g.r.out;
        PC_ASSERT_EQ_SIZE(full_len, 1000);
        PC_ASSERT_EQ_STR(late, "LATE");
        PC_ASSERT_EQ_INT(g.r.out_overflowed, s == 0);
        PC_ASSERT_EQ_INT(g.r.err_overflowed, s == 1);
        PC_ASSERT_EQ_INT(g.r.overflowed, 1);
        PC_ASSERT_EQ_INT(g.r.killed, PL_RUN_KILLED_CHILD);
        PC_ASSERT_EQ_INT(g.r.returncode, -SIGKILL);
        PC_ASSERT_EQ_INT(g.r.timed_out, 0);
        got_free(&g);
    }
    PC_ASSERT_OK(pl_loop_close(loop));
    conform_assert_no_children();
}

/* The shell exits (status 3) long before the timeout and leaves a job in
 * its group that holds stdout; the timeout still kills the job, through
 * the group of the leader the run kept unreaped.  With a group of each
 * kind: new_process_group, new_session, detached. */
static void run_group_after_leader_exit(const pc_backend *backend, int fork_path)
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* The three runs go at once; the timeout leaves the shells (which
     * exit at once) a second, scaled, to be gone first. */
    struct got g3[3];
    memset(g3, 0, sizeof g3);
    for (int kind = 0; kind < 3; kind++) {
        char *argv[4];
        pl_spawn_options o =
            sh(fork_path, "echo $$; (sleep 30; echo late) & exit 3", argv);
        o.new_process_group = kind == 0;
        o.new_session = kind == 1;
        o.detached = kind == 2;
        pl_run_options ro = {.timeout_ms = (int)pc_scale_ms(1000), .kill_group = 1};
        PC_ASSERT_OK(pl_run(loop, &o, &ro, keep_result, &g3[kind]));
    }
    PC_RUN_UNTIL(loop, g3[0].done && g3[1].done && g3[2].done, 10000);
    for (int kind = 0; kind < 3; kind++) {
        struct got *g = &g3[kind];
        PC_ASSERT_EQ_INT(g->r.timed_out, 1);
        PC_ASSERT_EQ_INT(g->r.killed, PL_RUN_KILLED_GROUP);
        PC_ASSERT_EQ_INT(g->r.returncode, 3); /* the leader's own status */
        PC_ASSERT(strstr(g->r.out, "late") == NULL);
        /* Nothing of the group is left (the id was the leader's until the
         * kill, so this is the job, not a stranger's group). */
        long leader = strtol(g->r.out, NULL, 10);
        PC_ASSERT(leader > 1);
        assert_group_gone((pid_t)leader);
        got_free(g);
    }
    /* Without a timeout the run simply waits for the job; the held leader
     * is reaped when the outputs end and reports its own status. */
    char *argv[4];
    pl_spawn_options o = sh(fork_path, "(echo late) & exit 3", argv);
    o.new_process_group = 1;
    pl_run_options ro = {.kill_group = 1};
    struct got g;
    memset(&g, 0, sizeof g);
    PC_ASSERT_OK(pl_run(loop, &o, &ro, keep_result, &g));
    PC_RUN_UNTIL(loop, g.done, 10000);
    PC_ASSERT_EQ_STR(g.r.out, "late\n");
    PC_ASSERT_EQ_INT(g.r.returncode, 3);
    PC_ASSERT_EQ_INT(g.r.killed + g.r.timed_out, 0);
    got_free(&g);
    PC_ASSERT_OK(pl_loop_close(loop));
    conform_assert_no_children();
}

/* ---- S14: pl_run_sync when the poller fails for good -------------------- */

static struct {
    int pid_fd; /* the child writes its pid here */
    long pid;   /* once read: every poller wait fails from then on */
    unsigned failed;
} wait_fault;

static int fail_waits(enum pl__sys_op op, int fd, size_t *len)
{
    (void)fd;
    (void)len;
    if (op != PL__SYS_POLL_WAIT)
        return 0;
    if (!wait_fault.pid) {
        char buf[32] = {0};
        ssize_t n = read(wait_fault.pid_fd, buf, sizeof buf - 1);
        if (n <= 0)
            return 0;
        wait_fault.pid = strtol(buf, NULL, 10);
    }
    wait_fault.failed++;
    return -EBADF;
}

SPAWN_TEST(run_sync_poller_fails, "S14.run-sync-poller-fails")
{
    const int fork_path = 0;
    pl_loop *probe = conform_spawn_loop(backend); /* sets PIPELOOP_NO_PIDFD */
    PC_ASSERT_OK(pl_loop_close(probe));
    /* pl_run_sync's private loop is a default one: the backend's. */
    const char *name = backend->flag == PL_LOOP_POLL       ? "poll"
                       : backend->flag == PL_LOOP_IO_URING ? "io_uring"
                                                           : "epoll";
    PC_ASSERT_OK(setenv("PIPELOOP_BACKEND", name, 1));
    for (int group = 0; group < 2; group++) {
        int fds_before = conform_open_fds();
        int pids[2];
        PC_ASSERT_OK(pipe2(pids, O_CLOEXEC | O_NONBLOCK));
        memset(&wait_fault, 0, sizeof wait_fault);
        wait_fault.pid_fd = pids[0];
        /* The child tells its pid on fd 3, then prints a line (which
         * wakes the loop: its next wait fails) and waits, with a job in
         * its group when the group is to be killed. */
        const pl_stdio_extra extra[] = {
            {.child_fd = 3, .kind = PL_STDIO_FD, .fd = pids[1]}};
        char *argv[4];
        pl_spawn_options o = sh(fork_path,
                                group ? "sleep 30 & echo $$ >&3; exec 3>&-; echo up; wait"
                                      : "echo $$ >&3; exec 3>&-; echo up; exec sleep 30",
                                argv);
        o.new_process_group = group;
        o.extra = extra;
        o.nextra = 1;
        pl_run_options ro = {.kill_group = group};
        pl_run_result r;
        pl__sys_fault = fail_waits;
        int err = pl_run_sync(&o, &ro, &r);
        pl__sys_fault = NULL;
        close(pids[0]);
        close(pids[1]);
        PC_ASSERT_ERR(err, -EBADF);
        PC_ASSERT(wait_fault.failed > 0);
        PC_ASSERT_EQ_INT(r.returncode, -SIGKILL);
        PC_ASSERT_EQ_INT(r.killed, group ? PL_RUN_KILLED_GROUP : PL_RUN_KILLED_CHILD);
        PC_ASSERT_NOT_NULL(r.out);
        pl_run_result_free(&r);
        conform_assert_no_children(); /* killed and reaped */
        if (group)
            assert_group_gone((pid_t)wait_fault.pid);
        PC_ASSERT_EQ_INT(conform_open_fds(), fds_before); /* the loop is gone */
    }
    unsetenv("PIPELOOP_BACKEND");
}

/* ---- S16: detached with a pty is refused ---------------------------------- */

static void detached_pty_refused(const pc_backend *backend, int fork_path)
{
    pl_loop *loop = conform_spawn_loop(backend);
    int fds_before = conform_open_fds();
    char *argv[4];
    pl_spawn_options o = sh(fork_path, "exit 0", argv);
    o.pty = 1;
    o.detached = 1;
    struct rec r;
    memset(&r, 0, sizeof r);
    pl_process *p = NULL;
    PC_ASSERT_ERR(pl_spawn(loop, &o, &rec_protocol, &r, &p), -EINVAL);
    PC_ASSERT_NULL(p);
    PC_ASSERT_EQ_INT(conform_open_fds(), fds_before);
    conform_assert_no_children();
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- both start paths ------------------------------------------------------ */

SPAWN_TEST(extra_fd_at_limit_spawn, "S15.extra-fd-at-fd-limit")
{
    extra_fd_at_limit(backend, 0);
}

SPAWN_TEST(extra_fd_at_limit_fork, "S17.fork-path-extra-fd-at-fd-limit")
{
    extra_fd_at_limit(backend, 1);
}

SPAWN_TEST(run_group_spawn, "S14.run-group-after-leader-exit")
{
    run_group_after_leader_exit(backend, 0);
}

SPAWN_TEST(run_group_fork, "S17.fork-path-run-group-after-leader-exit")
{
    run_group_after_leader_exit(backend, 1);
}

SPAWN_TEST(detached_pty_spawn, "S16.detached-pty-refused")
{
    detached_pty_refused(backend, 0);
}

SPAWN_TEST(detached_pty_fork, "S17.fork-path-detached-pty-refused")
{
    detached_pty_refused(backend, 1);
}
