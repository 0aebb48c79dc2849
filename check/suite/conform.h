/* Helpers shared by the conformance suite's files (check/suite/conform_*.c). */
#ifndef PIPELOOP_TESTS_CONFORM_H
#define PIPELOOP_TESTS_CONFORM_H

#include <pipecheck.h>

/* The usual bound for one conformance test's waits, before scaling. */
#define CONFORM_WAIT_MS 5000u

/* Open a pair of the instance's kind (near end in direction dir), make a
 * recorder called label and connect a transport to the near end, which the
 * transport then owns (pair->near becomes -1).  Returns the transport. */
pc_transport *conform_connected(pc_ctx *ctx, pc_dir dir, const char *label, pc_pair *pair,
                                pc_recorder **rec);
/* A transport that conform_open connected, with its pair and recorder. */
struct conform_conn {
    pc_pair pair;
    pc_recorder *rec;
    pc_transport *t;
};
/* conform_connected, for a test that keeps the three together. */
struct conform_conn conform_open(pc_ctx *ctx, pc_dir dir, const char *label);

/* conform_open for writing into *c with a conform_reader (the whole
 * pattern, no pauses) on the far end, run until connection_made: the start
 * of a test that writes to a reader taking everything.  Returns the peer,
 * for conform_peer_done.  (The peer keeps c->pair's address: c stays put.) */
pc_peer *conform_open_to_reader(pc_ctx *ctx, struct conform_conn *c);

/* The end of a test: close what is left of pair and free rec. */
void conform_release(pc_pair *pair, pc_recorder *rec);

/* A writer that follows flow control, written once for the tests that
 * stream: with conform_writer_hooks as a recorder's hooks and the writer as
 * their user pointer, connection_made calls fill, pause_writing sets paused
 * (and counts it in pauses), resume_writing clears paused and calls fill
 * again.  fill writes until paused is set or it is done.  A test embeds the
 * writer as the first member of its own state, which fill gets back by a
 * cast. */
struct conform_writer {
    void (*fill)(struct conform_writer *writer, pc_transport *t);
    int paused;
    unsigned pauses;
};
extern const pc_protocol conform_writer_hooks;

/* A write transport whose kernel buffer is full and whose own buffer holds
 * at least `extra` (>= 1) pattern bytes, nobody reading, connection_made
 * seen.  The kernel buffer is shrunk where the kind allows it. */
struct conform_backlog {
    pc_pair pair;
    pc_recorder *rec;
    pc_transport *t;
    uint64_t sent; /* pattern bytes written so far */
};
void conform_back_up(pc_ctx *ctx, struct conform_backlog *b, size_t extra);

/* Start a peer on pair's far end that writes bytes of the pattern of seed
 * in chunks of chunk (0: seeded random 1 B .. chunk_max) and then closes
 * its end (after a release token if hold). */
pc_peer *conform_writer(pc_pair *pair, uint64_t seed, uint64_t bytes, size_t chunk,
                        size_t chunk_max, int hold);
/* Start a peer that reads the far end to EOF and checks the pattern of
 * seed; pause_us between reads makes a slow reader; wait_start holds it
 * until the first pc_peer_release. */
pc_peer *conform_reader(pc_pair *pair, uint64_t seed, size_t chunk, unsigned pause_us,
                        int wait_start);
/* Start a peer that reads exactly bytes (checking the pattern) and then
 * closes its end without waiting for EOF. */
pc_peer *conform_reader_count(pc_pair *pair, uint64_t seed, uint64_t bytes);
/* Wait for the peer and fail the test if it saw a pattern mismatch or an
 * error other than expect_error; returns the bytes it moved. */
uint64_t conform_peer_done(pc_peer *peer, int expect_error);

/* Run until the recorder has total bytes (failing when none arrive for
 * timeout_ms), release the (holding) writer so
 * it closes its end, and run until connection_lost.  Holding until
 * everything arrived keeps kinds whose far close drops unread data (a pty
 * slave's master) exact. */
void conform_drain_then_eof(pc_ctx *ctx, pc_recorder *rec, pc_peer *writer,
                            uint64_t total, unsigned timeout_ms);

/* Run until the recorder has total bytes, release the (holding) writer,
 * and stop right after the iteration in which t read the end of file:
 * eof_received and connection_lost are queued, not yet run (spec R6). */
void conform_drain_then_eof_read(pc_ctx *ctx, pc_recorder *rec, pc_peer *writer,
                                 uint64_t total, pc_transport *t);

/* Did rec's stream end the way R11 describes for another subject: a tty
 * whose other side closed, read as CL(-EIO) with no ER?  pipeloop treats
 * that as EOF (R11, OURS); a subject that does not is graded on it by
 * R11's own test, so the tests of other behaviours look past it (and a
 * test about EOF itself is n/a there).  Always 0 for pipeloop. */
int conform_ended_in_tty_eio(const pc_ctx *ctx, const pc_recorder *rec);

/* Bytes waiting in the kernel to be read from fd (FIONREAD). */
size_t conform_unread(int fd);
/* fd's O_NONBLOCK flag as 1/0; fails the test if fd is not open. */
int conform_nonblocking(int fd);
/* The lowest fd number not in use: with RLIMIT_NOFILE set to it, the next
 * open fails with EMFILE; equal before and after shows nothing leaked. */
int conform_lowest_free_fd(void);
/* Is fd open?  1/0. */
int conform_fd_open(int fd);

/* xorshift64 (Marsaglia): the next value of a seeded random stream; state
 * must start nonzero. */
uint64_t conform_xorshift(uint64_t *state);

/* Subprocess tests run on every backend, children watched through pidfds,
 * and once more on epoll with the SIGCHLD fallback forced
 * (PIPELOOP_NO_PIDFD=1): this pseudo-backend, "S1.stdio-pipes@epoll-sigchld". */
extern const pc_backend conform_epoll_sigchld;

/* Register fn(backend, arg) on every backend and on conform_epoll_sigchld,
 * as pc_test_add_each_backend does. */
int conform_spawn_test_add(const char *name,
                           void (*fn)(const pc_backend *backend, void *arg), void *arg);

/* A new loop of backend for a subprocess test (pidfds, or the SIGCHLD
 * fallback on conform_epoll_sigchld). */
pl_loop *conform_spawn_loop(const pc_backend *backend);

/* Define a subprocess test and register it with conform_spawn_test_add:
 *     SPAWN_TEST(ident, "S1.what") { pl_loop *loop = conform_spawn_loop(backend); ... }
 */
#define SPAWN_TEST(ident, name)                                                          \
    static void ident(const pc_backend *backend, void *arg);                             \
    __attribute__((constructor)) static void register_##ident(void)                      \
    {                                                                                    \
        (void)conform_spawn_test_add(name, ident, NULL);                                 \
        pc_test_set_source(name, __FILE__, __LINE__);                                    \
    }                                                                                    \
    static void ident(const pc_backend *backend __attribute__((unused)),                 \
                      void *arg __attribute__((unused)))

/* ---- subprocesses -------------------------------------------------------- */

/* `sh -c script` (argv: room for 4 pointers, filled here), every other
 * option zero: stdio inherited. */
pl_spawn_options conform_sh(const char *script, char **argv);
/* argv[0] run with argv (a NULL-terminated list), every other option zero. */
pl_spawn_options conform_program(char *const *argv);
/* Ask for the caller's own uid and gid, which anyone may: pl_spawn then
 * takes its fork+exec path (the S17.fork-path-* tests). */
void conform_same_identity(pl_spawn_options *o);

/* What /proc/PID/stat says of pid: its state letter (R, S, Z, ...) and,
 * where not NULL, its parent and process group.  0 if there is no such
 * process (any more). */
char conform_proc_stat(pid_t pid, pid_t *ppid, pid_t *pgrp);

/* How many fds are open (0-4095): equal before and after shows nothing
 * leaked, however the numbers were reused. */
int conform_open_fds(void);
/* No child of ours exists at all, zombie or not. */
void conform_assert_no_children(void);

/* A growing string of bytes (NUL-terminated); zero-initialised is empty. */
struct conform_buf {
    char *data;
    size_t len, cap;
};
void conform_buf_append(struct conform_buf *b, const void *data, size_t len);
const char *conform_buf_str(const struct conform_buf *b);

/* The child fds a process recorder keeps apart: 0-2 and extras below this;
 * the pipe of one fd above it (a test has at most one) is "far". */
#define CONFORM_PROCESS_FDS 16

/*
 * The S group's process recorder: a process protocol that checks spec S2
 * as the events come (connection_made once and first; per fd no data after
 * its pipe_connection_lost; process_exited once; connection_lost once and
 * last, after process_exited and every pipe's end; pause and resume
 * alternating) and logs them in one vocabulary:
 *     CM  connection_made          Dn  data on fd n (consecutive merged)
 *     Ln  fd n's pipe lost (Lf: the far fd)
 *     X   process_exited           PW, RW  pause/resume_writing
 *     CL  connection_lost
 * `log` holds every event, `order` only CM, Ln, X and CL.  Zero-initialise
 * it, set the fields a test needs, and spawn with conform_process_protocol
 * (pipeloop's pl_spawn: p) or through the subject (conform_subject_spawn:
 * sp).  conform_process_free releases what it collected.
 */
struct conform_process {
    pl_process *p;            /* pl_spawn's process */
    pc_process *sp;           /* a subject's process (conform_subject_spawn) */
    const pc_subject *im;     /* that subject */
    unsigned pipe_mask;       /* bit fd set for the fds that are PIPEs */
    struct conform_buf log;   /* every event */
    struct conform_buf order; /* CM, Ln, X, CL only */
    struct conform_buf out[CONFORM_PROCESS_FDS];
    struct conform_buf far_out; /* the pipe on a child fd >= CONFORM_PROCESS_FDS */
    int far_lost;
    int lost[CONFORM_PROCESS_FDS], lost_err[CONFORM_PROCESS_FDS];
    int made, exited, finished;
    int released; /* a detached child let go: no process_exited comes (S16) */
    int paused, resumed;
    int rc;            /* pl_spawn: the return code, read in process_exited */
    int take_ref;      /* pl_spawn: pl_process_ref in connection_made */
    int close_in_made; /* the protocol closes the process in connection_made */
    /* Optional hooks; on_data replaces the append to out[fd]. */
    void (*on_made)(struct conform_process *r);
    void (*on_data)(struct conform_process *r, int fd, const void *data, size_t len);
    void (*on_resume)(struct conform_process *r);
    void (*on_exited)(struct conform_process *r);
    void *ctx;
    char last; /* the last event's code and fd, to merge data */
    int last_fd;
};

/* The recorder as a protocol of pipeloop's pl_spawn (user: the recorder).
 * Beyond the checks above: the return code is there in process_exited and
 * the same in connection_lost (-ECHILD if released), the pipes' transports
 * are gone by connection_lost, and pause_writing never follows stdin's
 * end. */
extern const pl_process_protocol conform_process_protocol;

/* The recorder as a subject's process protocol (user: the recorder, whose
 * im and sp the caller sets). */
extern const pc_process_protocol conform_subject_process_protocol;

/* Spawn `sh -c script` through ctx's subject with the given stdio kinds
 * (PC_STDIO_*) into r, which is reset first; its log is printed if the test
 * fails, until conform_process_free. */
void conform_subject_spawn(pc_ctx *ctx, struct conform_process *r, const char *script,
                           int in, int out, int err);
/* Print r's events and what fds 1 and 2 got (a pc_on_failure function). */
void conform_process_print(void *r);
void conform_process_free(struct conform_process *r);

#endif
