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

/* Run until the recorder has total bytes, release the (holding) writer so
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
 *     SPAWN_TEST(ident, "S1.what") { pl_loop *loop = conform_spawn_loop(backend); ... } */
#define SPAWN_TEST(ident, name)                                                          \
    static void ident(const pc_backend *backend, void *arg);                             \
    __attribute__((constructor)) static void register_##ident(void)                      \
    {                                                                                    \
        (void)conform_spawn_test_add(name, ident, NULL);                                 \
        pc_test_set_source(name, __FILE__, __LINE__);                                    \
    }                                                                                    \
    static void ident(const pc_backend *backend __attribute__((unused)),                 \
                      void *arg __attribute__((unused)))

#endif
