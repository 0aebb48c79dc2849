/* The recorder protocol and loop stepping. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipecheck.h"

/* ---- recorder ---------------------------------------------------------- */

struct pc_recorder {
    pc_loop *loop;
    char label[64];
    pc_transport *transport;
    pc_event *events;
    size_t nevents, cap;
    size_t counts[PC_EV_RW + 1];
    uint64_t bytes;
    size_t max_chunk;
    int lost, error, paused, eof;
    const pc_protocol *hooks;
    void *hook_user;
    char *data;
    size_t data_len, data_max;
    int check_pattern;
    uint64_t pattern_seed;
    char sequence[512];
};

static const char *event_name(pc_event_type type)
{
    switch (type) {
    case PC_EV_CM:
        return "CM";
    case PC_EV_DR:
        return "DR";
    case PC_EV_ER:
        return "ER";
    case PC_EV_CL:
        return "CL";
    case PC_EV_PW:
        return "PW";
    case PC_EV_RW:
        return "RW";
    }
    return "??";
}

void pc_recorder_print(const pc_recorder *rec, FILE *f)
{
    fprintf(f, "event log of %s (%zu entries):\n", rec->label, rec->nevents);
    for (size_t i = 0; i < rec->nevents; i++) {
        const pc_event *e = &rec->events[i];
        fprintf(f, "  iter %llu", (unsigned long long)e->first_iteration);
        if (e->last_iteration != e->first_iteration)
            fprintf(f, "-%llu", (unsigned long long)e->last_iteration);
        fprintf(f, "  %s", event_name(e->type));
        if (e->type == PC_EV_DR)
            fprintf(f, " x%zu, %llu bytes", e->count, (unsigned long long)e->bytes);
        if (e->type == PC_EV_CL)
            fprintf(f, "(%s)", pl_err_name(e->error));
        fputc('\n', f);
    }
    if (!rec->lost)
        fprintf(f, "  (no connection_lost yet)\n");
}

static void print_on_failure(void *arg)
{
    pc_recorder_print(arg, stderr);
}

pc_recorder *pc_recorder_new(pc_loop *loop, const char *label)
{
    pc_recorder *rec = calloc(1, sizeof *rec);
    if (!rec)
        PC_FAIL("out of memory for a recorder");
    rec->loop = loop;
    snprintf(rec->label, sizeof rec->label, "%s", label ? label : "transport");
    if (pc_on_failure(print_on_failure, rec) != 0)
        PC_FAIL("cannot register the recorder's failure hook");
    return rec;
}

void pc_recorder_free(pc_recorder *rec)
{
    if (!rec)
        return;
    pc_on_failure_remove(print_on_failure, rec);
    free(rec->events);
    free(rec->data);
    free(rec);
}

void pc_recorder_set_hooks(pc_recorder *rec, const pc_protocol *hooks, void *hook_user)
{
    rec->hooks = hooks;
    rec->hook_user = hook_user;
}

void pc_recorder_keep_data(pc_recorder *rec, size_t max)
{
    rec->data_max = max;
}

void pc_recorder_expect_pattern(pc_recorder *rec, uint64_t seed)
{
    rec->check_pattern = 1;
    rec->pattern_seed = seed;
}

static void violation(pc_recorder *rec, const char *what)
{
    pc_fail(__FILE__, __LINE__, "%s: protocol state machine violated: %s", rec->label,
            what);
}

static void record(pc_recorder *rec, pc_event_type type, size_t bytes, int error)
{
    uint64_t iter = pc_loop_iteration(rec->loop);
    /* The state machine every transport must follow. */
    if (rec->lost)
        violation(rec, "a callback after connection_lost");
    if (type != PC_EV_CM && rec->counts[PC_EV_CM] == 0)
        violation(rec, "a callback before connection_made");
    if (type == PC_EV_CM && rec->counts[PC_EV_CM] > 0)
        violation(rec, "connection_made twice");
    if (type == PC_EV_DR && rec->eof)
        violation(rec, "data_received after eof_received");
    if (type == PC_EV_ER && rec->eof)
        violation(rec, "eof_received twice");
    if (type == PC_EV_PW && rec->paused)
        violation(rec, "pause_writing twice without resume_writing");
    if (type == PC_EV_RW && !rec->paused)
        violation(rec, "resume_writing without pause_writing");

    rec->counts[type]++;
    if (type == PC_EV_DR && rec->nevents > 0 &&
        rec->events[rec->nevents - 1].type == PC_EV_DR) {
        pc_event *last = &rec->events[rec->nevents - 1];
        last->count++;
        last->bytes += bytes;
        last->last_iteration = iter;
        return;
    }
    if (rec->nevents == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 32;
        pc_event *events = realloc(rec->events, cap * sizeof *events);
        if (!events)
            PC_FAIL("out of memory for the event log");
        rec->events = events;
        rec->cap = cap;
    }
    rec->events[rec->nevents++] = (pc_event){type, iter, iter, 1, bytes, error};
}

static void rec_connection_made(pc_transport *t, void *user)
{
    pc_recorder *rec = user;
    rec->transport = t;
    record(rec, PC_EV_CM, 0, 0);
    if (rec->hooks && rec->hooks->connection_made)
        rec->hooks->connection_made(t, rec->hook_user);
}

static void rec_data_received(pc_transport *t, const void *data, size_t len, void *user)
{
    pc_recorder *rec = user;
    record(rec, PC_EV_DR, len, 0);
    if (len == 0)
        violation(rec, "data_received with 0 bytes");
    if (rec->check_pattern) {
        size_t bad = pc_pattern_check(rec->pattern_seed, rec->bytes, data, len);
        if (bad < len)
            pc_fail(__FILE__, __LINE__,
                    "%s: byte %llu of the stream is wrong (pattern seed %llu)",
                    rec->label, (unsigned long long)(rec->bytes + (uint64_t)bad),
                    (unsigned long long)rec->pattern_seed);
    }
    if (rec->data_len < rec->data_max) {
        size_t n = len;
        if (n > rec->data_max - rec->data_len)
            n = rec->data_max - rec->data_len;
        if (!rec->data) {
            rec->data = malloc(rec->data_max);
            if (!rec->data)
                PC_FAIL("out of memory for received data");
        }
        memcpy(rec->data + rec->data_len, data, n);
        rec->data_len += n;
    }
    rec->bytes += len;
    if (len > rec->max_chunk)
        rec->max_chunk = len;
    if (rec->hooks && rec->hooks->data_received)
        rec->hooks->data_received(t, data, len, rec->hook_user);
}

static int rec_eof_received(pc_transport *t, void *user)
{
    pc_recorder *rec = user;
    record(rec, PC_EV_ER, 0, 0);
    rec->eof = 1;
    if (rec->hooks && rec->hooks->eof_received)
        return rec->hooks->eof_received(t, rec->hook_user);
    return 0;
}

static void rec_connection_lost(pc_transport *t, int error, void *user)
{
    pc_recorder *rec = user;
    record(rec, PC_EV_CL, 0, error);
    rec->lost = 1;
    rec->error = error;
    if (rec->hooks && rec->hooks->connection_lost)
        rec->hooks->connection_lost(t, error, rec->hook_user);
}

static void rec_pause_writing(pc_transport *t, void *user)
{
    pc_recorder *rec = user;
    record(rec, PC_EV_PW, 0, 0);
    rec->paused = 1;
    if (rec->hooks && rec->hooks->pause_writing)
        rec->hooks->pause_writing(t, rec->hook_user);
}

static void rec_resume_writing(pc_transport *t, void *user)
{
    pc_recorder *rec = user;
    record(rec, PC_EV_RW, 0, 0);
    rec->paused = 0;
    if (rec->hooks && rec->hooks->resume_writing)
        rec->hooks->resume_writing(t, rec->hook_user);
}

const pc_protocol pc_recorder_protocol = {
    rec_connection_made, rec_data_received, rec_eof_received,
    rec_connection_lost, rec_pause_writing, rec_resume_writing,
};

size_t pc_recorder_count(const pc_recorder *rec, pc_event_type type)
{
    return type >= PC_EV_CM && type <= PC_EV_RW ? rec->counts[type] : 0;
}

uint64_t pc_recorder_bytes(const pc_recorder *rec)
{
    return rec->bytes;
}

size_t pc_recorder_max_chunk(const pc_recorder *rec)
{
    return rec->max_chunk;
}

int pc_recorder_lost(const pc_recorder *rec)
{
    return rec->lost;
}

int pc_recorder_error(const pc_recorder *rec)
{
    return rec->error;
}

int pc_recorder_paused(const pc_recorder *rec)
{
    return rec->paused;
}

pc_transport *pc_recorder_transport(const pc_recorder *rec)
{
    return rec->transport;
}

const void *pc_recorder_data(const pc_recorder *rec, size_t *len)
{
    if (len)
        *len = rec->data_len;
    return rec->data;
}

size_t pc_recorder_nevents(const pc_recorder *rec)
{
    return rec->nevents;
}

const pc_event *pc_recorder_event(const pc_recorder *rec, size_t i)
{
    return i < rec->nevents ? &rec->events[i] : NULL;
}

uint64_t pc_recorder_iteration_of(const pc_recorder *rec, pc_event_type type)
{
    for (size_t i = rec->nevents; i-- > 0;)
        if (rec->events[i].type == type)
            return rec->events[i].last_iteration;
    return 0;
}

const char *pc_recorder_sequence(pc_recorder *rec)
{
    size_t off = 0;
    rec->sequence[0] = '\0';
    for (size_t i = 0; i < rec->nevents && off + 4 < sizeof rec->sequence; i++) {
        int n = snprintf(rec->sequence + off, sizeof rec->sequence - off, "%s%s",
                         i ? " " : "", event_name(rec->events[i].type));
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return rec->sequence;
}

/* ---- stepping ---------------------------------------------------------- */

uint64_t pc_deadline_ms(unsigned timeout_ms)
{
    return pc_now_ns() / 1000000u + pc_scale_ms(timeout_ms);
}

/* One iteration of a pipeloop loop, or of the current subject's loop: the
 * two kinds of step the helpers below drive. */
static int run_once_pipeloop(void *loop, int timeout_ms)
{
    return pl_loop_run_once(loop, timeout_ms);
}

static int run_once_subject(void *loop, int timeout_ms)
{
    return pc_loop_step(loop, timeout_ms);
}

/* "asyncio: one loop iteration", the subject's step in failure messages. */
static const char *subject_step_name(char *buf, size_t size)
{
    snprintf(buf, size, "%s: one loop iteration", pc_subject_current()->name);
    return buf;
}

/* One step of at most the time left until deadline (at most 60 s); fails
 * at file:line when the deadline has passed (naming what was awaited) or
 * the step fails ("<step_name> failed: <error>"). */
static void step_once(int (*step)(void *, int), void *loop, uint64_t deadline,
                      const char *file, int line, const char *what, const char *step_name)
{
    uint64_t now = pc_now_ns() / 1000000u;
    if (now >= deadline)
        pc_fail(file, line, "timed out waiting for: %s", what);
    uint64_t left = deadline - now;
    int r = step(loop, left > 60000 ? 60000 : (int)left);
    if (r < 0)
        pc_fail(file, line, "%s failed: %s", step_name, pl_err_name(r));
}

/* Steps of at most quiet_ms until one runs nothing: the step count.  Fails
 * when timeout_ms pass first or a step fails. */
static unsigned step_until_quiet(int (*step)(void *, int), void *loop, unsigned quiet_ms,
                                 unsigned timeout_ms, const char *step_name)
{
    uint64_t deadline = pc_deadline_ms(timeout_ms);
    unsigned quiet = pc_scale_ms(quiet_ms);
    unsigned iterations = 0;
    for (;;) {
        if (pc_now_ns() / 1000000u >= deadline)
            PC_FAIL("the loop did not go quiet within %u ms", pc_scale_ms(timeout_ms));
        int r = step(loop, (int)quiet);
        iterations++;
        if (r < 0)
            PC_FAIL("%s failed: %s", step_name, pl_err_name(r));
        if (r == 0)
            return iterations;
    }
}

void pc_step(pl_loop *loop, uint64_t deadline, const char *file, int line,
             const char *what)
{
    step_once(run_once_pipeloop, loop, deadline, file, line, what, "pl_loop_run_once");
}

unsigned(pc_run_until_quiet)(pl_loop *loop, unsigned quiet_ms, unsigned timeout_ms)
{
    return step_until_quiet(run_once_pipeloop, loop, quiet_ms, timeout_ms,
                            "pl_loop_run_once");
}

void pc_loop_step_until(pc_loop *loop, uint64_t deadline, const char *file, int line,
                        const char *what)
{
    char name[96];
    step_once(run_once_subject, loop, deadline, file, line, what,
              subject_step_name(name, sizeof name));
}

unsigned pc_loop_run_until_quiet(pc_loop *loop, unsigned quiet_ms, unsigned timeout_ms)
{
    const pc_subject *s = pc_subject_current();
    if (s->run_until_quiet) {
        int r = s->run_until_quiet(loop, pc_scale_ms(quiet_ms), pc_scale_ms(timeout_ms));
        if (r < 0)
            PC_FAIL("%s: the loop did not go quiet within %u ms: %s", s->name,
                    pc_scale_ms(timeout_ms), pl_err_name(r));
        return (unsigned)r;
    }
    char name[96];
    return step_until_quiet(run_once_subject, loop, quiet_ms, timeout_ms,
                            subject_step_name(name, sizeof name));
}
