/* Internals shared by the bench's pipe kinds (kinds.c) and peers (peers.c). */
#ifndef PIPECHECK_BENCH_INTERNAL_H
#define PIPECHECK_BENCH_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "pipecheck.h"

/* Write once to fd, retrying EINTR, without ever raising SIGPIPE: sockets
 * use MSG_NOSIGNAL; for other fds SIGPIPE is blocked in the calling thread
 * for the call and a SIGPIPE the write caused is consumed.  Returns the
 * count or -errno. */
ssize_t pc__write_nosigpipe(int fd, const void *buf, size_t len);

/* Read once, retrying EINTR.  Returns the count or -errno. */
ssize_t pc__read(int fd, void *buf, size_t len);

/* Is fd a socket?  1 or 0. */
int pc__is_socket(int fd);

#endif
