/*
 * W6 many commands, pipeloop: pl_run (S14) on one loop, W6_INFLIGHT runs
 * at a time; each run's done callback checks the result and starts the
 * next command.  pl_run feeds stdin from memory (cat) or gives the child
 * /dev/null (echo), and collects stdout and stderr separately.
 *
 * usage: w6_pl [echo|cat [COMMANDS]]   (defaults echo 10000)
 */
#define BENCH_LABEL "W6 pl"
#include "common.h"
#include "w6.h"
#include "pl_util.h"

#include <pipeloop.h>

static struct w6_args args;
static struct w6_slot slots[W6_INFLIGHT];
static uint64_t next_index, completed;
static pl_loop *loop;

static void on_done(pl_run_result *result, void *user);

static void start(struct w6_slot *slot)
{
    pl_spawn_options options = {.file = slot->argv[0], .argv = slot->argv};
    pl_run_options run = {.input = slot->input, .input_len = w6_input_len(&args)};

    w6_slot_prepare(slot, next_index++);
    bench_pl_check(pl_run(loop, &options, &run, on_done, slot), "pl_run");
}

static void on_done(pl_run_result *result, void *user)
{
    struct w6_slot *slot = user;

    bench_pl_check(result->error, "pl_run result");
    w6_check("pl", slot->index, result->out, result->out_len, result->err_len,
             result->returncode);
    completed++;
    if (next_index < args.commands)
        start(slot);
    else if (completed == args.commands)
        pl_loop_stop(loop);
}

int main(int argc, char **argv)
{
    args = w6_parse_args(argc, argv);
    for (size_t k = 0; k < W6_INFLIGHT; k++)
        w6_slot_init(&slots[k], &args);
    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    w6_begin();
    for (size_t k = 0; k < W6_INFLIGHT && next_index < args.commands; k++)
        start(&slots[k]);
    bench_pl_check(pl_loop_run(loop), "pl_loop_run");
    w6_finish("pl", completed);
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");
    return 0;
}
