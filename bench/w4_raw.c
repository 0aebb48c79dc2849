/*
 * W4 spawn, raw: posix_spawn with two dup2 file actions and no attributes
 * (the minimum: no signal resets), blocking reads of stdout, waitpid.
 *
 * usage: w4_raw [SPAWNS]   (default 1000)
 */
#include "common.h"
#include "w4.h"

#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void spawn_one(uint64_t i)
{
    static char program[] = W4_PROGRAM;
    char *argv[] = {program, NULL};
    posix_spawn_file_actions_t actions;
    int in[2], out[2], rc, status;
    unsigned char buf[256];
    size_t output = 0;
    pid_t pid;

    bench_pipe(in);
    bench_pipe(out);
    /* dup2 clears O_CLOEXEC on the child's 0 and 1; the originals close on
     * exec. */
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    rc = posix_spawn(&pid, program, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        bench_fail_errno("posix_spawn", -rc);
    close(in[0]);
    close(out[1]);
    close(in[1]);
    for (;;) {
        ssize_t n = read(out[0], buf, sizeof buf);
        if (n > 0) {
            output += (size_t)n;
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            bench_fail_errno("read", -errno);
        }
    }
    close(out[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail_errno("waitpid", -errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || output != 0)
        bench_fail("W4 raw: spawn %llu: status 0x%x, %zu bytes of output",
                   (unsigned long long)i, (unsigned)status, output);
}

int main(int argc, char **argv)
{
    uint64_t spawns = w4_parse_args(argc, argv);
    uint64_t start = bench_now_ns();

    for (uint64_t i = 0; i < spawns; i++)
        spawn_one(i);
    w4_finish("raw", spawns, start);
    return 0;
}
