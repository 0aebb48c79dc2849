/* Remote subjects: an implementation under test in its own process, driven
 * over a socketpair with the protocol of docs/subject-protocol.md.  Every
 * wait for the subject is bounded, so a subject that crashes, hangs, exits
 * or talks nonsense fails the test it is in with the subject's name and
 * the last messages exchanged; a failure hook kills and reaps it.
 *
 * This file: the operation table and the registry of remote subjects.
 * subject_process.c starts the subject process, subject_frame.c talks
 * to it, subject_events.c and subject_codes.c read what it says. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipecheck.h"
#include "subject_remote.h"

/* VERB ID OP [ARGS] without payload ("op" on a transport, "pop" on a
 * process): its result, and up to n numbers after ok in values. */
static int64_t id_op(pc_loop *l, const char *verb, unsigned id, const char *op,
                     const char *args, int64_t *values, size_t n)
{
    char header[128];
    snprintf(header, sizeof header, "%s %u %s%s%s", verb, id, op, args ? " " : "",
             args ? args : "");
    struct msg reply;
    pc__remote_request(l, header, NULL, 0, -1, OP_WAIT_MS, &reply);
    return pc__remote_result_of(l, &reply, values, n);
}

static int64_t simple_op(const pc_transport *t, const char *op, const char *args,
                         int64_t *values, size_t n)
{
    return id_op(t->loop, "op", t->id, op, args, values, n);
}

/* ---- the subject's table ------------------------------------------------ */

static int remote_loop_new(pc_loop **loop, const char *backend)
{
    struct remote_config *cfg = pc_subject_current()->config;
    pc_loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->sock = -1;
    l->next_id = 1;
    unsigned limit = pc_timeout_ms();
    l->test_deadline = pc__remote_now_ms() + (limit > 400 ? limit - 300 : limit);
    int err = pc__remote_spawn(cfg, l);
    if (err) {
        free(l);
        return err;
    }
    if (pc_on_failure(pc__remote_on_failure, l) != 0) {
        pc__remote_reap(l, 1, NULL);
        free(l);
        return -ENOMEM;
    }
    char header[64];
    snprintf(header, sizeof header, "hello %d", PROTOCOL_VERSION);
    struct msg reply;
    pc__remote_request(l, header, NULL, 0, -1, OP_WAIT_MS * 2, &reply);
    if (strncmp(reply.header, "hello ", 6) != 0)
        pc__remote_fail(l, "refused to start: %s", reply.header);
    const char *pid = strstr(reply.header, " pid=");
    if (l->foreign && pid)
        l->pid = (pid_t)atoi(pid + 5);
    free(reply.body);
    snprintf(header, sizeof header, "loop %s", backend);
    pc__remote_request(l, header, NULL, 0, -1, OP_WAIT_MS, &reply);
    err = pc__remote_result_of(l, &reply, NULL, 0);
    if (err)
        pc__remote_fail(l, "cannot make a loop for backend %s: %s", backend,
                        pl_err_name(err));
    *loop = l;
    return 0;
}

static int remote_loop_close(pc_loop *l)
{
    struct msg reply;
    pc__remote_request(l, "bye", NULL, 0, -1, OP_WAIT_MS, &reply);
    int err = pc__remote_result_of(l, &reply, NULL, 0);
    if (err)
        return err;
    /* The subject exits after its answer: wait for the end of the stream
     * and reap it, killing it if it lingers. */
    char c;
    uint64_t deadline = pc__remote_deadline_for(l, OP_WAIT_MS);
    for (;;) {
        ssize_t n = recv(l->sock, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        if (n > 0)
            pc__remote_fail(l, "protocol error: a message after its last answer");
        if (pc__remote_now_ms() >= deadline)
            pc__remote_fail(l, "did not exit after 'bye'");
        struct pollfd p = {l->sock, POLLIN, 0};
        (void)poll(&p, 1, 100);
    }
    int status = 0;
    int foreign = l->foreign;
    pc__remote_reap(l, 0, &status);
    pc_on_failure_remove(pc__remote_on_failure, l);
    while (l->transports) {
        pc_transport *t = l->transports;
        l->transports = t->next;
        free(t);
    }
    while (l->processes) {
        pc_process *p = l->processes;
        l->processes = p->next;
        free(p);
    }
    free(l);
    if (!foreign && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        PC_FAIL("subject exited with status 0x%x after 'bye'", (unsigned)status);
    return 0;
}

/* A step or quiet span may not outlast the test: the runner would kill
 * the test before the subject could answer. */
static unsigned clamp_to_test(pc_loop *l, unsigned ms)
{
    uint64_t now = pc__remote_now_ms();
    uint64_t left = l->test_deadline > now + 100 ? l->test_deadline - now - 100 : 0;
    if (left == 0)
        pc_fail(__FILE__, __LINE__,
                "%s: the test's time limit is reached; stopped stepping the loop",
                l->cfg->name);
    return ms < left ? ms : (unsigned)left;
}

static int remote_step(pc_loop *l, int timeout_ms)
{
    timeout_ms = (int)clamp_to_test(l, timeout_ms < 0 ? 0u : (unsigned)timeout_ms);
    char header[64];
    snprintf(header, sizeof header, "step %d", timeout_ms);
    struct msg reply;
    l->running++;
    pc__remote_request_span(l, header, NULL, 0, -1, 0, timeout_ms, &reply);
    l->running--;
    uint64_t iteration, count;
    char *p = reply.header;
    size_t a, b;
    const char *word = pc__remote_token(&p, &a);
    const char *it = pc__remote_token(&p, &b);
    size_t clen;
    const char *cnt = pc__remote_token(&p, &clen);
    if (a != 4 || strncmp(word, "done", 4) != 0 ||
        pc__remote_parse_u64(it, b, &iteration) ||
        pc__remote_parse_u64(cnt, clen, &count)) {
        free(reply.body);
        pc__remote_fail(l, "protocol error: a step must end with 'done ITERATION COUNT'");
    }
    free(reply.body);
    l->iteration = iteration;
    return count > INT32_MAX ? INT32_MAX : (int)count;
}

static int remote_run_until_quiet(pc_loop *l, unsigned quiet_ms, unsigned timeout_ms)
{
    timeout_ms = clamp_to_test(l, timeout_ms);
    char header[64];
    snprintf(header, sizeof header, "quiet %u %u", quiet_ms, timeout_ms);
    struct msg reply;
    l->running++;
    pc__remote_request_span(l, header, NULL, 0, -1, 0, timeout_ms, &reply);
    l->running--;
    if (strncmp(reply.header, "err ", 4) == 0)
        return pc__remote_result_of(l, &reply, NULL, 0);
    uint64_t iteration, count;
    char *p = reply.header;
    size_t a, b, c;
    const char *word = pc__remote_token(&p, &a);
    const char *it = pc__remote_token(&p, &b);
    const char *cnt = pc__remote_token(&p, &c);
    int bad = a != 4 || strncmp(word, "done", 4) != 0 ||
              pc__remote_parse_u64(it, b, &iteration) ||
              pc__remote_parse_u64(cnt, c, &count);
    free(reply.body);
    if (bad)
        pc__remote_fail(l, "protocol error: quiet must end with 'done ITERATION COUNT'");
    l->iteration = iteration;
    return count > INT32_MAX ? INT32_MAX : (int)count;
}

/* The subject process's time running and waiting to run. */
static int remote_sched_time(pc_loop *l, uint64_t *run_ns, uint64_t *wait_ns)
{
    if (l->pid <= 0)
        return -ENOTSUP;
    return pc_process_sched_time(l->pid, run_ns, wait_ns);
}

static uint64_t remote_iteration(const pc_loop *l)
{
    return l->iteration;
}

static int remote_is_running(const pc_loop *l)
{
    return l->running > 0;
}

static pl_loop *remote_native(pc_loop *l)
{
    (void)l;
    return NULL;
}

static int remote_connect(pc_loop *l, const char *dir, int fd,
                          const pc_protocol *protocol, void *user,
                          pc_transport **transport)
{
    if (!l || !protocol || !transport)
        return -EINVAL;
    pc_transport *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->loop = l;
    t->id = l->next_id++;
    t->protocol = protocol;
    t->user = user;
    /* Events may name it as soon as the request is out. */
    t->next = l->transports;
    l->transports = t;
    char header[96];
    int open_fd = fd >= 0 && fcntl(fd, F_GETFD) >= 0;
    if (open_fd)
        snprintf(header, sizeof header, "connect %u %s fd", t->id, dir);
    else
        snprintf(header, sizeof header, "connect %u %s badfd %s", t->id, dir,
                 fd < 0 ? "-1" : "closed");
    struct msg reply;
    pc__remote_request(l, header, NULL, 0, open_fd ? fd : -1, OP_WAIT_MS, &reply);
    int err = pc__remote_result_of(l, &reply, NULL, 0);
    if (err) {
        l->transports = t->next;
        free(t);
        return err;
    }
    /* The subject owns its copy now; the transport owns the fd. */
    if (open_fd)
        close(fd);
    *transport = t;
    return 0;
}

static int remote_connect_read(pc_loop *l, int fd, const pc_protocol *protocol,
                               void *user, pc_transport **transport)
{
    return remote_connect(l, "read", fd, protocol, user, transport);
}

static int remote_connect_write(pc_loop *l, int fd, const pc_protocol *protocol,
                                void *user, pc_transport **transport)
{
    return remote_connect(l, "write", fd, protocol, user, transport);
}

static int remote_pause_reading(pc_transport *t)
{
    return (int)simple_op(t, "pause_reading", NULL, NULL, 0);
}

static int remote_resume_reading(pc_transport *t)
{
    return (int)simple_op(t, "resume_reading", NULL, NULL, 0);
}

static int remote_flag(const pc_transport *t, const char *op)
{
    int64_t v = 0;
    int err = (int)simple_op(t, op, NULL, &v, 1);
    return err ? err : v != 0;
}

static int remote_is_reading(const pc_transport *t)
{
    return remote_flag(t, "is_reading");
}

static ssize_t remote_write(pc_transport *t, const void *data, size_t len)
{
    if (!data && len > 0)
        return -EINVAL; /* a C-level misuse the wire cannot carry */
    char header[64];
    snprintf(header, sizeof header, "op %u write", t->id);
    struct msg reply;
    pc__remote_request(t->loop, header, data, len, -1, OP_WAIT_MS, &reply);
    int64_t n = 0;
    int err = pc__remote_result_of(t->loop, &reply, &n, 1);
    return err ? err : (ssize_t)n;
}

static ssize_t remote_writev(pc_transport *t, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0 || (!iov && iovcnt > 0))
        return -EINVAL; /* a C-level misuse the wire cannot carry */
    /* The pieces go as one payload; the header lists their lengths so the
     * subject can hand them over as separate buffers (writelines). */
    size_t total = 0;
    size_t hlen = 64 + (size_t)iovcnt * 21;
    char *header = malloc(hlen);
    if (!header)
        return -ENOMEM;
    size_t off = (size_t)snprintf(header, hlen, "op %u writev %d", t->id, iovcnt);
    for (int i = 0; i < iovcnt; i++) {
        off += (size_t)snprintf(header + off, hlen - off, " %zu", iov[i].iov_len);
        total += iov[i].iov_len;
    }
    char *data = malloc(total ? total : 1);
    if (!data) {
        free(header);
        return -ENOMEM;
    }
    size_t at = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len)
            memcpy(data + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    struct msg reply;
    pc__remote_request(t->loop, header, data, total, -1, OP_WAIT_MS, &reply);
    free(header);
    free(data);
    int64_t n = 0;
    int err = pc__remote_result_of(t->loop, &reply, &n, 1);
    return err ? err : (ssize_t)n;
}

static ssize_t remote_write_lent(pc_transport *t, const void *data, size_t len,
                                 pc_write_done_cb done, void *user)
{
    (void)t;
    (void)data;
    (void)len;
    (void)done;
    (void)user;
    return -ENOTSUP; /* no PC_CAP_LENT_WRITES: tests that lend are n/a */
}

static int remote_write_eof(pc_transport *t)
{
    return (int)simple_op(t, "write_eof", NULL, NULL, 0);
}

static int remote_can_write_eof(const pc_transport *t)
{
    return remote_flag(t, "can_write_eof");
}

static size_t remote_get_write_buffer_size(const pc_transport *t)
{
    int64_t v = 0;
    int err = (int)simple_op(t, "get_write_buffer_size", NULL, &v, 1);
    /* pipeloop answers 0 for a transport without a write buffer; so does
     * a subject that refuses the question (R13). */
    return err || v < 0 ? 0 : (size_t)v;
}

static int remote_set_write_buffer_limits(pc_transport *t, int64_t high, int64_t low)
{
    char args[64], h[24], lo[24];
    if (high == PL_LIMIT_UNSET)
        snprintf(h, sizeof h, "-");
    else
        snprintf(h, sizeof h, "%lld", (long long)high);
    if (low == PL_LIMIT_UNSET)
        snprintf(lo, sizeof lo, "-");
    else
        snprintf(lo, sizeof lo, "%lld", (long long)low);
    snprintf(args, sizeof args, "%s %s", h, lo);
    return (int)simple_op(t, "set_write_buffer_limits", args, NULL, 0);
}

static int remote_get_write_buffer_limits(const pc_transport *t, size_t *high,
                                          size_t *low)
{
    int64_t v[2] = {0, 0};
    int err = (int)simple_op(t, "get_write_buffer_limits", NULL, v, 2);
    if (err)
        return err;
    if (high)
        *high = (size_t)v[0];
    if (low)
        *low = (size_t)v[1];
    return 0;
}

static int remote_close(pc_transport *t)
{
    return (int)simple_op(t, "close", NULL, NULL, 0);
}

static int remote_abort(pc_transport *t)
{
    return (int)simple_op(t, "abort", NULL, NULL, 0);
}

static int remote_is_closing(const pc_transport *t)
{
    return remote_flag(t, "is_closing");
}

static int remote_get_fd(const pc_transport *t)
{
    int64_t v = -1;
    int err = (int)simple_op(t, "get_fd", NULL, &v, 1);
    return err ? err : (int)v;
}

/* set_protocol NEWID: the subject's new protocol reports as NEWID, an
 * entry of its own that delivers to t's handle with protocol and user. */
static int remote_set_protocol(pc_transport *t, const pc_protocol *protocol, void *user)
{
    if (!protocol)
        return -EINVAL; /* a C-level misuse the wire cannot carry */
    pc_loop *l = t->loop;
    pc_transport *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->loop = l;
    p->id = l->next_id++;
    p->protocol = protocol;
    p->user = user;
    p->owner = t;
    p->next = l->transports;
    l->transports = p;
    char args[24];
    snprintf(args, sizeof args, "%u", p->id);
    int err = (int)simple_op(t, "set_protocol", args, NULL, 0);
    if (err) {
        /* Nothing reports as p: unlink it (it is first unless an event
         * in between made another entry, so search). */
        for (pc_transport **pp = &l->transports; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        free(p);
    }
    return err;
}

/* get_protocol: ok ID, the id its protocol reports as (0: none or not
 * one of the bench's). */
static int remote_get_protocol(const pc_transport *t, const pc_protocol **protocol,
                               void **user)
{
    int64_t id = 0;
    *protocol = NULL;
    *user = NULL;
    int err = (int)simple_op(t, "get_protocol", NULL, &id, 1);
    if (err)
        return err;
    for (const pc_transport *p = t->loop->transports; p; p = p->next)
        if ((int64_t)p->id == id && (p == t || p->owner == t)) {
            *protocol = p->protocol;
            *user = p->user;
        }
    return 0;
}

/* drop: ok COLLECTED WARNINGS. */
static int remote_drop(pc_transport *t, int *collected, int *warnings)
{
    int64_t v[2] = {0, 0};
    int err = (int)simple_op(t, "drop", NULL, v, 2);
    *collected = err ? 0 : (int)v[0];
    *warnings = err ? 0 : (int)v[1];
    return err;
}

/* Handles stay valid until their loop closes: nothing to count. */
static void remote_ref(pc_transport *t)
{
    (void)t;
}

static void remote_unref(pc_transport *t)
{
    (void)t;
}

/* ---- subprocesses ---------------------------------------------------------- */

/* spawn ID STDIN STDOUT STDERR ARGC, the arguments NUL-terminated in the
 * payload; ok PID. */
static int remote_spawn(pc_loop *l, char *const argv[], const int stdio[3],
                        const pc_process_protocol *protocol, void *user,
                        pc_process **process)
{
    static const char *const names[] = {"inherit", "pipe", "devnull", "stdout"};
    if (!argv || !argv[0] || !stdio || !protocol || !process)
        return -EINVAL;
    for (int i = 0; i < 3; i++)
        if (stdio[i] < PC_STDIO_INHERIT || stdio[i] > PC_STDIO_STDOUT ||
            (stdio[i] == PC_STDIO_STDOUT && i != 2))
            return -EINVAL;
    size_t argc = 0, total = 0;
    for (; argv[argc]; argc++)
        total += strlen(argv[argc]) + 1;
    char *payload = malloc(total);
    if (!payload)
        return -ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(payload + at, argv[i], n);
        at += n;
    }
    pc_process *p = calloc(1, sizeof *p);
    if (!p) {
        free(payload);
        return -ENOMEM;
    }
    p->loop = l;
    p->id = l->next_id++;
    p->protocol = protocol;
    p->user = user;
    /* Linked first: events may come before the answer. */
    p->next = l->processes;
    l->processes = p;
    char header[128];
    snprintf(header, sizeof header, "spawn %u %s %s %s %zu", p->id, names[stdio[0]],
             names[stdio[1]], names[stdio[2]], argc);
    struct msg reply;
    pc__remote_request(l, header, payload, total, -1, OP_WAIT_MS, &reply);
    free(payload);
    int64_t pid = -1;
    int err = pc__remote_result_of(l, &reply, &pid, 1);
    if (err) {
        l->processes = p->next;
        free(p);
        return err;
    }
    p->pid = (pid_t)pid;
    *process = p;
    return 0;
}

static pid_t remote_process_pid(const pc_process *p)
{
    return p->pid;
}

static int64_t process_op(const pc_process *p, const char *op, const char *args,
                          int64_t *values, size_t n)
{
    return id_op(p->loop, "pop", p->id, op, args, values, n);
}

static int remote_process_returncode(const pc_process *p, int *returncode)
{
    int64_t rc = 0;
    int err = (int)process_op(p, "returncode", NULL, &rc, 1);
    if (!err && returncode)
        *returncode = (int)rc;
    return err;
}

static int remote_process_send_signal(pc_process *p, int signum)
{
    char args[16];
    snprintf(args, sizeof args, "%d", signum);
    return (int)process_op(p, "send_signal", args, NULL, 0);
}

static int remote_process_close(pc_process *p)
{
    return (int)process_op(p, "close", NULL, NULL, 0);
}

/* pop ID cancel: the subject gives the spawn up (docs/subject-protocol.md). */
static int remote_process_cancel(pc_process *p)
{
    return (int)process_op(p, "cancel", NULL, NULL, 0);
}

/* pop ID pipe FD TID: the subject names its pipe transport TID (the same
 * transport every time), or answers err when fd has none now. */
static pc_transport *remote_process_pipe(pc_process *p, int fd)
{
    if (fd < 0 || fd > 2)
        return NULL;
    pc_loop *l = p->loop;
    pc_transport *t = p->pipes[fd];
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t)
            return NULL;
        t->loop = l;
        t->id = l->next_id++;
        t->next = l->transports;
        l->transports = t;
        p->pipes[fd] = t; /* protocol NULL: its events go to the process */
    }
    char args[32];
    snprintf(args, sizeof args, "%d %u", fd, t->id);
    int err = (int)process_op(p, "pipe", args, NULL, 0);
    /* ENOENT is "no pipe on this fd"; anything else (an exception raised
     * by the subject's lookup, such as a KeyError for an fd it was not
     * given) is a bug of the subject's, not an absent pipe (S1). */
    if (err != 0 && err != -ENOENT)
        PC_FAIL("asking the subject for the pipe of fd %d failed: %s", fd,
                err == PC_EEXCEPTION ? "an exception (its text is above)"
                                     : pl_err_name(err));
    return err == 0 ? t : NULL;
}

static const pc_subject remote_table = {
    .name = NULL,
    .describe = NULL,
    .caps = 0,
    .read_size = 0,
    .backends = NULL,
    .loop_new = remote_loop_new,
    .loop_close = remote_loop_close,
    .step = remote_step,
    .run_until_quiet = remote_run_until_quiet,
    .sched_time = remote_sched_time,
    .iteration = remote_iteration,
    .is_running = remote_is_running,
    .native_loop = remote_native,
    .connect_read_pipe = remote_connect_read,
    .connect_write_pipe = remote_connect_write,
    .pause_reading = remote_pause_reading,
    .resume_reading = remote_resume_reading,
    .is_reading = remote_is_reading,
    .write = remote_write,
    .writev = remote_writev,
    .write_lent = remote_write_lent,
    .write_eof = remote_write_eof,
    .can_write_eof = remote_can_write_eof,
    .get_write_buffer_size = remote_get_write_buffer_size,
    .set_write_buffer_limits = remote_set_write_buffer_limits,
    .get_write_buffer_limits = remote_get_write_buffer_limits,
    .close = remote_close,
    .abort = remote_abort,
    .is_closing = remote_is_closing,
    .get_fd = remote_get_fd,
    .ref = remote_ref,
    .unref = remote_unref,
    .set_protocol = remote_set_protocol,
    .get_protocol = remote_get_protocol,
    .drop = remote_drop,
    .config = NULL,
    .spawn = remote_spawn,
    .process_pid = remote_process_pid,
    .process_returncode = remote_process_returncode,
    .process_send_signal = remote_process_send_signal,
    .process_close = remote_process_close,
    .process_pipe = remote_process_pipe,
    .process_cancel = remote_process_cancel,
    .probe = pc__remote_probe,
    .probe_error = pc__remote_probe_error,
    .start = pc__remote_start,
    .stop = pc__remote_stop,
};

/* ---- registry ----------------------------------------------------------- */

#define MAX_REMOTES 16
static struct remote_config *remotes[MAX_REMOTES];
static size_t nremotes;

const pc_subject *pc__subject_remote(const char *spec)
{
    for (size_t i = 0; i < nremotes; i++)
        if (strcmp(remotes[i]->name, spec) == 0)
            return &remotes[i]->subject;
    int is_exec = strncmp(spec, "exec:", 5) == 0 && spec[5] != '\0';
    /* "asyncio@/path/python3": that interpreter for this subject alone. */
    const char *at = is_exec ? NULL : strchr(spec, '@');
    size_t kind_len = at ? (size_t)(at - spec) : strlen(spec);
    int known = (kind_len == 7 && strncmp(spec, "asyncio", 7) == 0) ||
                (kind_len == 6 && strncmp(spec, "uvloop", 6) == 0);
    if (!is_exec && (!known || (at && at[1] == '\0'))) {
        fprintf(stderr,
                "pipecheck: unknown subject '%s' (pipeloop, asyncio, uvloop, "
                "asyncio@PYTHON, uvloop@PYTHON or exec:CMD)\n",
                spec);
        return NULL;
    }
    if (nremotes == MAX_REMOTES || strlen(spec) >= sizeof remotes[0]->name) {
        fprintf(stderr, "pipecheck: too many subjects or too long: '%s'\n", spec);
        return NULL;
    }
    struct remote_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->subject = remote_table;
    snprintf(cfg->name, sizeof cfg->name, "%s", spec);
    if (is_exec) {
        cfg->command = strdup(spec + 5);
        if (!cfg->command) {
            free(cfg);
            return NULL;
        }
    } else {
        snprintf(cfg->loop_kind, sizeof cfg->loop_kind, "%.*s", (int)kind_len, spec);
        if (at) {
            snprintf(cfg->executable, sizeof cfg->executable, "%s", at + 1);
            cfg->python_given = 1;
        }
    }
    snprintf(cfg->describe, sizeof cfg->describe, "%s (not started yet)", spec);
    snprintf(cfg->backends, sizeof cfg->backends, "epoll");
    cfg->subject.name = cfg->name;
    cfg->subject.describe = cfg->describe;
    cfg->subject.backends = cfg->backends;
    cfg->subject.read_size = 256u * 1024u;
    cfg->subject.config = cfg;
    cfg->zygote_fd = -1;
    remotes[nremotes++] = cfg;
    return &cfg->subject;
}
