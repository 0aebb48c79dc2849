/* Remote subjects, events: the protocol callbacks a subject reports, on
 * transports and on processes, delivered to the bench's protocols. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipecheck.h"
#include "check_internal.h"
#include "subject_remote.h"

/* ---- events ------------------------------------------------------------- */

static pc_transport *find_transport(pc_loop *l, unsigned id)
{
    for (pc_transport *t = l->transports; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

static pc_process *find_process(pc_loop *l, unsigned id)
{
    for (pc_process *p = l->processes; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

/* The fd argument of a process event: 0, 1 or 2. */
static int event_fd(pc_loop *l, char **p)
{
    size_t len;
    const char *s = pc__remote_token(p, &len);
    uint64_t fd;
    if (pc__remote_parse_u64(s, len, &fd) || fd > 2)
        pc__remote_fail(l, "protocol error: a process event without a stdio fd");
    return (int)fd;
}

/* event ID PCM|PDR FD|PPL FD CODE|PEX|PCL|PPW|PRW ITERATION: a process
 * protocol's callback. */
static void dispatch_process_event(pc_loop *l, pc_process *proc, const char *type,
                                   size_t typelen, char *p, struct msg *m)
{
    const pc_process_protocol *pr = proc->protocol;
    void *u = proc->user;
#define IS(name) (typelen == sizeof name - 1 && strncmp(type, name, typelen) == 0)
    if (IS("PCM")) {
        if (pr->connection_made)
            pr->connection_made(proc, u);
    } else if (IS("PDR")) {
        int fd = event_fd(l, &p);
        if (pr->pipe_data_received)
            pr->pipe_data_received(proc, fd, m->payload, m->payload_len, u);
    } else if (IS("PPL")) {
        int fd = event_fd(l, &p);
        size_t clen;
        const char *code = pc__remote_token(&p, &clen);
        int err = pc__remote_code_from_name(code, clen);
        if (err == PC_EEXCEPTION) {
            fprintf(stderr, "subject %s: pipe_connection_lost(%d) with %.*s\n",
                    l->cfg->name, fd, (int)clen, code);
            pc__note_exception(code, clen);
        }
        if (pr->pipe_connection_lost)
            pr->pipe_connection_lost(proc, fd, err, u);
    } else if (IS("PEX")) {
        if (pr->process_exited)
            pr->process_exited(proc, u);
    } else if (IS("PCL")) {
        if (pr->connection_lost)
            pr->connection_lost(proc, u);
    } else if (IS("PPW")) {
        if (pr->pause_writing)
            pr->pause_writing(proc, u);
    } else if (IS("PRW")) {
        if (pr->resume_writing)
            pr->resume_writing(proc, u);
    } else {
        pc__remote_fail(l, "protocol error: a process event of unknown type");
    }
#undef IS
}

static void send_return(pc_loop *l, int value)
{
    char header[32];
    snprintf(header, sizeof header, "return %d", value);
    pc__remote_send_frame(l, header, NULL, 0, -1);
}

/* event ID TYPE ITERATION [ARG]: deliver it, then tell the subject to
 * return from its callback.  The protocol callbacks may make requests of
 * their own meanwhile (they nest). */
void pc__remote_dispatch_event(pc_loop *l, struct msg *m)
{
    char *p = m->header + strlen("event");
    size_t idlen, typelen, iterlen;
    const char *id = pc__remote_token(&p, &idlen);
    const char *type = pc__remote_token(&p, &typelen);
    const char *iter = pc__remote_token(&p, &iterlen);
    uint64_t iteration;
    if (pc__remote_parse_u64(iter, iterlen, &iteration))
        pc__remote_fail(l, "protocol error: an event without an iteration");
    l->iteration = iteration;
    while (*p == ' ')
        p++;
    if (idlen == 1 && id[0] == '-') {
        /* Something the subject's loop reported on its own: an exception
         * in a callback, a logged warning.  It fails the test: a behaviour
         * of the subject, not a breach of the protocol. */
        pc_fail(__FILE__, __LINE__, "%s: %s reported by the subject's loop: %s",
                l->cfg->name, pc__subject_report_kind(type, typelen), p);
    }
    uint64_t tid;
    pc_transport *t = NULL;
    if (pc__remote_parse_u64(id, idlen, &tid) == 0 && tid <= UINT32_MAX) {
        t = find_transport(l, (unsigned)tid);
        pc_process *proc = t ? NULL : find_process(l, (unsigned)tid);
        if (proc) {
            dispatch_process_event(l, proc, type, typelen, p, m);
            send_return(l, 0);
            return;
        }
    }
    if (!t || !t->protocol)
        pc__remote_fail(l, "protocol error: an event for an unknown transport");
    const pc_protocol *pr = t->protocol;
    void *user = t->user;
    if (t->owner)
        t = t->owner; /* a protocol set later: the callback is its transport's */
    int ret = 0;
    if (typelen == 2 && strncmp(type, "CM", 2) == 0) {
        if (pr->connection_made)
            pr->connection_made(t, user);
    } else if (typelen == 2 && strncmp(type, "DR", 2) == 0) {
        if (pr->data_received)
            pr->data_received(t, m->payload, m->payload_len, user);
    } else if (typelen == 2 && strncmp(type, "ER", 2) == 0) {
        if (pr->eof_received)
            ret = pr->eof_received(t, user);
    } else if (typelen == 2 && strncmp(type, "CL", 2) == 0) {
        size_t clen;
        const char *code = pc__remote_token(&p, &clen);
        int err = pc__remote_code_from_name(code, clen);
        if (err == PC_EEXCEPTION) {
            fprintf(stderr, "subject %s: connection_lost with %s\n", l->cfg->name, code);
            pc__note_exception(code, clen);
        }
        if (pr->connection_lost)
            pr->connection_lost(t, err, user);
    } else if (typelen == 2 && strncmp(type, "PW", 2) == 0) {
        if (pr->pause_writing)
            pr->pause_writing(t, user);
    } else if (typelen == 2 && strncmp(type, "RW", 2) == 0) {
        if (pr->resume_writing)
            pr->resume_writing(t, user);
    } else {
        pc__remote_fail(l, "protocol error: an event of unknown type");
    }
    send_return(l, ret);
}
