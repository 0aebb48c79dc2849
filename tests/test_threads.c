/* The thread-safe paths (threads.*), for ThreadSanitizer in CI (the
 * build-tsan step of .ci/run) as much as for the plain suite:
 *   - many threads posting call_soon_threadsafe to one loop at once: every
 *     call runs once, each thread's calls in its order;
 *   - two loops in two threads, each streaming through its own pipe
 *     transports (the SIGPIPE guard and the fd-mode registry are per
 *     thread / locked);
 *   - signals arriving while threads post. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

#include "conform.h"

#define POSTERS 4
#define POSTS 2000

struct post {
    struct posters *ctx;
    int thread;
    int seq;
};

struct posters {
    pl_loop *loop;
    int next[POSTERS]; /* loop thread only */
    int ran;           /* loop thread only */
    atomic_int bad;
    struct post posts[POSTERS][POSTS];
};

static void post_cb(pl_loop *loop, void *user)
{
    (void)loop;
    struct post *p = user;
    if (p->seq != p->ctx->next[p->thread])
        atomic_store(&p->ctx->bad, 1);
    p->ctx->next[p->thread]++;
    p->ctx->ran++;
}

struct poster_arg {
    struct posters *ctx;
    int thread;
};

static void *poster(void *arg)
{
    struct poster_arg *a = arg;
    for (int i = 0; i < POSTS; i++)
        if (pl_call_soon_threadsafe(a->ctx->loop, post_cb,
                                    &a->ctx->posts[a->thread][i]) != 0)
            atomic_store(&a->ctx->bad, 2);
    return NULL;
}

static void on_usr1(pl_loop *loop, int signum, void *user)
{
    (void)loop, (void)signum;
    ++*(int *)user;
}

/* Four threads post 2000 calls each while the loop runs (and, with
 * signals, while SIGUSR1 keeps arriving): all 8000 run, once, in each
 * thread's order. */
static void posters_case(unsigned backend, int with_signals)
{
    static struct posters ctx;
    memset(&ctx, 0, sizeof ctx);
    PC_ASSERT_OK(pl_loop_new(&ctx.loop, backend));
    for (int t = 0; t < POSTERS; t++)
        for (int i = 0; i < POSTS; i++)
            ctx.posts[t][i] = (struct post){&ctx, t, i};
    int signals = 0;
    if (with_signals)
        PC_ASSERT_OK(pl_loop_add_signal(ctx.loop, SIGUSR1, on_usr1, &signals));
    pthread_t threads[POSTERS];
    struct poster_arg args[POSTERS];
    for (int t = 0; t < POSTERS; t++) {
        args[t] = (struct poster_arg){&ctx, t};
        PC_ASSERT_EQ_INT(pthread_create(&threads[t], NULL, poster, &args[t]), 0);
    }
    int raised = 0;
    uint64_t deadline = pc_deadline_ms(20000);
    while (ctx.ran < POSTERS * POSTS || (with_signals && signals == 0)) {
        if (with_signals && raised < 50) {
            PC_ASSERT_OK(kill(getpid(), SIGUSR1));
            raised++;
        }
        PC_ASSERT_LT_UINT(pl_loop_update_time(ctx.loop), deadline);
        PC_ASSERT_GE_INT(pl_loop_run_once(ctx.loop, 100), 0);
    }
    for (int t = 0; t < POSTERS; t++)
        PC_ASSERT_EQ_INT(pthread_join(threads[t], NULL), 0);
    PC_ASSERT_EQ_INT(atomic_load(&ctx.bad), 0);
    PC_ASSERT_EQ_INT(ctx.ran, POSTERS * POSTS);
    if (with_signals) {
        PC_ASSERT_GT_INT(signals, 0);
        PC_ASSERT_LE_INT(signals, raised); /* signals coalesce, never multiply */
        PC_ASSERT_OK(pl_loop_remove_signal(ctx.loop, SIGUSR1));
    }
    PC_ASSERT_OK(pl_loop_close(ctx.loop));
}

PC_TEST_EACH_BACKEND(test_many_posters, "threads.many-posters")
{
    posters_case(backend->flag, 0);
}

PC_TEST_EACH_BACKEND(test_signals_while_posting, "threads.signals-while-posting")
{
    posters_case(backend->flag, 1);
}

/* ---- two loops, two threads ------------------------------------------- */

struct lane {
    unsigned backend;
    uint64_t seed;
    uint64_t received;
    int lost;
    int error;
    int ok;
    int paused;
    pl_transport *w;
    uint64_t sent;
    unsigned char chunk[8192];
};

#define LANE_BYTES (2u << 20)

static void lane_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    struct lane *l = user;
    if (pc_pattern_check(l->seed, l->received, data, len) != len)
        l->ok = 0;
    l->received += len;
}

static void lane_pump(struct lane *l)
{
    while (l->sent < LANE_BYTES && !l->paused) {
        pc_pattern_fill(l->seed, l->sent, l->chunk, sizeof l->chunk);
        if (pl_transport_write(l->w, l->chunk, sizeof l->chunk) !=
            (ssize_t)sizeof l->chunk)
            l->ok = 0;
        l->sent += sizeof l->chunk;
    }
    if (l->sent == LANE_BYTES)
        (void)pl_transport_close(l->w);
}

static void lane_made(pl_transport *t, void *user)
{
    struct lane *l = user;
    if (!pl_transport_is_read(t)) {
        l->w = t;
        lane_pump(l);
    }
}

static void lane_pause(pl_transport *t, void *user)
{
    (void)t;
    ((struct lane *)user)->paused = 1;
}

static void lane_resume(pl_transport *t, void *user)
{
    (void)t;
    struct lane *l = user;
    l->paused = 0;
    lane_pump(l);
}

static void lane_lost(pl_transport *t, int error, void *user)
{
    struct lane *l = user;
    (void)t;
    l->lost++;
    if (error)
        l->error = error;
}

static const pl_protocol lane_protocol = {.connection_made = lane_made,
                                          .data_received = lane_data,
                                          .connection_lost = lane_lost,
                                          .pause_writing = lane_pause,
                                          .resume_writing = lane_resume};

/* A loop in this thread streams 2 MiB from a write transport to a read
 * transport through its own pipe; the reader's end is given back once it
 * is done.  Results go to the lane, read after join. */
static void *lane_run(void *arg)
{
    struct lane *l = arg;
    pl_loop *loop;
    int fds[2];
    pl_transport *r, *w;
    if (pl_loop_new(&loop, l->backend) || pipe2(fds, O_CLOEXEC) ||
        pl_connect_read_pipe(loop, fds[0], &lane_protocol, l, &r) ||
        pl_connect_write_pipe(loop, fds[1], &lane_protocol, l, &w))
        return NULL;
    while (l->lost < 2)
        if (pl_loop_run_once(loop, 1000) < 0)
            return NULL;
    if (pl_loop_close(loop) != 0)
        return NULL;
    return l;
}

PC_TEST_EACH_BACKEND(test_two_loops, "threads.two-loops")
{
    static struct lane lanes[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        memset(&lanes[i], 0, sizeof lanes[i]);
        lanes[i] = (struct lane){
            .backend = backend->flag, .seed = pc_seed() + (uint64_t)i, .ok = 1};
        PC_ASSERT_EQ_INT(pthread_create(&threads[i], NULL, lane_run, &lanes[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        void *result = NULL;
        PC_ASSERT_EQ_INT(pthread_join(threads[i], &result), 0);
        if (result != &lanes[i])
            PC_FAIL("loop thread %d could not set up or run its loop", i);
        PC_ASSERT_EQ_INT(lanes[i].ok, 1);
        PC_ASSERT_EQ_UINT(lanes[i].received, LANE_BYTES);
        PC_ASSERT_EQ_INT(lanes[i].error, 0);
    }
}
