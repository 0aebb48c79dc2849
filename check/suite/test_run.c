/* Running a child to completion (spec S14: pl_run, pl_run_sync): input
 * fed and both outputs collected at once (no deadlock with a MiB each
 * way), separate stdout and stderr, the exit status, a timeout that kills
 * (the whole group when asked), output past the limit, misuse.  On both
 * backends and the SIGCHLD fallback. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <pipecheck.h>

#include "conform.h"

struct got {
    int done;
    int returncode, timed_out, overflowed, error;
    char *out, *err;
    size_t out_len, err_len;
};

static void keep_result(pl_run_result *r, void *user)
{
    struct got *g = user;
    g->done++;
    g->returncode = r->returncode;
    g->timed_out = r->timed_out;
    g->overflowed = r->overflowed;
    g->error = r->error;
    g->out = r->out, g->out_len = r->out_len;
    g->err = r->err, g->err_len = r->err_len;
    r->out = r->err = NULL; /* taken */
}

static void got_free(struct got *g)
{
    free(g->out);
    free(g->err);
}

static void run_until_done(pl_loop *loop, struct got *g)
{
    PC_RUN_UNTIL(loop, g->done, 10000);
    PC_ASSERT_EQ_INT(g->done, 1);
}

SPAWN_TEST(test_run, "S14.run-collects")
{
    pl_loop *loop = conform_spawn_loop(backend);
    char *argv[4];

    /* A MiB in through cat and out again, while stderr gets a line. */
    size_t n = 1u << 20;
    char *input = malloc(n);
    PC_ASSERT_NOT_NULL(input);
    pc_pattern_fill(pc_seed(), 0, input, n);
    pl_spawn_options o = conform_sh("cat; echo done >&2; exit 3", argv);
    pl_run_options ro = {.input = input, .input_len = n, .max_output = 2u << 20};
    struct got g = {0};
    PC_ASSERT_OK(pl_run(loop, &o, &ro, keep_result, &g));
    run_until_done(loop, &g);
    PC_ASSERT_EQ_INT(g.returncode, 3);
    PC_ASSERT_EQ_SIZE(g.out_len, n);
    PC_ASSERT_EQ_MEM(g.out, input, n);
    PC_ASSERT_EQ_STR(g.err, "done\n");
    PC_ASSERT_EQ_INT(g.timed_out + g.overflowed + g.error, 0);
    got_free(&g);
    free(input);

    /* No input: stdin is /dev/null; empty outputs are "". */
    o = conform_sh("read x || exit 4", argv);
    memset(&g, 0, sizeof g);
    PC_ASSERT_OK(pl_run(loop, &o, NULL, keep_result, &g));
    run_until_done(loop, &g);
    PC_ASSERT_EQ_INT(g.returncode, 4);
    PC_ASSERT_EQ_STR(g.out, "");
    PC_ASSERT_EQ_STR(g.err, "");
    got_free(&g);

    /* Output past the limit: what fitted is kept, the child is killed. */
    o = conform_sh("while :; do echo yyyyyyyy; done", argv);
    pl_run_options small = {.max_output = 1000};
    memset(&g, 0, sizeof g);
    PC_ASSERT_OK(pl_run(loop, &o, &small, keep_result, &g));
    run_until_done(loop, &g);
    PC_ASSERT_EQ_INT(g.overflowed, 1);
    PC_ASSERT_EQ_SIZE(g.out_len, 1000);
    PC_ASSERT_EQ_INT(g.returncode, -SIGKILL);
    got_free(&g);
    PC_ASSERT_OK(pl_loop_close(loop));
}

/* A timeout kills the child; with kill_group its background commands too
 * (one holds stdout, so without it the run could not end for 30 s). */
SPAWN_TEST(test_run_timeout, "S14.run-timeout")
{
    pl_loop *loop = conform_spawn_loop(backend);
    char *argv[4];
    for (int group = 0; group < 2; group++) {
        pl_spawn_options o =
            conform_sh(group ? "sleep 30 & wait" : "exec sleep 30", argv);
        o.new_process_group = group;
        pl_run_options ro = {.timeout_ms = 100, .kill_group = group};
        struct got g = {0};
        PC_ASSERT_OK(pl_run(loop, &o, &ro, keep_result, &g));
        run_until_done(loop, &g);
        PC_ASSERT_EQ_INT(g.timed_out, 1);
        PC_ASSERT_EQ_INT(g.returncode, -SIGKILL);
        got_free(&g);
    }
    /* Misuse: nothing runs, done is never called. */
    pl_spawn_options o = conform_sh("exit 0", argv);
    pl_run_options bad_group = {.kill_group = 1};
    pl_run_options bad_input = {.input_len = 3};
    pl_run_options bad_timeout = {.timeout_ms = -1};
    struct got g = {0};
    PC_ASSERT_ERR(pl_run(loop, &o, &bad_group, keep_result, &g), -EINVAL);
    PC_ASSERT_ERR(pl_run(loop, &o, &bad_input, keep_result, &g), -EINVAL);
    PC_ASSERT_ERR(pl_run(loop, &o, &bad_timeout, keep_result, &g), -EINVAL);
    PC_ASSERT_ERR(pl_run(loop, &o, NULL, NULL, &g), -EINVAL);
    o.file = "/nonexistent/program";
    o.argv = NULL;
    PC_ASSERT_ERR(pl_run(loop, &o, NULL, keep_result, &g), -ENOENT);
    PC_ASSERT_EQ_INT(g.done, 0);
    PC_ASSERT_OK(pl_loop_close(loop));
    PC_ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
}

/* The blocking form, on its own private loop. */
PC_TEST(run_sync, "S14.run-sync")
{
    char *argv[4];
    pl_spawn_options o = conform_sh("tr a-z A-Z; echo warn >&2", argv);
    pl_run_options ro = {.input = "hello\n", .input_len = 6};
    pl_run_result r;
    PC_ASSERT_OK(pl_run_sync(&o, &ro, &r));
    PC_ASSERT_EQ_INT(r.returncode, 0);
    PC_ASSERT_EQ_STR(r.out, "HELLO\n");
    PC_ASSERT_EQ_STR(r.err, "warn\n");
    pl_run_result_free(&r);
    PC_ASSERT_NULL(r.out);
    o.file = "/nonexistent/program";
    o.argv = NULL;
    PC_ASSERT_ERR(pl_run_sync(&o, NULL, &r), -ENOENT);
    PC_ASSERT_NULL(r.out);
}
