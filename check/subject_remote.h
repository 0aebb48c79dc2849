/* Internals the remote-subject files share: check/subject_process.c,
 * subject_frame.c, subject_codes.c, subject_events.c and subject_remote.c.
 * Not API. */
#ifndef PIPECHECK_SUBJECT_REMOTE_H
#define PIPECHECK_SUBJECT_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pipecheck.h"
#include "subject_internal.h"

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

/* A remote subject: its table (handed out first) and how to start it. */
struct remote_config {
    pc_subject subject; /* first: the table handed out */
    char name[256];
    char *command; /* exec: the /bin/sh -c command; NULL for the adapter */
    char loop_kind[16];
    char describe[512];
    char backends[64];
    char probe_error[512];
    char executable[1024]; /* the interpreter the adapter reported */
    int python_given;      /* "asyncio@PATH": executable is PATH, no fallback */
    int probed;
    int zygote_fd; /* SOCK_SEQPACKET to the forking adapter, or -1 */
    pid_t zygote_pid;
};

struct pc_transport {
    struct pc_transport *next;
    pc_loop *loop;
    unsigned id;
    const pc_protocol *protocol;
    void *user;
    /* NULL for a transport.  For a protocol that set_protocol gave owner:
     * the subject's events for this id are owner's callbacks into it. */
    struct pc_transport *owner;
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

/* subject_process.c: starting the subject process, failing a test that loses it. */
/* Kill and reap the subject process, close the socket: leave nothing. */
void pc__remote_reap(pc_loop *l, int kill_it, int *status);
void pc__remote_on_failure(void *arg);
PC__PRINTF(2, 3) PC__NORETURN void pc__remote_fail(pc_loop *l, const char *fmt, ...);
/* The subject closed its end: say how it ended. */
PC__NORETURN void pc__remote_subject_gone(pc_loop *l, const char *while_doing);
int pc__remote_spawn(struct remote_config *cfg, pc_loop *l);
int pc__remote_probe(const pc_subject *self, FILE *err);
const char *pc__remote_probe_error(const pc_subject *self);
int pc__remote_start(const pc_subject *self);
void pc__remote_stop(const pc_subject *self);

/* subject_frame.c: frames, tokens, deadlines, requests. */
uint64_t pc__remote_now_ms(void);
/* Split the next space-separated token off *p. */
const char *pc__remote_token(char **p, size_t *len);
int pc__remote_parse_u64(const char *s, size_t len, uint64_t *out);
uint64_t pc__remote_deadline_for(const pc_loop *l, unsigned wait_ms);
/* Send header [+ '\n' + payload], passing fd (if >= 0) with SCM_RIGHTS. */
void pc__remote_send_frame(pc_loop *l, const char *header, const void *payload,
                           size_t len, int fd);
/* Send a request and wait for its answer (ok, err, done or hello),
 * delivering the events that come first.  *reply must be freed.  The
 * subject has wait_ms (scaled here) for each message, or, for a loop
 * span (step_ms >= 0, already scaled by the caller), that span plus
 * STEP_GRACE_MS; never past the test's own limit. */
void pc__remote_request_span(pc_loop *l, const char *header, const void *payload,
                             size_t len, int fd, unsigned wait_ms, int64_t step_ms,
                             struct msg *reply);
void pc__remote_request(pc_loop *l, const char *header, const void *payload, size_t len,
                        int fd, unsigned wait_ms, struct msg *reply);

/* subject_codes.c: error codes. */
/* "EPIPE" -> -EPIPE, "ECLOSED" -> PL_ECLOSED, "0" -> 0; unknown names and
 * "EXCEPTION" give PC_EEXCEPTION. */
int pc__remote_code_from_name(const char *name, size_t len);
/* The result of an answer: 0 for ok, the code of err (its text printed
 * when it is an exception).  values[] gets up to n numbers after ok. */
int pc__remote_result_of(pc_loop *l, struct msg *reply, int64_t *values, size_t n);

/* subject_events.c: events. */
/* event ID TYPE ITERATION [ARG]: deliver it, then tell the subject to
 * return from its callback.  The protocol callbacks may make requests of
 * their own meanwhile (they nest). */
void pc__remote_dispatch_event(pc_loop *l, struct msg *m);

#endif
