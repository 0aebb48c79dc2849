/* Helpers every part of the bench shares (check/util.c).  Not API. */
#ifndef PIPECHECK_UTIL_H
#define PIPECHECK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pipecheck.h"

/* Append printf output to a NUL-terminated string of capacity size, cutting
 * it if full. */
PC__PRINTF(3, 4) void pc__append(char *msg, size_t size, const char *fmt, ...);

/* "SIGSEGV", or "SIGRTMIN+3", or "signal 99", written into buf. */
const char *pc__signal_name(int sig, char *buf, size_t size);

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
