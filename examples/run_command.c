/*
 * run_command: run a command, stream its output as it comes, and exit with
 * its exit code.
 *
 *     $ ./run_command sh -c 'echo hello; echo oops >&2; exit 3'
 *     [stdout] hello
 *     [stderr] oops
 *     exited with 3
 *
 * The child's stdout and stderr are pipes read by the loop; its stdin is
 * /dev/null.  A child killed by a signal exits 128 + the signal number, as
 * in the shell.
 */
#include <stdio.h>
#include <string.h>

#include <pipeloop.h>

struct run {
    int line_start[3]; /* at the start of a line on fd 1 / fd 2 */
    int returncode;
};

static void on_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    struct run *run = user;
    const char *s = data;
    (void)p;
    /* Prefix each line with where it came from. */
    for (size_t i = 0; i < len; i++) {
        if (run->line_start[fd])
            fputs(fd == 1 ? "[stdout] " : "[stderr] ", stdout);
        putchar(s[i]);
        run->line_start[fd] = s[i] == '\n';
    }
    fflush(stdout);
}

static void on_exited(pl_process *p, void *user)
{
    struct run *run = user;
    pl_process_get_returncode(p, &run->returncode);
}

static void on_lost(pl_process *p, void *user)
{
    (void)user;
    /* Every pipe is closed and the child has been reaped. */
    pl_loop_stop(pl_process_get_loop(p));
}

static const pl_process_protocol protocol = {
    .pipe_data_received = on_data,
    .process_exited = on_exited,
    .connection_lost = on_lost,
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
        return 2;
    }
    pl_loop *loop;
    int err = pl_loop_new(&loop, 0);
    if (err) {
        fprintf(stderr, "pl_loop_new: %s\n", pl_strerror(err));
        return 1;
    }

    pl_spawn_options options;
    memset(&options, 0, sizeof options);
    options.file = argv[1];
    options.argv = argv + 1;
    options.stdio[0].kind = PL_STDIO_DEVNULL;
    options.stdio[1].kind = PL_STDIO_PIPE;
    options.stdio[2].kind = PL_STDIO_PIPE;

    struct run run = {{1, 1, 1}, 0};
    pl_process *process;
    err = pl_spawn(loop, &options, &protocol, &run, &process);
    if (err) {
        /* Exec failures (no such program, permission) come back here. */
        fprintf(stderr, "%s: %s\n", argv[1], pl_strerror(err));
        pl_loop_close(loop);
        return 127;
    }
    pl_loop_run(loop); /* until on_lost stops it */
    pl_loop_close(loop);

    if (run.returncode < 0) {
        printf("killed by signal %d\n", -run.returncode);
        return 128 - run.returncode;
    }
    printf("exited with %d\n", run.returncode);
    return run.returncode;
}
