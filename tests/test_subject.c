/* Subjects: the wire protocol against subjects that break it (crash, exit,
 * hang, garbage, nonsense events), loop reports, and CPython's asyncio
 * through the shipped adapter.  A broken subject must fail the test it is
 * in with a clear message, never hang or crash the run, and leave no
 * process behind. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#ifndef PIPECHECK_SOURCE_DIR
#define PIPECHECK_SOURCE_DIR "."
#endif

/* Where the fake subject of mode writes its pid: named by the outer test
 * (PIPECHECK_FAKE_TAG, inherited by the inner run). */
static void pid_file(char *buf, size_t len, const char *mode)
{
    const char *tag = getenv("PIPECHECK_FAKE_TAG");
    snprintf(buf, len, "/tmp/pipecheck-fake-%s-%s", mode, tag ? tag : "none");
}

/* Make s the current subject and give it a new epoll loop. */
static pc_loop *subject_loop(const pc_subject *s)
{
    pc_subject_set(s);
    pc_loop *loop = NULL;
    PC_ASSERT_OK(pc_loop_new(&loop, "epoll"));
    return loop;
}

/* The fake subject (tests/subjects/fake_subject.py) in mode, with its pid
 * file. */
static const pc_subject *fake_subject(const char *mode)
{
    char pidfile[128], spec[1024];
    pid_file(pidfile, sizeof pidfile, mode);
    snprintf(spec, sizeof spec,
             "exec:exec python3 %s/tests/subjects/fake_subject.py %s %s",
             PIPECHECK_SOURCE_DIR, mode, pidfile);
    const pc_subject *s = pc_subject_find(spec);
    PC_ASSERT_NOT_NULL(s);
    return s;
}

/* Connect a read pipe to a fake subject in mode and step its loop: the
 * fake misbehaves at the step. */
static void drive_fake(const char *mode)
{
    /* Room for a slow interpreter start on a loaded machine (bench/stress
     * saw one take over 5 s); a hang is still found after one operation's
     * wait (OP_WAIT_MS in check/subject_remote.c), well before this runs
     * out. */
    pc_set_timeout_ms(20000);
    const pc_subject *s = fake_subject(mode);
    pc_loop *loop = subject_loop(s);
    int p[2];
    PC_ASSERT_OK(pipe2(p, O_CLOEXEC));
    pc_recorder *rec = pc_recorder_new(loop, "fake read transport");
    pc_transport *t = NULL;
    PC_ASSERT_OK(s->connect_read_pipe(loop, p[0], &pc_recorder_protocol, rec, &t));
    PC_RUN_UNTIL(loop, pc_recorder_lost(rec), 5000);
    PC_FAIL("the fake subject in mode %s behaved", mode);
}

/* Run this binary on one hidden test; collect its output and status. */
static char *run_inner(const char *name, int *status)
{
    const char *argv[] = {pc_self_path(), "--filter", name, NULL};
    return pc_run_capture(NULL, argv, status);
}

/* The inner run fails its test with `needle` in the message, in bounded
 * time, and the fake subject process is gone afterwards. */
static void expect_subject_failure(const char *mode, const char *needle)
{
    if (system("python3 -c '' >/dev/null 2>&1") != 0)
        PC_SKIP("no python3 on PATH for the fake subject");
    char name[64], pidfile[128], tag[32];
    snprintf(name, sizeof name, "subject-guard.%s", mode);
    snprintf(tag, sizeof tag, "%d", (int)getpid());
    PC_ASSERT_OK(setenv("PIPECHECK_FAKE_TAG", tag, 1));
    int status;
    char *out = run_inner(name, &status);
    if (status != 1 || strstr(out, needle) == NULL ||
        strstr(out, "subject exec:") == NULL)
        PC_FAIL("expected a failed test naming the subject and \"%s\" (status %d):\n%s",
                needle, status, out);
    free(out);
    /* The fake process must be gone: killed and reaped by the failing
     * test, not left running or a zombie. */
    pid_file(pidfile, sizeof pidfile, mode);
    FILE *f = fopen(pidfile, "r");
    PC_ASSERT_NOT_NULL(f);
    int pid = 0;
    PC_ASSERT_EQ_INT(fscanf(f, "%d", &pid), 1);
    fclose(f);
    unlink(pidfile);
    PC_ASSERT_GT_INT(pid, 1);
    PC_ASSERT_EQ_INT(kill(pid, 0), -1);
    PC_ASSERT_EQ_INT(errno, ESRCH);
}

/* The fake subject's ways to break the protocol: its mode, the hidden test
 * that drives it, and the test that runs that one in a child and what the
 * failure it sees must say. */
static const struct misbehaviour {
    const char *mode, *guard, *name, *needle;
} misbehaviours[] = {
    {"crash", "subject-guard.crash", "subject.bad-subject-crashes", "killed by signal 9"},
    {"exit", "subject-guard.exit", "subject.bad-subject-exits", "exited with status 3"},
    {"hang", "subject-guard.hang", "subject.bad-subject-hangs", "(hung?)"},
    {"garbage", "subject-guard.garbage", "subject.bad-subject-writes-garbage",
     "garbage on the socket"},
    {"bad-event", "subject-guard.bad-event", "subject.bad-subject-breaks-protocol",
     "protocol error: an event for an unknown transport"},
    {"report", "subject-guard.report", "subject.loop-report-fails-test",
     "an exception reported by the subject's loop: Exception in callback: boom"},
};

static void guard_test(void *arg)
{
    drive_fake(((const struct misbehaviour *)arg)->mode);
}

static void failure_test(void *arg)
{
    const struct misbehaviour *m = arg;
    pc_set_timeout_ms(30000);
    expect_subject_failure(m->mode, m->needle);
}

__attribute__((constructor)) static void register_misbehaviours(void)
{
    for (size_t i = 0; i < sizeof misbehaviours / sizeof misbehaviours[0]; i++) {
        void *m = (void *)(uintptr_t)&misbehaviours[i];
        (void)pc_test_add(misbehaviours[i].guard, guard_test, m, PC_TEST_HIDDEN);
        (void)pc_test_add(misbehaviours[i].name, failure_test, m, 0);
    }
}

/* A subject in another process that claims pipeloop's API in its hello is
 * not taken at its word: it keeps its other capabilities, and is neither
 * handed pipeloop's transports nor graded as pipeloop. */
PC_TEST(subject_claims_pipeloop, "subject.exec-cannot-claim-pipeloop-api")
{
    pc_set_timeout_ms(30000); /* python3 starts twice: slow on a loaded machine */
    if (system("python3 -c '' >/dev/null 2>&1") != 0)
        PC_SKIP("no python3 on PATH for the fake subject");
    char pidfile[128];
    pid_file(pidfile, sizeof pidfile, "claims-pipeloop");
    const pc_subject *s = fake_subject("claims-pipeloop");
    PC_ASSERT_OK(pc_subject_probe(s, NULL));
    PC_ASSERT(s->caps & PC_CAP_WRITEV);
    PC_ASSERT_EQ_UINT(s->caps & PC_CAP_PIPELOOP_API, 0);
    pc_subject_stop(s);
    unlink(pidfile);
}

/* pipeloop's loop_new takes a name of the backend table and refuses any
 * other, rather than making an epoll loop for a misspelt name. */
PC_TEST(subject_unknown_backend, "subject.unknown-backend-refused")
{
    pc_subject_set(NULL);
    pc_loop *loop = NULL;
    PC_ASSERT_ERR(pc_loop_new(&loop, "epol"), -EINVAL);
    PC_ASSERT_ERR(pc_loop_new(&loop, "epoll-sigchld"), -EINVAL);
    PC_ASSERT_ERR(pc_loop_new(&loop, NULL), -EINVAL);
    PC_ASSERT_NULL(loop);
    PC_ASSERT_OK(pc_loop_new(&loop, "poll"));
    PC_ASSERT_NOT_NULL(loop);
    PC_ASSERT_OK(pc_loop_close(loop));
}

/* ---- the shipped adapter, with CPython's asyncio -------------------------- */

/* The asyncio adapter, probed; the test skips where it cannot run.  The
 * time limit is raised for the adapter's start. */
static const pc_subject *asyncio_subject(void)
{
    pc_set_timeout_ms(20000);
    const pc_subject *s = pc_subject_find("asyncio");
    PC_ASSERT_NOT_NULL(s);
    if (pc_subject_probe(s, stderr) != 0)
        PC_SKIP("no usable python3 for the asyncio adapter: %s",
                pc_subject_probe_error(s));
    return s;
}

struct nested {
    const pc_subject *s;
    size_t calls;
    int paused_inside;
};

static void pause_on_data(pc_transport *t, const void *data, size_t len, void *user)
{
    struct nested *n = user;
    (void)data;
    (void)len;
    /* An operation from inside the subject's callback: the subject waits
     * for our "return" and serves this meanwhile. */
    if (n->calls++ == 0 && n->s->pause_reading(t) == 0 &&
        (!(n->s->caps & PC_CAP_IS_READING) || n->s->is_reading(t) == 0))
        n->paused_inside = 1;
}

PC_TEST(subject_asyncio, "subject.asyncio-adapter")
{
    const pc_subject *s = asyncio_subject();
    PC_ASSERT(strstr(s->describe, "asyncio on CPython") != NULL);
    PC_ASSERT(s->caps & PC_CAP_WRITEV);
    PC_ASSERT_EQ_INT(s->caps & PC_CAP_IN_PROCESS, 0);
    PC_ASSERT_EQ_INT(pc_subject_has_backend(s, "poll"), 1);
    pc_loop *loop = subject_loop(s);

    int p[2];
    PC_ASSERT_OK(pipe2(p, O_CLOEXEC));
    pc_recorder *rec = pc_recorder_new(loop, "asyncio read transport");
    struct nested n = {s, 0, 0};
    static const pc_protocol hooks = {.data_received = pause_on_data};
    pc_recorder_set_hooks(rec, &hooks, &n);
    pc_transport *t = NULL;
    PC_ASSERT_OK(s->connect_read_pipe(loop, p[0], &pc_recorder_protocol, rec, &t));
    /* The bench's copy went to the subject: only the subject has it now. */
    PC_ASSERT_EQ_INT(fcntl(p[0], F_GETFD), -1);
    /* An operation the transport does not have raises in Python: a clear
     * error code, not a broken subject. */
    PC_ASSERT_ERR(s->write(t, "x", 1), PL_EDIRECTION);
    PC_ASSERT_EQ_INT(write(p[1], "abc", 3), 3);
    PC_RUN_UNTIL(loop, n.calls == 1, 5000);
    PC_ASSERT_EQ_INT(n.paused_inside, 1);
    PC_ASSERT_EQ_INT(write(p[1], "def", 3), 3);
    pc_run_until_quiet(loop, 50, 5000);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), 3); /* paused from inside */
    /* Closing the loop with the transport open is refused. */
    PC_ASSERT_ERR(pc_loop_close(loop), -EBUSY);
    PC_ASSERT_OK(s->resume_reading(t));
    close(p[1]);
    PC_RUN_UNTIL(loop, pc_recorder_lost(rec), 5000);
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), 6);
    PC_ASSERT_EQ_STR(pc_recorder_sequence(rec), "CM DR ER CL");
    PC_ASSERT_ERR(pc_recorder_error(rec), 0);
    pc_recorder_free(rec);
    PC_ASSERT_OK(pc_loop_close(loop));
    pc_subject_set(NULL);
}

/* ---- the adapter's subprocesses ------------------------------------------- */

struct child_state {
    const pc_subject *s;
    pc_process *p;
    char out[64];
    size_t len;
    int made, eof_inside, lost;
};

static void child_made(pc_process *p, void *user)
{
    struct child_state *c = user;
    c->p = p;
    c->made = 1;
}

/* cat echoes the first line; ending its stdin from inside this callback is
 * an operation nested in the subject's own callback. */
static void child_data(pc_process *p, int fd, const void *data, size_t len, void *user)
{
    struct child_state *c = user;
    if (fd == 1 && c->len + len < sizeof c->out) {
        memcpy(c->out + c->len, data, len);
        c->len += len;
    }
    if (!c->eof_inside) {
        pc_transport *in = c->s->process_pipe(p, 0);
        if (in && c->s->write_eof(in) == 0)
            c->eof_inside = 1;
    }
}

static void child_lost(pc_process *p, void *user)
{
    (void)p;
    ((struct child_state *)user)->lost = 1;
}

PC_TEST(subject_asyncio_subprocess, "subject.asyncio-adapter-subprocess")
{
    const pc_subject *s = asyncio_subject();
    PC_ASSERT(s->caps & PC_CAP_SUBPROCESS);
    pc_loop *loop = subject_loop(s);
    struct child_state c = {s, NULL, {0}, 0, 0, 0, 0};
    static const pc_process_protocol protocol = {
        .connection_made = child_made,
        .pipe_data_received = child_data,
        .connection_lost = child_lost,
    };
    char *argv[] = {(char *)"cat", NULL};
    /* Bad stdio is refused before anything reaches the subject. */
    int bad[3] = {PC_STDIO_STDOUT, PC_STDIO_PIPE, PC_STDIO_PIPE};
    pc_process *p = NULL;
    PC_ASSERT_ERR(s->spawn(loop, argv, bad, &protocol, &c, &p), -EINVAL);
    int stdio[3] = {PC_STDIO_PIPE, PC_STDIO_PIPE, PC_STDIO_DEVNULL};
    PC_ASSERT_OK(s->spawn(loop, argv, stdio, &protocol, &c, &p));
    PC_ASSERT(s->process_pid(p) > 0);
    PC_RUN_UNTIL(loop, c.made, 5000);
    PC_ASSERT(c.p == p);
    /* No stderr pipe: no transport for it. */
    PC_ASSERT(s->process_pipe(p, 2) == NULL);
    PC_ASSERT_EQ_INT(s->write(s->process_pipe(p, 0), "hi\n", 3), 3);
    /* The loop will not close while a process is running. */
    PC_ASSERT_ERR(pc_loop_close(loop), -EBUSY);
    PC_RUN_UNTIL(loop, c.lost, 5000);
    PC_ASSERT_EQ_INT(c.eof_inside, 1);
    PC_ASSERT_EQ_STR(c.out, "hi\n");
    int rc = -1;
    PC_ASSERT_OK(s->process_returncode(p, &rc));
    PC_ASSERT_EQ_INT(rc, 0);
    PC_ASSERT_OK(pc_loop_close(loop));
    pc_subject_set(NULL);
}
