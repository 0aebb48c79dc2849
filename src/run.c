/* Run a child to completion: feed its stdin from memory, collect stdout
 * and stderr (bounded), optionally kill it after a timeout; from inside a
 * running loop (pl_run, a callback at the end) or as a blocking call on a
 * private loop (pl_run_sync).  asyncio's communicate(), Python's
 * subprocess.run. */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_MAX_OUTPUT (1u << 20)

struct run {
    pl_process *proc;
    pl_run_cb done;
    void *user;
    size_t max_output;
    int kill_group;
    const void *input;
    size_t input_len;
    pl_timer_id timer;
    int timer_armed;
    pl_run_result result;
    size_t cap[2]; /* of result.out and result.err */
};

/* SIGKILL once, and say what it reached.  With kill_group the leader is
 * held unreaped after its exit (pl__process_hold_exit), so its group is
 * still its own to signal while the outputs are open. */
static void stop_child(struct run *r)
{
    if (r->result.killed)
        return;
    if (r->kill_group && pl_process_send_signal_group(r->proc, SIGKILL) == 0)
        r->result.killed = PL_RUN_KILLED_GROUP;
    else if (pl_process_kill(r->proc) == 0)
        r->result.killed = PL_RUN_KILLED_CHILD;
}

static void on_made(pl_process *p, void *user)
{
    struct run *r = user;
    pl_transport *in = pl_process_get_pipe_transport(p, 0);
    if (!in)
        return;
    /* The whole input at once (the transport buffers what the pipe does
     * not take), then EOF; a child that never reads gets EPIPE, which
     * only ends stdin. */
    if (r->input_len)
        (void)pl_transport_write(in, r->input, r->input_len);
    (void)pl_transport_close(in);
}

static void on_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    struct run *r = user;
    PL__UNUSED(p);
    char **buf = fd == 1 ? &r->result.out : &r->result.err;
    size_t *have = fd == 1 ? &r->result.out_len : &r->result.err_len;
    size_t *cap = &r->cap[fd == 1 ? 0 : 1];
    int *overflowed = fd == 1 ? &r->result.out_overflowed : &r->result.err_overflowed;
    if (*overflowed || r->result.error)
        return; /* each stream keeps its own first max_output bytes */
    size_t take = len;
    if (*have + take > r->max_output) {
        take = r->max_output - *have;
        *overflowed = 1;
        r->result.overflowed = 1;
        stop_child(r);
    }
    if (*have + take + 1 > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        while (ncap < *have + take + 1)
            ncap *= 2;
        char *nbuf = pl__realloc(*buf, ncap);
        if (!nbuf) {
            r->result.error = -ENOMEM;
            stop_child(r);
            return;
        }
        *buf = nbuf;
        *cap = ncap;
    }
    memcpy(*buf + *have, data, take);
    *have += take;
    (*buf)[*have] = '\0';
}

static void on_timeout(pl_loop *loop, void *user)
{
    struct run *r = user;
    PL__UNUSED(loop);
    r->timer_armed = 0;
    r->result.timed_out = 1;
    stop_child(r);
}

/* Empty outputs are "" rather than NULL. */
static int ensure_text(char **buf)
{
    if (*buf)
        return 0;
    *buf = pl__calloc(1, 1);
    return *buf ? 0 : -ENOMEM;
}

static void on_lost(pl_process *p, void *user)
{
    struct run *r = user;
    if (r->timer_armed)
        (void)pl_timer_cancel(pl_process_get_loop(p), r->timer);
    (void)pl_process_get_returncode(p, &r->result.returncode);
    if (!r->result.error && (ensure_text(&r->result.out) || ensure_text(&r->result.err)))
        r->result.error = -ENOMEM;
    r->done(&r->result, r->user);
    pl_run_result_free(&r->result);
    free(r);
}

static const pl_process_protocol run_protocol = {.connection_made = on_made,
                                                 .pipe_data_received = on_data,
                                                 .connection_lost = on_lost};

static int run_start(pl_loop *loop, const pl_spawn_options *options,
                     const pl_run_options *run, pl_run_cb done, void *user,
                     struct run **started)
{
    static const pl_run_options defaults = {0};
    if (!loop || !options || !done)
        return -EINVAL;
    if (!run)
        run = &defaults;
    if (run->timeout_ms < 0 || (run->input_len && !run->input))
        return -EINVAL;
    if (run->kill_group && !options->new_process_group && !options->new_session &&
        !options->detached)
        return -EINVAL;
    /* Only stdout and stderr are read: a pipe on another fd would have
     * nobody reading (or writing) it. */
    for (size_t i = 0; i < options->nextra; i++)
        if (options->extra && options->extra[i].kind == PL_STDIO_PIPE)
            return -EINVAL;
    struct run *r = pl__calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->done = done;
    r->user = user;
    r->max_output = run->max_output ? run->max_output : DEFAULT_MAX_OUTPUT;
    r->kill_group = run->kill_group;
    r->input = run->input;
    r->input_len = run->input_len;
    pl_spawn_options o = *options;
    o.pty = 0;
    o.stdio[0].kind = run->input ? PL_STDIO_PIPE : PL_STDIO_DEVNULL;
    o.stdio[1].kind = PL_STDIO_PIPE;
    o.stdio[2].kind = PL_STDIO_PIPE;
    int err = 0;
    if (run->timeout_ms > 0) {
        err = pl_call_later(loop, (uint64_t)run->timeout_ms, on_timeout, r, &r->timer);
        if (err) {
            free(r);
            return err;
        }
        r->timer_armed = 1;
    }
    err = pl_spawn(loop, &o, &run_protocol, r, &r->proc);
    if (err) {
        if (r->timer_armed)
            (void)pl_timer_cancel(loop, r->timer);
        free(r);
        return err;
    }
    if (r->kill_group)
        pl__process_hold_exit(r->proc);
    *started = r;
    return 0;
}

int pl_run(pl_loop *loop, const pl_spawn_options *options, const pl_run_options *run,
           pl_run_cb done, void *user)
{
    struct run *r;
    return run_start(loop, options, run, done, user, &r);
}

/* pl_run_sync: the result is moved out of the callback into the caller's. */
struct sync_state {
    pl_run_result *out;
    int finished;
};

static void sync_done(pl_run_result *result, void *user)
{
    struct sync_state *s = user;
    *s->out = *result;
    memset(result, 0, sizeof *result); /* the buffers are the caller's now */
    s->finished = 1;
}

int pl_run_sync(const pl_spawn_options *options, const pl_run_options *run,
                pl_run_result *result)
{
    if (!result)
        return -EINVAL;
    memset(result, 0, sizeof *result);
    pl_loop *loop;
    int err = pl_loop_new(&loop, 0);
    if (err)
        return err;
    struct sync_state s = {result, 0};
    struct run *r = NULL;
    err = run_start(loop, options, run, sync_done, &s, &r);
    while (!err && !s.finished) {
        int n = pl_loop_run_once(loop, -1);
        if (n < 0)
            err = n;
    }
    if (err && r && !s.finished) {
        /* The poller failed for good: nothing can be waited for any more.
         * Kill and reap the child here, end its pipes, and let the loop
         * deliver the end without polling; done then runs as usual. */
        int killed = pl__process_abandon(r->proc, r->kill_group);
        if (!r->result.killed)
            r->result.killed = killed;
        while (!s.finished && pl__loop_run_without_poller(loop) > 0)
            ;
    }
    /* Nothing is left open after connection_lost. */
    int cerr = pl_loop_close(loop);
    assert(cerr == 0);
    (void)cerr;
    return err ? err : result->error;
}

void pl_run_result_free(pl_run_result *result)
{
    if (!result)
        return;
    free(result->out);
    free(result->err);
    result->out = result->err = NULL;
    result->out_len = result->err_len = 0;
}
