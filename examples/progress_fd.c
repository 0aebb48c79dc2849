/*
 * progress_fd: a child with a fourth stdio slot.  The child's stdout and
 * stderr stay the terminal's (inherited), and its fd 3 is a pipe to us on
 * which it reports progress, one line per step, the way tools take a
 * --status-fd.  We read the progress lines with a pl_line_reader and draw
 * our own line for each, while the child's own output goes through as is.
 *
 *     progress_fd           prints the child's "working on part N" lines
 *                           and our "[progress] N/3" lines, then the exit code
 */
#define _POSIX_C_SOURCE 200809L
#include <pipeloop.h>
#include <stdio.h>
#include <string.h>

#define PROGRESS_FD 3

struct session {
    pl_line_reader *lines;
    int steps;
    int code;
};

static void on_line(const char *line, size_t len, void *user)
{
    struct session *s = user;
    s->steps++;
    printf("[progress] %.*s\n", (int)len, line);
    fflush(stdout); /* interleave with the child's own writes */
}

static void on_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    struct session *s = user;
    /* Only the progress pipe is ours to read: 1 and 2 are inherited. */
    if (fd == PROGRESS_FD && pl_line_reader_feed(s->lines, data, len) < 0)
        pl_process_close(p);
}

static void on_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    struct session *s = user;
    (void)p;
    (void)error;
    if (fd == PROGRESS_FD)
        pl_line_reader_finish(s->lines); /* a last line without '\n' */
}

static void on_done(pl_process *p, void *user)
{
    struct session *s = user;
    pl_process_get_returncode(p, &s->code);
    pl_loop_stop(pl_process_get_loop(p));
}

int main(void)
{
    static const pl_process_protocol proto = {.pipe_data_received = on_data,
                                              .pipe_connection_lost = on_pipe_lost,
                                              .connection_lost = on_done};
    static char sh[] = "sh", dash_c[] = "-c",
                script[] =
                    "for i in 1 2 3; do echo \"working on part $i\"; echo \"$i/3\" >&3;"
                    " done";
    char *argv[] = {sh, dash_c, script, NULL};
    static const pl_stdio_extra extra[] = {
        {.child_fd = PROGRESS_FD, .kind = PL_STDIO_PIPE, .parent_reads = 1}};
    pl_spawn_options opts = {.file = "sh",
                             .argv = argv,
                             .stdio = {{.kind = PL_STDIO_DEVNULL}},
                             .extra = extra,
                             .nextra = 1};
    struct session s = {NULL, 0, -1};
    pl_loop *loop;
    pl_process *proc;
    fflush(stdout); /* the child writes to the same stdout */
    if (pl_loop_new(&loop, 0) || pl_line_reader_new(256, on_line, &s, &s.lines) ||
        pl_spawn(loop, &opts, &proto, &s, &proc))
        return 1;
    pl_loop_run(loop);
    pl_loop_close(loop);
    pl_line_reader_free(s.lines);
    printf("exit code %d, %d progress lines\n", s.code, s.steps);
    return s.code == 0 && s.steps == 3 ? 0 : 1;
}
