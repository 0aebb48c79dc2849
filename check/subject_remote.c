/* Remote subjects: an implementation under test in its own process, driven
 * over a socketpair with the protocol of docs/subject-protocol.md.  Every
 * wait for the subject is bounded, so a subject that crashes, hangs, exits
 * or talks nonsense fails the test it is in with the subject's name and
 * the last messages exchanged; a failure hook kills and reaps it. */
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
#include "subject_internal.h"

#ifndef PIPECHECK_ADAPTER
#define PIPECHECK_ADAPTER "tools/pipecheck_subject.py"
#endif

extern char **environ;

/* The protocol's version, sent in hello. */
#define PROTOCOL_VERSION 1
/* The fd a subject process finds its end of the socketpair on. */
#define SUBJECT_FD 3
/* No frame is larger: the biggest write a test makes plus its header. */
#define FRAME_MAX (80u << 20)
/* How long a subject may take to answer an operation, and beyond its own
 * timeout a step (before scaling). */
#define OP_WAIT_MS 5000u
#define STEP_GRACE_MS 2000u
#define TEXT_MAX 160

/* ---- configuration ------------------------------------------------------ */

struct remote_config {
    pc_subject subject; /* first: the table handed out */
    char name[256];
    char *command; /* exec: the /bin/sh -c command; NULL for the adapter */
    char loop_kind[16];
    char describe[512];
    char backends[64];
    char probe_error[512];
    char executable[1024]; /* the interpreter the adapter reported */
    int probed;
    int zygote_fd; /* SOCK_SEQPACKET to the forking adapter, or -1 */
    pid_t zygote_pid;
};

static char python_path[1024] = "python3";

/* Set by pc_subject_set_python: then uvloop never falls back. */
static int python_chosen;

void pc_subject_set_python(const char *path)
{
    snprintf(python_path, sizeof python_path, "%s", path ? path : "python3");
    python_chosen = path != NULL;
}

const char *pc_subject_python(void)
{
    return python_path;
}

/* $PIPECHECK_ADAPTER, else the source tree's copy (a build directory's
 * pipecheck), else the installed one (an installed pipecheck whose source
 * tree is gone). */
static const char *adapter_path(void)
{
    const char *env = getenv("PIPECHECK_ADAPTER");
    if (env && *env)
        return env;
#ifdef PIPECHECK_ADAPTER_INSTALLED
    if (access(PIPECHECK_ADAPTER, R_OK) != 0)
        return PIPECHECK_ADAPTER_INSTALLED;
#endif
    return PIPECHECK_ADAPTER;
}

/* ---- handles ------------------------------------------------------------ */

struct pc_transport {
    struct pc_transport *next;
    pc_loop *loop;
    unsigned id;
    const pc_protocol *protocol;
    void *user;
};

/* A subprocess of the subject: events name it by id like a transport;
 * its pipes' transports get ids of their own when first asked for. */
struct pc_process {
    struct pc_process *next;
    pc_loop *loop;
    unsigned id;
    pid_t pid;
    const pc_process_protocol *protocol;
    void *user;
    pc_transport *pipes[3]; /* made by process_pipe, kept until loop close */
};

struct pc_loop {
    struct remote_config *cfg;
    pid_t pid;
    int foreign; /* forked by the zygote: not our child to reap */
    int sock;
    uint64_t iteration;
    unsigned running; /* step requests being answered */
    unsigned next_id;
    pc_transport *transports;
    pc_process *processes;
    uint64_t test_deadline; /* ms: answer before the runner's timeout */
    char last_sent[TEXT_MAX];
    char last_received[TEXT_MAX];
};

/* A message: the header line (NUL-terminated) and the payload after it. */
struct msg {
    char *body; /* owned */
    char *header;
    char *payload;
    size_t payload_len;
};

static void copy_text(char *dst, const char *src, size_t len)
{
    size_t n = 0;
    for (; n < len && n + 1 < TEXT_MAX; n++)
        dst[n] = src[n] >= 32 && src[n] < 127 ? src[n] : '?';
    dst[n] = '\0';
}

/* Kill and reap the subject process, close the socket: leave nothing. */
static void reap(pc_loop *l, int kill_it, int *status)
{
    if (l->sock >= 0) {
        close(l->sock);
        l->sock = -1;
    }
    if (l->pid <= 0)
        return;
    if (kill_it)
        kill(l->pid, SIGKILL);
    if (l->foreign) {
        /* The zygote reaps it. */
        l->pid = -1;
        return;
    }
    int st = 0;
    while (waitpid(l->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (status)
        *status = st;
    l->pid = -1;
}

static void on_failure(void *arg)
{
    pc_loop *l = arg;
    if (l->pid > 0)
        fprintf(stderr, "subject %s (pid %d): last sent '%s', last received '%s'\n",
                l->cfg->name, (int)l->pid, l->last_sent, l->last_received);
    reap(l, 1, NULL);
}

PC__PRINTF(2, 3) PC__NORETURN static void remote_fail(pc_loop *l, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    pc_fail(__FILE__, __LINE__, "subject %s: %s (last sent: '%s'; last received: '%s')",
            l->cfg->name, what, l->last_sent, l->last_received);
}

/* The subject closed its end: say how it ended. */
PC__NORETURN static void subject_gone(pc_loop *l, const char *while_doing)
{
    /* Give an exiting process a moment to be reaped, then make sure. */
    int st = 0;
    pid_t got = l->foreign ? -1 : 0;
    for (int i = 0; i < 40 && got == 0; i++) {
        got = waitpid(l->pid, &st, WNOHANG);
        if (got == 0) {
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    char how[96];
    if (got == l->pid) {
        l->pid = -1;
        if (WIFEXITED(st))
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
        else
            snprintf(how, sizeof how, "was killed by signal %d (%s)", WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
    } else if (l->foreign) {
        snprintf(how, sizeof how, "closed its socket (it exited or crashed)");
    } else {
        snprintf(how, sizeof how, "closed its socket and was killed");
    }
    reap(l, 1, NULL);
    remote_fail(l, "the subject process %s %s", how, while_doing);
}

/* ---- frames ------------------------------------------------------------- */

static uint64_t deadline_for(const pc_loop *l, unsigned wait_ms)
{
    uint64_t d = pc_now_ns() / 1000000u + pc_scale_ms(wait_ms);
    return d < l->test_deadline ? d : l->test_deadline;
}

static void wait_fd(pc_loop *l, short events, uint64_t deadline, const char *doing)
{
    for (;;) {
        uint64_t now = pc_now_ns() / 1000000u;
        /* The test's own time limit cut the wait short: the test ran out
         * of time (a slow machine, a test at its limit), which is not
         * evidence of a hung subject. */
        if (now >= deadline && deadline >= l->test_deadline)
            pc_fail(__FILE__, __LINE__,
                    "%s: the test's time limit ran out while %s (last sent '%s')",
                    l->cfg->name, doing, l->last_sent);
        if (now >= deadline)
            remote_fail(l, "no answer within the time allowed while %s (hung?)", doing);
        struct pollfd p = {l->sock, events, 0};
        uint64_t left = deadline - now;
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return;
        if (r < 0 && errno != EINTR)
            remote_fail(l, "poll: %s", strerror(errno));
    }
}

/* Send header [+ '\n' + payload], passing fd (if >= 0) with SCM_RIGHTS. */
static void send_frame(pc_loop *l, const char *header, const void *payload, size_t len,
                       int fd)
{
    size_t hlen = strlen(header);
    size_t body = hlen + (payload || len ? 1 + len : 0);
    unsigned char prefix[4] = {(unsigned char)(body >> 24), (unsigned char)(body >> 16),
                               (unsigned char)(body >> 8), (unsigned char)body};
    struct iovec iov[4] = {
        {prefix, 4}, {(void *)header, hlen}, {(void *)"\n", 1}, {(void *)payload, len}};
    int iovcnt = body > hlen ? 4 : 2;
    copy_text(l->last_sent, header, hlen);
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)iovcnt;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    uint64_t deadline = deadline_for(l, OP_WAIT_MS);
    size_t left = 4 + body;
    while (left > 0) {
        ssize_t n = sendmsg(l->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                wait_fd(l, POLLOUT, deadline, "sending a request");
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET)
                subject_gone(l, "before reading a request");
            remote_fail(l, "sendmsg: %s", strerror(errno));
        }
        /* The fd went with the first bytes; move past what was sent. */
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        left -= (size_t)n;
        size_t skip = (size_t)n;
        while (skip > 0 && mh.msg_iovlen > 0) {
            if (skip >= mh.msg_iov->iov_len) {
                skip -= mh.msg_iov->iov_len;
                mh.msg_iov++;
                mh.msg_iovlen--;
            } else {
                mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + skip;
                mh.msg_iov->iov_len -= skip;
                skip = 0;
            }
        }
    }
}

static void read_exact(pc_loop *l, void *buf, size_t len, uint64_t deadline,
                       const char *doing)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(l->sock, (char *)buf + got, len - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            subject_gone(l, doing);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            remote_fail(l, "recv: %s", strerror(errno));
        wait_fd(l, POLLIN, deadline, doing);
    }
}

static void recv_frame(pc_loop *l, uint64_t deadline, const char *doing, struct msg *m)
{
    unsigned char prefix[4];
    read_exact(l, prefix, 4, deadline, doing);
    uint32_t body = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                    (uint32_t)prefix[2] << 8 | prefix[3];
    if (body == 0 || body > FRAME_MAX) {
        copy_text(l->last_received, (const char *)prefix, 4);
        remote_fail(l, "garbage on the socket: a frame of %u bytes", (unsigned)body);
    }
    m->body = malloc((size_t)body + 1);
    if (!m->body)
        PC_FAIL("out of memory for a %u-byte message", (unsigned)body);
    read_exact(l, m->body, body, deadline, doing);
    m->body[body] = '\0';
    char *nl = memchr(m->body, '\n', body);
    m->header = m->body;
    if (nl) {
        *nl = '\0';
        m->payload = nl + 1;
        m->payload_len = body - (size_t)(nl + 1 - m->body);
    } else {
        m->payload = m->body + body;
        m->payload_len = 0;
    }
    copy_text(l->last_received, m->header, strlen(m->header));
    for (const char *p = m->header; *p; p++)
        if (*p < 32 || *p > 126) {
            free(m->body);
            remote_fail(l, "garbage on the socket: a header that is not text");
        }
}

const char *pc__subject_report_kind(const char *type, size_t len)
{
    if (len == 3 && strncmp(type, "EXC", 3) == 0)
        return "an exception";
    if (len == 3 && strncmp(type, "LOG", 3) == 0)
        return "a logged warning or error";
    if (len == 4 && strncmp(type, "WARN", 4) == 0)
        return "a Python warning";
    return "a report";
}

/* ---- codes -------------------------------------------------------------- */

/* "EPIPE" -> -EPIPE, "ECLOSED" -> PL_ECLOSED, "0" -> 0; unknown names and
 * "EXCEPTION" give PC_EEXCEPTION. */
static int code_from_name(const char *name, size_t len)
{
    if (len == 1 && name[0] == '0')
        return 0;
    static const int lib[] = {PL_EOF, PL_ECLOSED, PL_EDIRECTION, PL_EFDKIND,
                              PL_ENOTWATCHABLE};
    for (size_t i = 0; i < sizeof lib / sizeof lib[0]; i++) {
        const char *n = pl_err_name(lib[i]) + 3; /* past "PL_" */
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return lib[i];
    }
    for (int e = 1; e < 200; e++) {
        const char *n = pl_err_name(-e);
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return -e;
    }
    return PC_EEXCEPTION;
}

/* ---- requests ----------------------------------------------------------- */

static pc_transport *find_transport(pc_loop *l, unsigned id)
{
    for (pc_transport *t = l->transports; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

/* Split the next space-separated token off *p. */
static const char *token(char **p, size_t *len)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    char *e = s;
    while (*e && *e != ' ')
        e++;
    *len = (size_t)(e - s);
    *p = e;
    return s;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static pc_process *find_process(pc_loop *l, unsigned id)
{
    for (pc_process *p = l->processes; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

/* The fd argument of a process event: 0, 1 or 2. */
static int event_fd(pc_loop *l, char **p)
{
    size_t len;
    const char *s = token(p, &len);
    uint64_t fd;
    if (parse_u64(s, len, &fd) || fd > 2)
        remote_fail(l, "protocol error: a process event without a stdio fd");
    return (int)fd;
}

/* event ID PCM|PDR FD|PPL FD CODE|PEX|PCL|PPW|PRW ITERATION: a process
 * protocol's callback. */
static void dispatch_process_event(pc_loop *l, pc_process *proc, const char *type,
                                   size_t typelen, char *p, struct msg *m)
{
    const pc_process_protocol *pr = proc->protocol;
    void *u = proc->user;
#define IS(name) (typelen == sizeof name - 1 && strncmp(type, name, typelen) == 0)
    if (IS("PCM")) {
        if (pr->connection_made)
            pr->connection_made(proc, u);
    } else if (IS("PDR")) {
        int fd = event_fd(l, &p);
        if (pr->pipe_data_received)
            pr->pipe_data_received(proc, fd, m->payload, m->payload_len, u);
    } else if (IS("PPL")) {
        int fd = event_fd(l, &p);
        size_t clen;
        const char *code = token(&p, &clen);
        int err = code_from_name(code, clen);
        if (err == PC_EEXCEPTION)
            fprintf(stderr, "subject %s: pipe_connection_lost(%d) with %.*s\n",
                    l->cfg->name, fd, (int)clen, code);
        if (pr->pipe_connection_lost)
            pr->pipe_connection_lost(proc, fd, err, u);
    } else if (IS("PEX")) {
        if (pr->process_exited)
            pr->process_exited(proc, u);
    } else if (IS("PCL")) {
        if (pr->connection_lost)
            pr->connection_lost(proc, u);
    } else if (IS("PPW")) {
        if (pr->pause_writing)
            pr->pause_writing(proc, u);
    } else if (IS("PRW")) {
        if (pr->resume_writing)
            pr->resume_writing(proc, u);
    } else {
        remote_fail(l, "protocol error: a process event of unknown type");
    }
#undef IS
}

static void send_return(pc_loop *l, int value)
{
    char header[32];
    snprintf(header, sizeof header, "return %d", value);
    send_frame(l, header, NULL, 0, -1);
}

/* event ID TYPE ITERATION [ARG]: deliver it, then tell the subject to
 * return from its callback.  The protocol callbacks may make requests of
 * their own meanwhile (they nest). */
static void dispatch_event(pc_loop *l, struct msg *m)
{
    char *p = m->header + strlen("event");
    size_t idlen, typelen, iterlen;
    const char *id = token(&p, &idlen);
    const char *type = token(&p, &typelen);
    const char *iter = token(&p, &iterlen);
    uint64_t iteration;
    if (parse_u64(iter, iterlen, &iteration))
        remote_fail(l, "protocol error: an event without an iteration");
    l->iteration = iteration;
    while (*p == ' ')
        p++;
    if (idlen == 1 && id[0] == '-') {
        /* Something the subject's loop reported on its own: an exception
         * in a callback, a logged warning.  It fails the test: a behaviour
         * of the subject, not a breach of the protocol. */
        pc_fail(__FILE__, __LINE__, "%s: %s reported by the subject's loop: %s",
                l->cfg->name, pc__subject_report_kind(type, typelen), p);
    }
    uint64_t tid;
    pc_transport *t = NULL;
    if (parse_u64(id, idlen, &tid) == 0 && tid <= UINT32_MAX) {
        t = find_transport(l, (unsigned)tid);
        pc_process *proc = t ? NULL : find_process(l, (unsigned)tid);
        if (proc) {
            dispatch_process_event(l, proc, type, typelen, p, m);
            send_return(l, 0);
            return;
        }
    }
    if (!t || !t->protocol)
        remote_fail(l, "protocol error: an event for an unknown transport");
    const pc_protocol *pr = t->protocol;
    int ret = 0;
    if (typelen == 2 && strncmp(type, "CM", 2) == 0) {
        if (pr->connection_made)
            pr->connection_made(t, t->user);
    } else if (typelen == 2 && strncmp(type, "DR", 2) == 0) {
        if (pr->data_received)
            pr->data_received(t, m->payload, m->payload_len, t->user);
    } else if (typelen == 2 && strncmp(type, "ER", 2) == 0) {
        if (pr->eof_received)
            ret = pr->eof_received(t, t->user);
    } else if (typelen == 2 && strncmp(type, "CL", 2) == 0) {
        size_t clen;
        const char *code = token(&p, &clen);
        int err = code_from_name(code, clen);
        if (err == PC_EEXCEPTION)
            fprintf(stderr, "subject %s: connection_lost with %s\n", l->cfg->name, code);
        if (pr->connection_lost)
            pr->connection_lost(t, err, t->user);
    } else if (typelen == 2 && strncmp(type, "PW", 2) == 0) {
        if (pr->pause_writing)
            pr->pause_writing(t, t->user);
    } else if (typelen == 2 && strncmp(type, "RW", 2) == 0) {
        if (pr->resume_writing)
            pr->resume_writing(t, t->user);
    } else {
        remote_fail(l, "protocol error: an event of unknown type");
    }
    send_return(l, ret);
}

/* Send a request and wait for its answer (ok, err, done or hello),
 * delivering the events that come first.  *reply must be freed.  The
 * subject has wait_ms (scaled here) for each message, or, for a loop
 * span (step_ms >= 0, already scaled by the caller), that span plus
 * STEP_GRACE_MS; never past the test's own limit. */
static void request_span(pc_loop *l, const char *header, const void *payload, size_t len,
                         int fd, unsigned wait_ms, int64_t step_ms, struct msg *reply)
{
    send_frame(l, header, payload, len, fd);
    for (;;) {
        struct msg m;
        uint64_t deadline = deadline_for(l, wait_ms);
        if (step_ms >= 0) {
            deadline = pc_now_ns() / 1000000u + (uint64_t)step_ms + pc_scale_ms(STEP_GRACE_MS);
            if (deadline > l->test_deadline)
                deadline = l->test_deadline;
        }
        recv_frame(l, deadline, "waiting for an answer", &m);
        if (strncmp(m.header, "event ", 6) == 0) {
            dispatch_event(l, &m);
            free(m.body);
            continue;
        }
        if (strncmp(m.header, "ok", 2) == 0 || strncmp(m.header, "err ", 4) == 0 ||
            strncmp(m.header, "done ", 5) == 0 || strncmp(m.header, "hello ", 6) == 0) {
            *reply = m;
            return;
        }
        free(m.body);
        remote_fail(l, "protocol error: an unexpected message");
    }
}

static void request(pc_loop *l, const char *header, const void *payload, size_t len,
                    int fd, unsigned wait_ms, struct msg *reply)
{
    request_span(l, header, payload, len, fd, wait_ms, -1, reply);
}

/* The result of an answer: 0 for ok, the code of err (its text printed
 * when it is an exception).  values[] gets up to n numbers after ok. */
static int result_of(pc_loop *l, struct msg *reply, int64_t *values, size_t n)
{
    int result = 0;
    char *p = reply->header;
    if (strncmp(p, "err ", 4) == 0) {
        p += 4;
        size_t len;
        const char *name = token(&p, &len);
        result = code_from_name(name, len);
        if (result == PC_EEXCEPTION)
            fprintf(stderr, "subject %s: '%s' raised: %s\n", l->cfg->name, l->last_sent,
                    reply->header + 4);
    } else {
        p += 2;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *v = token(&p, &len);
            int neg = len > 0 && v[0] == '-';
            uint64_t u;
            if (parse_u64(v + neg, len - (size_t)neg, &u))
                remote_fail(l, "protocol error: 'ok' without the expected numbers");
            values[i] = neg ? -(int64_t)u : (int64_t)u;
        }
    }
    free(reply->body);
    return result;
}

/* VERB ID OP [ARGS] without payload ("op" on a transport, "pop" on a
 * process): its result, and up to n numbers after ok in values. */
static int64_t id_op(pc_loop *l, const char *verb, unsigned id, const char *op,
                     const char *args, int64_t *values, size_t n)
{
    char header[128];
    snprintf(header, sizeof header, "%s %u %s%s%s", verb, id, op, args ? " " : "",
             args ? args : "");
    struct msg reply;
    request(l, header, NULL, 0, -1, OP_WAIT_MS, &reply);
    return result_of(l, &reply, values, n);
}

static int64_t simple_op(const pc_transport *t, const char *op, const char *args,
                         int64_t *values, size_t n)
{
    return id_op(t->loop, "op", t->id, op, args, values, n);
}

/* ---- the subject's table ------------------------------------------------ */

/* Ask the zygote for a subject: it forks one that serves sv[1] and writes
 * to this test's stderr. */
static int spawn_from_zygote(struct remote_config *cfg, pc_loop *l)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    int fds[2] = {sv[1], 2};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof fds)];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {(void *)"spawn", 5};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    ssize_t n;
    do
        n = sendmsg(cfg->zygote_fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    int err = n < 0 ? -errno : 0;
    close(sv[1]);
    if (err) {
        close(sv[0]);
        return err;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    l->cfg = cfg;
    l->pid = 0; /* told in hello */
    l->foreign = 1;
    l->sock = sv[0];
    return 0;
}

static int spawn_process(struct remote_config *cfg, pc_loop *l, int zygote);

static int spawn(struct remote_config *cfg, pc_loop *l)
{
    if (cfg->zygote_fd >= 0)
        return spawn_from_zygote(cfg, l);
    return spawn_process(cfg, l, 0);
}

/* Start the adapter (or the exec: command) as our child; zygote: the
 * forking adapter, on a SOCK_SEQPACKET socket. */
static int spawn_process(struct remote_config *cfg, pc_loop *l, int zygote)
{
    int sv[2];
    if (socketpair(AF_UNIX, (zygote ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0,
                   sv) < 0)
        return -errno;
    char *argv[8];
    char mode[32];
    if (cfg->command) {
        argv[0] = (char *)"/bin/sh";
        argv[1] = (char *)"-c";
        argv[2] = cfg->command;
        argv[3] = NULL;
    } else {
        snprintf(mode, sizeof mode, "%s", cfg->loop_kind);
        /* The interpreter the probe found, not a wrapper (pyenv's shim
         * costs a shell per start). */
        argv[0] = cfg->executable[0] ? cfg->executable : python_path;
        argv[1] = (char *)adapter_path();
        argv[2] = (char *)"--loop";
        argv[3] = mode;
        argv[4] = zygote ? (char *)"--zygote" : NULL;
        argv[5] = NULL;
    }
    /* The environment, with the subject's fd named; made before fork so
     * that the child only calls async-signal-safe functions. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    if (!envp) {
        close(sv[0]);
        close(sv[1]);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PIPECHECK_SUBJECT_FD=", 21) != 0)
            envp[k++] = environ[i];
    envp[k++] = (char *)"PIPECHECK_SUBJECT_FD=3";
    envp[k] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        free(envp);
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        if (sv[1] == SUBJECT_FD) {
            fcntl(SUBJECT_FD, F_SETFD, 0);
        } else if (dup2(sv[1], SUBJECT_FD) < 0) {
            _exit(126);
        }
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, 0);
        signal(SIGPIPE, SIG_DFL);
        /* The subject starts with 0-3 only: an fd the bench inherited
         * from whoever started it must not show up in the subject's
         * children (S8 looks at exactly that). */
        if (syscall(SYS_close_range, SUBJECT_FD + 1, ~0u, 0) != 0)
            for (int fd = SUBJECT_FD + 1; fd < 4096; fd++)
                close(fd);
        execvpe(argv[0], argv, envp);
        _exit(127);
    }
    free(envp);
    close(sv[1]);
    if (!zygote)
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    l->cfg = cfg;
    l->pid = pid;
    l->sock = sv[0];
    return 0;
}

static int remote_loop_new(pc_loop **loop, const char *backend)
{
    struct remote_config *cfg = pc_subject_current()->config;
    pc_loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->sock = -1;
    l->next_id = 1;
    unsigned limit = pc_timeout_ms();
    l->test_deadline = pc_now_ns() / 1000000u + (limit > 400 ? limit - 300 : limit);
    int err = spawn(cfg, l);
    if (err) {
        free(l);
        return err;
    }
    if (pc_on_failure(on_failure, l) != 0) {
        reap(l, 1, NULL);
        free(l);
        return -ENOMEM;
    }
    char header[64];
    snprintf(header, sizeof header, "hello %d", PROTOCOL_VERSION);
    struct msg reply;
    request(l, header, NULL, 0, -1, OP_WAIT_MS * 2, &reply);
    if (strncmp(reply.header, "hello ", 6) != 0)
        remote_fail(l, "refused to start: %s", reply.header);
    const char *pid = strstr(reply.header, " pid=");
    if (l->foreign && pid)
        l->pid = (pid_t)atoi(pid + 5);
    free(reply.body);
    snprintf(header, sizeof header, "loop %s", backend);
    request(l, header, NULL, 0, -1, OP_WAIT_MS, &reply);
    err = result_of(l, &reply, NULL, 0);
    if (err)
        remote_fail(l, "cannot make a loop for backend %s: %s", backend,
                    pl_err_name(err));
    *loop = l;
    return 0;
}

static int remote_loop_close(pc_loop *l)
{
    struct msg reply;
    request(l, "bye", NULL, 0, -1, OP_WAIT_MS, &reply);
    int err = result_of(l, &reply, NULL, 0);
    if (err)
        return err;
    /* The subject exits after its answer: wait for the end of the stream
     * and reap it, killing it if it lingers. */
    char c;
    uint64_t deadline = deadline_for(l, OP_WAIT_MS);
    for (;;) {
        ssize_t n = recv(l->sock, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            break;
        if (n > 0)
            remote_fail(l, "protocol error: a message after its last answer");
        if (pc_now_ns() / 1000000u >= deadline)
            remote_fail(l, "did not exit after 'bye'");
        struct pollfd p = {l->sock, POLLIN, 0};
        (void)poll(&p, 1, 100);
    }
    int status = 0;
    int foreign = l->foreign;
    reap(l, 0, &status);
    pc_on_failure_remove(on_failure, l);
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
    uint64_t now = pc_now_ns() / 1000000u;
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
    request_span(l, header, NULL, 0, -1, 0, timeout_ms, &reply);
    l->running--;
    uint64_t iteration, count;
    char *p = reply.header;
    size_t a, b;
    const char *word = token(&p, &a);
    const char *it = token(&p, &b);
    size_t clen;
    const char *cnt = token(&p, &clen);
    if (a != 4 || strncmp(word, "done", 4) != 0 || parse_u64(it, b, &iteration) ||
        parse_u64(cnt, clen, &count)) {
        free(reply.body);
        remote_fail(l, "protocol error: a step must end with 'done ITERATION COUNT'");
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
    request_span(l, header, NULL, 0, -1, 0, timeout_ms, &reply);
    l->running--;
    if (strncmp(reply.header, "err ", 4) == 0)
        return result_of(l, &reply, NULL, 0);
    uint64_t iteration, count;
    char *p = reply.header;
    size_t a, b, c;
    const char *word = token(&p, &a);
    const char *it = token(&p, &b);
    const char *cnt = token(&p, &c);
    int bad = a != 4 || strncmp(word, "done", 4) != 0 || parse_u64(it, b, &iteration) ||
              parse_u64(cnt, c, &count);
    free(reply.body);
    if (bad)
        remote_fail(l, "protocol error: quiet must end with 'done ITERATION COUNT'");
    l->iteration = iteration;
    return count > INT32_MAX ? INT32_MAX : (int)count;
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
    request(l, header, NULL, 0, open_fd ? fd : -1, OP_WAIT_MS, &reply);
    int err = result_of(l, &reply, NULL, 0);
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
    request(t->loop, header, data, len, -1, OP_WAIT_MS, &reply);
    int64_t n = 0;
    int err = result_of(t->loop, &reply, &n, 1);
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
    request(t->loop, header, data, total, -1, OP_WAIT_MS, &reply);
    free(header);
    free(data);
    int64_t n = 0;
    int err = result_of(t->loop, &reply, &n, 1);
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
    request(l, header, payload, total, -1, OP_WAIT_MS, &reply);
    free(payload);
    int64_t pid = -1;
    int err = result_of(l, &reply, &pid, 1);
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
    return process_op(p, "pipe", args, NULL, 0) == 0 ? t : NULL;
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
    .config = NULL,
    .spawn = remote_spawn,
    .process_pid = remote_process_pid,
    .process_returncode = remote_process_returncode,
    .process_send_signal = remote_process_send_signal,
    .process_close = remote_process_close,
    .process_pipe = remote_process_pipe,
};

/* ---- registry and probe ------------------------------------------------- */

#define MAX_REMOTES 16
static struct remote_config *remotes[MAX_REMOTES];
static size_t nremotes;

const pc_subject *pc__subject_remote(const char *spec)
{
    for (size_t i = 0; i < nremotes; i++)
        if (strcmp(remotes[i]->name, spec) == 0)
            return &remotes[i]->subject;
    int is_exec = strncmp(spec, "exec:", 5) == 0 && spec[5] != '\0';
    if (!is_exec && strcmp(spec, "asyncio") != 0 && strcmp(spec, "uvloop") != 0) {
        fprintf(stderr,
                "pipecheck: unknown subject '%s' (pipeloop, asyncio, uvloop or "
                "exec:CMD)\n",
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
        snprintf(cfg->loop_kind, sizeof cfg->loop_kind, "%s", spec);
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

/* hello 1 read_size=N backends=A,B caps=X,Y describe=TEXT... */
static void parse_hello(struct remote_config *cfg, char *p)
{
    cfg->subject.caps = 0;
    while (*p) {
        size_t len;
        const char *tok = token(&p, &len);
        if (len == 0)
            break;
        if (len > 9 && strncmp(tok, "describe=", 9) == 0) {
            snprintf(cfg->describe, sizeof cfg->describe, "%s", tok + 9);
            return; /* the rest of the line */
        }
        if (len > 10 && strncmp(tok, "read_size=", 10) == 0) {
            uint64_t v;
            if (parse_u64(tok + 10, len - 10, &v) == 0)
                cfg->subject.read_size = (size_t)v;
        } else if (len > 11 && strncmp(tok, "executable=", 11) == 0) {
            snprintf(cfg->executable, sizeof cfg->executable, "%.*s", (int)(len - 11),
                     tok + 11);
        } else if (len > 9 && strncmp(tok, "backends=", 9) == 0) {
            snprintf(cfg->backends, sizeof cfg->backends, "%.*s", (int)(len - 9),
                     tok + 9);
        } else if (len > 5 && strncmp(tok, "caps=", 5) == 0) {
            const char *c = tok + 5, *end = tok + len;
            while (c < end) {
                const char *comma = memchr(c, ',', (size_t)(end - c));
                size_t n = comma ? (size_t)(comma - c) : (size_t)(end - c);
                cfg->subject.caps |= pc__subject_cap_from_name(c, n);
                c += n + 1;
            }
        }
    }
}

static int probe_once(struct remote_config *cfg, FILE *err);

/* Debian's python3-uvloop serves /usr/bin/python3 only. */
#define SYSTEM_PYTHON "/usr/bin/python3"

int pc_subject_probe(const pc_subject *subject, FILE *err)
{
    if (subject == &pc_subject_pipeloop)
        return 0;
    struct remote_config *cfg = subject->config;
    int r = probe_once(cfg, NULL);
    /* uvloop missing for the default python3 but present for the system
     * interpreter: use that one, and the report names it. */
    if (r && strcmp(cfg->loop_kind, "uvloop") == 0 && !python_chosen &&
        access(SYSTEM_PYTHON, X_OK) == 0) {
        char first[sizeof cfg->probe_error];
        snprintf(first, sizeof first, "%s", cfg->probe_error);
        snprintf(cfg->executable, sizeof cfg->executable, "%s", SYSTEM_PYTHON);
        r = probe_once(cfg, NULL);
        if (r) {
            cfg->executable[0] = '\0';
            snprintf(cfg->probe_error, sizeof cfg->probe_error, "%s", first);
        }
    }
    if (r && err)
        fprintf(err, "pipecheck: subject %s: %s\n", cfg->name, cfg->probe_error);
    return r;
}

static int probe_once(struct remote_config *cfg, FILE *err)
{
    /* Talk to it without a test around us: failures come back here
     * through the runner's outside-a-test path, so check by hand. */
    pc_loop l;
    memset(&l, 0, sizeof l);
    l.sock = -1;
    l.test_deadline = pc_now_ns() / 1000000u + pc_scale_ms(OP_WAIT_MS * 2);
    int r = spawn_process(cfg, &l, 0);
    if (r) {
        snprintf(cfg->probe_error, sizeof cfg->probe_error, "cannot start: %s",
                 strerror(-r));
        goto fail;
    }
    char header[32];
    snprintf(header, sizeof header, "hello %d", PROTOCOL_VERSION);
    /* By hand, not send_frame: a subject that cannot even start must be
     * a message here, not a failed test outside any test. */
    size_t hlen = strlen(header);
    unsigned char frame[64] = {0, 0, 0, (unsigned char)hlen};
    memcpy(frame + 4, header, hlen);
    if (send(l.sock, frame, 4 + hlen, MSG_NOSIGNAL) != (ssize_t)(4 + hlen)) {
        int st = 0;
        reap(&l, 0, &st);
        snprintf(cfg->probe_error, sizeof cfg->probe_error,
                 "cannot start (exit status %d): %.200s %.200s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                 cfg->command ? cfg->command : python_path,
                 cfg->command ? "" : adapter_path());
        goto fail;
    }
    /* Read the answer by hand, so that a subject that cannot start is a
     * message here rather than an abort. */
    unsigned char prefix[4];
    size_t got = 0;
    char *body = NULL;
    uint32_t len = 0;
    while (got < 4) {
        struct pollfd p = {l.sock, POLLIN, 0};
        uint64_t now = pc_now_ns() / 1000000u;
        if (now >= l.test_deadline || poll(&p, 1, (int)(l.test_deadline - now)) <= 0)
            break;
        ssize_t n = recv(l.sock, prefix + got, 4 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 4) {
        len = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
              (uint32_t)prefix[2] << 8 | prefix[3];
        if (len > 0 && len < 65536 && (body = calloc(1, len + 1)) != NULL) {
            got = 0;
            while (got < len) {
                struct pollfd p = {l.sock, POLLIN, 0};
                if (poll(&p, 1, 5000) <= 0)
                    break;
                ssize_t n = recv(l.sock, body + got, len - got, 0);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
            if (got < len) {
                free(body);
                body = NULL;
            }
        }
    }
    if (!body) {
        int st = 0;
        reap(&l, 1, &st);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
            snprintf(cfg->probe_error, sizeof cfg->probe_error,
                     "cannot start: command not found: %.400s",
                     cfg->command ? cfg->command
                                  : (cfg->executable[0] ? cfg->executable : python_path));
            goto fail;
        }
        snprintf(cfg->probe_error, sizeof cfg->probe_error,
                 "no answer to hello (is the command right? for asyncio/uvloop: %.200s "
                 "%.200s)",
                 python_path, adapter_path());
        goto fail;
    }
    char *nl = strchr(body, '\n');
    if (nl)
        *nl = '\0';
    if (strncmp(body, "hello ", 6) != 0) {
        snprintf(cfg->probe_error, sizeof cfg->probe_error, "%s",
                 strncmp(body, "err ", 4) == 0 ? body + 4 : body);
        free(body);
        reap(&l, 1, NULL);
        goto fail;
    }
    parse_hello(cfg, body + 6);
    free(body);
    reap(&l, 1, NULL); /* a probe needs no goodbye */
    cfg->probed = 1;
    cfg->probe_error[0] = '\0';
    return 0;
fail:
    if (err)
        fprintf(err, "pipecheck: subject %s: %s\n", cfg->name, cfg->probe_error);
    return -ENOENT;
}

const char *pc_subject_probe_error(const pc_subject *subject)
{
    if (subject == &pc_subject_pipeloop)
        return "";
    return ((const struct remote_config *)subject->config)->probe_error;
}

int pc_subject_start(const pc_subject *subject)
{
    if (subject == &pc_subject_pipeloop)
        return 0;
    struct remote_config *cfg = subject->config;
    if (cfg->command || cfg->zygote_fd >= 0)
        return 0; /* exec: subjects start once per test */
    pc_loop l;
    memset(&l, 0, sizeof l);
    int err = spawn_process(cfg, &l, 1);
    if (err)
        return err;
    cfg->zygote_fd = l.sock;
    cfg->zygote_pid = l.pid;
    return 0;
}

void pc_subject_stop(const pc_subject *subject)
{
    if (subject == &pc_subject_pipeloop)
        return;
    struct remote_config *cfg = subject->config;
    if (cfg->zygote_fd < 0)
        return;
    /* The zygote ends when no one holds the control socket. */
    close(cfg->zygote_fd);
    cfg->zygote_fd = -1;
    int st;
    while (waitpid(cfg->zygote_pid, &st, 0) < 0 && errno == EINTR)
        ;
    cfg->zygote_pid = -1;
}
