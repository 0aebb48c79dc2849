/*
 * line_child: talk a line protocol to a child process.  The child here is
 * a small shell loop that answers every request line with one reply line;
 * we send the requests, read the replies as whole lines with a
 * pl_line_reader (whatever chunks the pipe delivers), and close the
 * child's stdin after the last answer, which ends it.
 *
 *     line_child            prints "reply 1: 2 + 3 = 5" ... and the exit code
 */
#define _POSIX_C_SOURCE 200809L
#include <pipeloop.h>
#include <stdio.h>
#include <string.h>

static const char *const requests[] = {"2 3", "40 2", "7 -7"};
#define NREQUESTS (sizeof requests / sizeof requests[0])

struct session {
    pl_process *proc;
    pl_line_reader *lines;
    size_t answered;
    int code;
};

static void on_line(const char *line, size_t len, void *user)
{
    struct session *s = user;
    printf("reply %zu: %.*s\n", s->answered + 1, (int)len, line);
    if (++s->answered == NREQUESTS) /* all answered: stdin EOF ends the child */
        pl_transport_close(pl_process_get_pipe_transport(s->proc, 0));
}

static void on_made(pl_process *p, void *user)
{
    pl_transport *in = pl_process_get_pipe_transport(p, 0);
    for (size_t i = 0; i < NREQUESTS; i++) {
        pl_transport_write(in, requests[i], strlen(requests[i]));
        pl_transport_write(in, "\n", 1);
    }
    (void)user;
}

static void on_output(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    struct session *s = user;
    (void)fd;
    if (pl_line_reader_feed(s->lines, data, len) < 0) /* a line too long */
        pl_process_close(p);
}

static void on_done(pl_process *p, void *user)
{
    struct session *s = user;
    pl_process_get_returncode(p, &s->code);
    pl_loop_stop(pl_process_get_loop(p));
}

int main(void)
{
    static const pl_process_protocol proto = {.connection_made = on_made,
                                              .pipe_data_received = on_output,
                                              .connection_lost = on_done};
    static char sh[] = "sh", dash_c[] = "-c",
                script[] = "while read a b; do echo \"$a + $b = $((a + b))\"; done";
    char *argv[] = {sh, dash_c, script, NULL};
    pl_spawn_options opts = {.file = "sh",
                             .argv = argv,
                             .stdio = {{.kind = PL_STDIO_PIPE},
                                       {.kind = PL_STDIO_PIPE},
                                       {.kind = PL_STDIO_INHERIT}}};
    struct session s = {NULL, NULL, 0, -1};
    pl_loop *loop;
    if (pl_loop_new(&loop, 0) || pl_line_reader_new(1024, on_line, &s, &s.lines) ||
        pl_spawn(loop, &opts, &proto, &s, &s.proc))
        return 1;
    pl_loop_run(loop);
    pl_loop_close(loop);
    pl_line_reader_free(s.lines);
    printf("exit code %d, %zu of %zu answered\n", s.code, s.answered, NREQUESTS);
    return s.code == 0 && s.answered == NREQUESTS ? 0 : 1;
}
