/* Subprocess transports: spec group S, against real programs (sh, cat,
 * head, sleep).  Every test is a SPAWN_TEST: it runs on every backend with
 * pidfds, and on epoll with the SIGCHLD fallback forced
 * (PIPELOOP_NO_PIDFD=1), so that both ways of watching a child are covered.
 * Tests drive the loop with pl_loop_run_once until a condition holds or a
 * deadline passes; nothing sleeps to synchronise.  Each process is watched
 * by the S group's recorder (struct conform_process, conform_util.c), which
 * checks the callback order (S2) as the events come; `order` is its log of
 * CM, Ln, X and CL. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pipecheck.h>

#include "conform.h"
#include <pipeloop.h>

/* Is the child watched through SIGCHLD rather than a pidfd? */
static int no_pidfd(const pc_backend *backend)
{
    return backend == &conform_epoll_sigchld;
}

/* ---- helpers ------------------------------------------------------------- */

/* argv and env are char *const * (as for posix_spawn and main's argv);
 * string literals are const under -Wwrite-strings. */
static char *S(const char *s)
{
    return (char *)(uintptr_t)s;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* A per-test random stream: reproducible with --seed. */
static uint64_t rng_state;
static void rng_init(void)
{
    rng_state = pc_seed() ^ name_hash(pc_current_test());
}
static uint64_t rng_next(void)
{
    rng_state = mix64(rng_state);
    return rng_state;
}

/* The test stream: byte `off` of stream `seed`, any chunking. */
static void pattern(uint64_t seed, uint64_t off, unsigned char *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t pos = off + i;
        uint64_t w = mix64(seed ^ (pos >> 3) * 0x2545f4914f6cdd1du);
        for (unsigned k = (unsigned)(pos & 7u); k < 8 && i < n; k++, i++)
            buf[i] = (unsigned char)(w >> (8 * k));
    }
}

/* The process object is gone after connection_lost unless referenced:
 * the return code is the one process_exited saw. */
static int rec_returncode(struct conform_process *r)
{
    PC_ASSERT(r->exited);
    return r->rc;
}

/* `sleep 30`, every other option zero (stdio inherited). */
static pl_spawn_options sleep_options(void)
{
    static char sleep_file[] = "sleep", thirty[] = "30";
    static char *const argv[] = {sleep_file, thirty, NULL};
    pl_spawn_options o = conform_program(argv);
    return o;
}

static void set_stdio(pl_spawn_options *o, enum pl_stdio_kind in, enum pl_stdio_kind out,
                      enum pl_stdio_kind err)
{
    o->stdio[0].kind = in;
    o->stdio[1].kind = out;
    o->stdio[2].kind = err;
}

static unsigned mask_of(const pl_spawn_options *o)
{
    unsigned m = 0;
    if (o->pty)
        m = 1u << 0 | 1u << 1; /* the master's two transports */
    for (int i = 0; i < 3 && !o->pty; i++)
        if (o->stdio[i].kind == PL_STDIO_PIPE)
            m |= 1u << i;
    for (size_t i = 0; o->extra && i < o->nextra; i++)
        if (o->extra[i].kind == PL_STDIO_PIPE &&
            o->extra[i].child_fd < CONFORM_PROCESS_FDS)
            m |= 1u << o->extra[i].child_fd;
    return m;
}

/* Set by the S17.fork-path-* tests: every spawn asks for the caller's
 * own uid and gid, which anyone may, so that pl_spawn takes its fork+exec
 * path; the test body is the posix_spawn test's, unchanged. */
static int same_identity;

/* Spawn and fill r; returns pl_spawn's result. */
static int rec_spawn(struct conform_process *r, pl_loop *loop, const pl_spawn_options *o)
{
    r->pipe_mask = mask_of(o);
    pl_spawn_options copy = *o;
    if (same_identity)
        conform_same_identity(&copy);
    int err = pl_spawn(loop, &copy, &conform_process_protocol, r, &r->p);
    return err;
}

/* Spawn `sh -c script` with the given stdio and run it to connection_lost. */
static void run_sh(struct conform_process *r, pl_loop *loop, const char *script,
                   enum pl_stdio_kind in, enum pl_stdio_kind out, enum pl_stdio_kind err)
{
    char *argv[4];
    pl_spawn_options o = conform_sh(script, argv);
    set_stdio(&o, in, out, err);
    PC_ASSERT_OK(rec_spawn(r, loop, &o));
    PC_RUN_UNTIL(loop, r->finished, 5000);
}

/* ---- S1: stdio kinds ------------------------------------------------------ */

SPAWN_TEST(test_stdio_pipes, "S1.stdio-pipes")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("read x; echo \"out:$x\"; echo \"err:$x\" >&2", argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));

    pl_transport *in = pl_process_get_pipe_transport(r.p, 0);
    PC_ASSERT_NOT_NULL(in);
    PC_ASSERT_EQ_INT(pl_transport_is_read(in), 0);
    PC_ASSERT_EQ_INT(pl_transport_is_read(pl_process_get_pipe_transport(r.p, 1)), 1);
    PC_ASSERT_EQ_INT(pl_transport_is_read(pl_process_get_pipe_transport(r.p, 2)), 1);
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 3));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, -1));
    /* The pipe transports are ordinary transports. */
    PC_ASSERT_EQ_INT(pl_transport_write(in, "hello\n", 6), 6);
    PC_ASSERT_OK(pl_transport_write_eof(in));

    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "out:hello\n");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "err:hello\n");
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    for (int fd = 0; fd < 3; fd++)
        PC_ASSERT_ERR(r.lost_err[fd], 0);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_stdio_devnull_and_stdout, "S1.stdio-devnull-stdout")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[4];
    /* cat reads /dev/null: EOF at once.  stderr goes where stdout goes. */
    pl_spawn_options o = conform_sh("cat; echo e >&2; echo o", argv);
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_STDOUT);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 0));
    PC_ASSERT_NOT_NULL(pl_process_get_pipe_transport(r.p, 1));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 2));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "e\no\n");
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    conform_process_free(&r);

    /* DEVNULL for output: nothing arrives anywhere, the child runs fine. */
    run_sh(&r, loop, "echo gone; echo gone >&2; exit 4", PL_STDIO_DEVNULL,
           PL_STDIO_DEVNULL, PL_STDIO_DEVNULL);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 4);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.order), "CM X CL");
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_stdio_fd, "S1.stdio-fd")
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* stdin from a regular file of the caller's, stdout into a pipe of the
     * caller's, stderr into stdout: the fds stay the caller's. */
    char path[] = "/tmp/pipeloop-s1-XXXXXX";
    int file = mkstemp(path);
    PC_ASSERT_OK(file);
    unlink(path);
    PC_ASSERT_EQ_INT(write(file, "from-file\n", 10), 10);
    PC_ASSERT_EQ_INT(lseek(file, 0, SEEK_SET), 0);
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));

    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("cat; echo to-err >&2", argv);
    o.stdio[0] = (pl_stdio){PL_STDIO_FD, file};
    o.stdio[1] = (pl_stdio){PL_STDIO_FD, fds[1]};
    o.stdio[2] = (pl_stdio){PL_STDIO_STDOUT, 0};
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.order), "CM X CL");
    /* Still open and still the caller's. */
    PC_ASSERT_OK(fcntl(file, F_GETFD));
    PC_ASSERT_EQ_INT(fcntl(fds[1], F_GETFD), FD_CLOEXEC);
    PC_ASSERT_OK(close(fds[1]));
    char got[64] = {0};
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)k;
    PC_ASSERT_EQ_STR(got, "from-file\nto-err\n");
    close(fds[0]);
    close(file);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_stdio_inherit, "S1.stdio-inherit")
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* Point our own fd 1 at a pipe for the duration, marked close-on-exec:
     * INHERIT must still hand it to the child.  stderr follows stdout. */
    int fds[2];
    PC_ASSERT_OK(pipe2(fds, O_CLOEXEC));
    int saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
    PC_ASSERT_OK(saved);
    fflush(stdout);
    PC_ASSERT_OK(dup2(fds[1], 1));
    PC_ASSERT_OK(fcntl(1, F_SETFD, FD_CLOEXEC));

    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("echo inherited; echo err-too >&2", argv);
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_INHERIT, PL_STDIO_STDOUT);
    int err = rec_spawn(&r, loop, &o);
    /* Restore fd 1 before any assert can print. */
    dup2(saved, 1);
    close(saved);
    close(fds[1]);
    PC_ASSERT_OK(err);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    char got[64] = {0};
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)k;
    close(fds[0]);
    PC_ASSERT_EQ_STR(got, "inherited\nerr-too\n");
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_env_cwd_pgroup, "S1.env-cwd-pgroup")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[4];
    char *env[] = {S("PIPELOOP_TEST_VAR=bar"), NULL};
    pl_spawn_options o =
        conform_sh("echo \"$PIPELOOP_TEST_VAR:$(pwd):${HOME-unset}\"", argv);
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    o.env = env;
    o.cwd = "/";
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "bar:/:unset\n");
    conform_process_free(&r);

    /* A relative program path with a '/' is resolved in the child after it
     * changed to cwd: "./bin/sh" with cwd "/" is /bin/sh, whatever our own
     * cwd is (ours has no bin/sh, or this would prove nothing). */
    PC_ASSERT_NE_INT(access("./bin/sh", X_OK), 0);
    char *pwd_argv[] = {S("sh"), S("-c"), S("pwd"), NULL};
    pl_spawn_options rel = conform_program(pwd_argv);
    rel.cwd = "/";
    set_stdio(&rel, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&r, loop, &rel));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "/\n");
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    conform_process_free(&r);

    /* A new process group, led by the child; without the flag, ours. */
    pl_spawn_options s = sleep_options();
    s.new_process_group = 1;
    PC_ASSERT_OK(rec_spawn(&r, loop, &s));
    PC_ASSERT_EQ_INT(getpgid(pl_process_get_pid(r.p)), pl_process_get_pid(r.p));
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    conform_process_free(&r);
    s.new_process_group = 0;
    PC_ASSERT_OK(rec_spawn(&r, loop, &s));
    PC_ASSERT_EQ_INT(getpgid(pl_process_get_pid(r.p)), getpgrp());
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGKILL);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_invalid_options, "S1.invalid-options")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    pl_process *p = NULL;
    char *argv[4];
    pl_spawn_options o = conform_sh("exit 0", argv);
    int before = conform_open_fds();

    PC_ASSERT_ERR(pl_spawn(NULL, &o, &conform_process_protocol, &r, &p), -EINVAL);
    PC_ASSERT_ERR(pl_spawn(loop, NULL, &conform_process_protocol, &r, &p), -EINVAL);
    PC_ASSERT_ERR(pl_spawn(loop, &o, NULL, &r, &p), -EINVAL);
    PC_ASSERT_ERR(pl_spawn(loop, &o, &conform_process_protocol, &r, NULL), -EINVAL);
    pl_spawn_options bad = o;
    bad.file = NULL;
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EINVAL);
    bad = o;
    bad.file = "";
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EINVAL);
    bad = o;
    bad.stdio[0].kind = PL_STDIO_STDOUT; /* stderr only */
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EINVAL);
    bad = o;
    bad.stdio[1].kind = (enum pl_stdio_kind)42;
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EINVAL);
    bad = o;
    bad.stdio[1] = (pl_stdio){PL_STDIO_FD, -1};
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EBADF);
    bad.stdio[1] = (pl_stdio){PL_STDIO_FD, 4000};
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EBADF);
    PC_ASSERT_NULL(p);

    PC_ASSERT_ERR(pl_process_get_returncode(NULL, &before), -EINVAL);
    PC_ASSERT_ERR(pl_process_send_signal(NULL, SIGTERM), -EINVAL);
    PC_ASSERT_ERR(pl_process_close(NULL), -EINVAL);
    PC_ASSERT_NULL(pl_process_get_pipe_transport(NULL, 0));

    PC_ASSERT_EQ_INT(conform_open_fds(), before);
    conform_assert_no_children();
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S2: callback order --------------------------------------------------- */

SPAWN_TEST(test_callback_order, "S2.callback-order")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    r.take_ref = 1;
    char *argv[4];
    pl_spawn_options o = conform_sh("echo out; echo err >&2; exit 3", argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    /* connection_made runs in the next iteration, not inside spawn. */
    PC_ASSERT_EQ_INT(r.made, 0);
    int rc;
    PC_ASSERT_ERR(pl_process_get_returncode(r.p, &rc), -EAGAIN);
    PC_ASSERT_OK(pl_loop_run_once(loop, 0));
    PC_ASSERT_EQ_INT(r.made, 1);
    /* The process is an open handle until its connection_lost. */
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    PC_ASSERT_OK(pl_transport_close(pl_process_get_pipe_transport(r.p, 0)));

    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "out\n");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "err\n");
    PC_ASSERT_EQ_INT(rec_returncode(&r), 3);
    /* CM first, CL last, exactly one X; the L's may come before or after X. */
    const char *log = conform_buf_str(&r.order);
    PC_ASSERT(strncmp(log, "CM ", 3) == 0);
    PC_ASSERT(strlen(log) >= 3 && strcmp(log + strlen(log) - 3, " CL") == 0);
    PC_ASSERT_NOT_NULL(strstr(log, "X"));
    PC_ASSERT_NULL(strstr(strstr(log, "X") + 1, "X"));

    /* Held past connection_lost: it answers, and does nothing. */
    PC_ASSERT_EQ_INT(pl_process_get_returncode(r.p, &rc), 0);
    PC_ASSERT_EQ_INT(rc, 3);
    PC_ASSERT_GT_INT(pl_process_get_pid(r.p), 0);
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 1));
    PC_ASSERT_ERR(pl_process_send_signal(r.p, SIGTERM), -ESRCH);
    PC_ASSERT_ERR(pl_process_kill(r.p), -ESRCH);
    PC_ASSERT_ERR(pl_process_close(r.p), 0);
    PC_ASSERT_EQ_PTR(pl_process_get_loop(r.p), loop);
    PC_ASSERT_EQ_PTR(pl_process_get_user(r.p), &r);
    pl_process_unref(r.p);
    PC_ASSERT_OK(pl_loop_run_once(loop, 0));
    PC_ASSERT_EQ_STR(conform_buf_str(&r.order) + strlen(conform_buf_str(&r.order)) - 3,
                     " CL");
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S3: return codes ----------------------------------------------------- */

SPAWN_TEST(test_returncode, "S3.returncode")
{
    pl_loop *loop = conform_spawn_loop(backend);
    static const struct {
        const char *script;
        int rc;
    } cases[] = {
        {"exit 0", 0},
        {"exit 1", 1},
        {"exit 255", 255},
        {"kill -TERM $$", -SIGTERM},
        {"kill -KILL $$", -SIGKILL},
        {"kill -INT $$; exit 9", -SIGINT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct conform_process r = {0};
        run_sh(&r, loop, cases[i].script, PL_STDIO_DEVNULL, PL_STDIO_PIPE,
               PL_STDIO_INHERIT);
        PC_ASSERT_EQ_INT(rec_returncode(&r), cases[i].rc);
        conform_process_free(&r);
    }
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S4: exit is seen while a grandchild holds stdout -------------------- */

static void s4_exited(struct conform_process *r)
{
    /* The grandchild still holds stdout: the pipe is open.  ("early" may
     * or may not have been read yet: exit and data race in the kernel, and
     * process_exited promises nothing about pipe data; valgrind's slower
     * scheduling showed it.) */
    PC_ASSERT_EQ_INT(r->lost[1], 0);
}

SPAWN_TEST(test_grandchild_holds_stdout, "S4.grandchild-holds-stdout")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    r.on_exited = s4_exited;
    char *argv[4];
    /* The grandchild waits for a line on a FIFO-like pipe of ours, so the
     * test decides when it lets go of stdout, without sleeping. */
    int gate[2];
    PC_ASSERT_OK(pipe2(gate, O_CLOEXEC));
    /* Job-control-less shells give a background list /dev/null as stdin,
     * hence the detour through fd 3. */
    pl_spawn_options o =
        conform_sh("exec 3<&0; (read x <&3; echo late) & exec 3<&-; echo early", argv);
    o.stdio[0] = (pl_stdio){PL_STDIO_FD, gate[0]};
    o.stdio[1].kind = PL_STDIO_PIPE;
    o.stdio[2].kind = PL_STDIO_INHERIT;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    close(gate[0]);
    PC_RUN_UNTIL(loop, r.exited, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    /* A few more iterations: connection_lost must wait for the pipe. */
    for (int i = 0; i < 5; i++)
        PC_ASSERT_OK(pl_loop_run_once(loop, 10));
    PC_ASSERT_EQ_INT(r.finished, 0);
    PC_ASSERT_EQ_INT(r.lost[1], 0);
    PC_ASSERT_EQ_INT(write(gate[1], "go\n", 3), 3);
    close(gate[1]);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "early\nlate\n");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.order), "CM X L1 CL");
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
    /* The grandchild was the shell's, reparented away from us; it exits on
     * its own once it has written. */
}

/* ---- S5: close ------------------------------------------------------------ */

static void s5_close_in_made(struct conform_process *r)
{
    PC_ASSERT_OK(pl_process_close(r->p));
    PC_ASSERT_OK(pl_process_close(r->p)); /* no-op */
}

SPAWN_TEST(test_close_kills, "S5.close-kills")
{
    pl_loop *loop = conform_spawn_loop(backend);
    pl_spawn_options o = sleep_options();
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);

    /* Close from connection_made. */
    struct conform_process r = {0};
    r.on_made = s5_close_in_made;
    uint64_t start = pc_now_ns() / 1000000u;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.finished, 3000);
    PC_ASSERT_LT_UINT(pc_now_ns() / 1000000u - start, 3000); /* not the 30 s of sleep */
    PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGKILL);
    for (int fd = 0; fd < 3; fd++)
        PC_ASSERT_ERR(r.lost_err[fd], 0);
    conform_process_free(&r);

    /* Close before the loop ever ran: connection_made still comes first. */
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_OK(pl_transport_write(pl_process_get_pipe_transport(r.p, 0), "x", 1));
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 3000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGKILL);
    PC_ASSERT(strncmp(conform_buf_str(&r.order), "CM ", 3) == 0);
    conform_process_free(&r);

    /* Close with 1 MiB pending on stdin: the flush is attempted, the
     * killed child never reads it, stdin is lost with EPIPE and the
     * process still finishes. */
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.made, 3000);
    unsigned char *data = calloc(1, 1024 * 1024);
    PC_ASSERT_NOT_NULL(data);
    PC_ASSERT_OK(
        pl_transport_write(pl_process_get_pipe_transport(r.p, 0), data, 1024 * 1024));
    free(data);
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 3000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGKILL);
    PC_ASSERT_ERR(r.lost_err[0], -EPIPE);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_close_after_exit, "S5.close-after-exit")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("exit 7", argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    /* Wait until the child has exited, without reaping it (WNOWAIT):
     * close must see that and not send SIGKILL to the zombie. */
    siginfo_t info;
    memset(&info, 0, sizeof info);
    PC_ASSERT_OK(waitid(P_PID, (id_t)pl_process_get_pid(r.p), &info, WEXITED | WNOWAIT));
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 7);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S6: signals after reaping -------------------------------------------- */

SPAWN_TEST(test_signal_after_reap, "S6.signal-after-reap")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    r.take_ref = 1;
    pl_spawn_options o = sleep_options();
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_ERR(pl_process_send_signal(r.p, -1), -EINVAL);
    PC_ASSERT_ERR(pl_process_send_signal(r.p, 100000), -EINVAL);
    PC_ASSERT_OK(pl_process_send_signal(r.p, 0)); /* alive? */
    PC_ASSERT_OK(pl_process_terminate(r.p));
    PC_RUN_UNTIL(loop, r.exited, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGTERM);
    PC_ASSERT_ERR(pl_process_send_signal(r.p, 0), -ESRCH);
    PC_ASSERT_ERR(pl_process_terminate(r.p), -ESRCH);
    PC_ASSERT_ERR(pl_process_kill(r.p), -ESRCH);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_ERR(pl_process_kill(r.p), -ESRCH);
    pl_process_unref(r.p);
    conform_process_free(&r);

    /* A child that exited but is not reaped yet is not signalled either. */
    char *argv[4];
    pl_spawn_options e = conform_sh("exit 5", argv);
    set_stdio(&e, PL_STDIO_DEVNULL, PL_STDIO_DEVNULL, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&r, loop, &e));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    PC_ASSERT_OK(waitid(P_PID, (id_t)pl_process_get_pid(r.p), &info, WEXITED | WNOWAIT));
    PC_ASSERT_ERR(pl_process_kill(r.p), -ESRCH);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 5);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S11: sessions and process groups ---------------------------------- */

/* new_session: the child leads a new session and group (sid = pgid = its
 * pid), also when new_process_group is asked for as well. */
SPAWN_TEST(test_new_session, "S11.new-session")
{
    pl_loop *loop = conform_spawn_loop(backend);
    for (int both = 0; both < 2; both++) {
        struct conform_process r = {0};
        pl_spawn_options o = sleep_options();
        o.new_session = 1;
        o.new_process_group = both;
        PC_ASSERT_OK(rec_spawn(&r, loop, &o));
        pid_t pid = pl_process_get_pid(r.p);
        PC_ASSERT_EQ_INT(getsid(pid), pid);
        PC_ASSERT_EQ_INT(getpgid(pid), pid);
        PC_ASSERT_NE_INT(getsid(0), pid);
        PC_ASSERT_OK(pl_process_close(r.p));
        PC_RUN_UNTIL(loop, r.finished, 5000);
        PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGKILL);
        conform_process_free(&r);
    }
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* The shell says it has started a background sleep, which holds stdout
 * open; signalling the group ends both, so stdout reaches EOF and
 * connection_lost comes.  Signalling only the shell would leave the sleep
 * holding stdout for 30 s (S4), and the wait would time out. */
static void s11_on_data(struct conform_process *r, int fd, const void *data, size_t len)
{
    conform_buf_append(&r->out[fd], data, len);
    if (!r->ctx && strstr(conform_buf_str(&r->out[1]), "started\n")) {
        r->ctx = r; /* once */
        PC_ASSERT_OK(pl_process_send_signal_group(r->p, SIGTERM));
    }
}

SPAWN_TEST(test_signal_group, "S11.signal-group")
{
    pl_loop *loop = conform_spawn_loop(backend);
    for (int session = 0; session < 2; session++) {
        struct conform_process r = {0};
        r.take_ref = 1;
        r.on_data = s11_on_data;
        char *argv[4];
        pl_spawn_options o = conform_sh("sleep 30 & echo started; wait", argv);
        set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_INHERIT);
        o.new_process_group = !session;
        o.new_session = session;
        PC_ASSERT_OK(rec_spawn(&r, loop, &o));
        PC_RUN_UNTIL(loop, r.finished, 5000);
        PC_ASSERT_NOT_NULL(r.ctx);
        PC_ASSERT_EQ_INT(rec_returncode(&r), -SIGTERM);
        /* Reaped: its id may be reused, so the group is not signalled. */
        PC_ASSERT_ERR(pl_process_send_signal_group(r.p, SIGTERM), -ESRCH);
        pl_process_unref(r.p);
        conform_process_free(&r);
    }

    /* A child in our own group: refused, nothing sent (it would hit us). */
    struct conform_process r = {0};
    pl_spawn_options o = sleep_options();
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_ERR(pl_process_send_signal_group(r.p, SIGTERM), -EINVAL);
    PC_ASSERT_ERR(pl_process_send_signal_group(NULL, SIGTERM), -EINVAL);
    PC_ASSERT_OK(pl_process_send_signal(r.p, 0)); /* still running */
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S12: a pty for the child ------------------------------------------ */

/* The child runs on the slave of a new pty that is its controlling
 * terminal, with the window size asked for; what it prints arrives on
 * fd 1 with the terminal's processing (CR LF, echo of its input); a line
 * written to fd 0 is its input; a new window size is seen by the child. */
static void s12_on_data(struct conform_process *r, int fd, const void *data, size_t len)
{
    conform_buf_append(&r->out[fd], data, len);
    if (!r->ctx && strstr(conform_buf_str(&r->out[1]), "30 100\r\n")) {
        r->ctx = r; /* once: resize, then answer the read */
        PC_ASSERT_OK(pl_process_set_window_size(r->p, 50, 132));
        pl_transport *in = pl_process_get_pipe_transport(r->p, 0);
        PC_ASSERT_NOT_NULL(in);
        PC_ASSERT_EQ_INT(pl_transport_write(in, "hello\n", 6), 6);
    }
}

SPAWN_TEST(test_pty_child, "S12.pty-child")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    r.on_data = s12_on_data;
    char *argv[4];
    pl_spawn_options o =
        conform_sh("tty; exec 3</dev/tty && echo ctty-ok; exec 3<&-; "
                   "stty size; read x; stty size; echo \"got $x\"; exit 3",
                   argv);
    o.pty = 1;
    o.pty_rows = 30;
    o.pty_cols = 100;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_NOT_NULL(pl_process_get_pipe_transport(r.p, 0));
    PC_ASSERT_NOT_NULL(pl_process_get_pipe_transport(r.p, 1));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 2));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    const char *out = conform_buf_str(&r.out[1]);
    if (strncmp(out, "/dev/pts/", 9) != 0 || !strstr(out, "ctty-ok\r\n") ||
        !strstr(out, "hello\r\n") || !strstr(out, "50 132\r\n") ||
        !strstr(out, "got hello\r\n"))
        PC_FAIL("unexpected terminal output: %s", out);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 3);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "");
    conform_process_free(&r);

    /* Misuse: stdio beside a pty, a size of 0, a window for a plain child. */
    pl_spawn_options bad = conform_sh("exit 0", argv);
    bad.pty = 1;
    bad.stdio[1].kind = PL_STDIO_PIPE;
    pl_process *p = NULL;
    PC_ASSERT_ERR(pl_spawn(loop, &bad, &conform_process_protocol, &r, &p), -EINVAL);
    PC_ASSERT_NULL(p);
    pl_spawn_options plain = conform_sh("exit 0", argv);
    set_stdio(&plain, PL_STDIO_DEVNULL, PL_STDIO_DEVNULL, PL_STDIO_INHERIT);
    struct conform_process q = {0};
    PC_ASSERT_OK(rec_spawn(&q, loop, &plain));
    PC_ASSERT_ERR(pl_process_set_window_size(q.p, 24, 80), -EINVAL);
    PC_ASSERT_ERR(pl_process_set_window_size(NULL, 24, 80), -EINVAL);
    PC_RUN_UNTIL(loop, q.finished, 5000);
    conform_process_free(&q);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S7: exec failures ---------------------------------------------------- */

static void expect_spawn_error(pl_loop *loop, pl_spawn_options *o, int want)
{
    struct conform_process r = {0};
    set_stdio(o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    int before = conform_open_fds();
    PC_ASSERT_ERR(rec_spawn(&r, loop, o), want);
    PC_ASSERT_EQ_INT(conform_open_fds(), before);
    conform_assert_no_children();
    /* Nothing was left open on the loop, and no callback comes. */
    for (int i = 0; i < 3; i++)
        PC_ASSERT_OK(pl_loop_run_once(loop, 0));
    PC_ASSERT_EQ_INT(r.made, 0);
}

SPAWN_TEST(test_exec_failure, "S7.exec-failure")
{
    pl_loop *loop = conform_spawn_loop(backend);
    char path[] = "/tmp/pipeloop-s7-XXXXXX"; /* a file without exec permission */
    int fd = mkstemp(path);
    PC_ASSERT_OK(fd);
    PC_ASSERT_OK(fchmod(fd, 0644));
    close(fd);
    char *argv[4];
    (void)conform_sh("exit 0", argv);
    const struct {
        const char *file;
        char *const *argv;
        const char *cwd;
        int want;
    } cases[] = {
        {"pipeloop-no-such-program", NULL, NULL, -ENOENT},
        {"/nonexistent/dir/prog", NULL, NULL, -ENOENT},
        /* A directory, and a file without exec permission. */
        {"/", NULL, NULL, -EACCES},
        {path, NULL, NULL, -EACCES},
        /* A bad cwd: missing, and not a directory. */
        {"sh", argv, "/nonexistent-pipeloop-dir", -ENOENT},
        {"sh", argv, path, -ENOTDIR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pl_spawn_options o;
        memset(&o, 0, sizeof o);
        o.file = cases[i].file;
        o.argv = cases[i].argv;
        o.cwd = cases[i].cwd;
        expect_spawn_error(loop, &o, cases[i].want);
    }
    unlink(path);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S8: what the child inherits ------------------------------------------ */

SPAWN_TEST(test_only_stdio_fds, "S8.only-stdio-fds")
{
    /* The fds open before the loop exists are the runner's. */
    static unsigned char before[4096];
    for (int fd = 0; fd < 4096; fd++)
        before[fd] = fcntl(fd, F_GETFD) >= 0;
    pl_loop *loop = conform_spawn_loop(backend);
    /* Another process with three pipes is running, so the library holds
     * more fds (pipes, pidfd, the loop's own) when the checker starts. */
    struct conform_process other = {0};
    pl_spawn_options s = sleep_options();
    set_stdio(&s, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    PC_ASSERT_OK(rec_spawn(&other, loop, &s));
    PC_ASSERT_OK(pl_loop_run_once(loop, 0));
    /* Every fd the library opened (loop, pipes, pidfd) is close-on-exec.
     * pl_spawn also closes fds >= 3 in the child where glibc can, so the
     * check below alone would not prove this. */
    int library_fds = 0;
    for (int fd = 3; fd < 4096; fd++) {
        if (before[fd] || fcntl(fd, F_GETFD) < 0)
            continue;
        library_fds++;
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
            PC_FAIL("fd %d opened by the library is not close-on-exec", fd);
    }
    PC_ASSERT_GE_INT(library_fds, 4); /* the loop's wakeup, 3 pipes */

    /*
     * The shell checks its own fd table with builtins only ([ and printf
     * are dash builtins, the loop is arithmetic), so it opens nothing
     * while it looks: `ls /proc/self/fd` would list ls's directory fd, and
     * a glob or $(...) would open a directory or pipe of its own.  $$ is
     * the shell itself, which is what posix_spawn started.
     */
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("i=0; while [ $i -lt 1024 ]; do"
                                    " [ -e /proc/$$/fd/$i ] && printf '%s ' $i;"
                                    " i=$((i+1)); done",
                                    argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_OK(pl_transport_close(pl_process_get_pipe_transport(r.p, 0)));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "0 1 2 ");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "");
    conform_process_free(&r);

    PC_ASSERT_OK(pl_process_close(other.p));
    PC_RUN_UNTIL(loop, other.finished, 5000);
    conform_process_free(&other);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_no_leak_between_children, "S8.no-leak-between-children")
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* A's stdin must reach EOF although B, started later, is alive: had B
     * inherited A's stdin write end, cat would never see EOF. */
    struct conform_process a = {0}, b = {0};
    char *cat_argv[] = {S("cat"), NULL};
    pl_spawn_options o = conform_program(cat_argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&a, loop, &o));
    pl_spawn_options s = sleep_options();
    set_stdio(&s, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    PC_ASSERT_OK(rec_spawn(&b, loop, &s));
    PC_ASSERT_OK(pl_transport_write(pl_process_get_pipe_transport(a.p, 0), "abc", 3));
    PC_ASSERT_OK(pl_transport_close(pl_process_get_pipe_transport(a.p, 0)));
    PC_RUN_UNTIL(loop, a.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&a.out[1]), "abc");
    PC_ASSERT_EQ_INT(b.exited, 0);
    PC_ASSERT_OK(pl_process_close(b.p));
    PC_RUN_UNTIL(loop, b.finished, 5000);
    conform_process_free(&a);
    conform_process_free(&b);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* "SigBlk:\t0000000000000000" -> the hex value. */
static unsigned long long status_field(const char *status, const char *field)
{
    const char *line = strstr(status, field);
    PC_ASSERT_NOT_NULL(line);
    return strtoull(line + strlen(field), NULL, 16);
}

SPAWN_TEST(test_default_signals, "S8.default-signals")
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* The parent blocks SIGPIPE and SIGUSR1 in its thread and ignores
     * SIGINT and SIGPIPE; the child must start with none of that. */
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    sigaddset(&block, SIGUSR1);
    PC_ASSERT_OK(pthread_sigmask(SIG_BLOCK, &block, &old_mask));
    struct sigaction ign, old_int, old_pipe;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    PC_ASSERT_OK(sigaction(SIGINT, &ign, &old_int));
    PC_ASSERT_OK(sigaction(SIGPIPE, &ign, &old_pipe));

    struct conform_process r = {0};
    char *argv[] = {S("cat"), S("/proc/self/status"), NULL};
    pl_spawn_options o = conform_program(argv);
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_PIPE);
    int err = rec_spawn(&r, loop, &o);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    PC_ASSERT_OK(err);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_OK(pthread_sigmask(SIG_SETMASK, &old_mask, NULL));
    const char *status = conform_buf_str(&r.out[1]);
    PC_ASSERT_EQ_UINT(status_field(status, "\nSigBlk:"), 0);
    /* glibc's posix_spawn sets its two internal signals (32 and 33,
     * SIGCANCEL and SIGSETXID, which sigfillset leaves out) to SIG_IGN in
     * the child; glibc programs reset them themselves.  Every other signal
     * must be at its default. */
    unsigned long long glibc_internal = (1ull << 31) | (1ull << 32);
    PC_ASSERT_EQ_UINT(status_field(status, "\nSigIgn:") & ~glibc_internal, 0);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S9: stdin flow control ----------------------------------------------- */

#define MIB (1024u * 1024u)

SPAWN_TEST(test_exit_without_reading, "S9.exit-without-reading")
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* The child never reads stdin and exits when the test says so: it
     * waits for a line on its fd 2, the read end of a gate pipe of ours.
     * (Exiting at once could beat our write, which would then fail with
     * EPIPE before anything is buffered.) */
    int gate[2];
    PC_ASSERT_OK(pipe2(gate, O_CLOEXEC));
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("read x <&2; exit 0", argv);
    o.stdio[0].kind = PL_STDIO_PIPE;
    o.stdio[1].kind = PL_STDIO_PIPE;
    o.stdio[2] = (pl_stdio){PL_STDIO_FD, gate[0]};
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    close(gate[0]);
    unsigned char *data = calloc(1, MIB);
    PC_ASSERT_NOT_NULL(data);
    PC_ASSERT_EQ_INT(pl_transport_write(pl_process_get_pipe_transport(r.p, 0), data, MIB),
                     (ssize_t)MIB);
    free(data);
    PC_ASSERT_EQ_INT(r.paused, 0); /* not before connection_made */
    PC_RUN_UNTIL(loop, r.made, 3000);
    PC_ASSERT_EQ_INT(r.paused, 1); /* delivered right after it */
    PC_ASSERT_EQ_INT(write(gate[1], "go\n", 3), 3);
    close(gate[1]);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(r.resumed, 0);
    PC_ASSERT_ERR(r.lost_err[0], -EPIPE);
    PC_ASSERT_ERR(r.lost_err[1], 0);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

SPAWN_TEST(test_head_closes_early, "S9.head-closes-early")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[] = {S("head"), S("-c"), S("1"), NULL};
    pl_spawn_options o = conform_program(argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_OK(pl_loop_run_once(loop, 0));
    unsigned char *data = malloc(MIB);
    PC_ASSERT_NOT_NULL(data);
    memset(data, 'h', MIB);
    PC_ASSERT_EQ_INT(pl_transport_write(pl_process_get_pipe_transport(r.p, 0), data, MIB),
                     (ssize_t)MIB);
    free(data);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "h");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "");
    PC_ASSERT_ERR(r.lost_err[0], -EPIPE); /* and we are still alive */
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* An echo through cat: the writer sends `total` bytes of a seeded stream
 * in random chunks, honouring pause/resume; the reader checks every byte. */
struct echo {
    struct conform_process r;
    uint64_t seed;
    size_t total, sent, received;
    size_t max_chunk;
    unsigned char *scratch; /* max(max_chunk, PL_READ_SIZE) bytes */
    int paused;
};

static void echo_pump(struct conform_process *r)
{
    struct echo *e = r->ctx;
    pl_transport *in = pl_process_get_pipe_transport(r->p, 0);
    PC_ASSERT_NOT_NULL(in);
    while (e->sent < e->total && r->paused == r->resumed) {
        size_t n = 1 + (size_t)(rng_next() % e->max_chunk);
        if (n > e->total - e->sent)
            n = e->total - e->sent;
        pattern(e->seed, e->sent, e->scratch, n);
        PC_ASSERT_EQ_INT(pl_transport_write(in, e->scratch, n), (ssize_t)n);
        e->sent += n;
    }
    if (e->sent == e->total)
        PC_ASSERT_OK(pl_transport_close(in));
}

static void echo_check(struct conform_process *r, int fd, const void *data, size_t len)
{
    struct echo *e = r->ctx;
    PC_ASSERT_EQ_INT(fd, 1);
    PC_ASSERT_LE_SIZE(e->received + len, e->sent);
    const unsigned char *d = data;
    while (len > 0) {
        size_t n = len < e->max_chunk ? len : e->max_chunk;
        pattern(e->seed, e->received, e->scratch, n);
        PC_ASSERT_EQ_MEM(d, e->scratch, n);
        e->received += n;
        d += n;
        len -= n;
    }
}

static void echo_start(struct echo *e, pl_loop *loop, size_t total, uint64_t seed)
{
    e->seed = seed;
    e->total = total;
    e->max_chunk = 256u * 1024u;
    e->scratch = malloc(e->max_chunk);
    PC_ASSERT_NOT_NULL(e->scratch);
    e->r.ctx = e;
    e->r.on_made = echo_pump;
    e->r.on_resume = echo_pump;
    e->r.on_data = echo_check;
    char *argv[] = {S("cat"), NULL};
    pl_spawn_options o = conform_program(argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&e->r, loop, &o));
}

static void echo_finish(struct echo *e)
{
    PC_ASSERT_EQ_SIZE(e->sent, e->total);
    PC_ASSERT_EQ_SIZE(e->received, e->total);
    PC_ASSERT_EQ_INT(rec_returncode(&e->r), 0);
    PC_ASSERT_ERR(e->r.lost_err[0], 0);
    PC_ASSERT_ERR(e->r.lost_err[1], 0);
    free(e->scratch);
    conform_process_free(&e->r);
}

SPAWN_TEST(test_cat_echo_64mib, "S9.cat-echo-64mib")
{
    pc_set_timeout_ms(60000);
    pl_loop *loop = conform_spawn_loop(backend);
    rng_init();
    struct echo e;
    memset(&e, 0, sizeof e);
    echo_start(&e, loop, 64u * MIB, rng_next());
    PC_RUN_UNTIL(loop, e.r.finished, 50000);
    PC_ASSERT_GT_INT(e.r.paused, 0); /* flow control did engage */
    /* The last pause may end with the pipe's close instead of a resume:
     * the write transport does not resume a protocol whose buffer drained
     * while closing (asyncio does; reported to the pipe transport owner). */
    PC_ASSERT_LE_INT(e.r.paused - e.r.resumed, 1);
    PC_ASSERT_GE_INT(e.r.paused - e.r.resumed, 0);
    echo_finish(&e);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* The usual way to feed a child: write everything and EOF right after
 * spawn, before the loop has run.  1 MiB does not fit in the pipe, so the
 * stdin transport is closing with a full buffer before its own
 * connection_made. */
SPAWN_TEST(test_stdin_eof_before_start, "S9.stdin-eof-before-start")
{
    pl_loop *loop = conform_spawn_loop(backend);
    rng_init();
    struct echo e;
    memset(&e, 0, sizeof e);
    e.seed = rng_next();
    e.total = MIB;
    e.max_chunk = MIB;
    e.scratch = malloc(MIB);
    PC_ASSERT_NOT_NULL(e.scratch);
    e.r.ctx = &e;
    e.r.on_data = echo_check;
    char *argv[] = {S("cat"), NULL};
    pl_spawn_options o = conform_program(argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    PC_ASSERT_OK(rec_spawn(&e.r, loop, &o));
    pl_transport *in = pl_process_get_pipe_transport(e.r.p, 0);
    pattern(e.seed, 0, e.scratch, MIB);
    PC_ASSERT_EQ_INT(pl_transport_write(in, e.scratch, MIB), (ssize_t)MIB);
    e.sent = MIB;
    PC_ASSERT_OK(pl_transport_write_eof(in));
    PC_RUN_UNTIL(loop, e.r.finished, 3000);
    PC_ASSERT_EQ_INT(e.r.paused, 1);
    echo_finish(&e);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S10: no zombies, many children --------------------------------------- */

SPAWN_TEST(test_no_zombies, "S10.no-zombies")
{
    pl_loop *loop = conform_spawn_loop(backend);
    pl_spawn_options s = sleep_options();
    set_stdio(&s, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);

    /* Loop close first: refused while the child runs, nothing lost. */
    struct conform_process r = {0};
    PC_ASSERT_OK(rec_spawn(&r, loop, &s));
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    PC_ASSERT_OK(pl_loop_run_once(loop, 0));
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_ASSERT_ERR(pl_loop_close(loop), -EBUSY);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
    conform_assert_no_children();

    /* Exit first, then close; and an exit that is never closed. */
    loop = conform_spawn_loop(backend);
    char *argv[4];
    pl_spawn_options o = conform_sh("exit 2", argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    r.take_ref = 1; /* connection_lost may come in the exit's iteration */
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.exited, 5000);
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 2);
    pl_process_unref(r.p);
    conform_process_free(&r);
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
    conform_assert_no_children();
}

static void ignore_signal(pl_loop *loop, int signum, void *user)
{
    (void)loop;
    (void)signum;
    (void)user;
}

/* Without pidfds one SIGCHLD handler serves all of a loop's children; the
 * signal has one owner loop at a time.  With pidfds none of this applies
 * and every spawn below succeeds. */
SPAWN_TEST(test_shared_sigchld, "S10.shared-sigchld")
{
    pl_loop *a = conform_spawn_loop(backend);
    pl_loop *b = conform_spawn_loop(backend);
    pl_spawn_options s = sleep_options();
    set_stdio(&s, PL_STDIO_DEVNULL, PL_STDIO_DEVNULL, PL_STDIO_INHERIT);

    struct conform_process r1 = {0}, r2 = {0}, r3 = {0};
    PC_ASSERT_OK(rec_spawn(&r1, a, &s));
    PC_ASSERT_OK(rec_spawn(&r2, a, &s));
    PC_ASSERT_ERR(rec_spawn(&r3, b, &s), no_pidfd(backend) ? -EBUSY : 0);
    if (!no_pidfd(backend)) {
        PC_ASSERT_OK(pl_process_close(r3.p));
        PC_RUN_UNTIL(b, r3.finished, 5000);
        conform_process_free(&r3);
    }
    /* Kill one: the shared handler must find the right pid. */
    PC_ASSERT_OK(pl_process_kill(r2.p));
    PC_RUN_UNTIL(a, r2.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r2), -SIGKILL);
    PC_ASSERT_EQ_INT(r1.exited, 0);
    PC_ASSERT_OK(pl_process_terminate(r1.p));
    PC_RUN_UNTIL(a, r1.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r1), -SIGTERM);
    /* The last child is reaped: the handler is gone, loop a closes, and
     * loop b may watch children now. */
    PC_ASSERT_OK(pl_loop_close(a));
    PC_ASSERT_OK(rec_spawn(&r3, b, &s));
    PC_ASSERT_OK(pl_process_close(r3.p));
    PC_RUN_UNTIL(b, r3.finished, 5000);

    /* A SIGCHLD handler of the caller's on the loop. */
    PC_ASSERT_OK(pl_loop_add_signal(b, SIGCHLD, ignore_signal, NULL));
    struct conform_process r4 = {0};
    PC_ASSERT_ERR(rec_spawn(&r4, b, &s), no_pidfd(backend) ? -EBUSY : 0);
    if (!no_pidfd(backend)) {
        PC_ASSERT_OK(pl_process_close(r4.p));
        PC_RUN_UNTIL(b, r4.finished, 5000);
    }
    PC_ASSERT_OK(pl_loop_remove_signal(b, SIGCHLD));
    conform_process_free(&r1);
    conform_process_free(&r2);
    conform_process_free(&r3);
    conform_process_free(&r4);
    PC_ASSERT_OK(pl_loop_close(b));
    conform_assert_no_children();
}

#define HUNDRED 100

SPAWN_TEST(test_hundred_children, "S10.hundred-children")
{
    pc_set_timeout_ms(60000);
    int fds_before = conform_open_fds();
    pl_loop *loop = conform_spawn_loop(backend);
    rng_init();
    struct echo *echoes = calloc(HUNDRED, sizeof *echoes);
    PC_ASSERT_NOT_NULL(echoes);
    for (int i = 0; i < HUNDRED; i++)
        echo_start(&echoes[i], loop, MIB, rng_next());
    int done = 0;
    uint64_t deadline = pc_deadline_ms(50000);
    while (done < HUNDRED) {
        PC_ASSERT_LT_UINT(pc_now_ns() / 1000000u, deadline);
        PC_ASSERT_OK(pl_loop_run_once(loop, 20));
        done = 0;
        for (int i = 0; i < HUNDRED; i++)
            done += echoes[i].r.finished;
    }
    for (int i = 0; i < HUNDRED; i++)
        echo_finish(&echoes[i]);
    free(echoes);
    PC_ASSERT_OK(pl_loop_close(loop));
    PC_ASSERT_EQ_INT(conform_open_fds(), fds_before);
    conform_assert_no_children();
}

/* ---- S15: more than three stdio slots ------------------------------------ */

/* The shell's own fd table, with builtins only (see S8.only-stdio-fds). */
#define LIST_FDS                                                                         \
    "i=0; while [ $i -lt 1024 ]; do [ -e /proc/$$/fd/$i ] && printf '%%s ' $i;"          \
    " i=$((i+1)); done; echo"

/* Read a pipe to EOF (its write ends are all closed). */
static void read_all(int fd, struct conform_buf *b)
{
    char chunk[256];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        conform_buf_append(b, chunk, (size_t)n);
    PC_ASSERT_EQ_INT(n, 0);
}

SPAWN_TEST(test_extra_fds, "S15.extra-fds")
{
    pl_loop *loop = conform_spawn_loop(backend);
    /* fd 7 of the child: the caller's pipe; fd `inherit` of the child: the
     * caller's own fd of that number, close-on-exec in the parent. */
    int seven[2], inh[2];
    PC_ASSERT_OK(pipe2(seven, O_CLOEXEC));
    PC_ASSERT_OK(pipe2(inh, O_CLOEXEC));
    int inherit = fcntl(inh[1], F_DUPFD_CLOEXEC, 20);
    PC_ASSERT_GE_INT(inherit, 20);
    close(inh[1]);
    const pl_stdio_extra extra[] = {
        {.child_fd = 3, .kind = PL_STDIO_PIPE, .parent_reads = 1},
        {.child_fd = 4, .kind = PL_STDIO_PIPE, .parent_reads = 0},
        {.child_fd = 5, .kind = PL_STDIO_DEVNULL},
        {.child_fd = 7, .kind = PL_STDIO_FD, .fd = seven[1]},
        {.child_fd = inherit, .kind = PL_STDIO_INHERIT},
        {.child_fd = 1000, .kind = PL_STDIO_PIPE, .parent_reads = 1},
    };
    char script[512];
    /* dash redirects single-digit fds only: fd `inherit` and 1000 are
     * looked at through /proc. */
    snprintf(script, sizeof script,
             LIST_FDS "; echo three >&3; read x <&4; echo \"got $x\" >&3;"
                      " read y <&5 || echo devnull-eof; echo seven >&7;"
                      " [ -p /proc/$$/fd/1000 ] && echo far-is-a-pipe;"
                      " readlink /proc/$$/fd/%d | cut -c1-5",
             inherit);
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh(script, argv);
    set_stdio(&o, PL_STDIO_PIPE, PL_STDIO_PIPE, PL_STDIO_PIPE);
    o.extra = extra;
    o.nextra = sizeof extra / sizeof extra[0];
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    close(seven[1]);
    /* The pipes' transports: a read one on 3 and 1000, a write one on 4,
     * none for the other kinds. */
    pl_transport *t3 = pl_process_get_pipe_transport(r.p, 3);
    pl_transport *t4 = pl_process_get_pipe_transport(r.p, 4);
    PC_ASSERT_NOT_NULL(t3);
    PC_ASSERT_NOT_NULL(t4);
    PC_ASSERT_NOT_NULL(pl_process_get_pipe_transport(r.p, 1000));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 5));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 7));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, inherit));
    PC_ASSERT_NULL(pl_process_get_pipe_transport(r.p, 6));
    PC_ASSERT_ERR(pl_transport_write(t3, "x", 1), PL_EDIRECTION);
    PC_ASSERT_EQ_INT(pl_transport_write(t4, "hello\n", 6), 6);
    PC_ASSERT_OK(pl_transport_close(t4));
    PC_ASSERT_OK(pl_transport_close(pl_process_get_pipe_transport(r.p, 0)));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    close(inherit);

    char want[128];
    snprintf(want, sizeof want,
             "0 1 2 3 4 5 7 %d 1000 \ndevnull-eof\nfar-is-a-pipe\npipe:\n", inherit);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), want);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[3]), "three\ngot hello\n");
    PC_ASSERT(r.lost[3] && r.lost[4] && r.far_lost);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.far_out), "");
    PC_ASSERT_ERR(r.lost_err[3], 0);
    PC_ASSERT_ERR(r.lost_err[4], 0);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    struct conform_buf b = {0};
    read_all(seven[0], &b);
    PC_ASSERT_EQ_STR(conform_buf_str(&b), "seven\n");
    free(b.data);
    memset(&b, 0, sizeof b);
    read_all(inh[0], &b);
    PC_ASSERT_EQ_STR(conform_buf_str(&b), "");
    free(b.data);
    close(seven[0]);
    close(inh[0]);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* Sources that are also targets: the caller's fds a and b swap places in
 * the child, and stdout is a as well.  Set up one after the other, the
 * second dup2 would copy what the first had just put there. */
SPAWN_TEST(test_extra_fds_swap, "S15.extra-fds-swap")
{
    pl_loop *loop = conform_spawn_loop(backend);
    int pa[2], pb[2];
    PC_ASSERT_OK(pipe2(pa, O_CLOEXEC));
    PC_ASSERT_OK(pipe2(pb, O_CLOEXEC));
    int a = pa[1], b = pb[1];
    const pl_stdio_extra extra[] = {
        {.child_fd = a, .kind = PL_STDIO_FD, .fd = b},
        {.child_fd = b, .kind = PL_STDIO_FD, .fd = a},
    };
    char script[128];
    /* dash redirects single-digit fds only; /proc/$$/fd/N opens the
     * shell's fd N anew, which for a pipe is the same pipe. */
    snprintf(script, sizeof script,
             "echo one; echo two >/proc/$$/fd/%d; echo three >/proc/$$/fd/%d", a, b);
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh(script, argv);
    o.stdio[0].kind = PL_STDIO_DEVNULL;
    o.stdio[1] = (pl_stdio){PL_STDIO_FD, a};
    o.extra = extra;
    o.nextra = 2;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    close(a);
    close(b);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    struct conform_buf out_a = {0}, out_b = {0};
    read_all(pa[0], &out_a);
    read_all(pb[0], &out_b);
    PC_ASSERT_EQ_STR(conform_buf_str(&out_a), "one\nthree\n");
    PC_ASSERT_EQ_STR(conform_buf_str(&out_b), "two\n");
    free(out_a.data);
    free(out_b.data);
    close(pa[0]);
    close(pb[0]);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* Extra fds next to a pty: the terminal is 0-2, a pipe is 3. */
SPAWN_TEST(test_extra_fds_with_pty, "S15.extra-fds-with-pty")
{
    pl_loop *loop = conform_spawn_loop(backend);
    const pl_stdio_extra extra[] = {
        {.child_fd = 3, .kind = PL_STDIO_PIPE, .parent_reads = 1}};
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("test -t 0 && test -t 1 && test -t 2 && ! test -t 3"
                                    " && echo side >&3",
                                    argv);
    o.pty = 1;
    o.extra = extra;
    o.nextra = 1;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_ASSERT_OK(pl_transport_close(pl_process_get_pipe_transport(r.p, 0)));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[3]), "side\n");
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

static void on_run_done(pl_run_result *result, void *user)
{
    (void)result;
    (void)user;
    PC_FAIL("a refused pl_run called back");
}

SPAWN_TEST(test_extra_fds_invalid, "S15.extra-fds-invalid")
{
    pl_loop *loop = conform_spawn_loop(backend);
    int p[2];
    PC_ASSERT_OK(pipe2(p, O_CLOEXEC));
    int closed_fd = p[0];
    pl_stdio_extra e[2];
    char *argv[4];
    pl_spawn_options o = conform_sh("exit 0", argv);
    o.extra = e;
    o.nextra = 1;
    const struct {
        pl_stdio_extra first, second;
        size_t n;
        int want;
    } cases[] = {
        {{.child_fd = 2, .kind = PL_STDIO_PIPE}, {0}, 1, -EINVAL},
        {{.child_fd = -1, .kind = PL_STDIO_DEVNULL}, {0}, 1, -EINVAL},
        {{.child_fd = PL_STDIO_EXTRA_MAX, .kind = PL_STDIO_DEVNULL}, {0}, 1, -EINVAL},
        {{.child_fd = 3, .kind = PL_STDIO_STDOUT}, {0}, 1, -EINVAL},
        {{.child_fd = 3, .kind = (enum pl_stdio_kind)42}, {0}, 1, -EINVAL},
        {{.child_fd = 3, .kind = PL_STDIO_DEVNULL},
         {.child_fd = 3, .kind = PL_STDIO_PIPE},
         2,
         -EINVAL},
        {{.child_fd = 3, .kind = PL_STDIO_FD, .fd = -1}, {0}, 1, -EBADF},
        {{.child_fd = 3, .kind = PL_STDIO_FD, .fd = 1023}, {0}, 1, -EBADF},
        {{.child_fd = 1022, .kind = PL_STDIO_INHERIT}, {0}, 1, -EBADF},
    };
    (void)closed_fd;
    close(p[0]);
    close(p[1]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e[0] = cases[i].first;
        e[1] = cases[i].second;
        o.nextra = cases[i].n;
        expect_spawn_error(loop, &o, cases[i].want);
    }
    o.extra = NULL;
    o.nextra = 1;
    expect_spawn_error(loop, &o, -EINVAL);
    /* pl_run reads stdout and stderr only: a pipe on another fd would
     * have nobody reading it. */
    e[0] = (pl_stdio_extra){.child_fd = 3, .kind = PL_STDIO_PIPE, .parent_reads = 1};
    o.extra = e;
    o.nextra = 1;
    PC_ASSERT_ERR(pl_run(loop, &o, NULL, on_run_done, NULL), -EINVAL);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* ---- S16: a detached child outlives its process object -------------------- */

/* Wait until pid is gone for good: kill(pid, 0) still succeeds on a
 * zombie, so ESRCH means it has also been reaped.  Nothing here can
 * notify us (the reaping is the library's), so this polls, with a
 * deadline. */
static void wait_gone(pid_t pid)
{
    uint64_t deadline = pc_deadline_ms(5000);
    while (kill(pid, 0) == 0) {
        if (pc_now_ns() / 1000000u > deadline)
            PC_FAIL("pid %d still there (a zombie?) after %u ms", (int)pid,
                    pc_scale_ms(5000));
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    PC_ASSERT_EQ_INT(errno, ESRCH);
}

/* A detached `sh -c script` whose stdin is the read end of a gate pipe of
 * ours (the child waits on it, long after the process object and the loop
 * are gone) and whose stdout is of kind out.  Returns the gate's write
 * end. */
static int spawn_gated_detached(struct conform_process *r, pl_loop *loop,
                                const char *script, enum pl_stdio_kind out)
{
    int gate[2];
    PC_ASSERT_OK(pipe2(gate, O_CLOEXEC));
    char *argv[4];
    pl_spawn_options o = conform_sh(script, argv);
    o.stdio[0] = (pl_stdio){PL_STDIO_FD, gate[0]};
    o.stdio[1].kind = out;
    o.detached = 1;
    PC_ASSERT_OK(rec_spawn(r, loop, &o));
    close(gate[0]);
    return gate[1];
}

/* The end of a detached test: the loop closes while the child runs on;
 * then the gate opens (line written to it, or none: EOF) and the child
 * goes, leaving no child and no fd behind. */
static void close_loop_then_gate(pl_loop *loop, pid_t pid, int gate, const char *line,
                                 int fds_before, struct conform_process *r)
{
    PC_ASSERT_OK(pl_loop_close(loop));
    PC_ASSERT_OK(kill(pid, 0));
    if (line != NULL)
        PC_ASSERT_EQ_INT(write(gate, line, strlen(line)), (int)strlen(line));
    close(gate);
    wait_gone(pid);
    conform_assert_no_children();
    PC_ASSERT_EQ_INT(conform_open_fds(), fds_before);
    conform_process_free(r);
}

SPAWN_TEST(test_detached_close, "S16.detached-close")
{
    int fds_before = conform_open_fds();
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    int gate =
        spawn_gated_detached(&r, loop, "echo started; read x; exit 3", PL_STDIO_PIPE);
    pid_t pid = pl_process_get_pid(r.p);
    /* Its own session, as with new_session. */
    PC_ASSERT_EQ_INT(getsid(pid), pid);
    PC_RUN_UNTIL(loop, r.out[1].len == 8, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "started\n");

    r.released = 1; /* what the recorder should see from now on */
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_ASSERT_OK(pl_process_close(r.p)); /* again: a no-op */
    PC_ASSERT_ERR(pl_process_send_signal(r.p, 0), -ESRCH);
    PC_ASSERT_ERR(pl_process_send_signal_group(r.p, 0), -ESRCH);
    int rc;
    PC_ASSERT_ERR(pl_process_get_returncode(r.p, &rc), -ECHILD);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.order), "CM L1 CL");
    PC_ASSERT_EQ_INT(r.exited, 0);
    /* The child runs on, and the loop closes without waiting for it. */
    PC_ASSERT_OK(kill(pid, 0));
    char state = conform_proc_stat(pid, NULL, NULL);
    PC_ASSERT(state != 0 && state != 'Z');
    close_loop_then_gate(loop, pid, gate, "go\n", fds_before, &r);
}

/* Closed before the loop ever ran, and with no pipe at all: connection_made
 * and connection_lost still come, in that order, and the child runs on. */
SPAWN_TEST(test_detached_close_at_once, "S16.detached-close-at-once")
{
    int fds_before = conform_open_fds();
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    int gate = spawn_gated_detached(&r, loop, "read x; exit 0", PL_STDIO_DEVNULL);
    pid_t pid = pl_process_get_pid(r.p);
    r.released = 1;
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_ASSERT_EQ_INT(r.made, 0);
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.order), "CM CL");
    close_loop_then_gate(loop, pid, gate, NULL, fds_before, &r); /* EOF: read fails */
}

/* A detached child that exits while its object is open is reported as any
 * other; close after the exit is the usual no-op. */
SPAWN_TEST(test_detached_exit, "S16.detached-exit")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[4];
    pl_spawn_options o = conform_sh("echo bye; exit 4", argv);
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_INHERIT);
    o.detached = 1;
    r.take_ref = 1;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    /* Close once the child has exited: it is reported, not released.
     * (Its stdout's end alone would not do: the child may close it a
     * moment before it exits, and a close then lets it go.)  And once its
     * output has been read: close drops what a read pipe still holds. */
    PC_RUN_UNTIL(loop, r.exited && r.lost[1], 5000);
    PC_ASSERT_OK(pl_process_close(r.p));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    /* Exit and the pipe's end come in either order; the recorder checks
     * that connection_lost is last. */
    PC_ASSERT(r.finished);
    PC_ASSERT_EQ_INT(rec_returncode(&r), 4);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "bye\n");
    pl_process_unref(r.p);
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
    conform_assert_no_children();
}

/* ---- S17: uid and gid ------------------------------------------------------ */

SPAWN_TEST(test_uid_gid, "S17.uid-gid")
{
    if (geteuid() != 0)
        PC_SKIP("needs root to give a child another uid and gid (S17.uid-gid-eperm "
                "covers the refusal)");
    pl_loop *loop = conform_spawn_loop(backend);
    struct conform_process r = {0};
    char *argv[4];
    /* id -G: the supplementary groups were dropped with the identity. */
    pl_spawn_options o = conform_sh("id -u; id -g; id -G; echo extra >&3; pwd", argv);
    set_stdio(&o, PL_STDIO_DEVNULL, PL_STDIO_PIPE, PL_STDIO_PIPE);
    const pl_stdio_extra extra[] = {
        {.child_fd = 3, .kind = PL_STDIO_PIPE, .parent_reads = 1}};
    o.extra = extra;
    o.nextra = 1;
    o.cwd = "/";
    o.set_uid = o.set_gid = 1;
    o.uid = 65534;
    o.gid = 65534;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "65534\n65534\n65534\n/\n");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[2]), "");
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[3]), "extra\n");
    PC_ASSERT_EQ_INT(rec_returncode(&r), 0);
    conform_process_free(&r);

    /* The gid alone. */
    o.set_uid = 0;
    o.gid = 65533;
    PC_ASSERT_OK(rec_spawn(&r, loop, &o));
    PC_RUN_UNTIL(loop, r.finished, 5000);
    PC_ASSERT_EQ_STR(conform_buf_str(&r.out[1]), "0\n65533\n65533\n/\n");
    conform_process_free(&r);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* What an unprivileged caller gets.  As root the test drops to nobody in a
 * child of its own (a forked copy of this test process), which reports
 * through its exit status: 0 when pl_spawn said -EPERM and left nothing. */
static int eperm_check(const pc_backend *backend)
{
    int fds_before = conform_open_fds();
    if (no_pidfd(backend))
        setenv("PIPELOOP_NO_PIDFD", "1", 1);
    pl_loop *loop = NULL;
    if (pl_loop_new(&loop, backend->flag) != 0)
        return 10;
    static const pl_process_protocol none = {0};
    char *argv[] = {S("id"), NULL};
    pl_spawn_options o = conform_program(argv);
    o.stdio[1].kind = PL_STDIO_PIPE;
    pl_process *p = NULL;
    o.set_uid = 1;
    o.uid = 0;
    if (pl_spawn(loop, &o, &none, NULL, &p) != -EPERM)
        return 11;
    o.set_uid = 0;
    o.set_gid = 1;
    o.gid = 0;
    if (pl_spawn(loop, &o, &none, NULL, &p) != -EPERM)
        return 12;
    errno = 0;
    if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
        return 13;
    if (pl_loop_close(loop) != 0)
        return 14;
    if (conform_open_fds() != fds_before)
        return 15;
    return 0;
}

SPAWN_TEST(test_uid_gid_eperm, "S17.uid-gid-eperm")
{
    if (geteuid() != 0) {
        PC_ASSERT_EQ_INT(eperm_check(backend), 0);
        return;
    }
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(9);
        _exit(eperm_check(backend));
    }
    int status = 0;
    PC_ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    PC_ASSERT(WIFEXITED(status));
    PC_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}

/* The fork+exec path that uid/gid need gives the child what posix_spawn
 * does: the S1, S7, S8, S12, S15 and S16 tests again, with the caller's own
 * uid and gid asked for. */
#define FORK_PATH(ident, name, body)                                                     \
    SPAWN_TEST(ident, name)                                                              \
    {                                                                                    \
        same_identity = 1;                                                               \
        body(backend, arg);                                                              \
    }
FORK_PATH(fork_stdio_pipes, "S17.fork-path-stdio-pipes", test_stdio_pipes)
FORK_PATH(fork_exec_failure, "S17.fork-path-exec-failure", test_exec_failure)
FORK_PATH(fork_only_stdio_fds, "S17.fork-path-only-stdio-fds", test_only_stdio_fds)
FORK_PATH(fork_default_signals, "S17.fork-path-default-signals", test_default_signals)
FORK_PATH(fork_pty_child, "S17.fork-path-pty-child", test_pty_child)
FORK_PATH(fork_extra_fds, "S17.fork-path-extra-fds", test_extra_fds)
FORK_PATH(fork_extra_fds_swap, "S17.fork-path-extra-fds-swap", test_extra_fds_swap)
FORK_PATH(fork_detached_close, "S17.fork-path-detached-close", test_detached_close)
FORK_PATH(fork_extra_fds_with_pty, "S17.fork-path-extra-fds-with-pty",
          test_extra_fds_with_pty)
