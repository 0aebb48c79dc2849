/*
 * W6 many commands, raw: posix_spawn (dup2 file actions, no attributes:
 * no signal reset, which libuv and pipeloop do) and one poll(2) loop over
 * every pipe of the W6_INFLIGHT commands in flight.  stdin is /dev/null
 * (echo, opened by a file action) or a non-blocking pipe written as poll
 * allows and closed after the input (cat); stdout and stderr are
 * non-blocking pipes read into per-command buffers until EOF; then the
 * child is reaped with a blocking waitpid (it has closed its outputs, so
 * it is exiting) and the next command starts in its slot.
 *
 * usage: w6_raw [echo|cat [COMMANDS]]   (defaults echo 10000)
 */
#include "common.h"
#include "w6.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct command {
    struct w6_slot slot;
    pid_t pid;
    int in, out, err; /* -1 once closed */
    size_t written;
    char *buf; /* stdout */
    size_t len, cap;
    size_t err_len;
    int active;
};

static struct w6_args args;
static struct command commands[W6_INFLIGHT];
static uint64_t next_index, completed;
static unsigned char scratch[BENCH_READ_SIZE];

static void start(struct command *c)
{
    posix_spawn_file_actions_t actions;
    int in[2] = {-1, -1}, out[2], err[2], rc;

    w6_slot_prepare(&c->slot, next_index++);
    bench_pipe(out);
    bench_pipe(err);
    posix_spawn_file_actions_init(&actions);
    if (args.kind == W6_CAT) {
        bench_pipe(in);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    rc = posix_spawn(&c->pid, c->slot.argv[0], &actions, NULL, c->slot.argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        bench_fail_errno("posix_spawn", -rc);
    close(out[1]);
    close(err[1]);
    c->in = -1;
    if (in[0] >= 0) {
        close(in[0]);
        c->in = in[1];
        bench_set_nonblocking(c->in, 1);
    }
    c->out = out[0];
    c->err = err[0];
    bench_set_nonblocking(c->out, 1);
    bench_set_nonblocking(c->err, 1);
    c->written = 0;
    c->len = 0;
    c->err_len = 0;
    c->active = 1;
}

static void write_input(struct command *c)
{
    size_t total = w6_input_len(&args);
    while (c->written < total) {
        ssize_t n = write(c->in, c->slot.input + c->written, total - c->written);
        if (n > 0) {
            c->written += (size_t)n;
        } else if (errno == EAGAIN) {
            return;
        } else if (errno != EINTR) {
            bench_fail_errno("write", -errno);
        }
    }
    close(c->in);
    c->in = -1;
}

/* Read what is there; closes the fd on EOF. */
static void read_out(struct command *c, int *fd, int is_err)
{
    for (;;) {
        if (!is_err && c->cap - c->len < 4096) {
            c->cap = c->cap ? c->cap * 2 : 8192;
            c->buf = realloc(c->buf, c->cap);
            if (c->buf == NULL)
                bench_fail("out of memory");
        }
        void *dst = is_err ? (void *)scratch : c->buf + c->len;
        size_t room = is_err ? sizeof scratch : c->cap - c->len;
        ssize_t n = read(*fd, dst, room);
        if (n > 0) {
            if (is_err)
                c->err_len += (size_t)n;
            else
                c->len += (size_t)n;
        } else if (n == 0) {
            close(*fd);
            *fd = -1;
            return;
        } else if (errno == EAGAIN) {
            return;
        } else if (errno != EINTR) {
            bench_fail_errno("read", -errno);
        }
    }
}

static void finish(struct command *c)
{
    int status;

    while (waitpid(c->pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail_errno("waitpid", -errno);
    w6_check("raw", c->slot.index, c->buf, c->len, c->err_len,
             WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    completed++;
    c->active = 0;
    if (next_index < args.commands)
        start(c);
}

int main(int argc, char **argv)
{
    struct pollfd fds[W6_INFLIGHT * 3];
    struct command *owner[W6_INFLIGHT * 3];
    int which[W6_INFLIGHT * 3]; /* 0 in, 1 out, 2 err */

    args = w6_parse_args(argc, argv);
    for (size_t k = 0; k < W6_INFLIGHT; k++)
        w6_slot_init(&commands[k].slot, &args);
    w6_begin();
    for (size_t k = 0; k < W6_INFLIGHT && next_index < args.commands; k++)
        start(&commands[k]);
    while (completed < args.commands) {
        nfds_t n = 0;
        for (size_t k = 0; k < W6_INFLIGHT; k++) {
            struct command *c = &commands[k];
            if (!c->active)
                continue;
            if (c->in >= 0) {
                fds[n] = (struct pollfd){.fd = c->in, .events = POLLOUT};
                owner[n] = c;
                which[n++] = 0;
            }
            if (c->out >= 0) {
                fds[n] = (struct pollfd){.fd = c->out, .events = POLLIN};
                owner[n] = c;
                which[n++] = 1;
            }
            if (c->err >= 0) {
                fds[n] = (struct pollfd){.fd = c->err, .events = POLLIN};
                owner[n] = c;
                which[n++] = 2;
            }
        }
        if (poll(fds, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            bench_fail_errno("poll", -errno);
        }
        for (nfds_t k = 0; k < n; k++) {
            struct command *c = owner[k];
            if (fds[k].revents == 0)
                continue;
            if (which[k] == 0) {
                if (fds[k].revents & (POLLERR | POLLHUP))
                    bench_fail("W6 raw: command %llu stopped reading its stdin",
                               (unsigned long long)c->slot.index);
                write_input(c);
            } else if (which[k] == 1) {
                read_out(c, &c->out, 0);
            } else {
                read_out(c, &c->err, 1);
            }
            /* A slot finishes (and restarts) only after its last fd in this
             * pass: later entries of fds for it are then stale, so skip
             * them by finishing at the end of the command's entries. */
            if (c->in < 0 && c->out < 0 && c->err < 0 &&
                (k + 1 == n || owner[k + 1] != c))
                finish(c);
        }
    }
    w6_finish("raw", completed);
    return 0;
}
