/*
 * pty_run: run a command under a new pseudo-terminal, as `script` does,
 * and copy what it prints to our stdout.  The child sees a terminal on
 * stdin, stdout and stderr (isatty is true, it has a controlling terminal,
 * the window size is ours or 24 x 80); our own stdin is not forwarded, so
 * the child's stdin stays open and empty until it exits.
 *
 *     pty_run ls --color=auto        colours, since ls sees a terminal
 *     pty_run sh -c 'tty; stty size'
 *
 * Exit status: the command's, or 128 + the signal that killed it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pipeloop.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void on_output(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    (void)p, (void)fd, (void)user;
    fwrite(data, 1, len, stdout);
    fflush(stdout);
}

static void on_done(pl_process *p, void *user)
{
    pl_process_get_returncode(p, user);
    pl_loop_stop(pl_process_get_loop(p));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pty_run COMMAND [ARG...]\n");
        return 2;
    }
    static const pl_process_protocol proto = {.pipe_data_received = on_output,
                                              .connection_lost = on_done};
    pl_spawn_options opts = {.file = argv[1], .argv = argv + 1, .pty = 1};
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        opts.pty_rows = ws.ws_row;
        opts.pty_cols = ws.ws_col;
    }
    pl_loop *loop;
    pl_process *proc;
    int code = -1;
    int err = pl_loop_new(&loop, 0);
    if (!err)
        err = pl_spawn(loop, &opts, &proto, &code, &proc);
    if (err) {
        fprintf(stderr, "pty_run: %s: %s\n", argv[1], pl_strerror(err));
        return 127;
    }
    pl_loop_run(loop); /* until on_done */
    pl_loop_close(loop);
    return code >= 0 ? code : 128 - code;
}
