/* Random operation sequences against a model of the transports
 * (pipecheck --fuzz): writes of random sizes (copied, lent, writev), limit
 * changes, write_eof, close and abort on a write transport; pause, resume
 * and close on a read transport; a peer on the far ends that reads, writes
 * and closes at random; single loop iterations in between.  After every
 * step the transports' callbacks, return values and byte streams must be
 * ones the model allows (spec groups C R W F D E); at the end both are
 * driven to their end and the "eventually" facts are checked (every byte
 * accepted arrives once and in order, CL once, every lent write reported
 * once).
 *
 * Each sequence runs in a child process (a crash or hang is a divergence
 * too, never the bench's end).  A sequence is a list of operations made
 * from its seed; a diverging one is shrunk (ops removed while it still
 * diverges) and printed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipecheck.h"

enum op_type {
    OP_WRITE,
    OP_WRITE_LENT,
    OP_WRITEV,
    OP_LIMITS,
    OP_W_CLOSE,
    OP_W_ABORT,
    OP_W_EOF,
    OP_PEER_READ,
    OP_PEER_CLOSE_READER,
    OP_R_PAUSE,
    OP_R_RESUME,
    OP_R_CLOSE,
    OP_PEER_WRITE,
    OP_PEER_CLOSE_WRITER,
    OP_RUN,
    OP_COUNT
};

static const char *const op_names[] = {
    "write",          "write_lent", "writev",     "set_limits",        "close(w)",
    "abort(w)",       "write_eof",  "peer_read",  "peer_close_reader", "pause_reading",
    "resume_reading", "close(r)",   "peer_write", "peer_close_writer", "run_once",
};

/* Relative frequencies: the sequence must live long enough to matter, so
 * the ends are rare. */
static const unsigned op_weight[] = {14, 6, 5, 3, 1, 1, 1, 14, 1, 6, 6, 1, 14, 1, 20};

struct op {
    unsigned char type;
    uint32_t arg;
};

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t make_ops(uint64_t seed, struct op *ops, size_t max)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15u | 1;
    unsigned total = 0;
    for (int i = 0; i < OP_COUNT; i++)
        total += op_weight[i];
    size_t n = 20 + (size_t)(xorshift(&s) % (max - 19));
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(xorshift(&s) % total);
        unsigned t = 0;
        while (r >= op_weight[t])
            r -= op_weight[t++];
        ops[i].type = (unsigned char)t;
        ops[i].arg = (uint32_t)xorshift(&s);
    }
    return n;
}

/* ---- the run, in a child process ---------------------------------------- */

#define LENT_SLOTS 4
#define LENT_MAX 65536u
#define WRITE_MAX 70000u

static FILE *say; /* where a divergence is described; NULL: quiet */
static uint64_t stream_seed = 0x5eedf00du;

static __attribute__((noreturn, format(printf, 1, 2))) void diverge(const char *fmt, ...)
{
    if (say) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(say, "    divergence: ");
        vfprintf(say, fmt, ap);
        fprintf(say, "\n");
        va_end(ap);
        fflush(say);
    }
    _exit(1);
}

#define EXPECT(cond, ...)                                                                \
    do {                                                                                 \
        if (!(cond))                                                                     \
            diverge(__VA_ARGS__);                                                        \
    } while (0)

struct side {
    pl_transport *t;
    int made, lost, er, lost_error;
    int pw; /* pause_writing without resume_writing yet */
    uint64_t dr_calls;
};

struct world {
    const pc_kind *kind;
    pl_loop *loop;
    pc_pair wpair, rpair; /* near ends given to the transports */
    struct side w, r;
    /* write side model */
    uint64_t accepted;  /* bytes the write transport took, in order */
    uint64_t peer_read; /* bytes the peer read from the far end */
    int w_closing;      /* close or write_eof called */
    int w_aborted;
    int peer_closed_reader;
    int peer_eof; /* the peer read end of file */
    size_t high, low;
    int lent_busy[LENT_SLOTS];
    int lent_outstanding;
    unsigned char lent[LENT_SLOTS][LENT_MAX];
    /* read side model */
    uint64_t peer_written;
    uint64_t received;
    int r_paused, r_closed, peer_closed_writer;
    int r_closed_before_er;
    unsigned char buf[WRITE_MAX];
};

static struct world *W;

static struct side *side_of(pl_transport *t)
{
    return t == W->w.t ? &W->w : &W->r;
}

static void ev_made(pl_transport *t, void *user)
{
    (void)user;
    struct side *s = side_of(t);
    EXPECT(s->made == 0 && s->lost == 0,
           "connection_made twice or after connection_lost");
    s->made = 1;
}

static void ev_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)user;
    struct side *s = side_of(t);
    EXPECT(s == &W->r, "data_received on the write transport");
    EXPECT(s->made && !s->lost && !s->er, "data_received outside CM..ER/CL");
    EXPECT(!W->r_closed, "data_received after close() (R8)");
    EXPECT(!W->r_paused, "data_received while paused (R4)");
    EXPECT(len > 0, "data_received with 0 bytes");
    EXPECT(W->received + len <= W->peer_written, "more bytes arrived than were written");
    EXPECT(pc_pattern_check(stream_seed ^ 1, W->received, data, len) == len,
           "byte %llu of the read stream is wrong (R1)", (unsigned long long)W->received);
    W->received += len;
    s->dr_calls++;
}

static int ev_eof(pl_transport *t, void *user)
{
    (void)user;
    struct side *s = side_of(t);
    EXPECT(s == &W->r, "eof_received on the write transport");
    EXPECT(s->made && !s->lost && !s->er, "eof_received twice or out of order (R6)");
    EXPECT(!W->r_closed, "eof_received after close() (R8)");
    EXPECT(W->peer_closed_writer, "eof_received but the peer never closed");
    s->er = 1;
    return 1; /* ignored for pipes (R7) */
}

static void ev_lost(pl_transport *t, int error, void *user)
{
    (void)user;
    struct side *s = side_of(t);
    EXPECT(s->made, "connection_lost before connection_made (C4)");
    EXPECT(!s->lost, "connection_lost twice (D5)");
    s->lost = 1;
    s->lost_error = error;
}

static void ev_pause(pl_transport *t, void *user)
{
    (void)user;
    struct side *s = side_of(t);
    EXPECT(s == &W->w, "pause_writing on the read transport");
    EXPECT(s->made && !s->lost, "pause_writing outside CM..CL");
    EXPECT(!s->pw, "pause_writing twice without resume_writing (F3)");
    EXPECT(pl_transport_get_write_buffer_size(t) > W->high,
           "pause_writing with the buffer (%zu) not above high (%zu) (F3)",
           pl_transport_get_write_buffer_size(t), W->high);
    s->pw = 1;
}

static void ev_resume(pl_transport *t, void *user)
{
    (void)user;
    struct side *s = side_of(t);
    EXPECT(s == &W->w, "resume_writing on the read transport");
    EXPECT(s->made && !s->lost, "resume_writing outside CM..CL");
    EXPECT(s->pw, "resume_writing without pause_writing (F4)");
    EXPECT(pl_transport_get_write_buffer_size(t) <= W->low,
           "resume_writing with the buffer (%zu) above low (%zu) (F4)",
           pl_transport_get_write_buffer_size(t), W->low);
    s->pw = 0;
}

static const pl_protocol model_protocol = {ev_made, ev_data,  ev_eof,
                                           ev_lost, ev_pause, ev_resume};

static void lent_done(pl_transport *t, const void *data, size_t len, int status,
                      void *user)
{
    (void)t, (void)len, (void)status;
    int slot = (int)(intptr_t)user;
    EXPECT(data == W->lent[slot], "a lent write reported with another buffer");
    EXPECT(W->lent_busy[slot], "a lent write reported twice");
    EXPECT(!W->w.lost, "a lent write reported after connection_lost");
    W->lent_busy[slot] = 0;
    W->lent_outstanding--;
}

/* What must hold between operations. */
static void check_state(void)
{
    pl_transport *w = W->w.t, *r = W->r.t;
    size_t size = pl_transport_get_write_buffer_size(w);
    EXPECT(size <= W->accepted - W->peer_read,
           "the write buffer holds bytes never written");
    if (W->w.made && !pl_transport_is_closing(w)) {
        EXPECT(!W->w.pw || size > W->low,
               "paused with the buffer (%zu) at or below low (%zu) (F4)", size, W->low);
        EXPECT(W->w.pw || size <= W->high,
               "not paused with the buffer (%zu) above high (%zu) (F3)", size, W->high);
    }
    if (W->w_closing || W->w_aborted)
        EXPECT(pl_transport_is_closing(w), "closing, but is_closing is 0 (D1)");
    int closing = pl_transport_is_closing(r);
    if (W->r_closed)
        EXPECT(closing, "closed, but is_closing is 0 (R3)");
    if (!W->r_closed && !W->peer_closed_writer)
        EXPECT(!closing, "is_closing with neither close nor EOF (R3)");
    EXPECT(pl_transport_is_reading(r) == (!W->r_paused && !closing),
           "is_reading %d, paused %d, closing %d (R3)", pl_transport_is_reading(r),
           W->r_paused, closing);
}

static void do_write(const struct op *op, int how)
{
    pl_transport *w = W->w.t;
    size_t n = 1 + op->arg % WRITE_MAX;
    ssize_t got;
    int slot = -1;
    if (how == OP_WRITE_LENT) {
        for (int i = 0; i < LENT_SLOTS; i++)
            if (!W->lent_busy[i])
                slot = i;
        if (slot < 0)
            return; /* every lent buffer is still out */
        if (n > LENT_MAX)
            n = LENT_MAX;
        pc_pattern_fill(stream_seed, W->accepted, W->lent[slot], n);
        got = pl_transport_write_lent(w, W->lent[slot], n, lent_done,
                                      (void *)(intptr_t)slot);
    } else {
        pc_pattern_fill(stream_seed, W->accepted, W->buf, n);
        if (how == OP_WRITEV) {
            struct iovec iov[3] = {
                {W->buf, n / 3}, {W->buf + n / 3, 0}, {W->buf + n / 3, n - n / 3}};
            got = pl_transport_writev(w, iov, 3);
        } else {
            got = pl_transport_write(w, W->buf, n);
        }
    }
    int ended = W->w_closing || W->w_aborted || W->w.lost;
    if (got == PL_ECLOSED) {
        /* Refused: fine once ended, or once the reader went away and the
         * transport saw it (E1/E3); never on a live one (W6). */
        EXPECT(ended || (W->peer_closed_reader && pl_transport_is_closing(w)),
               "write refused on an open transport");
        return;
    }
    EXPECT(!ended, "write accepted after close/abort/CL (W6): %zd", got);
    EXPECT(got == (ssize_t)n, "write of %zu returned %zd", n, got);
    W->accepted += n;
    if (slot >= 0) {
        W->lent_busy[slot] = 1;
        W->lent_outstanding++;
    }
}

static void do_peer_read(size_t n)
{
    if (W->wpair.far < 0 || W->peer_eof)
        return;
    if (n > sizeof W->buf)
        n = sizeof W->buf;
    ssize_t k = read(W->wpair.far, W->buf, n);
    if (k > 0) {
        EXPECT(W->peer_read + (uint64_t)k <= W->accepted,
               "the peer read bytes never written");
        EXPECT(pc_pattern_check(stream_seed, W->peer_read, W->buf, (size_t)k) ==
                   (size_t)k,
               "byte %llu of the written stream is wrong (W4)",
               (unsigned long long)W->peer_read);
        W->peer_read += (uint64_t)k;
    } else if (k == 0 || (k < 0 && errno == EIO && (W->kind->flags & PC_KIND_TTY))) {
        EXPECT(W->w.lost, "the peer read end of file while the transport is open");
        W->peer_eof = 1;
    } else {
        EXPECT(errno == EAGAIN, "the peer's read failed: %s", strerror(errno));
    }
}

static void do_peer_write(size_t n)
{
    if (W->rpair.far < 0)
        return;
    pc_pattern_fill(stream_seed ^ 1, W->peer_written, W->buf, n);
    ssize_t k = write(W->rpair.far, W->buf, n);
    if (k > 0)
        W->peer_written += (uint64_t)k;
    else
        EXPECT(errno == EAGAIN ||
                   (W->r.lost && (errno == EPIPE || errno == ECONNRESET || errno == EIO)),
               "the peer's write failed: %s", strerror(errno));
}

static void run_once(int timeout_ms)
{
    uint64_t dr_before = W->r.dr_calls;
    int paused = W->r_paused;
    EXPECT(pl_loop_run_once(W->loop, timeout_ms) >= 0, "run_once failed");
    if (paused)
        EXPECT(W->r.dr_calls == dr_before, "data_received while paused (R4)");
}

static void apply(const struct op *op)
{
    pl_transport *w = W->w.t, *r = W->r.t;
    switch ((enum op_type)op->type) {
    case OP_WRITE:
    case OP_WRITE_LENT:
    case OP_WRITEV:
        do_write(op, op->type);
        break;
    case OP_LIMITS: {
        static const int64_t highs[] = {0, 1024, 16384, 65536, 262144};
        int64_t high = highs[op->arg % 5];
        int64_t low = (op->arg >> 8) % 2 ? high / 4 : PL_LIMIT_UNSET;
        /* The model first: PW or RW may run inside the call (F6). */
        W->high = (size_t)high;
        W->low = (size_t)(high / 4);
        EXPECT(pl_transport_set_write_buffer_limits(w, high, low) == 0,
               "set_limits failed");
        break;
    }
    case OP_W_CLOSE:
        EXPECT(pl_transport_close(w) == 0, "close failed");
        W->w_closing = 1;
        break;
    case OP_W_EOF:
        EXPECT(pl_transport_write_eof(w) == 0, "write_eof failed");
        W->w_closing = 1;
        break;
    case OP_W_ABORT:
        EXPECT(pl_transport_abort(w) == 0, "abort failed");
        W->w_aborted = 1;
        break;
    case OP_PEER_READ:
        do_peer_read(1 + op->arg % (2 * WRITE_MAX));
        break;
    case OP_PEER_CLOSE_READER:
        if (W->wpair.far >= 0) {
            close(W->wpair.far);
            W->wpair.far = -1;
            W->peer_closed_reader = 1;
        }
        break;
    case OP_R_PAUSE:
        EXPECT(pl_transport_pause_reading(r) == 0, "pause_reading failed (R5)");
        if (!pl_transport_is_closing(r))
            W->r_paused = 1;
        break;
    case OP_R_RESUME:
        EXPECT(pl_transport_resume_reading(r) == 0, "resume_reading failed (R5)");
        W->r_paused = 0;
        break;
    case OP_R_CLOSE:
        EXPECT(pl_transport_close(r) == 0, "close failed (R8)");
        if (!W->r.er)
            W->r_closed_before_er = 1;
        W->r_closed = 1;
        W->r_paused = 0;
        break;
    case OP_PEER_WRITE:
        do_peer_write(1 + op->arg % WRITE_MAX);
        break;
    case OP_PEER_CLOSE_WRITER:
        if (W->rpair.far >= 0) {
            close(W->rpair.far);
            W->rpair.far = -1;
            W->peer_closed_writer = 1;
        }
        break;
    case OP_RUN:
        run_once((op->arg % 4) == 0 ? 2 : 0);
        break;
    default:
        break;
    }
    check_state();
}

/* Drive both transports to their end and check what must have happened. */
static void finish(void)
{
    pl_transport *w = W->w.t, *r = W->r.t;
    uint64_t deadline = pc_deadline_ms(10000);
    /* Read side: let everything in, then the peer's EOF. */
    if (!W->r_closed && W->r_paused) {
        EXPECT(pl_transport_resume_reading(r) == 0, "resume_reading failed");
        W->r_paused = 0;
    }
    if (W->rpair.far >= 0) {
        close(W->rpair.far);
        W->rpair.far = -1;
        W->peer_closed_writer = 1;
    }
    /* Write side: close it; the peer reads to the end. */
    if (!W->w_closing && !W->w_aborted) {
        EXPECT(pl_transport_close(w) == 0, "close failed");
        W->w_closing = 1;
    }
    while (!W->r.lost || !W->w.lost || (W->wpair.far >= 0 && !W->peer_eof)) {
        EXPECT(pc_now_ns() / 1000000u < deadline,
               "the transports never finished (r lost %d, w lost %d, peer eof %d)",
               W->r.lost, W->w.lost, W->peer_eof);
        run_once(5);
        do_peer_read(WRITE_MAX);
    }
    /* Read side facts. */
    EXPECT(W->r.lost_error == 0, "read transport lost with %s",
           pl_err_name(W->r.lost_error));
    if (!W->r_closed_before_er) {
        EXPECT(W->r.er, "the peer closed but eof_received never came (R6)");
        if (!(W->kind->flags & PC_KIND_FAR_CLOSE_DROPS))
            EXPECT(W->received == W->peer_written,
                   "%llu bytes written to the reader, %llu arrived (R1)",
                   (unsigned long long)W->peer_written, (unsigned long long)W->received);
    }
    /* Write side facts. */
    EXPECT(W->lent_outstanding == 0, "%d lent writes never reported",
           W->lent_outstanding);
    int err = W->w.lost_error;
    if (W->peer_closed_reader) {
        /* A tty whose other side hung up answers EIO where a pipe says
         * EPIPE (E3 does not apply to ttys). */
        int tty_eio = err == -EIO && (W->kind->flags & PC_KIND_TTY);
        EXPECT(err == 0 || err == -EPIPE || tty_eio, "write transport lost with %s",
               pl_err_name(err));
    } else {
        EXPECT(err == 0, "write transport lost with %s", pl_err_name(err));
        if (!W->w_aborted && !(W->kind->flags & PC_KIND_NEAR_CLOSE_DROPS))
            EXPECT(W->peer_read == W->accepted,
                   "%llu bytes accepted, the reader got %llu (D2)",
                   (unsigned long long)W->accepted, (unsigned long long)W->peer_read);
    }
}

static int run_sequence(const pc_kind *kind, unsigned backend, const struct op *ops,
                        size_t n)
{
    static struct world world;
    memset(&world, 0, sizeof world);
    W = &world;
    W->kind = kind;
    W->high = 64 * 1024;
    W->low = 16 * 1024;
    signal(SIGPIPE, SIG_IGN);
    EXPECT(pl_loop_new(&W->loop, backend) == 0, "pl_loop_new failed");
    EXPECT(pc_pair_open(kind, PC_DIR_WRITE, 0, &W->wpair) == 0,
           "cannot open a write pair");
    EXPECT(pc_pair_open(kind, PC_DIR_READ, 0, &W->rpair) == 0, "cannot open a read pair");
    (void)pc_pair_shrink(&W->wpair, PC_SHRINK_SIZE);
    for (int i = 0; i < 2; i++) {
        int fd = i ? W->rpair.far : W->wpair.far;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    EXPECT(pl_connect_write_pipe(W->loop, W->wpair.near, &model_protocol, NULL,
                                 &W->w.t) == 0,
           "connect write failed");
    W->wpair.near = -1;
    EXPECT(pl_connect_read_pipe(W->loop, W->rpair.near, &model_protocol, NULL, &W->r.t) ==
               0,
           "connect read failed");
    W->rpair.near = -1;
    pl_transport_ref(W->w.t);
    pl_transport_ref(W->r.t);
    for (size_t i = 0; i < n; i++) {
        if (say)
            fprintf(say, "    %3zu %s %u\n", i, op_names[ops[i].type],
                    (unsigned)ops[i].arg);
        apply(&ops[i]);
    }
    finish();
    pl_transport_unref(W->w.t);
    pl_transport_unref(W->r.t);
    EXPECT(pl_loop_close(W->loop) == 0, "pl_loop_close refused at the end");
    return 0;
}

/* Run the sequence in a child; 0 if the model held, 1 if not (also for a
 * crash or a hang: the child is killed after 20 s). */
static int diverges(const pc_kind *kind, unsigned backend, const struct op *ops, size_t n,
                    FILE *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        say = log;
        alarm(20);
        _exit(run_sequence(kind, backend, ops, n));
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && log)
        fprintf(log, "    the sequence ended the process with signal %d (%s)\n",
                WTERMSIG(status), WTERMSIG(status) == SIGALRM ? "hang" : "crash");
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Remove operations while the sequence still diverges: chunks first, then
 * single ones. */
static size_t shrink(const pc_kind *kind, unsigned backend, struct op *ops, size_t n)
{
    struct op *trial = malloc(n * sizeof *trial);
    if (!trial)
        return n;
    for (size_t chunk = n / 2; chunk >= 1; chunk /= 2) {
        for (size_t start = 0; start + chunk <= n;) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (i < start || i >= start + chunk)
                    trial[m++] = ops[i];
            if (diverges(kind, backend, trial, m, NULL)) {
                memcpy(ops, trial, m * sizeof *ops);
                n = m;
            } else {
                start += chunk;
            }
        }
    }
    free(trial);
    return n;
}

int pc_fuzz(const pc_fuzz_options *o, pc_fuzz_result *out)
{
    memset(out, 0, sizeof *out);
    size_t max_ops = o->max_ops ? o->max_ops : 200;
    if (max_ops < 20)
        max_ops = 20;
    struct op *ops = malloc(max_ops * sizeof *ops);
    if (!ops)
        return -ENOMEM;
    FILE *log = o->log ? o->log : stderr;
    const pc_kind *kinds[16];
    size_t nkinds = 0;
    for (size_t i = 0; i < pc_kind_count() && nkinds < 16; i++) {
        const pc_kind *k = pc_kind_get(i);
        if (k->flags & PC_KIND_CHILD)
            continue; /* its far end lives in another process */
        int wanted = o->nkinds == 0;
        for (size_t j = 0; j < o->nkinds; j++)
            wanted |= strcmp(o->kinds[j], k->name) == 0;
        if (wanted)
            kinds[nkinds++] = k;
    }
    const pc_backend *backends[PC_BACKEND_COUNT];
    size_t nbackends = 0;
    for (size_t b = 0; b < PC_BACKEND_COUNT; b++) {
        if (o->backends && !(o->backends & pc_backends[b].flag))
            continue;
        /* Fuzz io_uring only where a ring can be made. */
        if (pc_backend_available(&pc_backends[b]) != 0)
            continue;
        backends[nbackends++] = &pc_backends[b];
    }
    if (nkinds == 0 || nbackends == 0) {
        free(ops);
        return -EINVAL;
    }
    uint64_t seed = o->seed;
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
    }
    fprintf(log, "fuzz: first seed %llu, up to %zu operations a sequence\n",
            (unsigned long long)seed, max_ops);
    uint64_t start = pc_now_ns();
    for (uint64_t i = 0;; i++) {
        double elapsed = (double)(pc_now_ns() - start) / 1e9;
        if (elapsed >= o->seconds && i > 0)
            break;
        uint64_t s = seed + i;
        const pc_kind *kind = kinds[i % nkinds];
        const pc_backend *backend = backends[(i / nkinds) % nbackends];
        size_t n = make_ops(s, ops, max_ops);
        out->sequences++;
        out->operations += n;
        if (!diverges(kind, backend->flag, ops, n, NULL))
            continue;
        out->divergences++;
        size_t m = shrink(kind, backend->flag, ops, n);
        fprintf(log,
                "divergence: seed %llu on %s/%s; shortest sequence still failing (%zu of "
                "%zu operations):\n",
                (unsigned long long)s, kind->name, backend->name, m, n);
        (void)diverges(kind, backend->flag, ops, m, log);
        if (o->stop_at_first)
            break;
    }
    free(ops);
    return 0;
}
