/* The line reader (spec S13, pl_line_reader): complete lines, in order,
 * over any chunking; a line past max_line is an error that ends the
 * stream; a last line without '\n' comes at finish; and over a real
 * child's stdout, on both backends and the SIGCHLD fallback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/internal.h" /* pl__alloc_fail_at */
#include <pipecheck.h>

#include "conform.h"

struct lines {
    char text[8192]; /* the lines seen, each followed by '|' */
    size_t len;
    int count;
    const char *first_ptr; /* where the first line was lent from */
};

static void on_line(const char *line, size_t len, void *user)
{
    struct lines *l = user;
    PC_ASSERT_LT_SIZE(l->len + len + 1, sizeof l->text);
    if (l->count == 0)
        l->first_ptr = line;
    memcpy(l->text + l->len, line, len);
    l->len += len;
    l->text[l->len++] = '|';
    l->text[l->len] = '\0';
    l->count++;
}

/* Every way of cutting a stream into chunks gives the same lines. */
PC_TEST(lines_any_chunking, "S13.lines-any-chunking")
{
    static const char stream[] = "alpha\nbe\r\n\n\ngamma delta\nlast";
    size_t n = sizeof stream - 1;
    for (size_t cut1 = 0; cut1 <= n; cut1++) {
        for (size_t cut2 = cut1; cut2 <= n; cut2 += 3) {
            struct lines l = {{0}, 0, 0, NULL};
            pl_line_reader *r;
            PC_ASSERT_OK(pl_line_reader_new(64, on_line, &l, &r));
            PC_ASSERT_OK(pl_line_reader_feed(r, stream, cut1));
            PC_ASSERT_OK(pl_line_reader_feed(r, stream + cut1, cut2 - cut1));
            PC_ASSERT_OK(pl_line_reader_feed(r, stream + cut2, n - cut2));
            PC_ASSERT_EQ_SIZE(pl_line_reader_pending(r), 4); /* "last" */
            PC_ASSERT_EQ_STR(l.text, "alpha|be\r|||gamma delta|");
            PC_ASSERT_OK(pl_line_reader_finish(r));
            PC_ASSERT_EQ_STR(l.text, "alpha|be\r|||gamma delta|last|");
            PC_ASSERT_EQ_INT(l.count, 6);
            pl_line_reader_free(r);
        }
    }
}

/* A whole line in one chunk is lent from the chunk itself (no copy). */
PC_TEST(lines_zero_copy, "S13.lines-whole-line-not-copied")
{
    static const char chunk[] = "one line\nand a half";
    struct lines l = {{0}, 0, 0, NULL};
    pl_line_reader *r;
    PC_ASSERT_OK(pl_line_reader_new(64, on_line, &l, &r));
    PC_ASSERT_OK(pl_line_reader_feed(r, chunk, sizeof chunk - 1));
    PC_ASSERT_EQ_PTR(l.first_ptr, chunk);
    pl_line_reader_free(r);
}

/* max_line bytes is fine; one more is -EMSGSIZE, which then sticks; the
 * lines before it were delivered. */
PC_TEST(lines_too_long, "S13.lines-too-long")
{
    for (int split = 0; split < 2; split++) {
        struct lines l = {{0}, 0, 0, NULL};
        pl_line_reader *r;
        PC_ASSERT_OK(pl_line_reader_new(5, on_line, &l, &r));
        PC_ASSERT_OK(pl_line_reader_feed(r, "12345\nok\n", 9));
        if (split) {
            PC_ASSERT_OK(pl_line_reader_feed(r, "123", 3));
            PC_ASSERT_ERR(pl_line_reader_feed(r, "456\nnext\n", 9), -EMSGSIZE);
        } else {
            PC_ASSERT_ERR(pl_line_reader_feed(r, "123456\nnext\n", 12), -EMSGSIZE);
        }
        PC_ASSERT_EQ_STR(l.text, "12345|ok|");
        PC_ASSERT_ERR(pl_line_reader_feed(r, "x\n", 2), -EMSGSIZE);
        PC_ASSERT_ERR(pl_line_reader_finish(r), -EMSGSIZE);
        PC_ASSERT_EQ_INT(l.count, 2);
        pl_line_reader_free(r);
    }
    pl_line_reader *r = NULL;
    PC_ASSERT_ERR(pl_line_reader_new(0, on_line, NULL, &r), -EINVAL);
    PC_ASSERT_ERR(pl_line_reader_new(5, NULL, NULL, &r), -EINVAL);
    PC_ASSERT_NULL(r);
    PC_ASSERT_ERR(pl_line_reader_feed(NULL, "x", 1), -EINVAL);
    pl_line_reader_free(NULL);
}

/* Keeping a split line when memory runs out ends the stream with
 * -ENOMEM, also for later calls; nothing leaks. */
PC_TEST(lines_enomem, "S13.lines-enomem")
{
    struct lines l = {{0}, 0, 0, NULL};
    pl_line_reader *r = NULL;
    pl__alloc_count = 0;
    pl__alloc_fail_at = 1;
    int err = pl_line_reader_new(64, on_line, &l, &r);
    pl__alloc_fail_at = 0;
    PC_ASSERT_ERR(err, -ENOMEM);
    PC_ASSERT_NULL(r);
    PC_ASSERT_OK(pl_line_reader_new(64, on_line, &l, &r));
    pl__alloc_count = 0;
    pl__alloc_fail_at = 1;
    err = pl_line_reader_feed(r, "a\nsplit", 7);
    pl__alloc_fail_at = 0;
    PC_ASSERT_ERR(err, -ENOMEM);
    PC_ASSERT_EQ_STR(l.text, "a|");
    PC_ASSERT_ERR(pl_line_reader_feed(r, " line\n", 6), -ENOMEM);
    PC_ASSERT_ERR(pl_line_reader_finish(r), -ENOMEM);
    pl_line_reader_free(r);
}

/* Over a child's stdout, which arrives in whatever chunks the pipe gives:
 * 2000 numbered lines, then a last one without '\n'. */
struct child_lines {
    pl_line_reader *reader;
    int next;
    int bad;
    int done;
    int last_seen;
};

static void numbered(const char *line, size_t len, void *user)
{
    struct child_lines *c = user;
    char want[32];
    int n = snprintf(want, sizeof want, "line %d", c->next);
    if (c->next == 2000) {
        c->last_seen = len == 4 && memcmp(line, "tail", 4) == 0;
        return;
    }
    if ((size_t)n != len || memcmp(line, want, len) != 0)
        c->bad = 1;
    c->next++;
}

static void child_data(pl_process *p, int fd, const void *data, size_t len, void *user)
{
    (void)p, (void)fd;
    struct child_lines *c = user;
    PC_ASSERT_OK(pl_line_reader_feed(c->reader, data, len));
}

static void child_pipe_lost(pl_process *p, int fd, int error, void *user)
{
    (void)p, (void)error;
    struct child_lines *c = user;
    if (fd == 1)
        PC_ASSERT_OK(pl_line_reader_finish(c->reader));
}

static void child_lost(pl_process *p, void *user)
{
    (void)p;
    ((struct child_lines *)user)->done = 1;
}

SPAWN_TEST(lines_from_child, "S13.lines-from-child")
{
    pl_loop *loop = conform_spawn_loop(backend);
    struct child_lines c = {NULL, 0, 0, 0, 0};
    PC_ASSERT_OK(pl_line_reader_new(100, numbered, &c, &c.reader));
    static const pl_process_protocol proto = {.pipe_data_received = child_data,
                                              .pipe_connection_lost = child_pipe_lost,
                                              .connection_lost = child_lost};
    static char sh[] = "sh", dash_c[] = "-c",
                script[] =
                    "i=0; while [ $i -lt 2000 ]; do echo \"line $i\"; i=$((i+1)); done; "
                    "printf tail";
    char *argv[] = {sh, dash_c, script, NULL};
    pl_spawn_options o;
    memset(&o, 0, sizeof o);
    o.file = "sh";
    o.argv = argv;
    o.stdio[0].kind = PL_STDIO_DEVNULL;
    o.stdio[1].kind = PL_STDIO_PIPE;
    pl_process *p;
    PC_ASSERT_OK(pl_spawn(loop, &o, &proto, &c, &p));
    PC_RUN_UNTIL(loop, c.done, 20000);
    PC_ASSERT_EQ_INT(c.bad, 0);
    PC_ASSERT_EQ_INT(c.next, 2000);
    PC_ASSERT_EQ_INT(c.last_seen, 1);
    pl_line_reader_free(c.reader);
    PC_ASSERT_OK(pl_loop_close(loop));
}
