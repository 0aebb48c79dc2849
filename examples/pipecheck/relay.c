/* relay: see relay.h. */
#define _POSIX_C_SOURCE 200809L
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct relay {
    pl_transport *in, *out; /* NULL once that end's connection_lost ran */
    int error;
    void (*done)(int error, void *user);
    void *user;
};

static void finish_if_done(relay *r)
{
    if (r->in != NULL || r->out != NULL)
        return;
    if (r->done != NULL)
        r->done(r->error, r->user);
    free(r);
}

static void in_data(pl_transport *t, const void *data, size_t len, void *user)
{
    relay *r = user;
    (void)t;
    /* The write transport sends at once or buffers; it never blocks.  Its
     * pause_writing stops us reading, which bounds the buffer. */
    if (r->out != NULL && pl_transport_write(r->out, data, len) < 0)
        pl_transport_close(t);
}

static int in_eof(pl_transport *t, void *user)
{
    relay *r = user;
    (void)t;
    if (r->out != NULL)
        pl_transport_close(r->out); /* graceful: flushes what is buffered */
    return 0;
}

static void in_lost(pl_transport *t, int error, void *user)
{
    relay *r = user;
    (void)t;
    r->in = NULL;
    if (error != 0) {
        if (r->error == 0)
            r->error = error;
        if (r->out != NULL)
            pl_transport_abort(r->out);
    }
    finish_if_done(r);
}

static void out_pause(pl_transport *t, void *user)
{
    relay *r = user;
    (void)t;
    if (r->in != NULL)
        pl_transport_pause_reading(r->in);
}

static void out_resume(pl_transport *t, void *user)
{
    relay *r = user;
    (void)t;
    if (r->in != NULL)
        pl_transport_resume_reading(r->in);
}

static void out_lost(pl_transport *t, int error, void *user)
{
    relay *r = user;
    (void)t;
    r->out = NULL;
    if (error != 0 && r->error == 0)
        r->error = error;
    if (r->in != NULL)
        pl_transport_close(r->in); /* nowhere left to send to */
    finish_if_done(r);
}

static const pl_protocol in_protocol = {
    .data_received = in_data, .eof_received = in_eof, .connection_lost = in_lost};
static const pl_protocol out_protocol = {.connection_lost = out_lost,
                                         .pause_writing = out_pause,
                                         .resume_writing = out_resume};

size_t relay_buffered(const relay *r)
{
    return r->out != NULL ? pl_transport_get_write_buffer_size(r->out) : 0;
}

int relay_start(pl_loop *loop, int in_fd, int out_fd, void (*done)(int error, void *user),
                void *user, relay **out)
{
    relay *r = calloc(1, sizeof *r);
    int err = -ENOMEM;
    if (r == NULL)
        goto fail;
    r->done = done;
    r->user = user;
    err = pl_connect_write_pipe(loop, out_fd, &out_protocol, r, &r->out);
    if (err < 0) {
        free(r);
        goto fail;
    }
    err = pl_connect_read_pipe(loop, in_fd, &in_protocol, r, &r->in);
    if (err < 0) {
        /* out_fd belongs to its transport now: the abort closes it, and
         * the relay frees itself in out_lost without calling done. */
        r->done = NULL;
        pl_transport_abort(r->out);
        close(in_fd);
        return err;
    }
    if (out != NULL)
        *out = r;
    return 0;
fail:
    close(in_fd);
    close(out_fd);
    return err;
}
