/* Running a program and collecting its output: the bench's own tests run
 * this binary (or the pipecheck CLI) again and look at what it printed. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipecheck.h"

extern char **environ;

const char *pc_self_path(void)
{
    /* readlink, not "/proc/self/exe" itself: under valgrind only the
     * former names this program rather than valgrind's tool. */
    static char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    PC_ASSERT_GT_INT(len, 0);
    exe[len] = '\0';
    return exe;
}

char *pc_run_capture(const char *path, const char *const *argv, int *status)
{
    if (!path)
        path = pc_self_path();
    int fds[2];
    PC_ASSERT_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    PC_ASSERT_EQ_INT(posix_spawn_file_actions_init(&actions), 0);
    PC_ASSERT_EQ_INT(posix_spawn_file_actions_adddup2(&actions, fds[1], 1), 0);
    PC_ASSERT_EQ_INT(posix_spawn_file_actions_adddup2(&actions, fds[1], 2), 0);
    pid_t pid;
    /* posix_spawn's argv is char *const[] for historical reasons; it does
     * not write to the strings. */
    int err =
        posix_spawn(&pid, path, &actions, NULL, (char *const *)(uintptr_t)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        PC_FAIL("posix_spawn %s: %s", path, strerror(err));
    }
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    PC_ASSERT_NOT_NULL(text);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            text = realloc(text, cap);
            PC_ASSERT_NOT_NULL(text);
        }
        ssize_t n = read(fds[0], text + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        PC_ASSERT_EQ_INT(errno, EINTR);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return text;
}
