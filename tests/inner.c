/* Running a program from a test and collecting what it prints (inner.h). */
#include "inner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pipecheck.h>

extern char **environ;

struct buffer {
    char *data;
    size_t len, cap;
};

static void buffer_read(struct buffer *b, int *fd)
{
    if (b->cap - b->len < 4096) {
        b->cap = b->cap ? 2 * b->cap : 8192;
        b->data = realloc(b->data, b->cap);
        PC_ASSERT_NOT_NULL(b->data);
    }
    ssize_t n = read(*fd, b->data + b->len, b->cap - b->len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) { /* EOF, or EIO from a pty master once the slave is gone */
        close(*fd);
        *fd = -1;
        return;
    }
    b->len += (size_t)n;
}

static char *buffer_string(struct buffer *b)
{
    if (b->data == NULL) {
        b->data = malloc(1);
        PC_ASSERT_NOT_NULL(b->data);
    }
    b->data[b->len] = '\0';
    return b->data;
}

static PC__NORETURN void child_exec(const char *const *argv, const struct inner_opts *o,
                                    int out_fd, int err_fd)
{
    if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
        _exit(126);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
        _exit(126);
    for (const char *const *e = o->env; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL) {
            unsetenv(*e);
        } else {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
            setenv(name, eq + 1, 1);
        }
    }
    /* The signal the test sends must reach a runner that handles it: a
     * suite started in the background of a non-interactive shell has
     * SIGINT ignored, and the runner keeps an ignored signal ignored
     * (nohup's meaning), so the inner run would never stop. */
    if (o->signal)
        signal(o->signal, SIG_DFL);
    if (o->ready_fd > 0) {
        char value[16];
        snprintf(value, sizeof value, "%d", o->ready_fd);
        setenv(READY_FD_ENV, value, 1);
        fcntl(o->ready_fd, F_SETFD, 0); /* inherited across exec */
    }
    execve(argv[0], (char *const *)argv, environ);
    _exit(127);
}

/* A pty: fds[0] the master, fds[1] the slave; cols > 0 sets its width. */
static void open_pty(int fds[2], unsigned short cols)
{
    fds[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fds[0] < 0)
        PC_SKIP("no pty on this machine: %s", strerror(errno));
    PC_ASSERT_EQ_INT(grantpt(fds[0]), 0);
    PC_ASSERT_EQ_INT(unlockpt(fds[0]), 0);
    fds[1] = open(ptsname(fds[0]), O_RDWR | O_NOCTTY | O_CLOEXEC);
    PC_ASSERT_GE_INT(fds[1], 0);
    if (cols > 0) {
        struct winsize ws = {.ws_row = 24, .ws_col = cols};
        PC_ASSERT_EQ_INT(ioctl(fds[0], TIOCSWINSZ, &ws), 0);
    }
}

void run_inner(struct inner *r, const char *const *argv, const struct inner_opts *o)
{
    static const struct inner_opts none = {NULL, 0, NULL, 0, -1, 0, 0, 0};
    if (o == NULL)
        o = &none;
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (o->err_pty)
        open_pty(err, o->cols);
    else
        PC_ASSERT_EQ_INT(pipe2(err, O_CLOEXEC), 0);
    if (o->stdout_path != NULL) {
        out[1] = open(o->stdout_path, O_WRONLY | O_CLOEXEC);
        if (out[1] < 0)
            PC_SKIP("cannot open %s: %s", o->stdout_path, strerror(errno));
    } else if (o->pty) {
        open_pty(out, o->cols);
    } else {
        PC_ASSERT_EQ_INT(pipe2(out, O_CLOEXEC), 0);
    }
    pid_t pid = fork();
    PC_ASSERT_GE_INT(pid, 0);
    if (pid == 0)
        child_exec(argv, o, out[1], err[1]);
    close(out[1]);
    close(err[1]);

    struct buffer bo = {0}, be = {0};
    int ready = o->signal ? o->ready_read_fd : -1;
    uint64_t deadline = pc_deadline_ms(pc_timeout_ms());
    while (out[0] >= 0 || err[0] >= 0) {
        struct pollfd p[3] = {
            {out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {ready, POLLIN, 0}};
        uint64_t now_ms = pc_now_ns() / 1000000u;
        if (now_ms >= deadline) {
            kill(pid, SIGKILL);
            PC_FAIL("%s did not finish", argv[0]);
        }
        if (poll(p, 3, (int)(deadline - now_ms)) < 0) {
            PC_ASSERT_EQ_INT(errno, EINTR);
            continue;
        }
        if (p[0].revents)
            buffer_read(&bo, &out[0]);
        if (p[1].revents)
            buffer_read(&be, &err[0]);
        if (ready >= 0 && p[2].revents) {
            char byte;
            PC_ASSERT_EQ_INT(read(ready, &byte, 1), 1);
            PC_ASSERT_EQ_INT(kill(pid, o->signal), 0);
            ready = -1;
        }
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        PC_ASSERT_EQ_INT(errno, EINTR);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = buffer_string(&bo);
    r->err = buffer_string(&be);
}

void inner_free(struct inner *r)
{
    free(r->out);
    free(r->err);
}

const char *pipecheck_path(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s", pc_self_path());
    char *slash = strrchr(path, '/');
    PC_ASSERT_NOT_NULL(slash);
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "pipecheck");
    if (access(path, X_OK) != 0)
        PC_SKIP("no pipecheck next to this binary (%s)", path);
    return path;
}

const char *find_program(const char *name)
{
    static char path[4096];
    const char *dirs = getenv("PATH");
    while (dirs != NULL && *dirs != '\0') {
        size_t len = strcspn(dirs, ":");
        snprintf(path, sizeof path, "%.*s/%s", (int)len, dirs, name);
        if (len > 0 && access(path, X_OK) == 0)
            return path;
        dirs += len + (dirs[len] == ':');
    }
    return NULL;
}

void temp_path(char *path, size_t size, const char *what)
{
    snprintf(path, size, "/tmp/pipecheck-%s-XXXXXX", what);
    int fd = mkstemp(path);
    PC_ASSERT_GE_INT(fd, 0);
    close(fd);
}

char *read_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    PC_ASSERT_GE_INT(fd, 0);
    struct buffer b = {0};
    while (fd >= 0)
        buffer_read(&b, &fd); /* closes fd at EOF */
    return buffer_string(&b);
}
