/* Shared helpers of the benchmark programs; see common.h. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_HAVE_ZLIB
#include <zlib.h>
#endif

/* ---- CRC-32 ------------------------------------------------------------ */

#ifdef BENCH_HAVE_ZLIB

uint32_t bench_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uLong c = crc;
    /* zlib takes a uInt length; feed it in pieces that fit. */
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

const char *bench_crc32_impl(void)
{
    return "zlib";
}

#else

/* Slicing-by-8: eight 256-entry tables, one 64-bit load per step.  Within
 * a small factor of zlib's braided CRC, which is all the W1 reader needs:
 * every variant pays the same. */
static uint32_t crc_table[8][256];
static int crc_table_ready;

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] =
                (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    crc_table_ready = 1;
}

uint32_t bench_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;

    if (!crc_table_ready)
        crc_table_init();
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        /* The byte order is little-endian's; other hosts take the loop below. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint32_t lo = (uint32_t)word ^ c;
        uint32_t hi = (uint32_t)(word >> 32);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
#else
        (void)word;
        break;
#endif
    }
    while (len > 0) {
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    return ~c;
}

const char *bench_crc32_impl(void)
{
    return "builtin";
}

#endif

void bench_crc32_self_check(void)
{
    static const char check[] = "123456789";
    uint32_t c = bench_crc32(0, check, sizeof check - 1);
    if (c != 0xcbf43926u)
        bench_fail("CRC-32 (%s) of \"123456789\" is 0x%08x, not 0xcbf43926",
                   bench_crc32_impl(), (unsigned)c);
}

/* ---- the byte pattern -------------------------------------------------- */

unsigned char *bench_pattern(size_t len)
{
    static unsigned char *pattern;
    static size_t pattern_len;

    if (pattern_len < len + 256) {
        size_t n = len + 256;
        unsigned char *p = realloc(pattern, n);
        if (p == NULL)
            bench_fail("out of memory for a %zu-byte pattern", n);
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)(i & 0xff);
        pattern = p;
        pattern_len = n;
    }
    return pattern;
}

uint32_t bench_pattern_crc32(uint64_t total)
{
    const size_t piece = 1 * BENCH_MIB;
    const unsigned char *p;
    uint32_t crc = 0;

    if (total == BENCH_GIB)
        return BENCH_W1_CRC_1GIB;
    p = bench_pattern(piece);
    /* Pieces are multiples of 256 bytes, so each starts at pattern offset 0. */
    while (total > 0) {
        size_t n = total < piece ? (size_t)total : piece;
        crc = bench_crc32(crc, p, n);
        total -= n;
    }
    return crc;
}

/* ---- clocks and random numbers ----------------------------------------- */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

uint64_t bench_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* ---- arguments, results and failures ----------------------------------- */

uint64_t bench_parse_size(const char *arg, const char *what, uint64_t min, uint64_t max)
{
    char *end;
    unsigned long long v;
    uint64_t scale = 1;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (end == arg || errno != 0)
        bench_fail("%s: not a number: \"%s\"", what, arg);
    switch (*end) {
    case 'k':
    case 'K':
        scale = 1024;
        end++;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        scale = 1024 * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    if (*end != '\0' || v > UINT64_MAX / scale)
        bench_fail("%s: not a size: \"%s\"", what, arg);
    v *= scale;
    if (v < min || v > max)
        bench_fail("%s: %llu is outside [%llu, %llu]", what, v, (unsigned long long)min,
                   (unsigned long long)max);
    return v;
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("FAIL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void bench_fail_errno(const char *what, int err)
{
    bench_fail("%s: %s", what, strerror(err < 0 ? -err : err));
}

void bench_result(const char *workload, const char *variant, const char *case_label,
                  const char *metric, double value)
{
    printf("RESULT %s %s %s %s %.6g\n", workload, variant, case_label, metric, value);
    fflush(stdout);
}

/* ---- blocking I/O and processes ---------------------------------------- */

void bench_write_full(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bench_fail_errno("write", -errno);
        }
        p += n;
        len -= (size_t)n;
    }
}

int bench_read_full(int fd, void *data, size_t len)
{
    char *p = data;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            bench_fail_errno("read", -errno);
        }
        if (n == 0) {
            if (got == 0)
                return 1;
            bench_fail("read: EOF after %zu of %zu bytes", got, len);
        }
        got += (size_t)n;
    }
    return 0;
}

void bench_set_nonblocking(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        bench_fail_errno("fcntl(F_GETFL)", -errno);
    flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    if (fcntl(fd, F_SETFL, flags) < 0)
        bench_fail_errno("fcntl(F_SETFL)", -errno);
}

void bench_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        bench_fail_errno("pipe2", -errno);
}

uint64_t bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        bench_fail_errno("getrlimit", -errno);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            bench_fail_errno("setrlimit", -errno);
    }
    return (uint64_t)rl.rlim_cur;
}

pid_t bench_fork_peer(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        bench_fail_errno("fork", -errno);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
            bench_fail_errno("prctl", -errno);
        /* The parent may have died before prctl took effect. */
        if (getppid() != parent)
            _exit(1);
    }
    return pid;
}

void bench_wait_ok(pid_t pid, const char *what)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            bench_fail_errno("waitpid", -errno);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFSIGNALED(status))
            bench_fail("%s (pid %d) was killed by signal %d", what, (int)pid,
                       WTERMSIG(status));
        bench_fail("%s (pid %d) exited with status %d", what, (int)pid,
                   WEXITSTATUS(status));
    }
}
