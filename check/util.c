/* Small helpers the bench's parts share (runner, kinds, peers, recorder):
 * a monotonic clock, string building, signal names, fd I/O that never
 * raises SIGPIPE, and the seeded byte pattern of pipecheck.h.  They depend
 * on nothing else in check/, so no file calls another back through them. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* ---- clock and strings -------------------------------------------------- */

uint64_t pc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pc__append(char *msg, size_t size, const char *fmt, ...)
{
    size_t used = strlen(msg);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + used, size - used, fmt, ap);
    va_end(ap);
}

static const struct {
    int sig;
    const char *name;
} signal_names[] = {
    {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},       {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
    {SIGCHLD, "SIGCHLD"},     {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
    {SIGTSTP, "SIGTSTP"},     {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
    {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},         {SIGSYS, "SIGSYS"},
};

const char *pc__signal_name(int sig, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (signal_names[i].sig == sig) {
            snprintf(buf, size, "%s", signal_names[i].name);
            return buf;
        }
    if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, size, "signal %d", sig);
    return buf;
}

/* ---- small fd helpers --------------------------------------------------- */

ssize_t pc__read(int fd, void *buf, size_t len)
{
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int pc__is_socket(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

ssize_t pc__write_nosigpipe(int fd, const void *buf, size_t len)
{
    ssize_t n;
    if (pc__is_socket(fd)) {
        do
            n = send(fd, buf, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
    }
    /* A write to a pipe without readers raises SIGPIPE in the writing
     * thread.  Blocked, it stays pending on the thread, where it is taken
     * back with a zero-timeout sigtimedwait unless one was pending before. */
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE) == 1;
    do
        n = write(fd, buf, len);
    while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : 0;
    if (err == EPIPE && !was_pending) {
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err ? -err : n;
}

/* ---- the pattern -------------------------------------------------------- */

/* splitmix64 of (seed, block): every 8-byte block of the stream is
 * independent, so any offset is O(1) to reach. */
static uint64_t pattern_block(uint64_t seed, uint64_t block)
{
    uint64_t z = seed + (block + 1) * 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint8_t pc_pattern_byte(uint64_t seed, uint64_t offset)
{
    return (uint8_t)(pattern_block(seed, offset / 8) >> (8 * (offset % 8)));
}

void pc_pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len)
{
    unsigned char *p = buf;
    size_t i = 0;
    while (i < len) {
        uint64_t at = offset + i;
        uint64_t block = pattern_block(seed, at / 8);
        for (unsigned b = (unsigned)(at % 8); b < 8 && i < len; b++, i++)
            p[i] = (unsigned char)(block >> (8 * b));
    }
}

size_t pc_pattern_check(uint64_t seed, uint64_t offset, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t i = 0;
    while (i < len) {
        uint64_t at = offset + i;
        uint64_t block = pattern_block(seed, at / 8);
        for (unsigned b = (unsigned)(at % 8); b < 8 && i < len; b++, i++)
            if (p[i] != (unsigned char)(block >> (8 * b)))
                return i;
    }
    return len;
}
