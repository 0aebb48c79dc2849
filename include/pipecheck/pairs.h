/*
 * pipecheck's pipe kinds, pairs and peers (check/kinds.c, check/peers.c).
 * Part of pipecheck.h; include that.
 */
#ifndef PIPECHECK_PAIRS_H
#define PIPECHECK_PAIRS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Pipe kinds (check/kinds.c).  One test body runs over every kind in the
 * table; what differs between kinds is recorded here as data (PC_KIND_*
 * facts), not as copies of tests.  A kind opens a *pair* for a direction:
 *
 *   near  the end a transport under test adopts: readable for
 *         PC_DIR_READ (a read transport), writable for PC_DIR_WRITE;
 *   far   the other end, for a peer (pc_peer_start) or for the test itself.
 *
 * Usage sketch:
 *
 *     for (size_t i = 0; (kind = pc_kind_get(i)) != NULL; i++) {
 *         pc_pair pair;
 *         PC_ASSERT_OK(pc_pair_open(kind, PC_DIR_READ, 0, &pair));
 *         pc_peer_script s = { .action = PC_PEER_WRITE, .seed = 7,
 *                              .bytes = 1 << 20 };
 *         pc_peer *peer = pc_peer_start(&pair, &s);    // takes pair.far
 *         ... pl_connect_read_pipe(loop, pair.near, ...); pair.near = -1;
 *         ... run the loop, pc_pattern_check() what arrives ...
 *         pc_peer_result r;  pc_peer_wait(peer, &r);
 *         pc_pair_close(&pair);
 *     }
 */

/* The direction of the transport under test. */
typedef enum pc_dir {
    PC_DIR_READ = 0,  /* near end is read; the far end is written */
    PC_DIR_WRITE = 1, /* near end is written; the far end is read */
} pc_dir;

/*
 * Facts about a kind (pc_kind.flags).  "near read end" means the near end
 * of a PC_DIR_READ pair, "near write end" that of a PC_DIR_WRITE pair.
 * tests/test_kinds.c checks each fact against the kernel.
 */
enum pc_kind_flags {
    /* F_SETPIPE_SZ works on the ends (pipe, FIFO, child). */
    PC_KIND_HAS_PIPE_SIZE = 1u << 0,
    /* The ends are AF_UNIX SOCK_STREAM sockets (SO_SNDBUF/SO_RCVBUF). */
    PC_KIND_SOCKET = 1u << 1,
    /* The near end is a tty: isatty() is 1 (spec W7). */
    PC_KIND_TTY = 1u << 2,
    /* The far end is a named FIFO: pair.path holds its name, and a pair
     * may be opened with PC_OPEN_DEFER_FAR (spec R12). */
    PC_KIND_FIFO = 1u << 3,
    /* A peer on the far end runs in a helper child process. */
    PC_KIND_CHILD = 1u << 4,
    /* Once the far end is closed and the data drained, the near read end
     * reads EIO instead of 0 (pty master: spec R11). */
    PC_KIND_EOF_IS_EIO = 1u << 5,
    /* A near read end can exist before any writer ever opened the far end;
     * it then polls nothing, not HUP (FIFO: spec R12). */
    PC_KIND_CAN_NEVER_HAVE_WRITER = 1u << 6,
    /* The near read end polls HUP once the far end is closed (spec L2). */
    PC_KIND_HUP_ON_PEER_CLOSE = 1u << 7,
    /* The near write end polls HUP or ERR, without any write, once the far
     * reader closes: a write transport can notice an idle close (E1, E4). */
    PC_KIND_WRITE_SEES_IDLE_CLOSE = 1u << 8,
    /* Closing the near write end throws away what the far reader has not
     * read yet (pty master hangs up the slave): a graceful close (D1, D2)
     * cannot deliver the tail. */
    PC_KIND_NEAR_CLOSE_DROPS = 1u << 9,
    /* Closing the far writer throws away what the near reader has not read
     * yet (the near end is a pty slave): a peer must hold its end open until
     * the test has read everything (pc_peer_script.hold). */
    PC_KIND_FAR_CLOSE_DROPS = 1u << 10,
    /* Bytes written to the far end of a PC_DIR_WRITE pair arrive as input
     * on the near write end (socket, pty): spec W7's "input on a tty". */
    PC_KIND_NEAR_WRITE_END_READABLE = 1u << 11,
    /* The near end is a pty master (TIOCGPTN answers): no private way to do
     * non-blocking I/O exists, so a transport sets O_NONBLOCK on the shared
     * description (spec X4). */
    PC_KIND_PTY_MASTER = 1u << 12,
};

typedef struct pc_kind {
    const char *name;        /* "pipe", "fifo", "fifo-nb", "socketpair", "pty",
                                "pty-slave", "child" */
    const char *description; /* one line, for logs */
    unsigned flags;          /* PC_KIND_* */
    /* Hints for tests that must overrun the kernel: an upper bound of the
     * bytes the kernel holds between the two ends at default sizes, and
     * after pc_pair_shrink(pair, PC_SHRINK_SIZE) (equal if it cannot
     * shrink).  Writing more than this with a reader that does not read is
     * sure to fill the pipe. */
    size_t capacity_max;
    size_t shrunk_capacity_max;
    int impl; /* for check/kinds.c only */
} pc_kind;

/* The kinds, in table order; NULL past the end. */
PC_EXPORT const pc_kind *pc_kind_get(size_t index);
/* Number of kinds in the table. */
PC_EXPORT size_t pc_kind_count(void);
/* The kind called name, or NULL. */
PC_EXPORT const pc_kind *pc_kind_find(const char *name);

/* Flags for pc_pair_open(). */
enum pc_open_flags {
    /* Kinds with PC_KIND_FIFO only: open the near end (which must be a read
     * end) and not the far end: a FIFO reader that never had a writer
     * (spec R12).  pc_pair_open_far() opens the far end later. */
    PC_OPEN_DEFER_FAR = 1u << 0,
};

typedef struct pc_peer pc_peer;

/*
 * An open pair.  Ownership: the pair owns near and far until the test
 * takes them.  A test that hands near to a transport (which then owns and
 * closes it) or closes it itself sets pair.near = -1; pc_peer_start()
 * takes far and sets pair.far = -1.  pc_pair_close() closes whatever is
 * still >= 0.
 */
typedef struct pc_pair {
    const pc_kind *kind;
    pc_dir dir;
    int near;       /* O_CLOEXEC; blocking unless the kind opens it O_NONBLOCK
                       (fifo-nb's reader) */
    int far;        /* O_CLOEXEC, blocking */
    char path[256]; /* FIFO: the FIFO's path in a private 0700 temp dir */
    pc_peer *peer;  /* the peer started on far, until pc_peer_wait() */
} pc_pair;

/*
 * Open a pair of the given kind for dir.  Every fd is O_CLOEXEC; a pty's
 * slave is in raw mode (cfmakeraw).  FIFOs live in a mkdtemp directory
 * (mode 0700) that pc_pair_close() removes.  Returns 0, or -errno (nothing
 * is left open), -EINVAL for a bad kind/dir/flag combination.
 */
PC_EXPORT int pc_pair_open(const pc_kind *kind, pc_dir dir, unsigned flags,
                           pc_pair *pair);
/* Open the far end of a pair made with PC_OPEN_DEFER_FAR (non-blocking: a
 * reader exists).  Returns 0 or -errno; -EALREADY if far is open. */
PC_EXPORT int pc_pair_open_far(pc_pair *pair);
/*
 * Release everything the pair still holds: closes near and far if >= 0,
 * waits for a peer not yet waited for (pc_peer_stop: it stops, closes its
 * end, and its child, if any, is reaped), unlinks the FIFO and removes its
 * directory.  Safe to call twice and on a zeroed pair with near = far = -1.
 */
PC_EXPORT void pc_pair_close(pc_pair *pair);

/* The size pc_pair_shrink() aims for in conformance tests. */
#define PC_SHRINK_SIZE 4096u

/*
 * Make the kernel buffer between the ends small, so that "pipe full" is
 * cheap to reach: F_SETPIPE_SZ for pipes and FIFOs, SO_SNDBUF on the
 * writing end and SO_RCVBUF on the reading end for sockets (the kernel
 * rounds both up).  Call it before pc_peer_start().  Returns 0, -ENOTSUP
 * for a kind that cannot (pty), or -errno.
 */
PC_EXPORT int pc_pair_shrink(pc_pair *pair, size_t bytes);

/*
 * Write pattern bytes (seed, starting at pattern offset) to fd until the
 * kernel refuses more (EAGAIN, after retrying with smaller writes down to
 * one byte).  fd is made non-blocking for the duration and its flags are
 * restored.  Never raises SIGPIPE.  Returns the bytes written, or -errno
 * (-EPIPE: no reader) if the first write failed.
 */
PC_EXPORT ssize_t pc_fill_until_full(int fd, uint64_t seed, uint64_t offset);

/*
 * The test pattern: byte i of the stream for seed is a fixed function of
 * (seed, i), computed in O(1) for any i, so a check can start anywhere.
 * fill writes bytes [offset, offset+len) into buf; check compares buf with
 * them and returns len when all match, else the index in buf of the first
 * byte that differs.
 */
PC_EXPORT void pc_pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len);
PC_EXPORT size_t pc_pattern_check(uint64_t seed, uint64_t offset, const void *buf,
                                  size_t len);
PC_EXPORT uint8_t pc_pattern_byte(uint64_t seed, uint64_t offset);

/*
 * Peers: a scripted agent on the far end, in a thread, or in a helper
 * child process for kinds with PC_KIND_CHILD.  It talks to the test only
 * through fds: its end of the pair, and a control pipe for release/stop.
 */
typedef enum pc_peer_action {
    PC_PEER_WRITE, /* write `bytes` pattern bytes, then close */
    PC_PEER_READ,  /* read to EOF (or `bytes`, if not 0) and check the
                      pattern, then close */
    PC_PEER_IDLE,  /* neither read nor write: with hold, a reader that never
                      reads (the pipe fills) or a writer that never writes */
} pc_peer_action;

/* The largest chunk a peer writes or reads at once. */
#define PC_PEER_CHUNK_MAX (256u * 1024u)

typedef struct pc_peer_script {
    pc_peer_action action;
    uint64_t seed;   /* pattern seed */
    uint64_t offset; /* pattern offset of the first byte */
    /* WRITE: bytes to write.  READ: stop after this many (0: read to EOF);
     * with hold, a reader that stops reading so the pipe fills. */
    uint64_t bytes;
    /* Bytes per write/read call: fixed, or 0 for seeded random sizes in
     * 1..chunk_max (chunk_max 0 means PC_PEER_CHUNK_MAX). */
    size_t chunk;
    size_t chunk_max;
    /* Pause between calls (a slow reader or writer).  This is the peer's
     * behaviour, never a way to synchronise with the test. */
    unsigned pause_us;
    /* Wait for a pc_peer_release() before starting the action. */
    int wait_start;
    /* After the action, keep the end open until pc_peer_release(). */
    int hold;
} pc_peer_script;

typedef struct pc_peer_result {
    uint64_t bytes;       /* bytes written or read */
    int pattern_ok;       /* READ: every byte read matched the pattern */
    uint64_t mismatch_at; /* READ: pattern offset of the first bad byte, or
                             UINT64_MAX */
    int eof;              /* READ: reached EOF (read 0, or EIO on a pty master) */
    int error;            /* 0, or -errno of the failure that ended the action
                             (-EPIPE: the reader went away) */
    int stopped;          /* ended by pc_peer_stop() */
} pc_peer_result;

/*
 * Start a peer running script on pair->far.  The peer takes ownership of
 * far (pair->far becomes -1) and closes it when done; for PC_KIND_CHILD
 * kinds it forks a child that keeps only far and its control fds, and the
 * parent's copy of far is closed at once.  pair->peer is set.  Returns NULL
 * (and leaves the pair unchanged) when the thread, child or control pipe
 * cannot be made, or far is not open.  SIGPIPE is blocked in the peer
 * thread (ignored in the child), so a writer whose reader went away sees
 * -EPIPE.
 */
PC_EXPORT pc_peer *pc_peer_start(pc_pair *pair, const pc_peer_script *script);
/* Let a peer waiting in wait_start start, or a holding peer close its end.
 * Each call releases one wait.  Returns 0 or -errno. */
PC_EXPORT int pc_peer_release(pc_peer *peer);
/*
 * Wait for the peer to finish (join the thread or reap the child), fill
 * *out (may be NULL) and free the peer; detaches it from its pair.
 * A peer that waits for a release waits: release it first.
 * Returns 0, or -errno if the child could not be reaped or died of a
 * signal (-EINTR) or sent no result (-EPROTO).
 */
PC_EXPORT int pc_peer_wait(pc_peer *peer, pc_peer_result *out);
/*
 * Make the peer give up (result.stopped = 1) at its next wait: a gate, or
 * an I/O call that would block.  It first does whatever it can without
 * blocking (reads data already there, up to its count), so the result is
 * deterministic.  It then closes its end, and this does pc_peer_wait().
 */
PC_EXPORT int pc_peer_stop(pc_peer *peer, pc_peer_result *out);

#ifdef __cplusplus
}
#endif
#endif /* PIPECHECK_PAIRS_H */
