/* A line splitter for byte streams (a read transport's data_received, a
 * process's pipe_data_received): complete lines, in order, each at most
 * max_line bytes.  Lines that arrive whole in one chunk are handed out
 * from the chunk itself; only a line split across chunks is copied. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct pl_line_reader {
    size_t max_line;
    pl_line_cb on_line;
    void *user;
    char *buf; /* the start of a line whose end has not arrived */
    size_t len, cap;
    int error; /* a line grew past max_line, or keeping one failed */
};

int pl_line_reader_new(size_t max_line, pl_line_cb on_line, void *user,
                       pl_line_reader **out)
{
    if (!on_line || !out || max_line == 0)
        return -EINVAL;
    pl_line_reader *r = pl__calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->max_line = max_line;
    r->on_line = on_line;
    r->user = user;
    *out = r;
    return 0;
}

void pl_line_reader_free(pl_line_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

size_t pl_line_reader_pending(const pl_line_reader *r)
{
    return r ? r->len : 0;
}

/* Keep n more bytes of an unfinished line. */
static int keep(pl_line_reader *r, const char *data, size_t n)
{
    if (r->len + n > r->max_line) {
        r->len = 0;
        return r->error = -EMSGSIZE;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 128;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > r->max_line)
            cap = r->max_line;
        char *buf = pl__realloc(r->buf, cap);
        if (!buf) {
            r->len = 0;
            return r->error = -ENOMEM;
        }
        r->buf = buf;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return 0;
}

int pl_line_reader_feed(pl_line_reader *r, const void *data, size_t len)
{
    if (!r || (!data && len))
        return -EINVAL;
    if (r->error)
        return r->error;
    const char *p = data, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return keep(r, p, (size_t)(end - p));
        size_t n = (size_t)(nl - p);
        if (r->len == 0) {
            if (n > r->max_line)
                return r->error = -EMSGSIZE;
            r->on_line(p, n, r->user); /* whole in this chunk: lent as is */
        } else {
            int err = keep(r, p, n);
            if (err)
                return err;
            size_t whole = r->len;
            r->len = 0;
            r->on_line(r->buf, whole, r->user);
        }
        p = nl + 1;
    }
    return 0;
}

int pl_line_reader_finish(pl_line_reader *r)
{
    if (!r)
        return -EINVAL;
    if (r->error)
        return r->error;
    if (r->len > 0) {
        size_t n = r->len;
        r->len = 0;
        r->on_line(r->buf, n, r->user);
    }
    return 0;
}
