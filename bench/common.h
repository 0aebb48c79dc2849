/*
 * Shared helpers of the benchmark programs: CRC-32, the W1 byte pattern,
 * clocks, argument parsing, result lines and failure exits.
 *
 * Every program prints its figures as lines of the form
 *
 *     RESULT <workload> <variant> <case> <metric> <value>
 *
 * on stdout (bench/run parses them) and exits non-zero, with a "FAIL:" line
 * on stderr, when the workload's result does not verify.
 */
#ifndef PIPELOOP_BENCH_COMMON_H
#define PIPELOOP_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_KIB ((size_t)1024)
#define BENCH_MIB (BENCH_KIB * 1024)
#define BENCH_GIB (BENCH_MIB * 1024)

/* Every reader in every variant reads into a buffer this large, the size of
 * pipeloop's own read buffer (PL_READ_SIZE), so that no variant gets fewer
 * or more bytes per read(2) than another. */
#define BENCH_READ_SIZE (256 * BENCH_KIB)

/* W1: the CRC-32 of the 1 GiB stream whose byte i is i & 0xff. */
#define BENCH_W1_CRC_1GIB 0x00ee2daau

/* CRC-32 (IEEE, as zlib's crc32): zlib's when it was found at configure
 * time, else a built-in slicing-by-8 table.  Start with crc = 0. */
uint32_t bench_crc32(uint32_t crc, const void *data, size_t len);
/* "zlib" or "builtin". */
const char *bench_crc32_impl(void);
/* Exit with a failure unless CRC-32("123456789") is 0xcbf43926. */
void bench_crc32_self_check(void);

/* A buffer of at least len + 256 bytes whose byte k is k & 0xff, so that
 * bench_pattern(len) + (offset & 0xff) holds the next len bytes of a stream
 * at any offset.  Made once per process; never freed. */
unsigned char *bench_pattern(size_t len);
/* The CRC-32 of the first total bytes of that stream (not timed: a table
 * constant for 1 GiB, computed otherwise). */
uint32_t bench_pattern_crc32(uint64_t total);

/* Clocks: CLOCK_MONOTONIC in ns, and user + system CPU time of the process
 * in seconds (getrusage). */
uint64_t bench_now_ns(void);
double bench_cpu_seconds(void);

/* xorshift64 (Marsaglia): the next value; state must start nonzero. */
uint64_t bench_xorshift64(uint64_t *state);

/* Parse a count or a size with an optional K, M or G suffix (powers of
 * 1024); exits with a usage failure on garbage or values outside
 * [min, max]. */
uint64_t bench_parse_size(const char *arg, const char *what, uint64_t min, uint64_t max);

/* Print "FAIL: <message>" on stderr and exit(1). */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Fail with the message of the negative error code err (-errno, or a
 * library's own code formatted by the caller into what). */
void bench_fail_errno(const char *what, int err) __attribute__((noreturn));

/* Print a RESULT line (see the top of this file). */
void bench_result(const char *workload, const char *variant, const char *case_label,
                  const char *metric, double value);

/* I/O helpers for blocking fds; EINTR is retried, any error fails. */
void bench_write_full(int fd, const void *data, size_t len);
/* Reads exactly len bytes; returns 0, or 1 on EOF before the first byte
 * (EOF in the middle fails). */
int bench_read_full(int fd, void *data, size_t len);
void bench_set_nonblocking(int fd, int on);
/* pipe2(O_CLOEXEC) or fail. */
void bench_pipe(int fds[2]);

/* Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft
 * limit. */
uint64_t bench_raise_nofile(void);

/* fork() for a peer process: in the child, arrange for SIGKILL when the
 * parent dies (so a benchmark killed by a timeout leaves no peer behind).
 * Returns like fork. */
pid_t bench_fork_peer(void);
/* Reap pid and fail unless it exited with status 0. */
void bench_wait_ok(pid_t pid, const char *what);

#endif /* PIPELOOP_BENCH_COMMON_H */
