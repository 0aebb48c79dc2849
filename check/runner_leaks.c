/* Leak checks run after every test: open fds, child processes, the file
 * status flags of fds 0-2, and the SIGPIPE disposition (Twisted's
 * ReactorBuilder checks).  Everything is read from /proc where possible. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_internal.h"

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int pc__list_fds(int **out, size_t *count)
{
    size_t n = 0, cap = 32;
    int *fds = malloc(cap * sizeof *fds);
    if (fds == NULL)
        return -ENOMEM;
    DIR *dir = opendir("/proc/self/fd");
    if (dir != NULL) {
        int own = dirfd(dir);
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (!isdigit((unsigned char)entry->d_name[0]))
                continue;
            int fd = atoi(entry->d_name);
            if (fd == own)
                continue;
            if (n == cap) {
                int *bigger = realloc(fds, 2 * cap * sizeof *fds);
                if (bigger == NULL) {
                    closedir(dir);
                    free(fds);
                    return -ENOMEM;
                }
                fds = bigger;
                cap *= 2;
            }
            fds[n++] = fd;
        }
        closedir(dir);
    } else {
        /* No /proc: probe every fd below a sane limit. */
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 4096)
            max = 4096;
        for (int fd = 0; fd < (int)max; fd++) {
            if (fcntl(fd, F_GETFD) < 0)
                continue;
            if (n == cap) {
                int *bigger = realloc(fds, 2 * cap * sizeof *fds);
                if (bigger == NULL) {
                    free(fds);
                    return -ENOMEM;
                }
                fds = bigger;
                cap *= 2;
            }
            fds[n++] = fd;
        }
    }
    qsort(fds, n, sizeof *fds, compare_int);
    *out = fds;
    *count = n;
    return 0;
}

static void fd_target(int fd, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(path, buf, size - 1);
    if (len < 0) {
        buf[0] = '?';
        len = 1;
    }
    buf[len] = '\0';
}

int pc__baseline_take(struct pc__baseline *b)
{
    memset(b, 0, sizeof *b);
    int *fds;
    size_t count;
    int err = pc__list_fds(&fds, &count);
    if (err < 0)
        return err;
    b->fds = calloc(count ? count : 1, sizeof *b->fds);
    if (b->fds == NULL) {
        free(fds);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        b->fds[i].fd = fds[i];
        fd_target(fds[i], b->fds[i].target, sizeof b->fds[i].target);
    }
    b->fd_count = count;
    free(fds);
    for (int fd = 0; fd < 3; fd++)
        b->stdio_flags[fd] = fcntl(fd, F_GETFL);
    sigaction(SIGPIPE, NULL, &b->sigpipe);
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    b->sigpipe_blocked = sigismember(&mask, SIGPIPE) == 1;
    return 0;
}

void pc__baseline_free(struct pc__baseline *b)
{
    free(b->fds);
    b->fds = NULL;
    b->fd_count = 0;
}

static void separate(char *msg, size_t size)
{
    if (msg[0] != '\0')
        pc__append(msg, size, "; ");
}

static size_t check_fds(const struct pc__baseline *b, char *msg, size_t size)
{
    int *now;
    size_t count, problems = 0;
    if (pc__list_fds(&now, &count) < 0) {
        separate(msg, size);
        pc__append(msg, size, "could not list fds (out of memory)");
        return 1;
    }
    /* Both lists are sorted: walk them together. */
    size_t i = 0, j = 0;
    while (i < b->fd_count || j < count) {
        char target[sizeof b->fds[0].target];
        if (j == count || (i < b->fd_count && b->fds[i].fd < now[j])) {
            separate(msg, size);
            pc__append(msg, size, "closed fd %d (was %s)", b->fds[i].fd,
                       b->fds[i].target);
            problems++;
            i++;
        } else if (i == b->fd_count || now[j] < b->fds[i].fd) {
            fd_target(now[j], target, sizeof target);
            separate(msg, size);
            pc__append(msg, size, "leaked fd %d -> %s", now[j], target);
            problems++;
            j++;
        } else {
            /* Same number: it may still have been closed and reused. */
            fd_target(now[j], target, sizeof target);
            if (strcmp(target, b->fds[i].target) != 0) {
                separate(msg, size);
                pc__append(msg, size, "fd %d replaced: was %s, now %s", now[j],
                           b->fds[i].target, target);
                problems++;
            }
            i++;
            j++;
        }
    }
    free(now);
    return problems;
}

/* Children of this process: /proc/self/task/TID/children when the kernel
 * has it, else a scan of every /proc/PID/stat for our pid as parent. */
static size_t list_children(pid_t *out, size_t max)
{
    size_t n = 0;
    int complete = 1;
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        complete = 0;
    struct dirent *entry;
    while (tasks != NULL && (entry = readdir(tasks)) != NULL) {
        if (!isdigit((unsigned char)entry->d_name[0]))
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", entry->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL) {
            complete = 0;
            break;
        }
        long pid;
        while (fscanf(f, "%ld", &pid) == 1)
            if (n < max)
                out[n++] = (pid_t)pid;
        fclose(f);
    }
    if (tasks != NULL)
        closedir(tasks);
    if (complete)
        return n;

    n = 0;
    pid_t self = getpid();
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    while ((entry = readdir(proc)) != NULL) {
        if (!isdigit((unsigned char)entry->d_name[0]))
            continue;
        char path[300], stat[512];
        snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (len <= 0)
            continue;
        stat[len] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
        char *end = strrchr(stat, ')');
        char state;
        long ppid;
        if (end != NULL && sscanf(end + 1, " %c %ld", &state, &ppid) == 2 &&
            ppid == (long)self && n < max)
            out[n++] = (pid_t)atol(entry->d_name);
    }
    closedir(proc);
    return n;
}

static void process_name(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    snprintf(buf, size, "?");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t len = read(fd, buf, size - 1);
    close(fd);
    if (len <= 0)
        return;
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* The state letter of /proc/PID/stat: 'Z' for a zombie. */
static char process_state(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t len = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (len <= 0)
        return '?';
    stat[len] = '\0';
    char *end = strrchr(stat, ')');
    return end != NULL && end[1] == ' ' ? end[2] : '?';
}

static size_t check_children(char *msg, size_t size)
{
    pid_t pids[64];
    size_t count = list_children(pids, sizeof pids / sizeof pids[0]);
    for (size_t i = 0; i < count; i++) {
        char name[64];
        process_name(pids[i], name, sizeof name);
        separate(msg, size);
        if (process_state(pids[i]) == 'Z')
            pc__append(msg, size, "left child process %ld (%s) exited but not reaped",
                       (long)pids[i], name);
        else
            pc__append(msg, size, "left child process %ld (%s) running; killed it",
                       (long)pids[i], name);
        kill(pids[i], SIGKILL);
        while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
            continue;
    }
    return count;
}

static const struct {
    int flag;
    const char *name;
} status_flags[] = {
    {O_NONBLOCK, "O_NONBLOCK"}, {O_APPEND, "O_APPEND"},   {O_ASYNC, "O_ASYNC"},
    {O_DIRECT, "O_DIRECT"},     {O_NOATIME, "O_NOATIME"}, {O_DSYNC, "O_DSYNC"},
};

static size_t check_stdio(const struct pc__baseline *b, char *msg, size_t size)
{
    size_t problems = 0;
    for (int fd = 0; fd < 3; fd++) {
        int before = b->stdio_flags[fd], after = fcntl(fd, F_GETFL);
        if (before == after)
            continue;
        problems++;
        separate(msg, size);
        if (after < 0) {
            pc__append(msg, size, "fd %d was closed", fd);
            continue;
        }
        if (before < 0) {
            pc__append(msg, size, "fd %d was opened", fd);
            continue;
        }
        pc__append(msg, size, "fd %d file status flags changed (0x%x -> 0x%x:", fd,
                   (unsigned)before, (unsigned)after);
        for (size_t i = 0; i < sizeof status_flags / sizeof status_flags[0]; i++) {
            int bit = status_flags[i].flag;
            if ((before & bit) != (after & bit))
                pc__append(msg, size, " %s %s", status_flags[i].name,
                           (after & bit) ? "added" : "removed");
        }
        pc__append(msg, size, ")");
        fcntl(fd, F_SETFL, before);
    }
    return problems;
}

static const char *disposition_name(const struct sigaction *sa)
{
    if (!(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == SIG_DFL)
        return "SIG_DFL";
    if (!(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == SIG_IGN)
        return "SIG_IGN";
    return "a handler";
}

/* SIG_DFL and SIG_IGN carry no meaningful flags (and the C library adds
 * SA_RESTORER whenever it installs anything), so flags only count when a
 * handler function is installed. */
static int same_disposition(const struct sigaction *a, const struct sigaction *b)
{
    const unsigned meaningful =
        (unsigned)(SA_SIGINFO | SA_RESTART | SA_NODEFER | SA_ONSTACK) |
        (unsigned)SA_RESETHAND;
    int a_info = (a->sa_flags & SA_SIGINFO) != 0,
        b_info = (b->sa_flags & SA_SIGINFO) != 0;
    if (a_info != b_info)
        return 0;
    if (a_info)
        return a->sa_sigaction == b->sa_sigaction &&
               ((unsigned)a->sa_flags & meaningful) ==
                   ((unsigned)b->sa_flags & meaningful);
    if (a->sa_handler != b->sa_handler)
        return 0;
    if (a->sa_handler == SIG_DFL || a->sa_handler == SIG_IGN)
        return 1;
    return ((unsigned)a->sa_flags & meaningful) == ((unsigned)b->sa_flags & meaningful);
}

static size_t check_sigpipe(const struct pc__baseline *b, char *msg, size_t size)
{
    size_t problems = 0;
    struct sigaction now;
    sigaction(SIGPIPE, NULL, &now);
    if (!same_disposition(&b->sigpipe, &now)) {
        separate(msg, size);
        pc__append(msg, size, "SIGPIPE disposition changed: %s -> %s",
                   disposition_name(&b->sigpipe), disposition_name(&now));
        if (strcmp(disposition_name(&b->sigpipe), disposition_name(&now)) == 0)
            pc__append(msg, size, " (flags 0x%x -> 0x%x)", (unsigned)b->sigpipe.sa_flags,
                       (unsigned)now.sa_flags);
        sigaction(SIGPIPE, &b->sigpipe, NULL);
        problems++;
    }
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    int blocked = sigismember(&mask, SIGPIPE) == 1;
    if (blocked != b->sigpipe_blocked) {
        separate(msg, size);
        pc__append(msg, size, "SIGPIPE left %s in the signal mask",
                   blocked ? "blocked" : "unblocked");
        problems++;
    }
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
        separate(msg, size);
        pc__append(msg, size, "SIGPIPE left pending");
        problems++;
    }
    return problems;
}

size_t pc__baseline_check(const struct pc__baseline *b, char *msg, size_t size)
{
    /* Children first: reaping them cannot change our fds, and a child that
     * is still running could otherwise race with the other checks. */
    size_t problems = check_children(msg, size);
    problems += check_fds(b, msg, size);
    problems += check_stdio(b, msg, size);
    problems += check_sigpipe(b, msg, size);
    return problems;
}
