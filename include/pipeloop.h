/*
 * pipeloop: an event loop with asyncio-style non-blocking pipe transports.
 *
 * Usage sketch (error handling elided):
 *
 *     static void on_data(pl_transport *t, const void *buf, size_t n, void *u)
 *     { fwrite(buf, 1, n, stdout); }
 *     static void on_lost(pl_transport *t, int err, void *u)
 *     { pl_loop_stop(pl_transport_get_loop(t)); }
 *     static const pl_protocol proto = { .data_received = on_data,
 *                                        .connection_lost = on_lost };
 *     pl_loop *loop;  pl_transport *t;
 *     pl_loop_new(&loop, 0);
 *     pl_connect_read_pipe(loop, fd, &proto, NULL, &t);   // t now owns fd
 *     pl_loop_run(loop);                                   // until EOF
 *     pl_loop_close(loop);
 *
 * Conventions (every function below follows them):
 * - Functions return 0 (or a count) on success and a negative error code on failure:
 *   -errno for system errors, or one of the PL_E* library codes, which sit far below the
 *   errno range.  errno is never the channel.
 * - If a call that takes a callback fails, that callback never runs.
 * - Callbacks take the object first and the user pointer last.
 * - Nothing here is thread-safe except pl_call_soon_threadsafe(): a loop and its objects
 *   belong to one thread.
 * - Every fd the library opens is O_CLOEXEC.
 * - IDs in parentheses, such as (R4) or (S14), name behaviours that docs/behaviours.md
 *   defines and compares with asyncio; the tests are named after them (R4.*).  OURS
 *   marks a deliberate difference from asyncio.  How the library works inside, and why,
 *   is in docs/design.md.
 */
#ifndef PIPELOOP_H
#define PIPELOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PL_STATIC)
#define PL_EXPORT
#elif defined(PL_BUILDING)
#define PL_EXPORT __attribute__((visibility("default")))
#else
#define PL_EXPORT
#endif

/* --- Version ------------------------------------------------------------ */

#define PL_VERSION_MAJOR 0
#define PL_VERSION_MINOR 1
#define PL_VERSION_PATCH 0
/* One number that orders versions: MAJOR*1000000 + MINOR*1000 + PATCH. */
#define PL_VERSION_NUMBER                                                                \
    (PL_VERSION_MAJOR * 1000000 + PL_VERSION_MINOR * 1000 + PL_VERSION_PATCH)

/* The version of the library linked at run time, as PL_VERSION_NUMBER. */
PL_EXPORT unsigned pl_version(void);
/* The same as a string, "MAJOR.MINOR.PATCH".  Static storage. */
PL_EXPORT const char *pl_version_string(void);

/* --- Errors ------------------------------------------------------------- */

/* Library error codes.  They are negative and far below -4095, so they never collide
 * with -errno values.  PL_ERROR_MAP is the one table from which the enum, pl_strerror()
 * and pl_err_name() are made. */
#define PL_ERROR_MAP(X)                                                                  \
    X(EOF, -30001, "end of file")                                                        \
    X(ECLOSED, -30002, "transport or process is closing or closed")                      \
    X(EDIRECTION, -30003, "operation not valid for this transport's direction")          \
    X(EFDKIND, -30004, "fd is not a pipe, FIFO, stream socket or tty")                   \
    X(ENOTWATCHABLE, -30005, "the loop's backend cannot watch this fd")                  \
    X(EFORKED, -30006, "the loop's io_uring belongs to the process that made it")

enum pl_error {
#define PL__ERR_ENUM(name, value, text) PL_##name = (value),
    PL_ERROR_MAP(PL__ERR_ENUM)
#undef PL__ERR_ENUM
};

/* A message for any code this library returns (a PL_E* code or -errno).  Never NULL;
 * static storage; thread-safe; "unknown error" if unknown. */
PL_EXPORT const char *pl_strerror(int err);
/* The symbolic name of a code: "EPIPE" for -EPIPE, "PL_ECLOSED" for PL_ECLOSED, "OK" for
 * 0, "UNKNOWN" otherwise.  Static storage. */
PL_EXPORT const char *pl_err_name(int err);

/* --- The loop ----------------------------------------------------------- */

typedef struct pl_loop pl_loop;

/* Flags for pl_loop_new().  At most one backend flag may be given. */
enum pl_loop_flags {
    PL_LOOP_EPOLL = 1u << 0,    /* epoll(7) */
    PL_LOOP_POLL = 1u << 1,     /* poll(2): the portable backend */
    PL_LOOP_IO_URING = 1u << 2, /* io_uring(7): the default, see pl_loop_new() */
};

/* Create a loop.  Without a backend flag the environment variable
 * PIPELOOP_BACKEND=epoll|poll|io_uring chooses; without it, io_uring, or epoll where the
 * kernel refuses a ring or the library was built without liburing: pl_loop_backend()
 * says which.  io_uring watches any fd poll(2) can (e.g. /dev/null, which epoll
 * refuses).
 *
 * What an io_uring loop asks of its user, which an epoll loop does not (pass
 * PL_LOOP_EPOLL, or set PIPELOOP_BACKEND=epoll, where it matters):
 * - One thread: the first thread that runs the loop owns it for the loop's life; a run
 *   from any other thread afterwards fails with -EEXIST and runs nothing, also once the
 *   owner has exited.  Handing a loop to another thread before it first runs is fine.
 * - Memory: 4 MiB of address space for read buffers, mapped when the first reading
 *   transport starts and touched as used, besides the 256 KiB buffer every loop has.
 * - No fork: in a child of the process that made the loop, pl_loop_run and
 *   pl_loop_run_once return PL_EFORKED, what the child closes or removes submits nothing
 *   to the parent's ring, and pl_loop_close releases only the child's copy.
 *
 * Asked for by flag or PIPELOOP_BACKEND=io_uring, a ring that cannot be made is an
 * error: -ENOSYS (no io_uring in the kernel or no liburing in the build), -EPERM
 * (forbidden, as in many containers, or by /proc/sys/kernel/io_uring_disabled), -ENOMEM
 * (no memory, or RLIMIT_MEMLOCK: without CAP_IPC_LOCK the ring is charged to it per
 * user, so a 64 KiB limit refuses it; the charge comes back only some time after a ring
 * is closed, so a pl_loop_new just after a pl_loop_close can be refused too).  As the
 * default, a refused ring falls back to epoll.
 *
 * Errors: -EINVAL (unknown flags, two backends, a bad PIPELOOP_BACKEND), -ENOMEM,
 * -EMFILE/-ENFILE, and the io_uring errors above.  A loop holds two fds with epoll and
 * io_uring (the backend's and a wakeup eventfd), one with poll (the eventfd).  On error
 * *loop is untouched. */
PL_EXPORT int pl_loop_new(pl_loop **loop, unsigned flags);

/* Free a loop.  Refused with -EBUSY, changing nothing, while the loop is running (called
 * from one of its callbacks) or while anything is open on it: an fd watcher, a signal
 * handler, a transport or a process.  Close transports and run the loop until their
 * connection_lost has been delivered first (D6).  Pending timers and call_soon callbacks
 * are discarded without running (they own no fd).  (L5, OURS.) */
PL_EXPORT int pl_loop_close(pl_loop *loop);

/* Run iterations until pl_loop_stop() is called; return after the iteration in which it
 * was called completes.  A stop requested while the loop was not running makes the next
 * run do exactly one iteration.  Returns 0, -EBUSY when called re-entrantly from one of
 * the loop's callbacks, or the -errno of the poller itself failing (e.g. -EBADF if its
 * fd was closed under it, PL_EFORKED for an io_uring loop in a child of the process that
 * made it, -ENOMEM), which ends the run instead of spinning. */
PL_EXPORT int pl_loop_run(pl_loop *loop);

/* Run one iteration: wait for I/O at most timeout_ms milliseconds (-1: no limit; the
 * wait is shortened by due timers and is zero when callbacks are ready or a stop is
 * pending), dispatch fd events, then due timers, then exactly the call_soon callbacks
 * queued before this iteration's I/O dispatch (L1).  Returns the number of callbacks run
 * (fd, timer and call_soon), -EBUSY when re-entered, the -errno of a failed poll
 * (nothing ran; EINTR is not a failure), or PL_EFORKED (as pl_loop_run).  One call is a
 * whole run of one iteration, like asyncio's call_soon(loop.stop); run_forever(): a stop
 * asked for before the call (which makes its wait zero) or inside it is used up by it. */
PL_EXPORT int pl_loop_run_once(pl_loop *loop, int timeout_ms);

/* Ask pl_loop_run() to return after the current iteration; outside a run, the next
 * pl_loop_run() or pl_loop_run_once() does one iteration without waiting, using it up. */
PL_EXPORT void pl_loop_stop(pl_loop *loop);

/* The loop's monotonic clock in milliseconds (CLOCK_MONOTONIC), cached at the start of
 * each iteration; the base of pl_call_later(). */
PL_EXPORT uint64_t pl_loop_time(const pl_loop *loop);
/* Re-read the clock and refresh the cached time; returns it. */
PL_EXPORT uint64_t pl_loop_update_time(pl_loop *loop);

/* How many iterations the loop has started (for logs and tests). */
PL_EXPORT uint64_t pl_loop_iteration(const pl_loop *loop);

/* "epoll", "poll" or "io_uring". */
PL_EXPORT const char *pl_loop_backend(const pl_loop *loop);

/* Is the loop inside pl_loop_run() or pl_loop_run_once()?  1 or 0. */
PL_EXPORT int pl_loop_is_running(const pl_loop *loop);

/* --- Callbacks and timers ----------------------------------------------- */

typedef void (*pl_callback)(pl_loop *loop, void *user);

/* Queue cb to run in the next iteration (FIFO).  Callbacks queued while an iteration
 * runs its callbacks run in the next iteration, never the current one (L1).  No
 * allocation once the queue has reached its working size.  -EINVAL (cb NULL), -ENOMEM. */
PL_EXPORT int pl_call_soon(pl_loop *loop, pl_callback cb, void *user);

/* The one thread-safe entry: queue cb from any thread and wake the loop if it is blocked
 * in its poll (L4).  cb runs on the loop's thread, in FIFO order with other threadsafe
 * calls.  -EINVAL, -ENOMEM.  Must not be called once pl_loop_close() may have started. */
PL_EXPORT int pl_call_soon_threadsafe(pl_loop *loop, pl_callback cb, void *user);

/* A timer's identity; 0 is never a valid id. */
typedef uint64_t pl_timer_id;

/* Run cb once, delay_ms milliseconds after pl_loop_time() (call_later) or at the
 * absolute loop time when_ms (call_at).  Timers with equal deadlines run in the order
 * they were made.  Due timers run in the iteration in which the loop finds them due;
 * timers a timer callback makes run in a later iteration.  *id (may be NULL) receives an
 * id for pl_timer_cancel().  O(log n); timer slots are pooled, so the steady state
 * allocates nothing.  Errors: -EINVAL, -ENOMEM. */
PL_EXPORT int pl_call_later(pl_loop *loop, uint64_t delay_ms, pl_callback cb, void *user,
                            pl_timer_id *id);
PL_EXPORT int pl_call_at(pl_loop *loop, uint64_t when_ms, pl_callback cb, void *user,
                         pl_timer_id *id);

/* Cancel a pending timer: its callback will not run.  O(log n).  Returns 0, or -ENOENT
 * if the timer already ran or was cancelled (ids are never reused within a loop, so a
 * stale id is always -ENOENT). */
PL_EXPORT int pl_timer_cancel(pl_loop *loop, pl_timer_id id);

/* --- fd watchers -------------------------------------------------------- */

/* Event bits passed to fd watcher callbacks. */
enum pl_io_events {
    PL_READABLE = 1u << 0,
    PL_WRITABLE = 1u << 1,
    PL_HUP = 1u << 2, /* POLLHUP/EPOLLHUP: e.g. a pipe's writer closed */
    PL_ERR = 1u << 3, /* POLLERR/EPOLLERR: e.g. a pipe's reader closed */
};

typedef void (*pl_io_cb)(pl_loop *loop, int fd, unsigned events, void *user);

/* Call cb whenever fd is readable (add_reader) or writable (add_writer),
 * level-triggered, until removed.  The fd stays the caller's: the loop never closes it
 * or changes its flags.  HUP and ERR are delivered to readers and to writers, with
 * PL_HUP/PL_ERR set (L2); when both watch one fd, the reader runs first.  Errors: -EBADF
 * (fd negative or not open), -EEXIST (a watcher of that direction exists, or a transport
 * owns the fd: C3), -EPERM (the backend cannot watch this kind of fd, e.g. a regular
 * file under epoll), -EINVAL (cb NULL), -ENOMEM.  On error nothing changes. */
PL_EXPORT int pl_loop_add_reader(pl_loop *loop, int fd, pl_io_cb cb, void *user);
PL_EXPORT int pl_loop_add_writer(pl_loop *loop, int fd, pl_io_cb cb, void *user);

/* Stop watching.  An event already collected for the watcher in the current iteration is
 * cancelled: its callback will not run (L3).  Returns 0, or -ENOENT if there was no such
 * watcher (also when a transport owns the fd: use the transport's own calls).  Remove a
 * watcher before closing its fd: under io_uring a watcher holds a reference to the file,
 * so closing the fd alone does not close a pipe end (its peer sees no EOF) until the
 * watcher is removed. */
PL_EXPORT int pl_loop_remove_reader(pl_loop *loop, int fd);
PL_EXPORT int pl_loop_remove_writer(pl_loop *loop, int fd);

/* --- Signals ------------------------------------------------------------ */

typedef void (*pl_signal_cb)(pl_loop *loop, int signum, void *user);

/* Run cb on the loop's thread, in a later iteration, after signum is delivered to the
 * process.  Deliveries that arrive before the loop runs are coalesced into one call.
 * The first handler for a signal saves the process's disposition and the calling
 * thread's mask for it, installs the library's handler (SA_RESTART) and unblocks the
 * signal in the calling thread; removing it restores both.  One loop per signal at a
 * time.  Errors: -EINVAL (bad signal number, SIGKILL, SIGSTOP, cb NULL), -EEXIST (this
 * loop already handles signum), -EBUSY (another loop does). */
PL_EXPORT int pl_loop_add_signal(pl_loop *loop, int signum, pl_signal_cb cb, void *user);
/* Returns 0 or -ENOENT. */
PL_EXPORT int pl_loop_remove_signal(pl_loop *loop, int signum);

/* --- Pipe transports ---------------------------------------------------- */

typedef struct pl_transport pl_transport;

/* A protocol: the callbacks a transport drives.  NULL entries are skipped.  The struct
 * must outlive the transport (normally it is a static const).  Order, for every
 * transport (C4, R6, D1):
 * - connection_made: exactly once, in the iteration after connect, before any other.
 * - data_received (read transports, any number of times): data is lent for the call.
 * - eof_received (read transports): at most once, after all data; its return value is
 *   ignored (a pipe cannot stay half open) and connection_lost follows.
 * - pause_writing / resume_writing (write transports): strictly alternating, PW first.
 *   PW runs synchronously inside write, writev or set_write_buffer_limits; RW runs from
 *   the loop as the buffer drains, or synchronously inside set_write_buffer_limits when
 *   new limits put the size at or below low (F4, F6).
 * - connection_lost(error): exactly once and last; 0 on EOF or close, a negative code on
 *   error.  After it returns the library frees the transport (unless referenced, see
 *   pl_transport_ref) and closes the fd.
 * Callbacks may call any transport function, including close and abort. */
typedef struct pl_protocol {
    void (*connection_made)(pl_transport *t, void *user);
    void (*data_received)(pl_transport *t, const void *data, size_t len, void *user);
    int (*eof_received)(pl_transport *t, void *user);
    void (*connection_lost)(pl_transport *t, int error, void *user);
    void (*pause_writing)(pl_transport *t, void *user);
    void (*resume_writing)(pl_transport *t, void *user);
} pl_protocol;

/* The size of the loop-owned buffer that read transports read into: one data_received
 * call carries at most this many bytes (R1, R2). */
#define PL_READ_SIZE (256u * 1024u)

/* Adopt fd as a read (or write) pipe transport driving protocol.  The fd may be a pipe
 * or FIFO, an AF_UNIX stream socket, or a character device such as a pty or tty (C1).
 * On success the transport OWNS the fd: never close it yourself; it is closed after
 * connection_lost.  On failure the fd is still the caller's, open, flags unchanged, and
 * no callback runs.
 *
 * The fd's open file description, which a dup, a parent shell or a sibling in a pipeline
 * may share, keeps its status flags as they were (X1-X3): the transport avoids blocking
 * in a way of its own, chosen at connect per fd (pl_transport_get_io_mode).  An AF_UNIX
 * stream socket gets PL_IO_DONTWAIT, and an anonymous pipe that cannot be reopened (no
 * /proc, EMFILE) PL_IO_NOWAIT: the description is not touched.  A pipe, FIFO, tty or pty
 * slave gets PL_IO_REOPENED: a private description of the same file takes fd's place
 * (same number, same close-on-exec bit), and the caller's loses this process's reference
 * but is otherwise left as it was.  A pty master, another character device, or a FIFO or
 * tty that cannot be reopened (a FIFO's read end whose writers have all gone is kept: a
 * new description would never see their hang-up) gets PL_IO_NONBLOCK: O_NONBLOCK is set
 * on the shared description, which its other holders see while such a transport is
 * connected, and cleared again (if it was clear) only when this process's LAST transport
 * on that description is gone, so transports on dups of one pty master never pull it from
 * under each other (X4).
 *
 * connection_made runs in the next iteration; a read transport starts reading only after
 * it returns, unless it paused reading (C5).  A write transport notices a reader that
 * goes away without writing (E1), and never treats input on a tty as a close (W7).
 *
 * Errors: -EBADF (not an open fd), PL_EFDKIND (regular file, directory, block device,
 * datagram socket, ...), PL_EDIRECTION (a write-only fd for a read transport, or a
 * read-only fd for a write transport: R13), PL_ENOTWATCHABLE (the backend cannot poll
 * this fd, e.g. /dev/null under epoll: C2), -EEXIST (the fd is already owned by a
 * transport or watched: C3), -EINVAL (NULL arguments), -ENOMEM, or an error of fcntl
 * when PL_IO_NONBLOCK cannot set the flag. */
PL_EXPORT int pl_connect_read_pipe(pl_loop *loop, int fd, const pl_protocol *protocol,
                                   void *user, pl_transport **transport);
PL_EXPORT int pl_connect_write_pipe(pl_loop *loop, int fd, const pl_protocol *protocol,
                                    void *user, pl_transport **transport);

/* Flags for pl_connect_read_pipe_ex and pl_connect_write_pipe_ex. */
enum pl_connect_flags {
    /* asyncio's, libuv's and Node's way, for callers who want the other
     * holders of the description to see the flag: PL_IO_NONBLOCK on any fd
     * (O_NONBLOCK on its description, with the same last-transport restore). */
    PL_CONNECT_SHARED_NONBLOCK = 1u << 0,
};

/* As pl_connect_read_pipe / pl_connect_write_pipe, with PL_CONNECT_* flags (0 gives the
 * same transport).  -EINVAL for unknown flags (X5). */
PL_EXPORT int pl_connect_read_pipe_ex(pl_loop *loop, int fd, unsigned flags,
                                      const pl_protocol *protocol, void *user,
                                      pl_transport **transport);
PL_EXPORT int pl_connect_write_pipe_ex(pl_loop *loop, int fd, unsigned flags,
                                       const pl_protocol *protocol, void *user,
                                       pl_transport **transport);

/* How a transport does non-blocking I/O; chosen at connect (see above). */
enum pl_io_mode {
    PL_IO_NOWAIT = 1,   /* preadv2/pwritev2 with RWF_NOWAIT */
    PL_IO_DONTWAIT = 2, /* recv/sendmsg with MSG_DONTWAIT */
    PL_IO_REOPENED = 3, /* a private description opened for the transport */
    PL_IO_NONBLOCK = 4, /* O_NONBLOCK on the description; also the pipes the
                           library makes for subprocesses, which nobody else
                           holds */
};

/* The transport's PL_IO_* mode, for its whole life; -EINVAL for NULL. */
PL_EXPORT int pl_transport_get_io_mode(const pl_transport *t);
/* "rwf-nowait", "msg-dontwait", "reopened", "nonblock", or "unknown".  Static storage. */
PL_EXPORT const char *pl_io_mode_name(int mode);

/* Reading (read transports).  pause stops data_received at once, even for an event
 * already collected in this iteration (L3, R4); resume starts it again (an event already
 * collected in this iteration may then be delivered in this iteration).  Pausing twice,
 * resuming twice, or either on a closing or closed transport (also after
 * connection_lost, on a referenced one) is a no-op returning 0: nothing can be lost by
 * it (R5), unlike a write (W6).  is_reading: 1 after connect and resume, 0 after pause
 * and once closing.  On a write transport all three return PL_EDIRECTION (R13).  End of
 * input: a read of 0 bytes, and on a pty master also EIO, which Linux reads there once
 * the slave side has closed (R11, OURS), gives eof_received and then connection_lost(0);
 * any other read error gives connection_lost(-errno) without eof_received (R10). */
PL_EXPORT int pl_transport_pause_reading(pl_transport *t);
PL_EXPORT int pl_transport_resume_reading(pl_transport *t);
PL_EXPORT int pl_transport_is_reading(const pl_transport *t);

/* Writing (write transports).  Bytes the kernel takes now are sent at once; the rest is
 * copied into the transport's buffer and sent, in order, as the reader drains (W2, W4).
 * Returns the number of bytes accepted (all of them) or an error; a zero-length write on
 * an open transport does nothing, no syscall (W3), but after the end it is refused like
 * any other (W6 comes first).  writev is one write of the concatenation, with any number
 * of pieces: beyond IOV_MAX the kernel gets the first IOV_MAX and the rest is queued
 * behind them (W4).  When the buffer grows strictly above the high-water mark,
 * pause_writing runs before write returns (F3).  Before connection_made has run, writes
 * are accepted and sent, but pause_writing is held back until connection_made has been
 * called (C4).
 *
 * A pipe whose reader has gone never raises SIGPIPE, and the process-wide disposition is
 * left alone (E3).  For pipes and FIFOs SIGPIPE is blocked in the calling thread: inside
 * the loop from the first pipe write until pl_loop_run (or that pl_loop_run_once call)
 * returns, so a SIGPIPE raised meanwhile by the caller's own writes stays pending until
 * then; outside the loop around each write, which costs two more syscalls a write (write
 * from callbacks where speed matters).  The SIGPIPE an EPIPE raised is taken back,
 * unless the thread had SIGPIPE blocked already.  The EPIPE reaches the protocol as
 * connection_lost(-EPIPE) in a later iteration, and write itself returns the count.
 *
 * Errors: PL_ECLOSED after close, write_eof, abort or connection_lost (W6), also for
 * zero bytes; PL_EDIRECTION on a read transport; -EINVAL (data NULL with a length, a
 * NULL piece with a length, iovcnt < 0, or lengths whose sum exceeds SSIZE_MAX); -ENOMEM
 * (nothing was accepted). */
PL_EXPORT ssize_t pl_transport_write(pl_transport *t, const void *data, size_t len);
PL_EXPORT ssize_t pl_transport_writev(pl_transport *t, const struct iovec *iov,
                                      int iovcnt);

/* What a lent write reports: data and len as given to pl_transport_write_lent, and
 * status 0 once the kernel has taken every byte, or a negative code if some bytes will
 * never be sent: PL_ECLOSED (abort, or the transport ended before they went), or the
 * error that ended it (-EPIPE: the reader went away).  Then the memory is yours. */
typedef void (*pl_write_done_cb)(pl_transport *t, const void *data, size_t len,
                                 int status, void *user);

/* Write without copying: like pl_transport_write, but the transport keeps a pointer to
 * data instead of copying what the kernel does not take at once, so the caller must
 * leave the len bytes at data untouched and allocated until done runs.  Bytes keep their
 * order with every other write.  done runs exactly once per call that returned len > 0,
 * from the loop (never inside this call), in write order, and before connection_lost; a
 * call that returns an error, or 0 for len 0, never calls it.  Flow control counts lent
 * bytes like copied ones.  Errors: as pl_transport_write, plus -EINVAL for done NULL. */
PL_EXPORT ssize_t pl_transport_write_lent(pl_transport *t, const void *data, size_t len,
                                          pl_write_done_cb done, void *user);

/* write_eof: for a pipe, the same as close() (a pipe cannot half-close): buffered bytes
 * are flushed, then the fd is closed (D3).  Calling it or close again is a no-op
 * returning 0.  can_write_eof: 1 for write transports, PL_EDIRECTION for read ones. */
PL_EXPORT int pl_transport_write_eof(pl_transport *t);
PL_EXPORT int pl_transport_can_write_eof(const pl_transport *t);

/* Bytes in the transport's own buffer (not the kernel's; W5).  0 for a read transport. */
PL_EXPORT size_t pl_transport_get_write_buffer_size(const pl_transport *t);

/* Leave a limit unset in pl_transport_set_write_buffer_limits(). */
#define PL_LIMIT_UNSET INT64_MIN

/* Flow-control water marks (F1-F6).  Defaults: high 64 KiB, low 16 KiB.  Give one and
 * the other derives: low = high/4, or high = 4*low; give neither for the defaults.  A
 * negative limit, or high < low, is -EINVAL and changes nothing.  Lowering high below
 * the current buffer size calls pause_writing at once; raising the limits so the size is
 * <= low calls resume_writing at once (F6, OURS).  PL_EDIRECTION on read transports. */
PL_EXPORT int pl_transport_set_write_buffer_limits(pl_transport *t, int64_t high,
                                                   int64_t low);
PL_EXPORT int pl_transport_get_write_buffer_limits(const pl_transport *t, size_t *high,
                                                   size_t *low);

/* close: is_closing becomes true at once.  A read transport stops reading, discards
 * unread data and delivers connection_lost(0) in the next iteration, without
 * eof_received (R8).  A write transport first flushes its buffer, then delivers
 * connection_lost(0) (D1, D2).  The fd is closed after connection_lost returns.  Returns
 * 0; calling it again, or after abort or write_eof, is a no-op returning 0 (D5).
 * abort: like close, but buffered data is dropped at once (D4).
 * Both need the loop to run to finish (D6). */
PL_EXPORT int pl_transport_close(pl_transport *t);
PL_EXPORT int pl_transport_abort(pl_transport *t);

/* 1 once close, abort, write_eof, EOF or an error started closing; else 0. */
PL_EXPORT int pl_transport_is_closing(const pl_transport *t);

/* The fd the transport owns; -1 once it has been closed. */
PL_EXPORT int pl_transport_get_fd(const pl_transport *t);

PL_EXPORT pl_loop *pl_transport_get_loop(const pl_transport *t);
PL_EXPORT void *pl_transport_get_user(const pl_transport *t);
PL_EXPORT void pl_transport_set_user(pl_transport *t, void *user);
PL_EXPORT const pl_protocol *pl_transport_get_protocol(const pl_transport *t);
/* Switch protocols; the new one gets every later callback.  -EINVAL if it is NULL. */
PL_EXPORT int pl_transport_set_protocol(pl_transport *t, const pl_protocol *protocol);

/* 1 for a read transport, 0 for a write transport. */
PL_EXPORT int pl_transport_is_read(const pl_transport *t);

/* Keep the transport object alive past connection_lost.  Normally the library frees it
 * when connection_lost returns; a caller that wants to call functions on it afterwards
 * (they return PL_ECLOSED, or 0 for close/abort/write_eof: D5, W6) takes a reference and
 * drops it with unref, which frees the object once connection_lost has run.  The fd is
 * closed after connection_lost whatever the count. */
PL_EXPORT void pl_transport_ref(pl_transport *t);
PL_EXPORT void pl_transport_unref(pl_transport *t);

/* --- Lines -------------------------------------------------------------- */

/* A line reader splits a byte stream into lines (S13).  Feed it what data_received (or a
 * process's pipe_data_received) gets; on_line runs, inside the feed, once per complete
 * line and in order, with the line without its '\n' (a '\r' before it is kept) lent for
 * the call only.  A line that arrives whole in one chunk is handed out from the chunk,
 * with no copy; one split across chunks is kept in the reader (at most max_line bytes).
 * on_line must not feed, finish or free the same reader.  Usage:
 *
 *     static void on_line(const char *line, size_t len, void *user) {...}
 *     static void on_data(pl_transport *t, const void *d, size_t n, void *u)
 *     {
 *         if (pl_line_reader_feed(u, d, n) < 0) pl_transport_close(t);
 *     }
 *     static int on_eof(pl_transport *t, void *u)
 *     { pl_line_reader_finish(u); return 0; }
 */
typedef struct pl_line_reader pl_line_reader;
typedef void (*pl_line_cb)(const char *line, size_t len, void *user);

/* Errors: -EINVAL (no callback, NULL out, max_line 0), -ENOMEM. */
PL_EXPORT int pl_line_reader_new(size_t max_line, pl_line_cb on_line, void *user,
                                 pl_line_reader **reader);
/* Returns 0, or -EMSGSIZE when a line grows past max_line: the lines before it were
 * delivered, that line's bytes are dropped, and every later feed or finish returns the
 * same error (the stream cannot be resynchronised: close the transport); -ENOMEM when a
 * split line cannot be kept (the same: the lines before it were delivered, the stream
 * ends there); -EINVAL. */
PL_EXPORT int pl_line_reader_feed(pl_line_reader *reader, const void *data, size_t len);
/* End of the stream: a last line without '\n' is delivered.  0, or the error that ended
 * the stream (-EMSGSIZE, -ENOMEM), -EINVAL. */
PL_EXPORT int pl_line_reader_finish(pl_line_reader *reader);
/* Bytes of an unfinished line held now. */
PL_EXPORT size_t pl_line_reader_pending(const pl_line_reader *reader);
PL_EXPORT void pl_line_reader_free(pl_line_reader *reader);

/* --- Subprocess transports ---------------------------------------------- */

typedef struct pl_process pl_process;

/* What to do with each of the child's stdin, stdout and stderr. */
enum pl_stdio_kind {
    PL_STDIO_INHERIT = 0, /* the parent's own fd 0, 1 or 2 (even if it is
                             close-on-exec; closed stays closed) */
    PL_STDIO_PIPE,        /* a pipe to a pipe transport of the process */
    PL_STDIO_DEVNULL,     /* /dev/null, opened read-write */
    PL_STDIO_FD,          /* the caller's fd, which may be any kind of file;
                             it is copied into place and stays the caller's
                             (open, flags unchanged) */
    PL_STDIO_STDOUT,      /* stderr only: the same file as the child's stdout */
};

typedef struct pl_stdio {
    enum pl_stdio_kind kind;
    int fd; /* for PL_STDIO_FD */
} pl_stdio;

/* The highest child fd number an extra slot may name, plus one. */
#define PL_STDIO_EXTRA_MAX 1024

/* One more fd for the child, beyond 0-2 (S15).  child_fd is the number the child sees it
 * as, 3 to PL_STDIO_EXTRA_MAX - 1, each at most once.  kind:
 * - PL_STDIO_INHERIT: the caller's own fd of the same number, which must be open
 *   (close-on-exec or not): -EBADF otherwise.
 * - PL_STDIO_FD: the caller's fd `fd`, copied into place; it stays the caller's (open,
 *   flags unchanged).
 * - PL_STDIO_DEVNULL: /dev/null, opened read-write.
 * - PL_STDIO_PIPE: a new pipe to a pipe transport of the process,
 *   pl_process_get_pipe_transport(p, child_fd).  With parent_reads the child writes and
 *   the data comes to pipe_data_received with fd = child_fd; without, the parent writes,
 *   and the transport's pause_writing and resume_writing are NOT forwarded (they stay fd
 *   0's: use its own buffer size and limits).  pl_process_close closes it with the
 *   others; connection_lost waits for it.
 * - PL_STDIO_STDOUT is refused (-EINVAL).
 * The fds are set up as if all at once: an extra may name a source fd that another slot
 * (or 0-2) uses as its target (two fds may swap places), and any child_fd below the
 * caller's fd limit works (1023 under the usual soft limit of 1024).  The child has no
 * other fd (see pl_spawn). */
typedef struct pl_stdio_extra {
    int child_fd;
    enum pl_stdio_kind kind;
    int fd;           /* for PL_STDIO_FD */
    int parent_reads; /* for PL_STDIO_PIPE: the child writes, we read */
} pl_stdio_extra;

/* What to run.  pl_spawn reads the options (and the strings they point to) during the
 * call only.
 * - file: without a '/' it is searched in the PARENT's PATH (posix_spawnp); with one it
 *   is a path, and a relative one is resolved in the child after it moved to cwd:
 *   "./prog" with cwd "/srv" runs /srv/prog.
 * - new_process_group: the child leads a new process group (its pgid is its pid).
 * - new_session: the child calls setsid(): it leads a new session and process group (sid
 *   and pgid are its pid) and has no controlling terminal (S11).
 * - pty: the child's stdin, stdout and stderr are the slave of a new pty, its
 *   controlling terminal (a new session), in the terminal's default (cooked) mode (S12);
 *   stdio[] must be left zero.  The parent gets pipe transports on the master: 0 to
 *   write the child's input, 1 to read what it prints (stdout and stderr together, with
 *   the terminal's processing: echo, CR LF).
 * - detached: the child starts a new session (as new_session), and pl_process_close does
 *   not kill it but lets it run on, still reaped by the library (S16).  Not with pty
 *   (-EINVAL): closing the master would hang its terminal up and SIGHUP would end it.
 * - set_uid, set_gid: the child runs as uid / gid (setgid, then setuid, after dropping
 *   supplementary groups), which needs the privilege to change them: -EPERM from
 *   pl_spawn otherwise (S17). */
typedef struct pl_spawn_options {
    const char *file;                  /* the program (see above) */
    char *const *argv;                 /* NULL-terminated; NULL means { file, NULL } */
    char *const *env;                  /* NULL-terminated "K=V" list replacing the
                                          environment; NULL: inherit the parent's */
    const char *cwd;                   /* NULL: the parent's */
    pl_stdio stdio[3];                 /* stdin, stdout, stderr; zeroed = inherit */
    int new_process_group;             /* nonzero: the child leads a new group */
    int new_session;                   /* nonzero: setsid() in the child (see above) */
    int pty;                           /* nonzero: a pty for the child (see above) */
    unsigned short pty_rows, pty_cols; /* its window size; 0: 24 x 80 */
    const pl_stdio_extra *extra;       /* more fds (S15), also with stdio[] or pty */
    size_t nextra;                     /* how many entries extra has */
    int detached;                      /* nonzero: leave it running (see above) */
    int set_uid, set_gid;              /* nonzero: change identity (see above) */
    uid_t uid;                         /* with set_uid */
    gid_t gid;                         /* with set_gid */
} pl_spawn_options;

/* A subprocess protocol.  NULL entries are skipped.  The struct must outlive the
 * process.  Order (S2):
 * - connection_made: exactly once, first, in the iteration after pl_spawn (also when
 *   close() came before it).
 * - pipe_data_received: fd 1 or 2, or an extra fd the child writes; data is lent for the
 *   call only.
 * - pipe_connection_lost: once per PIPE fd (extras included), after all of that fd's
 *   data: 0 on EOF or close, else a negative code, e.g. -EPIPE for fd 0 when the child
 *   stopped reading with bytes still buffered (S9).
 * - pause_writing / resume_writing: forwarded from the stdin transport (fd 0 only),
 *   strictly alternating, never before connection_made (a pause caused by a write made
 *   before it is delivered right after it).
 * - process_exited: once, when the child has exited and been reaped, even while a
 *   grandchild still holds one of its pipes (S4); the return code is available from then
 *   on.
 * - connection_lost: exactly once and last, after process_exited and every
 *   pipe_connection_lost, in a later callback than the last of them (a detached child
 *   released by pl_process_close has no process_exited, S16).  When it returns the
 *   process object is freed (unless referenced: pl_process_ref).
 * pipe_* callbacks and pause/resume run synchronously from the pipe transports' own
 * callbacks (or, for pause_writing, inside a write to the stdin transport); the others
 * run from the loop's ready queue.  Callbacks may call any function, including
 * pl_process_close. */
typedef struct pl_process_protocol {
    void (*connection_made)(pl_process *p, void *user);
    void (*pipe_data_received)(pl_process *p, int fd, const void *data, size_t len,
                               void *user);
    void (*pipe_connection_lost)(pl_process *p, int fd, int error, void *user);
    void (*process_exited)(pl_process *p, void *user);
    void (*connection_lost)(pl_process *p, void *user);
    void (*pause_writing)(pl_process *p, void *user);
    void (*resume_writing)(pl_process *p, void *user);
} pl_process_protocol;

/* Spawn a child with the given stdio, and watch it until it has exited and every pipe
 * has closed.
 *
 * The child gets exactly fds 0, 1 and 2 and the extras: every library fd is O_CLOEXEC,
 * and every other fd of the caller is closed in the child (with glibc 2.34 and later, or
 * with set_uid or set_gid), as asyncio's close_fds=True does (S8, S15).  It starts with
 * every signal at its default action and an empty mask, whatever the calling thread
 * blocked or the process ignored (except glibc's internal signals 32 and 33, which its
 * posix_spawn leaves ignored and glibc programs reset).  With set_uid or set_gid the
 * child is started with fork and exec instead, set up the same way (S17); the program is
 * then searched as posix_spawnp does but with no retry through /bin/sh on ENOEXEC.
 *
 * On success *process is set at once, pipes included: writing to the stdin transport
 * before connection_made is fine.  The process is an open handle of the loop until its
 * connection_lost has returned (pl_loop_close() refuses with -EBUSY meanwhile: run the
 * loop, after pl_process_close() if need be).  No child is ever left a zombie: it is
 * reaped by the loop, or by pl_spawn itself on failure (S10).
 *
 * Where the kernel has no pidfd (ENOSYS), or with PIPELOOP_NO_PIDFD=1 in the environment
 * (for tests), the exit is watched through one SIGCHLD handler (pl_loop_add_signal())
 * shared by the loop's processes, which waits for the loop's own pids only, never
 * waitpid(-1), and goes when the last of them has been reaped.  As a signal has one
 * owner loop, a spawn then fails with -EBUSY while another loop, or the caller on this
 * loop, handles SIGCHLD.  A process that sets SIGCHLD to SIG_IGN makes the kernel reap
 * children itself; their return code is then reported as 255.
 *
 * Errors, with no callback ever run, no fd left open and no child left (S7): -EINVAL
 * (loop, options, protocol or process NULL; file NULL or empty; an unknown stdio kind;
 * PL_STDIO_STDOUT for fd 0 or 1; nextra without extra, an extra's child_fd outside
 * 3..PL_STDIO_EXTRA_MAX - 1 or named twice, an extra of kind PL_STDIO_STDOUT; detached
 * with pty); -EBADF (a PL_STDIO_FD fd or an extra PL_STDIO_INHERIT fd not open); exec
 * and chdir failures as -errno from the child's start: -ENOENT (no such program or cwd),
 * -EACCES (not executable, a directory), -ENOTDIR (cwd not a directory), -ENOEXEC, ...;
 * -EPERM (set_uid or set_gid without the privilege: not root, no CAP_SETUID or
 * CAP_SETGID; the child failed before its exec and was reaped); -EBUSY (SIGCHLD mode,
 * above); -ENOMEM, -EMFILE, -ENFILE, -EAGAIN (process limit).  One exception: if
 * connecting a pipe transport fails for lack of memory after the child started, the
 * child is killed and reaped, and the pipe transports already made are aborted; they
 * close their fd the next time the loop runs. */
PL_EXPORT int pl_spawn(pl_loop *loop, const pl_spawn_options *options,
                       const pl_process_protocol *protocol, void *user,
                       pl_process **process);

/* The child's pid (still returned after it was reaped, when it may already belong to
 * another process: do not signal it yourself).  -1 if p is NULL. */
PL_EXPORT pid_t pl_process_get_pid(const pl_process *p);

/* The exit status once the child was reaped (process_exited has run or is queued), or
 * minus the signal number that killed it (S3).  Returns 0 and fills *returncode; -EAGAIN
 * while the child has not been reaped; -ECHILD once a detached child was released by
 * pl_process_close (S16); -EINVAL for NULL arguments. */
PL_EXPORT int pl_process_get_returncode(const pl_process *p, int *returncode);

/* The pipe transport on the child's fd 0 (a write transport), 1 or 2 (read transports),
 * or an extra fd of kind PL_STDIO_PIPE (a read transport if parent_reads, else a write
 * transport); NULL if that fd is not a PIPE slot, its transport is gone (from its
 * pipe_connection_lost on), or fd is negative.  Every transport function accepts it:
 * write to fd 0 and close it (or pl_transport_write_eof) to send EOF; pause reading fd 1
 * or 2.  Its protocol and user pointer belong to the process: do not replace them.  Take
 * pl_transport_ref to keep the object past its loss. */
PL_EXPORT pl_transport *pl_process_get_pipe_transport(const pl_process *p, int fd);

/* Send a signal (0 checks that the child is still there).  If the child has exited it is
 * reaped first, and the call returns -ESRCH: a child that exited is never signalled, so
 * a recycled pid is never hit (S5, S6).  The signal goes through the pidfd where there
 * is one.  terminate is SIGTERM, kill SIGKILL.  Errors: -ESRCH (exited or reaped, also
 * after connection_lost; a detached child released by pl_process_close, which is no
 * longer this object's), -EINVAL (p NULL, signum out of range), -EPERM. */
PL_EXPORT int pl_process_send_signal(pl_process *p, int signum);
PL_EXPORT int pl_process_terminate(pl_process *p);
PL_EXPORT int pl_process_kill(pl_process *p);
/* Send signum to the child's whole process group (kill(-pgid)): the child and every
 * descendant that stayed in its group, e.g. the commands a shell started in the
 * background.  Only for a child spawned with new_process_group, new_session or detached
 * (which leads its own session and group), else -EINVAL (the child is in the caller's
 * group).  Once the child has been reaped (process_exited has run or is queued) its id
 * may be reused, so nothing is sent and the call returns -ESRCH, even if descendants
 * live on in the group: signal the group before the leader exits (S11).  Errors:
 * -EINVAL (NULL, bad signal, no group of its own), -ESRCH (also once released, S16),
 * -EPERM. */
PL_EXPORT int pl_process_send_signal_group(pl_process *p, int signum);

/* Run a child to completion (S14; asyncio's communicate(), Python's subprocess.run): its
 * stdin gets `input` and then EOF (no input: stdin is /dev/null), its stdout and stderr
 * are collected separately, each up to max_output bytes of its own.  options->stdio and
 * options->pty are ignored; the rest of the options apply (an extra of kind
 * PL_STDIO_PIPE is refused with -EINVAL: nobody would read or write it).
 *
 * A stream that passes max_output keeps its first max_output bytes and drops the rest;
 * its flag (out_overflowed or err_overflowed) and `overflowed` are set, and the child is
 * killed.  The other stream goes on being collected up to its own limit until it ends (a
 * background command that holds it may still write there).
 *
 * On a timeout, or when an output passes max_output, the run sends SIGKILL once: to the
 * child's whole process group with kill_group (which needs new_process_group,
 * new_session or detached), so that a shell's background commands go too, else to the
 * child alone.  `killed` says what it reached: PL_RUN_KILLED_GROUP, PL_RUN_KILLED_CHILD,
 * or 0 (nothing: the child had already exited, and without kill_group whatever still
 * holds an output keeps the run going until it closes it).  With kill_group the group is
 * reached even after the child itself has exited: the exited child is left unreaped (so
 * that its pid, the group's id, cannot be reused) until its group has been signalled or
 * both outputs have ended.  returncode is always the child's own status: 3 for a shell
 * that ran `exit 3` before the timeout killed its background job, -SIGKILL when the kill
 * reached the child itself.
 *
 * pl_run works inside a running loop: it returns at once and `done` runs once, from the
 * loop, after the child has exited and both outputs ended (the process's
 * connection_lost).  *result is lent for the call: to keep out or err, take the pointer
 * and set it to NULL (then free() it).  If pl_run fails, done never runs.  Errors:
 * -EINVAL (NULL loop, options or done; a negative timeout; input_len without input;
 * kill_group without a group; a PIPE extra), -ENOMEM, and pl_spawn's errors (-ENOENT,
 * ...).
 *
 * pl_run_sync does the same on a private loop and blocks until the end; *result then
 * owns out and err: free them with pl_run_result_free.  It returns pl_spawn's error, or
 * result->error (0 normally).  If the private loop fails for good (its poller's wait
 * returns an error), the child is killed (its group with kill_group) and reaped, its
 * pipes are closed, the loop is freed, and that error is returned; *result then holds
 * what was collected until then, with `killed` set (free it as usual). */
typedef struct pl_run_options {
    const void *input; /* written to the child's stdin, then EOF */
    size_t input_len;
    size_t max_output; /* bytes kept per stream; 0: 1 MiB */
    int timeout_ms;    /* > 0: kill the child after this long; 0: none */
    int kill_group;    /* kill the child's process group, not only it */
} pl_run_options;

/* What pl_run's SIGKILL reached (pl_run_result.killed). */
enum { PL_RUN_KILLED_CHILD = 1, PL_RUN_KILLED_GROUP = 2 };

typedef struct pl_run_result {
    int returncode; /* the child's exit status, or minus the signal that
                       ended it (-SIGKILL after a kill that reached it) */
    char *out;      /* stdout, NUL-terminated ("" if none) */
    size_t out_len;
    char *err; /* stderr, likewise */
    size_t err_len;
    int timed_out;      /* the timeout passed (and the run killed) */
    int overflowed;     /* out_overflowed or err_overflowed */
    int out_overflowed; /* stdout passed max_output: its first max_output
                           bytes are kept */
    int err_overflowed; /* stderr, likewise */
    int killed;         /* 0, PL_RUN_KILLED_CHILD or PL_RUN_KILLED_GROUP */
    int error;          /* 0, or -ENOMEM if output could not be kept */
} pl_run_result;

typedef void (*pl_run_cb)(pl_run_result *result, void *user);

PL_EXPORT int pl_run(pl_loop *loop, const pl_spawn_options *options,
                     const pl_run_options *run, pl_run_cb done, void *user);
PL_EXPORT int pl_run_sync(const pl_spawn_options *options, const pl_run_options *run,
                          pl_run_result *result);
PL_EXPORT void pl_run_result_free(pl_run_result *result);

/* The window size of a child spawned with options.pty (TIOCSWINSZ on the master; the
 * kernel sends SIGWINCH to the terminal's foreground group).  Errors: -EINVAL (p NULL,
 * not a pty child, a size of 0), PL_ECLOSED (both master transports are gone), -errno of
 * the ioctl (S12). */
PL_EXPORT int pl_process_set_window_size(pl_process *p, unsigned short rows,
                                         unsigned short cols);

/* close (S5): close every pipe transport (stdin with pl_transport_close, which flushes,
 * but as the child is killed at once its buffered bytes rarely arrive: to end a child
 * politely close the stdin transport and wait for process_exited), then SIGKILL the
 * child if it is still running; the loop reaps it.  A child that has already exited is
 * reaped, not signalled.  Callbacks continue as usual, all from the loop:
 * connection_made if it has not run yet, pipe_connection_lost for each pipe,
 * process_exited and connection_lost.  Returns 0; calling it again, or after
 * connection_lost, is a no-op returning 0; -EINVAL if p is NULL.
 *
 * A detached child (options.detached) still running is released, not killed (S16): the
 * pipes close as above, process_exited never comes, connection_lost follows the last
 * pipe_connection_lost, and the object is freed as usual; from the close on send_signal
 * returns -ESRCH and get_returncode -ECHILD.  The child runs on in its own session, and
 * a library thread (one per released child, every signal blocked) waits for it with
 * waitpid(pid) so that it never stays a zombie; the loop does not wait for it, and
 * pl_loop_close is not refused for it.  The caller must not reap that pid itself (the
 * thread or the caller would lose the status).  If no thread can be started, close
 * returns -EAGAIN (or the error of pthread_create) and changes nothing: the process
 * stays open and watched.  A detached child that has already exited is reported and
 * reaped as any other. */
PL_EXPORT int pl_process_close(pl_process *p);

PL_EXPORT void *pl_process_get_user(const pl_process *p);
PL_EXPORT void pl_process_set_user(pl_process *p, void *user);
PL_EXPORT pl_loop *pl_process_get_loop(const pl_process *p);

/* Keep the process object alive past connection_lost (see pl_transport_ref).  Afterwards
 * get_pid and get_returncode still answer, get_pipe_transport returns NULL,
 * send_signal/terminate/kill return -ESRCH and close returns 0.  unref frees the object
 * once connection_lost has run and no reference is left; dropping more references than
 * were taken is a bug (asserted). */
PL_EXPORT void pl_process_ref(pl_process *p);
PL_EXPORT void pl_process_unref(pl_process *p);

#ifdef __cplusplus
}
#endif
#endif /* PIPELOOP_H */
