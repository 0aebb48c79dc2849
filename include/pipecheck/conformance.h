/*
 * pipecheck's conformance layer: the fuzzer (check/fuzz.c), the spec's
 * behaviour IDs (check/spec.c) and the conformance suite's test table
 * (check/conformance.c).  Part of pipecheck.h; include that.
 */
#ifndef PIPECHECK_CONFORMANCE_H
#define PIPECHECK_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pairs.h"
#include "recorder.h"
#include "subject.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Random operation sequences against a model (pipecheck --fuzz)             */

/*
 * pc_fuzz runs random sequences of operations on a write transport and a
 * read transport of one kind and backend: writes of random sizes (copied,
 * lent, writev), limit changes, write_eof, close and abort; pause, resume
 * and close; a peer that reads, writes and closes the far ends at random;
 * single loop iterations.  After every step, and when both are driven to
 * their end, the callbacks, return values and byte streams must be ones an
 * executable model of spec groups C R W F D E allows.  Each sequence runs
 * in a child process (a crash or a hang counts as a divergence); sequence
 * i is made from seed + i, so any one can be replayed.  A diverging
 * sequence is shrunk (operations removed while it still diverges) and the
 * shortest one is printed to log with what went wrong.
 */
typedef struct pc_fuzz_options {
    double seconds;           /* run sequences for about this long (>= one) */
    uint64_t seed;            /* first sequence's seed; 0: from the clock */
    const char *const *kinds; /* kind names to use; NULL/0: every kind whose
                                 far end is in this process */
    size_t nkinds;
    unsigned backends; /* PL_LOOP_EPOLL | PL_LOOP_POLL | PL_LOOP_IO_URING; 0: all
                          (io_uring where a ring can be made) */
    size_t max_ops;    /* operations per sequence, at most (0: 200) */
    int stop_at_first; /* stop after the first divergence */
    FILE *log;         /* NULL: stderr */
} pc_fuzz_options;

typedef struct pc_fuzz_result {
    uint64_t sequences;
    uint64_t operations;
    uint64_t divergences;
} pc_fuzz_result;

/* Returns 0 (see *out for divergences), -EINVAL if no kind or backend is
 * left, or -ENOMEM. */
PC_EXPORT int pc_fuzz(const pc_fuzz_options *options, pc_fuzz_result *out);

/* ------------------------------------------------------------------------ */
/* The spec's behaviour IDs                                                  */

/* One behaviour of the catalogue, docs/behaviours.md in the source tree
 * (what each ID means and where asyncio differs). */
typedef struct pc_spec_item {
    const char *id;      /* "R4" */
    const char *section; /* "Read transport" */
    const char *meaning; /* one line */
} pc_spec_item;

/* Every ID in spec order. */
PC_EXPORT size_t pc_spec_count(void);
PC_EXPORT const pc_spec_item *pc_spec_get(size_t i);
/* The item of an ID, or NULL. */
PC_EXPORT const pc_spec_item *pc_spec_find(const char *id);
/* Is the ID one the spec marks OURS (pipeloop differs from asyncio on
 * purpose)?  1/0.  Another subject failing it "differs". */
PC_EXPORT int pc_spec_is_ours(const char *id);

/* ------------------------------------------------------------------------ */
/* The conformance suite                                                     */

typedef struct pc_ctx pc_ctx;

/* Which near-end directions a conformance test needs. */
enum pc_conformance_needs {
    PC_NEEDS_LOOP = 0,        /* loop only: one instance per backend */
    PC_NEEDS_READ = 1u << 0,  /* a read transport on the kind's near end */
    PC_NEEDS_WRITE = 1u << 1, /* a write transport on the kind's near end */
};

/*
 * One test body, run over every pipe kind it applies to and every backend
 * (epoll, poll, io_uring; io_uring instances are n/a where no ring can be
 * made).
 * A kind applies when it has every PC_KIND_* flag in required and none in
 * excludes.  Instances are named "ID.slug@kind/backend" (or
 * "ID.slug@backend" for loop-only tests).
 */
typedef struct pc_conformance {
    void (*fn)(pc_ctx *ctx);
    const char *id;    /* spec ID, e.g. "R4" */
    const char *slug;  /* e.g. "pause-stops-data" */
    unsigned needs;    /* PC_NEEDS_* */
    unsigned required; /* PC_KIND_* flags a kind must have */
    unsigned excludes;
    unsigned timeout_ms; /* 0: the runner's default */
    unsigned caps;       /* PC_CAP_* a subject needs for the test to apply */
} pc_conformance;

/* What an instance body gets. */
struct pc_ctx {
    const pc_conformance *test;
    const pc_kind *kind;    /* NULL for loop-only tests */
    const char *backend;    /* "epoll", "poll" or "io_uring" */
    unsigned loop_flags;    /* PL_LOOP_EPOLL, PL_LOOP_POLL or PL_LOOP_IO_URING */
    pc_loop *loop;          /* made before the body; must close after it */
    const pc_subject *impl; /* the subject under test: pc_subject_current() */
    uint64_t seed;          /* pc_seed() mixed with the instance name */
};

/*
 * Register the test's instances (called by PC_CONFORMANCE from a
 * constructor).  After the body returns, the loop is closed and the test
 * fails if that is refused (a transport was left open).
 */
PC_EXPORT void pc_conformance_add(const pc_conformance *test);
PC_EXPORT size_t pc_conformance_count(void);
PC_EXPORT const pc_conformance *pc_conformance_get(size_t i);
/* Does the test apply to kind?  1 or 0. */
PC_EXPORT int pc_conformance_applies(const pc_conformance *test, const pc_kind *kind);
/* The test of a registered instance name ("R4.slug@pipe/epoll"), or NULL
 * for a name that is not a conformance instance.  *backend (may be NULL)
 * is set to the instance's backend. */
PC_EXPORT const pc_conformance *pc_conformance_of(const char *name, const char **backend);
/* Helper of PC_CONFORMANCE: pc_test_set_source for "ID.slug". */
PC_EXPORT void pc__conformance_set_source(const pc_conformance *test, const char *file,
                                          int line);

/*
 * Define a conformance test and register it; the fields are those of
 * pc_conformance after fn, by name, the ones left out 0:
 *     PC_CONFORMANCE(r4_pause, .id = "R4", .slug = "pause-stops-data",
 *                    .needs = PC_NEEDS_READ, .timeout_ms = 30000) { ...ctx... }
 * (From C++20, name them in the struct's order; g++ would warn about the
 * fields left out, and the macro silences that.  clang-format is kept off
 * it: it would split the _Pragma string.)
 */
/* clang-format off */
#define PC_CONFORMANCE(ident, ...)                                                       \
    static void pc__conf_##ident(pc_ctx *ctx);                                           \
    _Pragma("GCC diagnostic push")                                                       \
    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")                   \
    static const pc_conformance pc__desc_##ident = {.fn = pc__conf_##ident,              \
                                                    __VA_ARGS__};                        \
    _Pragma("GCC diagnostic pop")                                                        \
    __attribute__((constructor)) static void pc__conf_register_##ident(void)             \
    {                                                                                    \
        pc_conformance_add(&pc__desc_##ident);                                           \
        pc__conformance_set_source(&pc__desc_##ident, __FILE__, __LINE__);               \
    }                                                                                    \
    static void pc__conf_##ident(pc_ctx *ctx)
/* clang-format on */

/*
 * Preconditions that belong to another behaviour.  A test asserts its own
 * behaviour; when a step it needs first is another behaviour of the spec
 * (F4 needs the pause_writing of F3 before it can wait for resume_writing),
 * it checks that step with PC_REQUIRE naming the other ID:
 *     PC_REQUIRE("F3", pc_recorder_count(rec, PC_EV_PW) == 1,
 *                "pause_writing came %zu times, not once", n);
 * If the condition is false the instance is not graded on its own row:
 *   - for a subject other than pipeloop it ends as "blocked by F3: <the
 *     message>" (pipecheck's cell "blocked", JSON "status": "blocked",
 *     "blocked_by": "F3"), counted apart from passes and failures; the
 *     failure itself is graded once, by F3's own test;
 *   - for pipeloop (PC_CAP_PIPELOOP_API), whose every behaviour must hold,
 *     it fails: "precondition F3 failed: <the message>";
 *   - when id is the running test's own ID it is an ordinary failure.
 * The running test's ID is the part of its name before the first '.'.
 * pc_blocked_by is the same without a condition.  Both may be called from
 * helpers and protocol callbacks of a conformance test.  Never return when
 * they end the test.
 */
PC_EXPORT PC__NORETURN PC__PRINTF(4, 5) void pc_blocked_by(const char *file, int line,
                                                           const char *id,
                                                           const char *fmt, ...);
#define PC_REQUIRE(id, cond, ...)                                                        \
    do {                                                                                 \
        if (!(cond))                                                                     \
            pc_blocked_by(__FILE__, __LINE__, id, __VA_ARGS__);                          \
    } while (0)
/* The prefix of a blocked instance's skip message ("blocked by F3: ..."),
 * which pipecheck and the runner's reports show as is. */
#define PC_BLOCKED_PREFIX "blocked by "

/*
 * Open a pair of the instance's kind with the near end in direction dir,
 * failing the test on error (skipping it when the machine lacks the kind,
 * e.g. no /dev/ptmx).  Close it with pc_pair_close.
 */
PC_EXPORT void pc_ctx_open_pair(pc_ctx *ctx, pc_dir dir, unsigned flags, pc_pair *pair);
/*
 * Connect a recorder-driven transport of direction dir to fd (which the
 * transport then owns), failing the test on error.  Returns the transport.
 */
PC_EXPORT pc_transport *pc_ctx_connect(pc_ctx *ctx, pc_dir dir, int fd, pc_recorder *rec);

#ifdef __cplusplus
}
#endif
#endif /* PIPECHECK_CONFORMANCE_H */
