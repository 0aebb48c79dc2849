/* Internals shared across the library's files (the pl__ tier). */
#ifndef PIPELOOP_INTERNAL_H
#define PIPELOOP_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeloop.h"

#define PL__UNUSED(x) ((void)(x))
#define PL__CONTAINER_OF(ptr, type, member)                                              \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ---- allocation (alloc.c) ---------------------------------------------- */

/* malloc, calloc and realloc for everything the library allocates; free()
 * as usual.  Test hooks: with pl__alloc_fail_at = N (not 0), calls are
 * counted in pl__alloc_count (from when the test reset it), the N-th
 * returns NULL, and the call sites ("file.c:line") seen are kept in
 * pl__alloc_sites. */
void *pl__malloc_at(size_t size, const char *site);
void *pl__calloc_at(size_t n, size_t size, const char *site);
void *pl__realloc_at(void *p, size_t size, const char *site);
#define PL__STRINGIFY(x) #x
#define PL__SITE(line) __FILE__ ":" PL__STRINGIFY(line)
#define pl__malloc(size) pl__malloc_at((size), PL__SITE(__LINE__))
#define pl__calloc(n, size) pl__calloc_at((n), (size), PL__SITE(__LINE__))
#define pl__realloc(p, size) pl__realloc_at((p), (size), PL__SITE(__LINE__))
#define PL__ALLOC_SITES_MAX 64
extern unsigned long pl__alloc_fail_at;
extern unsigned long pl__alloc_count;
extern const char *pl__alloc_sites[PL__ALLOC_SITES_MAX];
extern size_t pl__alloc_nsites;

/* ---- fd watching ------------------------------------------------------- */

/* What an io watcher asks the backend for.  PL__IO_ERRONLY keeps the fd
 * registered with no direction, so that only HUP/ERR are reported: a write
 * transport with an empty buffer uses it to notice its reader going away. */
enum {
    PL__IO_IN = 1u << 0,
    PL__IO_OUT = 1u << 1,
    PL__IO_ERRONLY = 1u << 2,
    /* Completion reads, on a backend that has them (see
     * pl__io_completion_reads): the backend keeps a read in flight into a
     * loop-owned buffer and reports PL_READABLE when it has finished;
     * pl__io_take_read hands the result over.  Used instead of PL__IO_IN,
     * never with it. */
    PL__IO_COMPLETION_READ = 1u << 3,
};

struct pl__io;
/* revents is a mask of PL_READABLE | PL_WRITABLE | PL_HUP | PL_ERR. */
typedef void (*pl__io_cb)(pl_loop *loop, struct pl__io *io, unsigned revents);

/* One per watched fd, embedded in its owner (a transport, a process, the
 * public watcher table, the loop's wakeup).  The loop indexes them by fd. */
struct pl__io {
    int fd;
    unsigned events;     /* PL__IO_* wanted */
    unsigned registered; /* PL__IO_* the backend currently has */
    pl__io_cb cb;
    int owned;    /* a transport owns the fd (spec C3) */
    uint32_t gen; /* set at attach: tells this watcher from an earlier one
                     on the same fd number */
};

void pl__io_init(struct pl__io *io, int fd, pl__io_cb cb);
/* Attach io to the loop's fd table: -EEXIST if the fd already has an io,
 * -EBADF for a bad fd.  Nothing is registered with the backend yet. */
int pl__io_attach(pl_loop *loop, struct pl__io *io);
/* Set the wanted events and tell the backend (0 unregisters).  Returns 0 or
 * the backend's -errno (e.g. -EPERM for a file epoll cannot watch). */
int pl__io_set(pl_loop *loop, struct pl__io *io, unsigned events);
/* Unregister and detach; safe on a detached io.  Cancels events already
 * collected for the fd in this iteration. */
void pl__io_detach(pl_loop *loop, struct pl__io *io);
/* Can the backend watch this fd at all?  0, or -EPERM and the like.  Leaves
 * nothing registered. */
int pl__io_probe(pl_loop *loop, int fd);
/* Can the loop's backend read for a watcher (PL__IO_COMPLETION_READ)?  1
 * or 0 (epoll and poll never can); the backend sets up what it needs on the
 * first call. */
int pl__io_completion_reads(pl_loop *loop);
/* Take the result of io's finished completion read: n > 0 bytes at *buf
 * (valid until the callback that took it returns), 0 for end of file,
 * -errno for an error (-ENOBUFS: every buffer was in use, read the fd
 * directly), or -EAGAIN when there is none.  The next read is armed by the
 * next wait.  Only for a watcher that asked for PL__IO_COMPLETION_READ. */
ssize_t pl__io_take_read(pl_loop *loop, struct pl__io *io, char **buf);

/* ---- backends ---------------------------------------------------------- */

struct pl__event {
    int fd;
    uint32_t gen;     /* the watcher's gen when the event was collected */
    unsigned revents; /* PL_READABLE | PL_WRITABLE | PL_HUP | PL_ERR */
};

struct pl__backend {
    const char *name;
    int (*init)(pl_loop *loop);
    void (*destroy)(pl_loop *loop);
    /* Bring the kernel's registration for fd from old to new (PL__IO_*). */
    int (*update)(pl_loop *loop, int fd, uint32_t gen, unsigned old_events,
                  unsigned new_events);
    /* Wait up to timeout_ms (-1 forever) and fill loop->events; returns the
     * count, 0 on timeout or EINTR, or -errno. */
    int (*wait)(pl_loop *loop, int timeout_ms);
    /* The watcher of fd is gone for good (NULL: nothing to do).  Called by
     * pl__io_detach after the update to no events. */
    void (*detach)(pl_loop *loop, int fd);
    /* Completion reads, optional: both NULL where the backend only reports
     * readiness (epoll, poll).  They are pl__io_completion_reads and
     * pl__io_take_read for the watcher of fd. */
    int (*completion_reads)(pl_loop *loop);
    ssize_t (*take_read)(pl_loop *loop, int fd, char **buf);
};

extern const struct pl__backend pl__backend_epoll;
extern const struct pl__backend pl__backend_poll;
/* Always defined; its init fails with -ENOSYS when built without liburing
 * (PL_HAVE_LIBURING). */
extern const struct pl__backend pl__backend_uring;

/* Test hooks for the io_uring backend, 0 in normal use: a -errno that ring
 * creation fails with as if the kernel had refused it (ENOSYS, EPERM), and
 * an SQ size to use instead of the default (the CQ gets twice as many), so
 * that tests can fill both. */
extern int pl__uring_refuse;
extern unsigned pl__uring_entries;
/* The loop-owned buffers io_uring reads into (spec R2): data_received gets
 * one of these, or the loop's read buffer when none was free. */
#define PL__URING_RBUF_COUNT 64u
#define PL__URING_RBUF_SIZE (64u * 1024u)
/* More test hooks: the number of read buffers (a power of two, 0 for the
 * default), 1 to refuse completion reads as an old kernel would, and 1 to
 * read one completion at a time as kernels before 6.7 (no multishot read)
 * do.  Each is read when a loop first reads through the ring. */
extern unsigned pl__uring_rbufs;
extern int pl__uring_no_reads;
extern int pl__uring_single_reads;
/* The backend a loop gets when none is asked for; a variable so that tests
 * can make io_uring the default and see its refusal fall back to epoll. */
extern const struct pl__backend *pl__default_backend;

/* ---- timers ------------------------------------------------------------ */

/* Timer slots are pooled and addressed by index; the heap holds the sort
 * key next to the slot index so that sifting touches only the heap array. */
struct pl__timer_slot {
    pl_callback cb;
    void *user;
    uint32_t heap_index; /* UINT32_MAX when free */
    uint32_t generation;
};

/* 16 bytes, so four entries share a cache line.  seq is the creation order
 * modulo 2^32, compared with wrap-around; the pending entries are
 * renumbered every 2^30 creations, so their span never reaches 2^31. */
struct pl__heap_entry {
    uint64_t when;
    uint32_t seq;
    uint32_t slot;
};

struct pl__timers {
    struct pl__timer_slot *slots;
    uint32_t nslots;
    uint32_t slots_cap;
    struct pl__heap_entry *heap;
    uint32_t heap_len;
    uint32_t heap_cap;
    uint32_t *free_list;
    uint32_t free_len;
    uint32_t next_seq;
    int running;      /* inside pl__timers_run */
    uint64_t run_now; /* the `now` of that run */
};

void pl__timers_destroy(struct pl__timers *t);
/* Run every timer due at `now`, but not ones made while running.  Returns
 * the number run. */
int pl__timers_run(pl_loop *loop, struct pl__timers *t, uint64_t now);
/* Milliseconds until the earliest timer (0 if due), or -1 if none. */
int64_t pl__timers_next(const struct pl__timers *t, uint64_t now);

/* ---- the ready queue --------------------------------------------------- */

struct pl__callback {
    pl_callback cb;
    void *user;
};

struct pl__queue {
    struct pl__callback *items;
    size_t cap; /* power of two */
    size_t head;
    size_t len;
};

int pl__queue_push(struct pl__queue *q, pl_callback cb, void *user);
void pl__queue_destroy(struct pl__queue *q);

/* ---- signals ----------------------------------------------------------- */

struct pl__signal {
    int signum;
    pl_signal_cb cb;
    void *user;
    struct pl__signal *next;
};

/* Called on the loop's thread after the wakeup fd fired: runs handlers for
 * signals delivered since the last call. */
int pl__signals_dispatch(pl_loop *loop);

/* ---- the loop ---------------------------------------------------------- */

struct pl_loop {
    const struct pl__backend *backend;
    int backend_fd; /* epoll fd, or -1 */
    void *backend_data;

    struct pl__io **ios; /* indexed by fd */
    size_t nios;
    uint32_t io_gen; /* last generation given to an attached io */

    struct pl__event *events;
    size_t events_cap;
    size_t nevents;

    struct pl__queue ready;
    /* Ready-queue slots promised to the library's own callbacks (see
     * pl__loop_reserve), so that connection_lost can always be queued. */
    size_t ready_reserved;
    struct pl__timers timers;

    /* Thread-safe wakeup: an eventfd (or a pipe where there is none). */
    struct pl__io wakeup_io;
    int wakeup_fd[2];
    pthread_mutex_t ts_lock;
    struct pl__queue ts_queue;
    atomic_int wakeup_pending;
    /* Signal callbacks the last wakeup drain ran: the drain itself is not
     * a user callback and is not counted by pl_loop_run_once(). */
    int signals_ran;

    struct pl__signal *signals;

    /* Library-wide read buffer (spec R2), allocated on first use. */
    char *read_buffer;

    uint64_t now_ms;
    uint64_t iteration;
    int running;
    int stop;

    /* Objects open on the loop: transports, processes, public watchers. */
    size_t nhandles;
};

/* Promise n ready-queue slots to internal callbacks: grows the queue so
 * that user call_soon can never use them up.  -ENOMEM on failure. */
int pl__loop_reserve(pl_loop *loop, size_t n);
/* One iteration that does not ask the poller: the timers due and the
 * callbacks ready now.  For tearing down after the poller failed for good
 * (pl_run_sync); -EBUSY from inside a callback. */
int pl__loop_run_without_poller(pl_loop *loop);
void pl__loop_unreserve(pl_loop *loop, size_t n);
/* Queue an internal callback into a reserved slot; cannot fail. */
void pl__call_soon_reserved(pl_loop *loop, pl_callback cb, void *user);

/* Handle counting for close. */
void pl__loop_handle_add(pl_loop *loop);
void pl__loop_handle_remove(pl_loop *loop);
char *pl__loop_read_buffer(pl_loop *loop);
/* Dispatch the n events the backend collected; returns callbacks run. */
int pl__io_dispatch(pl_loop *loop, size_t n);
/* Wake the loop from its poll; async-signal-safe. */
void pl__loop_wakeup(pl_loop *loop);
/* Make room for n results in loop->events (backends call it). */
int pl__loop_events_reserve(pl_loop *loop, size_t n);

/* ---- write queue (write_queue.c) ---------------------------------------- */

/* A run of unsent bytes: len bytes of the ring (lent NULL), or the rest of
 * a lent buffer [lent, lent + len) whose whole is (orig, orig_len). */
struct pl__wq_seg {
    const char *lent;
    size_t len;
    const void *orig;
    size_t orig_len;
    pl_write_done_cb done;
    void *done_user;
};

/* A lent write to report: done(t, data, len, status, user). */
struct pl__wq_done {
    const void *data;
    size_t len;
    int status;
    pl_write_done_cb done;
    void *user;
};

struct pl__wq {
    size_t len; /* all unsent bytes, copied and lent */
    /* the ring of copied bytes */
    char *data;
    size_t head, ring_len, cap;
    /* segments, only while a lent write is pending */
    struct pl__wq_seg *segs;
    uint32_t seg_head, seg_count, seg_cap;
    uint32_t lent_count;
    /* completions waiting to be reported */
    struct pl__wq_done *dones;
    uint32_t done_head, done_count, done_cap;
};

int pl__wq_append_copy(struct pl__wq *q, const struct iovec *iov, int iovcnt, size_t skip,
                       size_t total);
/* Queue the caller's buffer from byte skip on (its completion slot is
 * reserved here, so completing never allocates). */
int pl__wq_append_lent(struct pl__wq *q, const void *data, size_t len, size_t skip,
                       pl_write_done_cb done, void *user);
/* The unsent bytes in order as at most max iovecs; returns the count. */
int pl__wq_iov(const struct pl__wq *q, struct iovec *iov, int max);
/* n bytes were written: returns how many lent writes completed. */
int pl__wq_consume(struct pl__wq *q, size_t n);
/* Drop everything; pending lent writes complete with status. */
int pl__wq_drop(struct pl__wq *q, int status);
/* Reserve, then add, a completion for a lent write not queued. */
int pl__wq_reserve_done(struct pl__wq *q);
void pl__wq_complete(struct pl__wq *q, const void *data, size_t len, int status,
                     pl_write_done_cb done, void *user);
int pl__wq_pop_done(struct pl__wq *q, struct pl__wq_done *out);
void pl__wq_free(struct pl__wq *q);

/* ---- pipe transports (pipe.c) ------------------------------------------ */

/* Adopt a pipe end the library itself made with pl__pipe (blocking,
 * O_CLOEXEC, not watched), or (is_tty) a pty master it opened: no kind,
 * owner or probe checks, and its flags are not restored on close.  Same
 * result as pl_connect_*_pipe otherwise. */
int pl__connect_own_pipe(pl_loop *loop, int fd, int is_read, int is_tty,
                         const pl_protocol *protocol, void *user, pl_transport **out);

/* Test hook for the mutant pipecheck-broken (tools/pipecheck_broken.c), 0
 * in normal use: pause_reading records the pause, so is_reading says 0, but
 * reading goes on.  tests/test_fuzz.c shows that the fuzzer's model catches
 * it. */
extern int pl__pause_keeps_reading;

/* ---- non-blocking I/O without touching shared descriptions (iomode.c) -- */

struct pl__shared;
/* Choose how a transport does non-blocking I/O on fd (a PL__FD_* kind with
 * file status flags status_flags) and set it up: *mode gets a PL_IO_*
 * value; for PL_IO_NONBLOCK, *shared gets the counted description, to be
 * given back with pl__shared_release just before fd is closed.  May put a
 * private description in fd's place (PL_IO_REOPENED).  Returns 0 or -errno
 * (only the O_NONBLOCK fallback can fail; fd is then as it was). */
int pl__io_mode_choose(int fd, int kind, int status_flags, unsigned connect_flags,
                       unsigned char *mode, struct pl__shared **shared);
/* Find out once per process whether RWF_NOWAIT works on pipes (needs two
 * spare fds; tried again later if there are none). */
void pl__io_probe_nowait(void);
/* fd's transport is done with the description: the last one restores
 * O_NONBLOCK as it was before the first. */
void pl__shared_release(struct pl__shared *shared, int fd);

/* Read or write fd (a PL__FD_* kind) the way its I/O mode (PL_IO_*) says:
 * read/write, preadv2/pwritev2 with RWF_NOWAIT, or recv/sendmsg with
 * MSG_DONTWAIT.  A write to a pipe or FIFO runs inside the SIGPIPE guard
 * (sigpipe.c) of loop.  Both return a byte count or -errno. */
ssize_t pl__io_mode_read(int fd, int mode, void *buf, size_t len);
ssize_t pl__io_mode_writev(pl_loop *loop, int fd, int kind, int mode,
                           const struct iovec *iov, int iovcnt);

/* Test hook: mechanisms to treat as refused by the kernel, so that tests
 * reach the fallbacks on any machine.  0 in normal use. */
enum {
    PL__REFUSE_NOWAIT = 1u << 0, /* RWF_NOWAIT on pipes */
    PL__REFUSE_REOPEN = 1u << 1, /* opening /proc/self/fd/N */
    PL__REFUSE_KCMP = 1u << 2,   /* kcmp(KCMP_FILE) */
};
extern unsigned pl__io_refuse;

/* ---- SIGPIPE (sigpipe.c) ------------------------------------------------- */

/* Around a write that can raise SIGPIPE (to a pipe or FIFO): enter blocks
 * it in the thread, once per run of loop while loop runs, else for this
 * write alone; leave takes back the SIGPIPE that a result of -EPIPE left
 * pending, and unblocks what enter blocked for this write alone. */
struct pl__sigpipe_guard {
    int was_blocked; /* the thread had SIGPIPE blocked before the library */
    int per_write;   /* blocked for this write alone (outside a run) */
};
void pl__sigpipe_enter(pl_loop *loop, struct pl__sigpipe_guard *guard);
void pl__sigpipe_leave(const struct pl__sigpipe_guard *guard, ssize_t result);
/* Restore the thread's SIGPIPE mask if this loop's run blocked it (a
 * no-op otherwise). */
void pl__sigpipe_release(pl_loop *loop);

/* ---- fd helpers (fd.c) ------------------------------------------------- */

/* Test hook for syscall faults (tests/fault_sys.c), NULL in normal use.
 * A read transport connected while it is set reads by readiness, not by
 * completion reads, so that the hook sees its reads.  The hook is
 * called before each read and write of the helpers below, each poller
 * registration (pl__io_set) and each fd the library makes (pipes, the
 * wakeup eventfd, pidfds).  It returns 0 to let the call go on, after
 * perhaps lowering *len (a short read or write), or -errno to fail the
 * call with that error as if the kernel had answered it. */
enum pl__sys_op {
    PL__SYS_READ,        /* fd, &len */
    PL__SYS_WRITE,       /* fd, &len (the sum of the pieces) */
    PL__SYS_POLL_UPDATE, /* fd, NULL: adding or changing a registration */
    PL__SYS_NEW_FD,      /* -1, NULL */
    PL__SYS_POLL_WAIT,   /* -1, NULL: the poller's wait, each iteration */
};
extern int (*pl__sys_fault)(enum pl__sys_op op, int fd, size_t *len);

/* EINTR is retried in these, and only these, places. */
int pl__close(int fd);
/* Kinds of fd a pipe transport accepts. */
enum pl__fd_kind {
    PL__FD_PIPE = 1, /* anonymous pipe or FIFO */
    PL__FD_SOCKET,   /* AF_UNIX stream socket */
    PL__FD_CHAR,     /* tty, pty, other character device */
};
/* Returns a PL__FD_* kind, -EBADF, or PL_EFDKIND. */
int pl__fd_kind(int fd);
/* Make a pipe with both ends O_CLOEXEC (and O_NONBLOCK if asked). */
int pl__pipe(int fds[2], int nonblock);
/* read/write/writev that retry EINTR and return -errno on failure. */
ssize_t pl__read(int fd, void *buf, size_t len);
ssize_t pl__write(int fd, const void *buf, size_t len);
ssize_t pl__writev(int fd, const struct iovec *iov, int iovcnt);
/* preadv2/pwritev2 with RWF_NOWAIT at the current position (anonymous
 * pipes: non-blocking without O_NONBLOCK on the shared description). */
ssize_t pl__read_nowait(int fd, void *buf, size_t len);
ssize_t pl__writev_nowait(int fd, const struct iovec *iov, int iovcnt);
/* recv() and sendmsg() for stream sockets; sendmsg always adds
 * MSG_NOSIGNAL.  flags: MSG_DONTWAIT or 0. */
ssize_t pl__recv(int fd, void *buf, size_t len, int flags);
ssize_t pl__sendv(int fd, const struct iovec *iov, int iovcnt, int flags);

/* ---- starting a child (spawn.c, for process.c) ------------------------- */

/* One fd of the child: 0-2, then options.extra in order. */
struct pl__stdio_slot {
    int target;       /* the child's fd number */
    int src;          /* parent fd copied onto target; -1: closed in the child */
    int keep;         /* 0-2 only: the child inherits the parent's fd as it is */
    int parent_end;   /* our end of a pipe (or the pty master), else -1 */
    int parent_reads; /* parent_end is a read end */
};

struct pl__spawn_plan {
    size_t n; /* 3 + nextra */
    struct pl__stdio_slot *slots;
    int *to_close; /* the child's ends and copies, closed once it started */
    size_t nto_close;
    int base;           /* one more than the highest target (at least 3) */
    char pty_slave[64]; /* options.pty: the slave the child opens as 0-2 */
    unsigned char is_target[PL_STDIO_EXTRA_MAX]; /* no src is a target */
};

int pl__spawn_check(const pl_spawn_options *o);
int pl__spawn_plan_make(const pl_spawn_options *o, struct pl__spawn_plan *plan);
/* Close the fds meant for the child (after the start, or on failure). */
void pl__spawn_plan_close_child_fds(struct pl__spawn_plan *plan);
/* Close the parent ends still in the plan and free it. */
void pl__spawn_plan_free(struct pl__spawn_plan *plan);
int pl__spawn_start(const pl_spawn_options *o, const struct pl__spawn_plan *plan,
                    pid_t *pid);
void pl__spawn_kill_and_reap(pid_t pid);

/* ---- processes, for run.c (process.c) ------------------------------------ */

/* Leave the child a zombie once it has exited, until its pipes have all
 * closed, its group has been signalled or the process is closed: the id
 * of the group it leads stays its own meanwhile, so that
 * pl_process_send_signal_group still reaches the commands it left behind.
 * process_exited comes after the reap.  Call right after pl_spawn. */
void pl__process_hold_exit(pl_process *p);
/* For a loop whose poller failed for good: SIGKILL the child (its group
 * too if `group` and it leads one), reap it blocking and abort every pipe,
 * so that pl__loop_run_without_poller can finish the object.  Returns
 * what was killed: 0, PL_RUN_KILLED_CHILD or PL_RUN_KILLED_GROUP. */
int pl__process_abandon(pl_process *p, int group);

#endif
