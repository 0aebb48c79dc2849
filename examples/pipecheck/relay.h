/* relay: copy everything one fd delivers to another, with flow control.
 * The code under test in the pipecheck example (see relay_test.c and
 * docs/guide.md). */
#ifndef RELAY_H
#define RELAY_H

#include <pipeloop.h>

typedef struct relay relay;

/*
 * Copy what in_fd delivers to out_fd until in_fd reaches end of file, then
 * close out_fd gracefully (every byte flushed).  While out_fd cannot take
 * more (pause_writing) reading from in_fd pauses.  Takes ownership of both
 * fds, also on an error (-ENOMEM, or an error of pl_connect_*_pipe): they
 * are then closed, and done never runs.
 * done(error, user) runs once, from the loop, when both ends are closed:
 * error is 0, or the first error of either end (e.g. -EPIPE when out_fd's
 * reader went away).  The relay frees itself after done.
 * *out (may be NULL) is the relay, valid until done runs.
 */
int relay_start(pl_loop *loop, int in_fd, int out_fd, void (*done)(int error, void *user),
                void *user, relay **out);

/* Bytes waiting in the relay for out_fd to take them. */
size_t relay_buffered(const relay *r);

#endif
