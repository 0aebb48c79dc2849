/* Subjects: the current one, the loop helpers over it, and pipeloop's own
 * table, which calls the library directly (no IPC, no allocation per
 * operation) so that the in-process matrix runs as fast as before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pipecheck.h"
#include "subject_internal.h"

#define PC__STR2(x) #x
#define PC__STR(x) PC__STR2(x)

/* ---- pipeloop ----------------------------------------------------------- */

/* pl_protocol callbacks take a pl_transport; the suite's take the opaque
 * pc_transport.  One small bridge per transport carries the suite's
 * protocol and user pointer; it is freed after connection_lost. */
struct bridge {
    const pc_protocol *protocol;
    void *user;
};

static void bridge_made(pl_transport *t, void *user)
{
    struct bridge *b = user;
    if (b->protocol->connection_made)
        b->protocol->connection_made((pc_transport *)t, b->user);
}

static void bridge_data(pl_transport *t, const void *data, size_t len, void *user)
{
    struct bridge *b = user;
    if (b->protocol->data_received)
        b->protocol->data_received((pc_transport *)t, data, len, b->user);
}

static int bridge_eof(pl_transport *t, void *user)
{
    struct bridge *b = user;
    return b->protocol->eof_received
               ? b->protocol->eof_received((pc_transport *)t, b->user)
               : 0;
}

static void bridge_lost(pl_transport *t, int error, void *user)
{
    struct bridge b = *(struct bridge *)user;
    pl_transport_set_user(t, NULL); /* get_protocol after CL finds none */
    free(user);
    if (b.protocol->connection_lost)
        b.protocol->connection_lost((pc_transport *)t, error, b.user);
}

static void bridge_pause(pl_transport *t, void *user)
{
    struct bridge *b = user;
    if (b->protocol->pause_writing)
        b->protocol->pause_writing((pc_transport *)t, b->user);
}

static void bridge_resume(pl_transport *t, void *user)
{
    struct bridge *b = user;
    if (b->protocol->resume_writing)
        b->protocol->resume_writing((pc_transport *)t, b->user);
}

static const pl_protocol bridge_protocol = {bridge_made, bridge_data,  bridge_eof,
                                            bridge_lost, bridge_pause, bridge_resume};

static int pipeloop_connect(int (*connect)(pl_loop *, int, const pl_protocol *, void *,
                                           pl_transport **),
                            pc_loop *loop, int fd, const pc_protocol *protocol,
                            void *user, pc_transport **transport)
{
    /* NULL arguments go through unchanged, so the library's own checks
     * answer them (C1 null-arguments). */
    if (!protocol)
        return connect((pl_loop *)loop, fd, NULL, user, (pl_transport **)transport);
    struct bridge *b = malloc(sizeof *b);
    if (!b)
        return -ENOMEM;
    b->protocol = protocol;
    b->user = user;
    int err =
        connect((pl_loop *)loop, fd, &bridge_protocol, b, (pl_transport **)transport);
    if (err)
        free(b);
    return err;
}

static int pipeloop_connect_read_ex(pl_loop *loop, int fd, const pl_protocol *protocol,
                                    void *user, pl_transport **t);
static int pipeloop_connect_write_ex(pl_loop *loop, int fd, const pl_protocol *protocol,
                                     void *user, pl_transport **t);
static unsigned connect_flags; /* for the _ex pair, set around one call */

static int pipeloop_connect_read_ex(pl_loop *loop, int fd, const pl_protocol *protocol,
                                    void *user, pl_transport **t)
{
    return pl_connect_read_pipe_ex(loop, fd, connect_flags, protocol, user, t);
}

static int pipeloop_connect_write_ex(pl_loop *loop, int fd, const pl_protocol *protocol,
                                     void *user, pl_transport **t)
{
    return pl_connect_write_pipe_ex(loop, fd, connect_flags, protocol, user, t);
}

int pc_pipeloop_connect(pc_loop *loop, int fd, int is_read, unsigned flags,
                        const pc_protocol *protocol, void *user, pc_transport **transport)
{
    if (!(pc_subject_current()->caps & PC_CAP_PIPELOOP_API))
        return -ENOTSUP;
    connect_flags = flags;
    int err =
        pipeloop_connect(is_read ? pipeloop_connect_read_ex : pipeloop_connect_write_ex,
                         loop, fd, protocol, user, transport);
    connect_flags = 0;
    return err;
}

static int pipeloop_connect_read(pc_loop *loop, int fd, const pc_protocol *protocol,
                                 void *user, pc_transport **transport)
{
    return pipeloop_connect(pl_connect_read_pipe, loop, fd, protocol, user, transport);
}

static int pipeloop_connect_write(pc_loop *loop, int fd, const pc_protocol *protocol,
                                  void *user, pc_transport **transport)
{
    return pipeloop_connect(pl_connect_write_pipe, loop, fd, protocol, user, transport);
}

struct lent_bridge {
    pc_write_done_cb done;
    void *user;
};

static void lent_bridge_done(pl_transport *t, const void *data, size_t len, int status,
                             void *user)
{
    struct lent_bridge b = *(struct lent_bridge *)user;
    free(user);
    b.done((pc_transport *)t, data, len, status, b.user);
}

static ssize_t pipeloop_write_lent(pc_transport *t, const void *data, size_t len,
                                   pc_write_done_cb done, void *user)
{
    if (!done)
        return pl_transport_write_lent((pl_transport *)t, data, len, NULL, user);
    struct lent_bridge *b = malloc(sizeof *b);
    if (!b)
        return -ENOMEM;
    b->done = done;
    b->user = user;
    ssize_t r =
        pl_transport_write_lent((pl_transport *)t, data, len, lent_bridge_done, b);
    if (r <= 0)
        free(b);
    return r;
}

static int pipeloop_loop_new(pc_loop **loop, const char *backend)
{
    /* A name that is no backend is the caller's mistake: refused, not
     * taken for epoll (a typo would grade the wrong backend). */
    const pc_backend *b = backend ? pc_backend_find(backend) : NULL;
    if (!b)
        return -EINVAL;
    return pl_loop_new((pl_loop **)loop, b->flag);
}

static void release_processes(pl_loop *loop);

static int pipeloop_loop_close(pc_loop *loop)
{
    release_processes((pl_loop *)loop);
    return pl_loop_close((pl_loop *)loop);
}

static int pipeloop_step(pc_loop *loop, int timeout_ms)
{
    return pl_loop_run_once((pl_loop *)loop, timeout_ms);
}

static uint64_t pipeloop_iteration(const pc_loop *loop)
{
    return pl_loop_iteration((const pl_loop *)loop);
}

static int pipeloop_is_running(const pc_loop *loop)
{
    return pl_loop_is_running((const pl_loop *)loop);
}

static pl_loop *pipeloop_native(pc_loop *loop)
{
    return (pl_loop *)loop;
}

/* The operations are the library's, only retyped. */
#define T(t) ((pl_transport *)(t))
#define CT(t) ((const pl_transport *)(t))
static int pipeloop_pause_reading(pc_transport *t)
{
    return pl_transport_pause_reading(T(t));
}
static int pipeloop_resume_reading(pc_transport *t)
{
    return pl_transport_resume_reading(T(t));
}
static int pipeloop_is_reading(const pc_transport *t)
{
    return pl_transport_is_reading(CT(t));
}
static ssize_t pipeloop_write(pc_transport *t, const void *data, size_t len)
{
    return pl_transport_write(T(t), data, len);
}
static ssize_t pipeloop_writev(pc_transport *t, const struct iovec *iov, int iovcnt)
{
    return pl_transport_writev(T(t), iov, iovcnt);
}
static int pipeloop_write_eof(pc_transport *t)
{
    return pl_transport_write_eof(T(t));
}
static int pipeloop_can_write_eof(const pc_transport *t)
{
    return pl_transport_can_write_eof(CT(t));
}
static size_t pipeloop_get_write_buffer_size(const pc_transport *t)
{
    return pl_transport_get_write_buffer_size(CT(t));
}
static int pipeloop_set_write_buffer_limits(pc_transport *t, int64_t high, int64_t low)
{
    return pl_transport_set_write_buffer_limits(T(t), high, low);
}
static int pipeloop_get_write_buffer_limits(const pc_transport *t, size_t *high,
                                            size_t *low)
{
    return pl_transport_get_write_buffer_limits(CT(t), high, low);
}
static int pipeloop_close(pc_transport *t)
{
    return pl_transport_close(T(t));
}
static int pipeloop_abort(pc_transport *t)
{
    return pl_transport_abort(T(t));
}
static int pipeloop_is_closing(const pc_transport *t)
{
    return pl_transport_is_closing(CT(t));
}
static int pipeloop_get_fd(const pc_transport *t)
{
    return pl_transport_get_fd(CT(t));
}
/* The protocol switch keeps pipeloop's bridge as the pl_protocol and
 * points the bridge at the suite's new protocol and user. */
static int pipeloop_set_protocol(pc_transport *t, const pc_protocol *protocol, void *user)
{
    struct bridge *b = pl_transport_get_user(CT(t));
    if (!protocol || !b)
        return pl_transport_set_protocol(T(t), NULL);
    int err = pl_transport_set_protocol(T(t), &bridge_protocol);
    if (err)
        return err;
    b->protocol = protocol;
    b->user = user;
    return 0;
}

static int pipeloop_get_protocol(const pc_transport *t, const pc_protocol **protocol,
                                 void **user)
{
    const struct bridge *b = pl_transport_get_user(CT(t));
    *protocol = NULL;
    *user = NULL;
    if (b && pl_transport_get_protocol(CT(t)) == &bridge_protocol) {
        *protocol = b->protocol;
        *user = b->user;
    }
    return 0;
}

static void pipeloop_ref(pc_transport *t)
{
    pl_transport_ref(T(t));
}
static void pipeloop_unref(pc_transport *t)
{
    pl_transport_unref(T(t));
}
#undef T
#undef CT

/* ---- pipeloop's subprocesses ---------------------------------------------- */

/* The suite's handle on a pl_process: it holds a reference so that the
 * return code can be asked after connection_lost, and lives until its
 * loop is closed (as a remote subject's handles do). */
struct pc_process {
    struct pc_process *next;
    pl_loop *loop;
    pl_process *p;
    const pc_process_protocol *protocol;
    void *user;
    int lost; /* connection_lost ran */
};

static struct pc_process *processes;

#define PP(user) ((struct pc_process *)(user))

static void proc_made(pl_process *p, void *user)
{
    (void)p;
    if (PP(user)->protocol->connection_made)
        PP(user)->protocol->connection_made(PP(user), PP(user)->user);
}

static void proc_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    (void)p;
    if (PP(user)->protocol->pipe_data_received)
        PP(user)->protocol->pipe_data_received(PP(user), fd, data, len, PP(user)->user);
}

static void proc_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    (void)p;
    if (PP(user)->protocol->pipe_connection_lost)
        PP(user)->protocol->pipe_connection_lost(PP(user), fd, error, PP(user)->user);
}

static void proc_exited(pl_process *p, void *user)
{
    (void)p;
    if (PP(user)->protocol->process_exited)
        PP(user)->protocol->process_exited(PP(user), PP(user)->user);
}

static void proc_lost(pl_process *p, void *user)
{
    (void)p;
    PP(user)->lost = 1;
    if (PP(user)->protocol->connection_lost)
        PP(user)->protocol->connection_lost(PP(user), PP(user)->user);
}

static void proc_pause(pl_process *p, void *user)
{
    (void)p;
    if (PP(user)->protocol->pause_writing)
        PP(user)->protocol->pause_writing(PP(user), PP(user)->user);
}

static void proc_resume(pl_process *p, void *user)
{
    (void)p;
    if (PP(user)->protocol->resume_writing)
        PP(user)->protocol->resume_writing(PP(user), PP(user)->user);
}

#undef PP

static const pl_process_protocol proc_protocol = {
    proc_made, proc_data, proc_pipe_lost, proc_exited, proc_lost, proc_pause, proc_resume,
};

static int pipeloop_spawn(pc_loop *loop, char *const argv[], const int stdio[3],
                          const pc_process_protocol *protocol, void *user,
                          pc_process **process)
{
    if (!argv || !argv[0] || !stdio || !protocol || !process)
        return -EINVAL;
    static const enum pl_stdio_kind kinds[] = {PL_STDIO_INHERIT, PL_STDIO_PIPE,
                                               PL_STDIO_DEVNULL, PL_STDIO_STDOUT};
    pl_spawn_options o;
    memset(&o, 0, sizeof o);
    o.file = argv[0];
    o.argv = argv;
    for (int i = 0; i < 3; i++) {
        if (stdio[i] < PC_STDIO_INHERIT || stdio[i] > PC_STDIO_STDOUT)
            return -EINVAL;
        o.stdio[i].kind = kinds[stdio[i]];
    }
    struct pc_process *pp = calloc(1, sizeof *pp);
    if (!pp)
        return -ENOMEM;
    pp->loop = (pl_loop *)loop;
    pp->protocol = protocol;
    pp->user = user;
    int err = pl_spawn((pl_loop *)loop, &o, &proc_protocol, pp, &pp->p);
    if (err) {
        free(pp);
        return err;
    }
    pl_process_ref(pp->p);
    pp->next = processes;
    processes = pp;
    *process = pp;
    return 0;
}

static pid_t pipeloop_process_pid(const pc_process *p)
{
    return pl_process_get_pid(p->p);
}

static int pipeloop_process_returncode(const pc_process *p, int *returncode)
{
    return pl_process_get_returncode(p->p, returncode);
}

static int pipeloop_process_send_signal(pc_process *p, int signum)
{
    return pl_process_send_signal(p->p, signum);
}

static int pipeloop_process_close(pc_process *p)
{
    return pl_process_close(p->p);
}

static pc_transport *pipeloop_process_pipe(pc_process *p, int fd)
{
    return (pc_transport *)pl_process_get_pipe_transport(p->p, fd);
}

/* pl_spawn returns a process that needs nothing more: giving it up is
 * closing it. */
static int pipeloop_process_cancel(pc_process *p)
{
    return pl_process_close(p->p);
}

/* Drop the handles of loop's processes that are over; the rest keep the
 * loop open (pl_loop_close says -EBUSY). */
static void release_processes(pl_loop *loop)
{
    for (struct pc_process **pp = &processes; *pp;) {
        struct pc_process *p = *pp;
        if (p->loop == loop && p->lost) {
            *pp = p->next;
            pl_process_unref(p->p);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

static int pipeloop_sched_time(pc_loop *loop, uint64_t *run_ns, uint64_t *wait_ns);

const pc_subject pc_subject_pipeloop = {
    .name = "pipeloop",
    .describe = "pipeloop " PC__STR(PL_VERSION_MAJOR) "." PC__STR(
        PL_VERSION_MINOR) "." PC__STR(PL_VERSION_PATCH) ", in process",
    .caps = PC_CAP_IN_PROCESS | PC_CAP_LENT_WRITES | PC_CAP_WRITEV | PC_CAP_GET_FD |
            PC_CAP_BUFFER_LIMITS | PC_CAP_LOOP_OWNED_READ_BUFFER | PC_CAP_REF_UNREF |
            PC_CAP_LOOP_WATCHERS | PC_CAP_LOOP_CLOSE | PC_CAP_SUBPROCESS |
            PC_CAP_PIPELOOP_API | PC_CAP_IS_READING | PC_CAP_READ_ABORT |
            PC_CAP_SET_PROTOCOL,
    .read_size = PL_READ_SIZE,
    .backends = "epoll,poll,io_uring",
    .loop_new = pipeloop_loop_new,
    .loop_close = pipeloop_loop_close,
    .step = pipeloop_step,
    .run_until_quiet = NULL,
    .iteration = pipeloop_iteration,
    .is_running = pipeloop_is_running,
    .native_loop = pipeloop_native,
    .connect_read_pipe = pipeloop_connect_read,
    .connect_write_pipe = pipeloop_connect_write,
    .pause_reading = pipeloop_pause_reading,
    .resume_reading = pipeloop_resume_reading,
    .is_reading = pipeloop_is_reading,
    .write = pipeloop_write,
    .writev = pipeloop_writev,
    .write_lent = pipeloop_write_lent,
    .write_eof = pipeloop_write_eof,
    .can_write_eof = pipeloop_can_write_eof,
    .get_write_buffer_size = pipeloop_get_write_buffer_size,
    .set_write_buffer_limits = pipeloop_set_write_buffer_limits,
    .get_write_buffer_limits = pipeloop_get_write_buffer_limits,
    .close = pipeloop_close,
    .abort = pipeloop_abort,
    .is_closing = pipeloop_is_closing,
    .get_fd = pipeloop_get_fd,
    .ref = pipeloop_ref,
    .unref = pipeloop_unref,
    .set_protocol = pipeloop_set_protocol,
    .get_protocol = pipeloop_get_protocol,
    .drop = NULL, /* C: nothing is collected */
    .config = NULL,
    .spawn = pipeloop_spawn,
    .process_pid = pipeloop_process_pid,
    .process_returncode = pipeloop_process_returncode,
    .process_send_signal = pipeloop_process_send_signal,
    .process_close = pipeloop_process_close,
    .process_pipe = pipeloop_process_pipe,
    .process_cancel = pipeloop_process_cancel,
    .sched_time = pipeloop_sched_time,
    .probe = NULL, /* in process: nothing to start or stop */
    .probe_error = NULL,
    .start = NULL,
    .stop = NULL,
};

/* ---- the current subject ------------------------------------------------ */

static const pc_subject *current = &pc_subject_pipeloop;

const pc_subject *pc_subject_current(void)
{
    return current;
}

void pc_subject_set(const pc_subject *subject)
{
    current = subject ? subject : &pc_subject_pipeloop;
}

int pc_subject_has(unsigned caps)
{
    return (current->caps & caps) == caps;
}

int pc_subject_has_backend(const pc_subject *subject, const char *backend)
{
    size_t n = strlen(backend);
    for (const char *p = subject->backends; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, backend, n) == 0)
            return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static const char *const cap_names[] = {
    "in-process", "lent-writes",   "writev",
    "get-fd",     "buffer-limits", "loop-owned-read-buffer",
    "ref-unref",  "loop-watchers", "loop-close",
    "subprocess", "pipeloop-api",  "is-reading",
    "read-abort", "set-protocol",  "drop",
};

const char *pc_subject_cap_name(unsigned cap)
{
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
        if (cap == 1u << i)
            return cap_names[i];
    return NULL;
}

unsigned pc__subject_cap_from_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
        if (strlen(cap_names[i]) == len && strncmp(cap_names[i], name, len) == 0)
            return 1u << i;
    return 0;
}

const pc_subject *pc_subject_find(const char *spec)
{
    if (strcmp(spec, "pipeloop") == 0)
        return &pc_subject_pipeloop;
    return pc__subject_remote(spec);
}

/* ---- starting and stopping ---------------------------------------------- */

int pc_subject_probe(const pc_subject *subject, FILE *err)
{
    return subject->probe ? subject->probe(subject, err) : 0;
}

const char *pc_subject_probe_error(const pc_subject *subject)
{
    return subject->probe_error ? subject->probe_error(subject) : "";
}

int pc_subject_start(const pc_subject *subject)
{
    return subject->start ? subject->start(subject) : 0;
}

void pc_subject_stop(const pc_subject *subject)
{
    if (subject->stop)
        subject->stop(subject);
}

/* ---- loop helpers ------------------------------------------------------- */

int pc_loop_new(pc_loop **loop, const char *backend)
{
    return current->loop_new(loop, backend);
}

int pc_loop_close(pc_loop *loop)
{
    return current->loop_close(loop);
}

int pc_loop_step(pc_loop *loop, int timeout_ms)
{
    return current->step(loop, timeout_ms);
}

uint64_t pc_loop_iteration(const pc_loop *loop)
{
    return current->iteration(loop);
}

int pc_loop_is_running(const pc_loop *loop)
{
    return current->is_running(loop);
}

pl_loop *pc_loop_native(pc_loop *loop)
{
    return current->native_loop(loop);
}

int pc_loop_sched_time(pc_loop *loop, uint64_t *run_ns, uint64_t *wait_ns)
{
    *run_ns = *wait_ns = 0;
    return current->sched_time ? current->sched_time(loop, run_ns, wait_ns) : -ENOTSUP;
}

int pc_process_sched_time(pid_t pid, uint64_t *run_ns, uint64_t *wait_ns)
{
    *run_ns = *wait_ns = 0;
    char path[64];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat",
                 (long)syscall(SYS_gettid));
    else
        snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -ENOTSUP;
    unsigned long long run = 0, wait = 0;
    int got = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    if (got != 2)
        return -ENOTSUP;
    *run_ns = (uint64_t)run;
    *wait_ns = (uint64_t)wait;
    return 0;
}

/* pipeloop runs its loop in the caller's thread. */
static int pipeloop_sched_time(pc_loop *loop, uint64_t *run_ns, uint64_t *wait_ns)
{
    (void)loop;
    return pc_process_sched_time(0, run_ns, wait_ns);
}

pl_transport *pc_transport_native(pc_transport *t)
{
    /* pipeloop's table hands out its pl_transport pointers as they are. */
    return (current->caps & PC_CAP_PIPELOOP_API) ? (pl_transport *)t : NULL;
}
