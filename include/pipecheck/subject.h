/*
 * pipecheck's subjects: the implementation under test, in process or in a
 * subject process (check/subject*.c).  Part of pipecheck.h; include that.
 */
#ifndef PIPECHECK_SUBJECT_H
#define PIPECHECK_SUBJECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <pipeloop.h>

#include "runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Subjects: the implementation under test                                   */

/*
 * The conformance suite drives pipe transports through a *subject*: a
 * table of the operations it needs from an event loop and its pipe
 * transports.  pipeloop is one subject, called in process (the default);
 * others run in a subject process that the bench talks to over a
 * socketpair (docs/subject-protocol.md): CPython's asyncio, uvloop, or any
 * program that speaks the protocol.  The suite never calls pl_* transport
 * functions itself, only these entries, and gets every protocol event
 * through a pc_protocol (the recorder), so one test body grades them all.
 *
 *     const pc_subject *s = pc_subject_find("asyncio");   // or pipeloop
 *     if (pc_subject_probe(s, stderr) == 0)               // starts it once
 *         pc_subject_set(s);                              // before pc_run
 *
 * Handles are opaque: a pc_loop is one instance of the subject's loop (for
 * pipeloop it *is* the pl_loop), a pc_transport one of its transports (for
 * pipeloop the pl_transport).  A remote transport handle stays valid until
 * its loop is closed; pipeloop's follows pl_transport_ref().
 */
typedef struct pc_loop pc_loop;
typedef struct pc_transport pc_transport;

/* pl_protocol typed on the opaque handle: what a subject delivers. */
typedef struct pc_protocol {
    void (*connection_made)(pc_transport *t, void *user);
    void (*data_received)(pc_transport *t, const void *data, size_t len, void *user);
    int (*eof_received)(pc_transport *t, void *user);
    void (*connection_lost)(pc_transport *t, int error, void *user);
    void (*pause_writing)(pc_transport *t, void *user);
    void (*resume_writing)(pc_transport *t, void *user);
} pc_protocol;

typedef void (*pc_write_done_cb)(pc_transport *t, const void *data, size_t len,
                                 int status, void *user);

/*
 * What a subject has (pc_subject.caps).  A conformance test declares what
 * it needs (PC_CONFORMANCE's .caps); on a subject that lacks it the instance
 * is "n/a", never run and never a pass.
 */
enum pc_subject_caps {
    /* Runs in the bench's process: fd numbers, pointers and C-level misuse
     * (NULL arguments, a negative iovec count) mean the same on both
     * sides; the fd table is shared, so the bench can watch an fd the
     * transport owns being closed. */
    PC_CAP_IN_PROCESS = 1u << 0,
    /* write_lent: the transport sends the caller's memory and reports it. */
    PC_CAP_LENT_WRITES = 1u << 1,
    /* writev (for asyncio: writelines). */
    PC_CAP_WRITEV = 1u << 2,
    /* get_fd returns the caller's fd number. */
    PC_CAP_GET_FD = 1u << 3,
    /* set/get_write_buffer_limits. */
    PC_CAP_BUFFER_LIMITS = 1u << 4,
    /* Reads go into one loop-owned buffer, no allocation per read (R2). */
    PC_CAP_LOOP_OWNED_READ_BUFFER = 1u << 5,
    /* ref/unref keep a transport alive after connection_lost. */
    PC_CAP_REF_UNREF = 1u << 6,
    /* The bench can add its own fd watchers to the subject's loop
     * (pl_loop_add_reader: R9's second reader, C3's refused watcher). */
    PC_CAP_LOOP_WATCHERS = 1u << 7,
    /* The loop's own close contract can be checked (L5). */
    PC_CAP_LOOP_CLOSE = 1u << 8,
    /* Subprocess transports (the S group). */
    PC_CAP_SUBPROCESS = 1u << 9,
    /* The transports are pipeloop's own: tests of its API beyond the
     * subject table (I/O modes, connect flags: the X group) reach them
     * with pc_transport_native and pc_pipeloop_connect. */
    PC_CAP_PIPELOOP_API = 1u << 10,
    /* is_reading on read transports (CPython's pipe transports have it
     * from 3.11 on, bpo-38314). */
    PC_CAP_IS_READING = 1u << 11,
    /* abort on read transports (CPython documents abort() for write
     * transports only; its read pipe transport has none). */
    PC_CAP_READ_ABORT = 1u << 12,
    /* set_protocol and get_protocol: a transport's protocol can be
     * switched (asyncio's BaseTransport.set_protocol). */
    PC_CAP_SET_PROTOCOL = 1u << 13,
    /* drop: the program can let go of its last reference to an open
     * transport (a garbage-collected subject: asyncio closes the fd in
     * __del__ with a ResourceWarning). */
    PC_CAP_DROP = 1u << 14,
};

/* "lent-writes", "writev", ... for PC_CAP_* bit cap; NULL if unknown. */
PC_EXPORT const char *pc_subject_cap_name(unsigned cap);

/*
 * Subprocess transports of a subject (PC_CAP_SUBPROCESS): asyncio's
 * loop.subprocess_exec, pipeloop's pl_spawn.  A pc_process is opaque and
 * stays valid until its loop is closed.  Its pipes' transports (from
 * pc_subject.process_pipe) take the usual transport operations (write to
 * stdin, write_eof, close); their events go to the process protocol.
 */
typedef struct pc_process pc_process;

/* What each of the child's stdin, stdout and stderr is. */
enum pc_stdio {
    PC_STDIO_INHERIT = 0, /* the subject's own fd */
    PC_STDIO_PIPE,        /* a pipe to a transport of the process */
    PC_STDIO_DEVNULL,     /* /dev/null */
    PC_STDIO_STDOUT,      /* stderr only: the same file as stdout */
};

/* pl_process_protocol typed on the opaque handle (same order, spec S2). */
typedef struct pc_process_protocol {
    void (*connection_made)(pc_process *p, void *user);
    void (*pipe_data_received)(pc_process *p, int fd, const void *data, size_t len,
                               void *user);
    void (*pipe_connection_lost)(pc_process *p, int fd, int error, void *user);
    void (*process_exited)(pc_process *p, void *user);
    void (*connection_lost)(pc_process *p, void *user);
    void (*pause_writing)(pc_process *p, void *user);
    void (*resume_writing)(pc_process *p, void *user);
} pc_process_protocol;

/*
 * A subject.  Every operation has the meaning of the pl_* function of the
 * same name (include/pipeloop.h), with the same return values: an error a
 * subject reports is mapped to pipeloop's codes (docs/subject-protocol.md
 * says how), and an exception a remote operation raises returns
 * PC_EEXCEPTION with its text printed to the test's output.
 */
typedef struct pc_subject pc_subject;
struct pc_subject {
    const char *name;     /* "pipeloop", "asyncio", "uvloop", "exec:CMD" */
    const char *describe; /* what runs: interpreter, versions; set by probe */
    unsigned caps;        /* PC_CAP_*; set by probe for remote subjects */
    size_t read_size;     /* the largest data_received it promises (R1) */
    const char *backends; /* comma-separated backends it has: "epoll,poll" */

    /* A loop for backend ("epoll", "poll" or "io_uring").  Errors: -errno, or a
     * failed test for a subject process that cannot be started. */
    int (*loop_new)(pc_loop **loop, const char *backend);
    /* Close it: -EBUSY (and nothing closed) while a transport is open. */
    int (*loop_close)(pc_loop *loop);
    /* Run one iteration of the subject's loop that waits at most
     * timeout_ms for I/O.  Returns the callbacks it ran (0: a quiet
     * iteration) or -errno. */
    int (*step)(pc_loop *loop, int timeout_ms);
    /* Optional: run until quiet_ms (already scaled) pass without a
     * protocol callback, failing after timeout_ms (scaled); returns the
     * iterations run or -ETIMEDOUT.  NULL: steps until a quiet one. */
    int (*run_until_quiet)(pc_loop *loop, unsigned quiet_ms, unsigned timeout_ms);
    /* The number of iterations run so far (events carry it). */
    uint64_t (*iteration)(const pc_loop *loop);
    /* 1 while the loop runs a callback (inside step). */
    int (*is_running)(const pc_loop *loop);
    /* The pl_loop under a pipeloop loop; NULL for other subjects. */
    pl_loop *(*native_loop)(pc_loop *loop);

    int (*connect_read_pipe)(pc_loop *loop, int fd, const pc_protocol *protocol,
                             void *user, pc_transport **transport);
    int (*connect_write_pipe)(pc_loop *loop, int fd, const pc_protocol *protocol,
                              void *user, pc_transport **transport);
    int (*pause_reading)(pc_transport *t);
    int (*resume_reading)(pc_transport *t);
    int (*is_reading)(const pc_transport *t);
    ssize_t (*write)(pc_transport *t, const void *data, size_t len);
    ssize_t (*writev)(pc_transport *t, const struct iovec *iov, int iovcnt);
    ssize_t (*write_lent)(pc_transport *t, const void *data, size_t len,
                          pc_write_done_cb done, void *user);
    int (*write_eof)(pc_transport *t);
    int (*can_write_eof)(const pc_transport *t);
    size_t (*get_write_buffer_size)(const pc_transport *t);
    int (*set_write_buffer_limits)(pc_transport *t, int64_t high, int64_t low);
    int (*get_write_buffer_limits)(const pc_transport *t, size_t *high, size_t *low);
    int (*close)(pc_transport *t);
    int (*abort)(pc_transport *t);
    int (*is_closing)(const pc_transport *t);
    int (*get_fd)(const pc_transport *t);
    void (*ref)(pc_transport *t);
    void (*unref)(pc_transport *t);
    /* PC_CAP_SET_PROTOCOL: every later callback of t goes to protocol with
     * user (pl_transport_set_protocol); -EINVAL for a NULL protocol. */
    int (*set_protocol)(pc_transport *t, const pc_protocol *protocol, void *user);
    /* PC_CAP_SET_PROTOCOL: the protocol and user that t calls now, as
     * connect or set_protocol gave them; *protocol NULL if the subject
     * reports none (or one the bench never gave it). */
    int (*get_protocol)(const pc_transport *t, const pc_protocol **protocol, void **user);
    /* PC_CAP_DROP: the program drops its last reference to t, open or not,
     * and the subject collects its garbage.  Returns 0 with *collected 1 if
     * the transport object is gone (0: something of the subject's own, such
     * as a watcher on its fd, keeps it alive) and *warnings the
     * "unclosed transport" ResourceWarnings that gave.  No callback of t
     * comes after it is collected; t stays a valid handle. */
    int (*drop)(pc_transport *t, int *collected, int *warnings);

    void *config; /* the subject's own data (remote: how to start it) */

    /* Subprocesses, for PC_CAP_SUBPROCESS (NULL without it).  spawn runs
     * argv[0] (searched in PATH) with argv and stdio[3] (PC_STDIO_*), with
     * the meaning of pl_spawn: 0, or -ENOENT and the like when the program
     * cannot be started (nothing then runs, no callback comes). */
    int (*spawn)(pc_loop *loop, char *const argv[], const int stdio[3],
                 const pc_process_protocol *protocol, void *user, pc_process **process);
    /* The child's pid. */
    pid_t (*process_pid)(const pc_process *p);
    /* 0 and the return code (exit status, or minus the signal) once the
     * child was reaped; -EAGAIN before. */
    int (*process_returncode)(const pc_process *p, int *returncode);
    /* pl_process_send_signal: -ESRCH once the child has exited. */
    int (*process_send_signal)(pc_process *p, int signum);
    /* pl_process_close: pipes closed, a running child killed. */
    int (*process_close)(pc_process *p);
    /* The transport of fd 0, 1 or 2 while it is a pipe and open; NULL
     * otherwise. */
    pc_transport *(*process_pipe)(pc_process *p, int fd);
    /* Give a spawn up right after it returned, as a caller that stops
     * waiting for it (asyncio: the task awaiting subprocess_exec is
     * cancelled, which closes the new transport): a running child is
     * killed, its pipes closed, and it is still reaped (spec S10).
     * pipeloop's spawn has nothing to wait for: pl_process_close.  0 or
     * -errno. */
    int (*process_cancel)(pc_process *p);

    /* Starting and stopping the subject, each given the subject itself
     * (self); NULL when there is nothing to do (pipeloop, in process).
     * pc_subject_probe, pc_subject_probe_error, pc_subject_start and
     * pc_subject_stop below call them, with their meaning. */
    int (*probe)(const pc_subject *self, FILE *err);
    const char *(*probe_error)(const pc_subject *self);
    int (*start)(const pc_subject *self);
    void (*stop)(const pc_subject *self);

    /* Optional: how long (ns) the process or thread that runs loop has so
     * far been on a CPU (*run_ns) and ready to run but waiting for one
     * (*wait_ns); 0, or -errno if it cannot be read; NULL: unknown.
     * pc_loop_sched_time calls it (E5). */
    int (*sched_time)(pc_loop *loop, uint64_t *run_ns, uint64_t *wait_ns);
};

/* The error an operation returns when the remote subject raised an
 * exception it does not map to a code (the exception's text is printed). */
#define PC_EEXCEPTION (-30100)

/* pipeloop, in process: the default. */
PC_EXPORT extern const pc_subject pc_subject_pipeloop;

/*
 * The subject called spec: "pipeloop", "asyncio", "uvloop" (run by the
 * Python adapter tools/pipecheck_subject.py under pc_subject_python()), or
 * "exec:CMD" (CMD run by /bin/sh -c, speaking docs/subject-protocol.md on
 * the fd named by $PIPECHECK_SUBJECT_FD).  Remote subjects are made once
 * per spec and live until exit.  NULL (and a message on stderr) for an
 * unknown name or no memory.
 */
PC_EXPORT const pc_subject *pc_subject_find(const char *spec);
/* The Python interpreter for asyncio/uvloop (default "python3" on PATH;
 * NULL restores it).  Call before pc_subject_find. */
PC_EXPORT void pc_subject_set_python(const char *path);
PC_EXPORT const char *pc_subject_python(void);

/*
 * Start a remote subject once, shake hands and fill in describe, caps,
 * read_size and backends.  0, or -errno with the reason written to err
 * (uvloop not installed: -ENOENT).  pipeloop's is a no-op.
 */
PC_EXPORT int pc_subject_probe(const pc_subject *subject, FILE *err);
/*
 * Optional, around a pc_run of many tests: keep one prepared subject
 * process (asyncio/uvloop: an interpreter with the modules loaded) that
 * forks a fresh subject for every test, instead of starting one per test.
 * Tests still get a new process each.  pc_subject_stop ends it; call it
 * after pc_run.  0 or -errno (then every test starts its own).
 */
PC_EXPORT int pc_subject_start(const pc_subject *subject);
PC_EXPORT void pc_subject_stop(const pc_subject *subject);
/* Why the last probe of subject failed ("" if it did not). */
PC_EXPORT const char *pc_subject_probe_error(const pc_subject *subject);

/* The subject the suite uses now; never NULL. */
PC_EXPORT const pc_subject *pc_subject_current(void);
/* Replace it (NULL restores pipeloop); call before pc_run. */
PC_EXPORT void pc_subject_set(const pc_subject *subject);
/* Does the current subject have every PC_CAP_* in caps?  1/0. */
PC_EXPORT int pc_subject_has(unsigned caps);
/* Does subject have backend ("epoll")?  1/0. */
PC_EXPORT int pc_subject_has_backend(const pc_subject *subject, const char *backend);

/* Loop helpers over the current subject (pc_loop_new/close and the
 * stepping below use them).  pc_loop_new's backend is a name of the
 * backend table ("epoll"); pipeloop refuses any other with -EINVAL. */
PC_EXPORT int pc_loop_new(pc_loop **loop, const char *backend);
PC_EXPORT int pc_loop_close(pc_loop *loop);
PC_EXPORT int pc_loop_step(pc_loop *loop, int timeout_ms);
PC_EXPORT uint64_t pc_loop_iteration(const pc_loop *loop);
PC_EXPORT int pc_loop_is_running(const pc_loop *loop);
/* The pl_loop of a pipeloop loop, NULL for another subject's. */
PC_EXPORT pl_loop *pc_loop_native(pc_loop *loop);
/* How long (ns) what runs loop has so far been on a CPU (*run_ns) and
 * ready to run but waiting for a CPU (*wait_ns): for pipeloop the calling
 * thread (the loop runs in it), for a subject process that process (the
 * first two fields of /proc/.../schedstat).  A loop that waits is neither;
 * a busy loop is one or the other all the time, however loaded the machine
 * is.  0, or -ENOTSUP if the subject cannot say (both set to 0). */
PC_EXPORT int pc_loop_sched_time(pc_loop *loop, uint64_t *run_ns, uint64_t *wait_ns);
/* The same for process pid (its main thread), or for the calling thread
 * when pid is 0.  0, or -ENOTSUP if /proc cannot say (both set to 0). */
PC_EXPORT int pc_process_sched_time(pid_t pid, uint64_t *run_ns, uint64_t *wait_ns);
/* The pl_transport of a pipeloop transport, NULL for another subject's. */
PC_EXPORT pl_transport *pc_transport_native(pc_transport *t);
/*
 * pipeloop only: connect like the subject's connect_read_pipe (is_read 1)
 * or connect_write_pipe, through pl_connect_*_pipe_ex with PL_CONNECT_*
 * flags.  -ENOTSUP on another subject; otherwise what the library says.
 */
PC_EXPORT int pc_pipeloop_connect(pc_loop *loop, int fd, int is_read, unsigned flags,
                                  const pc_protocol *protocol, void *user,
                                  pc_transport **transport);

#ifdef __cplusplus
}
#endif
#endif /* PIPECHECK_SUBJECT_H */
