/* Helpers shared by the conformance suite's files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conform.h"

pc_transport *conform_connected(pc_ctx *ctx, pc_dir dir, const char *label, pc_pair *pair,
                                pc_recorder **rec)
{
    pc_ctx_open_pair(ctx, dir, 0, pair);
    *rec = pc_recorder_new(ctx->loop, label);
    pc_transport *t = pc_ctx_connect(ctx, dir, pair->near, *rec);
    pair->near = -1;
    return t;
}

struct conform_conn conform_open(pc_ctx *ctx, pc_dir dir, const char *label)
{
    struct conform_conn c;
    c.t = conform_connected(ctx, dir, label, &c.pair, &c.rec);
    return c;
}

pc_peer *conform_open_to_reader(pc_ctx *ctx, struct conform_conn *c)
{
    *c = conform_open(ctx, PC_DIR_WRITE, "write transport");
    pc_peer *reader = conform_reader(&c->pair, ctx->seed, 0, 0, 0);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(c->rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    return reader;
}

void conform_release(pc_pair *pair, pc_recorder *rec)
{
    pc_pair_close(pair);
    pc_recorder_free(rec);
}

static void writer_made(pc_transport *t, void *user)
{
    struct conform_writer *w = user;
    w->fill(w, t);
}

static void writer_pause(pc_transport *t, void *user)
{
    struct conform_writer *w = user;
    (void)t;
    w->paused = 1;
    w->pauses++;
}

static void writer_resume(pc_transport *t, void *user)
{
    struct conform_writer *w = user;
    w->paused = 0;
    w->fill(w, t);
}

const pc_protocol conform_writer_hooks = {.connection_made = writer_made,
                                          .pause_writing = writer_pause,
                                          .resume_writing = writer_resume};

/* Write pattern bytes until the transport's own buffer holds extra. */
static void top_up(pc_ctx *ctx, struct conform_backlog *b, size_t extra)
{
    const pc_subject *im = ctx->impl;
    unsigned char buf[512];
    while (im->get_write_buffer_size(b->t) < extra) {
        pc_pattern_fill(ctx->seed, b->sent, buf, sizeof buf);
        PC_ASSERT_EQ_INT(im->write(b->t, buf, sizeof buf), (int)sizeof buf);
        b->sent += sizeof buf;
        PC_ASSERT_LT_UINT(b->sent, 64u << 20);
    }
}

void conform_back_up(pc_ctx *ctx, struct conform_backlog *b, size_t extra)
{
    const pc_subject *im = ctx->impl;
    pc_ctx_open_pair(ctx, PC_DIR_WRITE, 0, &b->pair);
    (void)pc_pair_shrink(&b->pair, PC_SHRINK_SIZE);
    b->rec = pc_recorder_new(ctx->loop, "write transport");
    b->t = pc_ctx_connect(ctx, PC_DIR_WRITE, b->pair.near, b->rec);
    b->pair.near = -1;
    PC_ASSERT_OK(im->set_write_buffer_limits(b->t, 1 << 30, PL_LIMIT_UNSET));
    b->sent = 0;
    top_up(ctx, b, extra);
    PC_RUN_UNTIL(ctx->loop, pc_recorder_count(b->rec, PC_EV_CM) == 1, CONFORM_WAIT_MS);
    /* A tty moves bytes between its queues after the writes (the kernel's
     * flush work), so the iterations that delivered CM may have found room
     * and drained the buffer; without a loop iteration it only grows. */
    top_up(ctx, b, extra);
}

/* Start the peer of script s on pair's far end, or fail the test. */
static pc_peer *start_peer(pc_pair *pair, const pc_peer_script *s)
{
    pc_peer *peer = pc_peer_start(pair, s);
    if (!peer)
        PC_FAIL("cannot start a %s peer on %s",
                s->action == PC_PEER_WRITE ? "writing" : "reading", pair->kind->name);
    return peer;
}

pc_peer *conform_writer(pc_pair *pair, uint64_t seed, uint64_t bytes, size_t chunk,
                        size_t chunk_max, int hold)
{
    pc_peer_script s = {.action = PC_PEER_WRITE,
                        .seed = seed,
                        .bytes = bytes,
                        .chunk = chunk,
                        .chunk_max = chunk_max,
                        .hold = hold};
    return start_peer(pair, &s);
}

pc_peer *conform_reader(pc_pair *pair, uint64_t seed, size_t chunk, unsigned pause_us,
                        int wait_start)
{
    pc_peer_script s = {.action = PC_PEER_READ,
                        .seed = seed,
                        .chunk = chunk,
                        .pause_us = pause_us,
                        .wait_start = wait_start};
    return start_peer(pair, &s);
}

pc_peer *conform_reader_count(pc_pair *pair, uint64_t seed, uint64_t bytes)
{
    pc_peer_script s = {.action = PC_PEER_READ, .seed = seed, .bytes = bytes};
    return start_peer(pair, &s);
}

uint64_t conform_peer_done(pc_peer *peer, int expect_error)
{
    pc_peer_result r;
    int err = pc_peer_wait(peer, &r);
    if (err)
        PC_FAIL("the peer did not finish cleanly: %s", pl_err_name(err));
    if (!r.pattern_ok)
        PC_FAIL("the peer saw a wrong byte at offset %llu",
                (unsigned long long)r.mismatch_at);
    if (r.error != expect_error)
        PC_FAIL("the peer ended with %s, expected %s", pl_err_name(r.error),
                pl_err_name(expect_error));
    return r.bytes;
}

int conform_ended_in_tty_eio(const pc_ctx *ctx, const pc_recorder *rec)
{
    return !(ctx->impl->caps & PC_CAP_PIPELOOP_API) && ctx->kind &&
           (ctx->kind->flags & PC_KIND_TTY) && pc_recorder_lost(rec) &&
           pc_recorder_error(rec) == -EIO && pc_recorder_count(rec, PC_EV_ER) == 0;
}

size_t conform_unread(int fd)
{
    int n = 0;
    if (ioctl(fd, FIONREAD, &n) < 0)
        PC_FAIL("FIONREAD on fd %d: %s", fd, strerror(errno));
    return (size_t)n;
}

int conform_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        PC_FAIL("fd %d is not open", fd);
    return (flags & O_NONBLOCK) != 0;
}

int conform_fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

void conform_drain_then_eof(pc_ctx *ctx, pc_recorder *rec, pc_peer *writer,
                            uint64_t total, unsigned timeout_ms)
{
    /* The limit is on a stall, not on the whole transfer: each byte that
     * arrives gives the transfer timeout_ms more (the test's own time limit
     * still bounds it).  A 64 MiB stream through a pty or an interpreter
     * on a busy machine is slow, not wrong; a transport that stops
     * delivering still fails here. */
    uint64_t seen = pc_recorder_bytes(rec);
    uint64_t deadline = pc_deadline_ms(timeout_ms);
    while (!(pc_recorder_bytes(rec) >= total || pc_recorder_lost(rec))) {
        PC__STEP(ctx->loop)
        (ctx->loop, deadline, __FILE__, __LINE__,
         "the next bytes of the stream (none for the whole wait)");
        if (pc_recorder_bytes(rec) > seen) {
            seen = pc_recorder_bytes(rec);
            deadline = pc_deadline_ms(timeout_ms);
        }
    }
    PC_ASSERT_EQ_UINT(pc_recorder_bytes(rec), total);
    PC_ASSERT_OK(pc_peer_release(writer));
    PC_RUN_UNTIL(ctx->loop, pc_recorder_lost(rec), timeout_ms);
}

void conform_drain_then_eof_read(pc_ctx *ctx, pc_recorder *rec, pc_peer *writer,
                                 uint64_t total, pc_transport *t)
{
    PC_RUN_UNTIL(ctx->loop, pc_recorder_bytes(rec) >= total, CONFORM_WAIT_MS);
    PC_ASSERT_OK(pc_peer_release(writer));
    /* is_closing turns 1 in the iteration that reads the end of file;
     * eof_received is only queued then. */
    PC_RUN_UNTIL(ctx->loop, ctx->impl->is_closing(t), CONFORM_WAIT_MS);
}

int conform_lowest_free_fd(void)
{
    int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
    PC_ASSERT_GE_INT(fd, 0);
    close(fd);
    return fd;
}

uint64_t conform_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

const pc_backend conform_epoll_sigchld = {
    .name = "epoll-sigchld", .column = "sigch", .flag = PL_LOOP_EPOLL};

int conform_spawn_test_add(const char *name,
                           void (*fn)(const pc_backend *backend, void *arg), void *arg)
{
    int err = pc_test_add_each_backend(name, fn, arg, 0);
    return err ? err : pc_test_add_on_backend(name, &conform_epoll_sigchld, fn, arg, 0);
}

pl_loop *conform_spawn_loop(const pc_backend *backend)
{
    if (backend == &conform_epoll_sigchld)
        PC_ASSERT_OK(setenv("PIPELOOP_NO_PIDFD", "1", 1));
    else
        PC_ASSERT_OK(unsetenv("PIPELOOP_NO_PIDFD"));
    pl_loop *loop = NULL;
    PC_ASSERT_OK(pl_loop_new(&loop, backend->flag));
    return loop;
}

/* ---- subprocesses -------------------------------------------------------- */

pl_spawn_options conform_sh(const char *script, char **argv)
{
    static char shell[] = "sh", dash_c[] = "-c";
    argv[0] = shell;
    argv[1] = dash_c;
    argv[2] = (char *)(uintptr_t)script; /* argv is char *const *, as for exec */
    argv[3] = NULL;
    return conform_program(argv);
}

pl_spawn_options conform_program(char *const *argv)
{
    pl_spawn_options o;
    memset(&o, 0, sizeof o);
    o.file = argv[0];
    o.argv = argv;
    return o;
}

void conform_same_identity(pl_spawn_options *o)
{
    o->set_uid = o->set_gid = 1;
    o->uid = getuid();
    o->gid = getgid();
}

char conform_proc_stat(pid_t pid, pid_t *ppid, pid_t *pgrp)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return 0;
    buf[len] = '\0';
    /* "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'. */
    const char *paren = strrchr(buf, ')');
    char state;
    int parent, group;
    if (!paren || sscanf(paren + 1, " %c %d %d", &state, &parent, &group) != 3)
        return 0;
    if (ppid)
        *ppid = (pid_t)parent;
    if (pgrp)
        *pgrp = (pid_t)group;
    return state;
}

int conform_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

void conform_assert_no_children(void)
{
    errno = 0;
    PC_ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
    PC_ASSERT_EQ_INT(errno, ECHILD);
}

void conform_buf_append(struct conform_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = realloc(b->data, cap);
        PC_ASSERT_NOT_NULL(b->data);
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

const char *conform_buf_str(const struct conform_buf *b)
{
    return b->data ? b->data : "";
}

/* ---- the process recorder ------------------------------------------------- */

/* Log an event; consecutive data on one fd is one D. */
static void process_log(struct conform_process *r, const char *what, char code, int fd)
{
    if (code == 'D' && r->last == 'D' && r->last_fd == fd)
        return;
    if (r->log.len)
        conform_buf_append(&r->log, " ", 1);
    conform_buf_append(&r->log, what, strlen(what));
    if (code != 'D' && code != 'P' && code != 'R') {
        if (r->order.len)
            conform_buf_append(&r->order, " ", 1);
        conform_buf_append(&r->order, what, strlen(what));
    }
    r->last = code;
    r->last_fd = fd;
}

static void process_live(const struct conform_process *r, const char *what)
{
    if (!r->made)
        PC_FAIL("%s before connection_made (events: %s)", what, conform_buf_str(&r->log));
    if (r->finished)
        PC_FAIL("%s after connection_lost (events: %s)", what, conform_buf_str(&r->log));
}

static int is_pipe(const struct conform_process *r, int fd)
{
    return fd >= 0 && fd < CONFORM_PROCESS_FDS && (r->pipe_mask & (1u << fd));
}

/* The events, typed as a subject's process protocol (p: the subject's
 * process, NULL from pl_spawn's protocol below; user: the recorder). */
static void process_made(pc_process *p, void *user)
{
    struct conform_process *r = user;
    if (p)
        r->sp = p;
    if (r->made)
        PC_FAIL("connection_made twice (events: %s)", conform_buf_str(&r->log));
    if (r->log.len)
        PC_FAIL("connection_made after other events: %s", conform_buf_str(&r->log));
    r->made = 1;
    process_log(r, "CM", 'M', -1);
    if (p && r->close_in_made)
        PC_ASSERT_OK(r->im->process_close(p));
    if (r->on_made)
        r->on_made(r);
}

static void process_data(pc_process *p, int fd, const void *data, size_t len, void *user)
{
    (void)p;
    struct conform_process *r = user;
    process_live(r, "pipe_data_received");
    if (fd >= CONFORM_PROCESS_FDS) {
        if (r->far_lost)
            PC_FAIL("data on fd %d after its pipe_connection_lost", fd);
        conform_buf_append(&r->far_out, data, len);
        process_log(r, "Df", 'D', fd);
        return;
    }
    if (fd < 1 || !is_pipe(r, fd))
        PC_FAIL("pipe_data_received for fd %d, which is not a pipe it reads", fd);
    if (r->lost[fd])
        PC_FAIL("data on fd %d after its pipe_connection_lost (events: %s)", fd,
                conform_buf_str(&r->log));
    if (r->on_data)
        r->on_data(r, fd, data, len);
    else
        conform_buf_append(&r->out[fd], data, len);
    char what[8];
    snprintf(what, sizeof what, "D%d", fd);
    process_log(r, what, 'D', fd);
}

static void process_pipe_lost(pc_process *p, int fd, int error, void *user)
{
    (void)p;
    struct conform_process *r = user;
    process_live(r, "pipe_connection_lost");
    if (fd >= CONFORM_PROCESS_FDS) {
        if (r->far_lost)
            PC_FAIL("pipe_connection_lost twice for fd %d", fd);
        r->far_lost = 1;
        process_log(r, "Lf", 'L', fd);
        return;
    }
    if (!is_pipe(r, fd))
        PC_FAIL("pipe_connection_lost for fd %d, which is not a pipe", fd);
    if (r->lost[fd])
        PC_FAIL("pipe_connection_lost twice for fd %d (events: %s)", fd,
                conform_buf_str(&r->log));
    r->lost[fd] = 1;
    r->lost_err[fd] = error;
    char what[16];
    snprintf(what, sizeof what, "L%d", fd);
    process_log(r, what, 'L', fd);
}

static void process_exited(pc_process *p, void *user)
{
    (void)p;
    struct conform_process *r = user;
    process_live(r, "process_exited");
    if (r->exited)
        PC_FAIL("process_exited twice (events: %s)", conform_buf_str(&r->log));
    r->exited = 1;
    process_log(r, "X", 'X', -1);
    if (r->on_exited)
        r->on_exited(r);
}

static void process_lost(pc_process *p, void *user)
{
    (void)p;
    struct conform_process *r = user;
    process_live(r, "connection_lost");
    /* The order of the callbacks is S2's; another S test is blocked by it. */
    PC_REQUIRE("S2", r->exited || r->released,
               "connection_lost before process_exited (events: %s)",
               conform_buf_str(&r->log));
    for (int fd = 0; fd < CONFORM_PROCESS_FDS; fd++)
        PC_REQUIRE("S2", !is_pipe(r, fd) || r->lost[fd],
                   "connection_lost before fd %d's pipe_connection_lost (events: %s)", fd,
                   conform_buf_str(&r->log));
    r->finished = 1;
    process_log(r, "CL", 'C', -1);
}

static void process_pause(pc_process *p, void *user)
{
    (void)p;
    struct conform_process *r = user;
    process_live(r, "pause_writing");
    if (r->paused > r->resumed)
        PC_FAIL("pause_writing twice in a row (events: %s)", conform_buf_str(&r->log));
    r->paused++;
    process_log(r, "PW", 'P', -1);
}

static void process_resume(pc_process *p, void *user)
{
    (void)p;
    struct conform_process *r = user;
    process_live(r, "resume_writing");
    if (r->resumed >= r->paused)
        PC_FAIL("resume_writing without pause_writing (events: %s)",
                conform_buf_str(&r->log));
    r->resumed++;
    process_log(r, "RW", 'R', -1);
    if (r->on_resume)
        r->on_resume(r);
}

void conform_process_print(void *arg)
{
    struct conform_process *r = arg;
    fprintf(stderr, "process events: %s\n", r->log.len ? r->log.data : "(none)");
    for (int fd = 1; fd < 3; fd++)
        if (r->out[fd].len)
            fprintf(stderr, "fd %d got %zu bytes: '%.200s'\n", fd, r->out[fd].len,
                    r->out[fd].data);
}

void conform_process_free(struct conform_process *r)
{
    pc_on_failure_remove(conform_process_print, r);
    for (int i = 0; i < CONFORM_PROCESS_FDS; i++)
        free(r->out[i].data);
    free(r->log.data);
    free(r->order.data);
    free(r->far_out.data);
    memset(r, 0, sizeof *r);
}

/* ---- ... as a protocol of pl_spawn ---------------------------------------- */

/* The recorder of a pl_process event, which must be the recorder's. */
static struct conform_process *recorder_of(const pl_process *p, void *user)
{
    struct conform_process *r = user;
    PC_ASSERT_EQ_PTR(p, r->p);
    return r;
}

static void pl_made(pl_process *p, void *user)
{
    struct conform_process *r = recorder_of(p, user);
    if (r->take_ref)
        pl_process_ref(p);
    if (r->close_in_made)
        PC_ASSERT_OK(pl_process_close(p));
    process_made(NULL, r);
}

static void pl_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    PC_ASSERT_GT_SIZE(len, 0);
    process_data(NULL, fd, data, len, recorder_of(p, user));
}

static void pl_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    process_pipe_lost(NULL, fd, error, recorder_of(p, user));
}

static void pl_exited(pl_process *p, void *user)
{
    struct conform_process *r = recorder_of(p, user);
    PC_ASSERT_OK(pl_process_get_returncode(p, &r->rc));
    process_exited(NULL, r);
}

static void pl_lost(pl_process *p, void *user)
{
    struct conform_process *r = recorder_of(p, user);
    for (int fd = 0; fd < CONFORM_PROCESS_FDS; fd++)
        PC_ASSERT_NULL(pl_process_get_pipe_transport(p, fd));
    int rc;
    if (r->exited) {
        PC_ASSERT_OK(pl_process_get_returncode(p, &rc));
        PC_ASSERT_EQ_INT(rc, r->rc);
    } else {
        PC_ASSERT_ERR(pl_process_get_returncode(p, &rc), -ECHILD);
    }
    process_lost(NULL, r);
}

static void pl_pause(pl_process *p, void *user)
{
    struct conform_process *r = recorder_of(p, user);
    PC_ASSERT(!r->lost[0]);
    process_pause(NULL, r);
}

static void pl_resume(pl_process *p, void *user)
{
    process_resume(NULL, recorder_of(p, user));
}

const pl_process_protocol conform_process_protocol = {
    .connection_made = pl_made,
    .pipe_data_received = pl_data,
    .pipe_connection_lost = pl_pipe_lost,
    .process_exited = pl_exited,
    .connection_lost = pl_lost,
    .pause_writing = pl_pause,
    .resume_writing = pl_resume,
};

/* ---- ... as a subject's process protocol ---------------------------------- */

/* The event functions above are the subject's protocol as they are. */
const pc_process_protocol conform_subject_process_protocol = {
    .connection_made = process_made,
    .pipe_data_received = process_data,
    .pipe_connection_lost = process_pipe_lost,
    .process_exited = process_exited,
    .connection_lost = process_lost,
    .pause_writing = process_pause,
    .resume_writing = process_resume,
};

void conform_subject_spawn(pc_ctx *ctx, struct conform_process *r, const char *script,
                           int in, int out, int err)
{
    memset(r, 0, sizeof *r);
    r->im = ctx->impl;
    int stdio[3] = {in, out, err};
    for (int fd = 0; fd < 3; fd++)
        if (stdio[fd] == PC_STDIO_PIPE)
            r->pipe_mask |= 1u << fd;
    char *argv[4];
    (void)conform_sh(script, argv);
    int e = ctx->impl->spawn(ctx->loop, argv, stdio, &conform_subject_process_protocol, r,
                             &r->sp);
    if (e)
        PC_FAIL("spawn sh -c '%s': %s", script, pl_err_name(e));
    if (pc_on_failure(conform_process_print, r) != 0)
        PC_FAIL("out of memory");
}
