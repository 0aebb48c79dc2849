/*
 * pipecheck's recorder (a protocol that logs every callback, check/recorder.c)
 * and stepping a loop until a condition holds.  Part of pipecheck.h; include
 * that.
 */
#ifndef PIPECHECK_RECORDER_H
#define PIPECHECK_RECORDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pipeloop.h>

#include "subject.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Recorder: a ready-made protocol that logs every callback                  */

typedef enum pc_event_type {
    PC_EV_CM = 1, /* connection_made */
    PC_EV_DR,     /* data_received */
    PC_EV_ER,     /* eof_received */
    PC_EV_CL,     /* connection_lost */
    PC_EV_PW,     /* pause_writing */
    PC_EV_RW,     /* resume_writing */
} pc_event_type;

/* One log entry.  Consecutive data_received calls are merged into one
 * entry (count calls, bytes in all, iterations first..last) so that the
 * log of a 64 MiB transfer stays readable. */
typedef struct pc_event {
    pc_event_type type;
    uint64_t first_iteration;
    uint64_t last_iteration;
    size_t count;
    uint64_t bytes;
    int error; /* CL only */
} pc_event;

typedef struct pc_recorder pc_recorder;

/*
 * The recorder's protocol: pass it with the recorder as user pointer to
 * connect.  Each callback logs the event with the loop's iteration, checks
 * the state machine (CM first and once; CL once and last; nothing after
 * CL; no DR after ER; PW and RW alternate, PW first) and fails the test on
 * a violation, then calls the hook of the same name, if any.
 */
PC_EXPORT extern const pc_protocol pc_recorder_protocol;

/*
 * Make a recorder for one transport on loop.  label names it in the log.
 * While it exists, a failing test prints its event log (a pc_on_failure
 * hook).  Fails the test on allocation failure; never returns NULL.
 */
PC_EXPORT pc_recorder *pc_recorder_new(pc_loop *loop, const char *label);
/* Free it and remove its failure hook.  The transport must be gone (CL
 * seen) or never connected. */
PC_EXPORT void pc_recorder_free(pc_recorder *rec);

/* Call hooks->X(t, ..., hook_user) after logging each event X. */
PC_EXPORT void pc_recorder_set_hooks(pc_recorder *rec, const pc_protocol *hooks,
                                     void *hook_user);
/* Keep up to max received bytes in memory (pc_recorder_data). */
PC_EXPORT void pc_recorder_keep_data(pc_recorder *rec, size_t max);
/* Check every received byte against the pattern of seed (pc_pattern_*):
 * the first mismatch fails the test with its offset. */
PC_EXPORT void pc_recorder_expect_pattern(pc_recorder *rec, uint64_t seed);

/* Queries. */
PC_EXPORT size_t pc_recorder_count(const pc_recorder *rec, pc_event_type type);
PC_EXPORT uint64_t pc_recorder_bytes(const pc_recorder *rec);   /* all DR bytes */
PC_EXPORT size_t pc_recorder_max_chunk(const pc_recorder *rec); /* largest DR */
PC_EXPORT int pc_recorder_lost(const pc_recorder *rec);         /* CL seen: 1/0 */
PC_EXPORT int pc_recorder_error(const pc_recorder *rec);        /* CL's error */
PC_EXPORT int pc_recorder_paused(const pc_recorder *rec);       /* PW without RW */
/* The transport from connect (set by CM); stays valid after CL only if
 * referenced (the subject's ref) or the subject is remote. */
PC_EXPORT pc_transport *pc_recorder_transport(const pc_recorder *rec);
PC_EXPORT const void *pc_recorder_data(const pc_recorder *rec, size_t *len);
PC_EXPORT size_t pc_recorder_nevents(const pc_recorder *rec);
PC_EXPORT const pc_event *pc_recorder_event(const pc_recorder *rec, size_t i);
/* The iteration of the last event of type (0 if none). */
PC_EXPORT uint64_t pc_recorder_iteration_of(const pc_recorder *rec, pc_event_type type);
/* The sequence of event types as a string, e.g. "CM DR ER CL" (merged DRs
 * count once).  Static buffer per recorder, valid until the next call. */
PC_EXPORT const char *pc_recorder_sequence(pc_recorder *rec);
/* Print the log to f. */
PC_EXPORT void pc_recorder_print(const pc_recorder *rec, FILE *f);

/* ------------------------------------------------------------------------ */
/* Stepping the loop                                                         */

/*
 * Run loop iterations until cond is true; between checks the loop blocks
 * in its poll (never a sleep), at most until the deadline.  If timeout_ms
 * (scaled by pc_scale_ms) passes first, the test fails with the condition's
 * text and every live recorder's event log: it never hangs.  loop is a
 * pl_loop (pipeloop's own tests) or a pc_loop (any subject's).
 */
#define PC_RUN_UNTIL(loop, cond, timeout_ms)                                             \
    do {                                                                                 \
        uint64_t pc__deadline = pc_deadline_ms(timeout_ms);                              \
        while (!(cond))                                                                  \
            PC__STEP(loop)(loop, pc__deadline, __FILE__, __LINE__, #cond);               \
    } while (0)
#define PC__STEP(loop) _Generic((loop), pc_loop * : pc_loop_step_until, default : pc_step)

/* The absolute CLOCK_MONOTONIC time in ms at which timeout_ms (scaled)
 * from now is over. */
PC_EXPORT uint64_t pc_deadline_ms(unsigned timeout_ms);
/* One iteration that waits at most until deadline; fails the test with
 * what (and file:line) if the deadline has passed. */
PC_EXPORT void pc_step(pl_loop *loop, uint64_t deadline, const char *file, int line,
                       const char *what);
/* The same for a subject's loop. */
PC_EXPORT void pc_loop_step_until(pc_loop *loop, uint64_t deadline, const char *file,
                                  int line, const char *what);
/*
 * Run until an iteration waits quiet_ms without running any callback, or
 * fail after timeout_ms.  Returns the number of iterations run.  Use it to
 * show that something does NOT happen (no DR while paused).
 */
PC_EXPORT unsigned pc_run_until_quiet(pl_loop *loop, unsigned quiet_ms,
                                      unsigned timeout_ms);
/* The same for a subject's loop; pc_run_until_quiet() takes either. */
PC_EXPORT unsigned pc_loop_run_until_quiet(pc_loop *loop, unsigned quiet_ms,
                                           unsigned timeout_ms);
#define pc_run_until_quiet(loop, quiet_ms, timeout_ms)                                   \
    _Generic((loop), pc_loop *                                                           \
             : pc_loop_run_until_quiet, default                                          \
             : pc_run_until_quiet)(loop, quiet_ms, timeout_ms)

#ifdef __cplusplus
}
#endif
#endif /* PIPECHECK_RECORDER_H */
