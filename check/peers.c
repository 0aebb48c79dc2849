/* Peers: scripted agents on the far end of a pair.  A peer runs in a thread,
 * or for PC_KIND_CHILD kinds in a forked helper child, and talks to the test
 * only through fds: its end of the pair, a control pipe (one byte per
 * release; the test closing it means "stop now"), and for a child a result
 * pipe.  It never touches loop or transport state. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct pc_peer {
    pc_pair *pair;
    pc_peer_script script;
    int fd;        /* the far end (thread peers; -1 in the parent for children) */
    int ctl[2];    /* release tokens and stop: the test writes ctl[1] */
    int result_fd; /* child peers: the parent reads the result here */
    pid_t pid;
    pthread_t thread;
    int started_thread;
    unsigned char *buf;
    pc_peer_result result;
};

/* What a gate or a blocked I/O call was ended by. */
enum { GO = 0, STOP = 1, HANGUP = 2 };

/* Wait for one release token.  The control pipe reaching EOF (the test
 * closed its end) is a stop. */
static int wait_token(int ctl)
{
    unsigned char token;
    ssize_t n;
    struct pollfd p = {ctl, POLLIN, 0};
    for (;;) {
        n = pc__read(ctl, &token, 1);
        if (n == 1)
            return GO;
        if (n == 0 || n != -EAGAIN)
            return STOP;
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
}

/* Wait until fd is ready for `events` or the test stops the peer.  The
 * control fd is polled for nothing, so only its HUP (the test closed it)
 * wakes us: release tokens stay queued for the next gate.  A ready fd wins
 * over a stop, so a stopped peer still does what it can without blocking
 * (reads the data already there), which makes its result deterministic. */
static int wait_fd(int fd, short events, int ctl)
{
    struct pollfd p[2] = {{fd, events, 0}, {ctl, 0, 0}};
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return STOP;
        /* A pty master whose slave is gone polls HUP without OUT while
         * writes fail with EAGAIN: waiting again would spin. */
        if (events == POLLOUT && (p[0].revents & POLLHUP) && !(p[0].revents & POLLOUT))
            return HANGUP;
        return p[0].revents ? GO : STOP;
    }
}

static void pause_us(unsigned us)
{
    if (!us)
        return;
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* xorshift64* for chunk sizes: a stream separate from the data pattern. */
static size_t next_chunk(const pc_peer_script *s, uint64_t *state)
{
    if (s->chunk)
        return s->chunk < PC_PEER_CHUNK_MAX ? s->chunk : PC_PEER_CHUNK_MAX;
    size_t max = s->chunk_max && s->chunk_max < PC_PEER_CHUNK_MAX ? s->chunk_max
                                                                  : PC_PEER_CHUNK_MAX;
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (size_t)((x * 0x2545f4914f6cdd1du) % max) + 1;
}

static void do_write(const pc_peer_script *s, int fd, int ctl, unsigned char *buf,
                     pc_peer_result *r)
{
    uint64_t rng = s->seed ^ 0x6a09e667f3bcc909u;
    if (!rng)
        rng = 1;
    while (r->bytes < s->bytes) {
        size_t want = next_chunk(s, &rng);
        if ((uint64_t)want > s->bytes - r->bytes)
            want = (size_t)(s->bytes - r->bytes);
        pc_pattern_fill(s->seed, s->offset + r->bytes, buf, want);
        size_t done = 0;
        while (done < want) {
            ssize_t n = pc__write_nosigpipe(fd, buf + done, want - done);
            if (n > 0) {
                done += (size_t)n;
                r->bytes += (uint64_t)n;
            } else if (n == -EAGAIN) {
                int why = wait_fd(fd, POLLOUT, ctl);
                if (why == HANGUP) {
                    r->error = -EPIPE;
                    return;
                }
                if (why == STOP) {
                    r->stopped = 1;
                    return;
                }
            } else {
                r->error = n < 0 ? (int)n : -EIO;
                return;
            }
        }
        if (r->bytes < s->bytes)
            pause_us(s->pause_us);
    }
}

static void do_read(const pc_peer_script *s, int fd, int ctl, unsigned char *buf,
                    pc_peer_result *r)
{
    uint64_t rng = s->seed ^ 0xbb67ae8584caa73bu;
    if (!rng)
        rng = 1;
    int tty = isatty(fd);
    for (;;) {
        size_t want = next_chunk(s, &rng);
        if (s->bytes) {
            if (r->bytes >= s->bytes)
                return;
            if ((uint64_t)want > s->bytes - r->bytes)
                want = (size_t)(s->bytes - r->bytes);
        }
        ssize_t n = pc__read(fd, buf, want);
        if (n > 0) {
            size_t ok = pc_pattern_check(s->seed, s->offset + r->bytes, buf, (size_t)n);
            if (ok < (size_t)n && r->pattern_ok) {
                r->pattern_ok = 0;
                r->mismatch_at = s->offset + r->bytes + ok;
            }
            r->bytes += (uint64_t)n;
            pause_us(s->pause_us);
        } else if (n == 0 || (n == -EIO && tty)) {
            /* A pty master reads EIO once the slave is gone (spec R11). */
            r->eof = 1;
            return;
        } else if (n == -EAGAIN) {
            if (wait_fd(fd, POLLIN, ctl) == STOP) {
                r->stopped = 1;
                return;
            }
        } else {
            r->error = (int)n;
            return;
        }
    }
}

/* The script, the same in a thread and in a child.  Owns and closes fd. */
static void peer_run(const pc_peer_script *s, int fd, int ctl, unsigned char *buf,
                     pc_peer_result *r)
{
    memset(r, 0, sizeof *r);
    r->pattern_ok = 1;
    r->mismatch_at = UINT64_MAX;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (s->wait_start && wait_token(ctl) == STOP) {
        r->stopped = 1;
        goto done;
    }
    if (s->action == PC_PEER_WRITE)
        do_write(s, fd, ctl, buf, r);
    else if (s->action == PC_PEER_READ)
        do_read(s, fd, ctl, buf, r);
    if (!r->stopped && s->hold && wait_token(ctl) == STOP)
        r->stopped = 1;
done:
    close(fd);
}

static void *peer_thread(void *arg)
{
    pc_peer *p = arg;
    int fd = p->fd;
    p->fd = -1;
    peer_run(&p->script, fd, p->ctl[0], p->buf, &p->result);
    return NULL;
}

/* In the child: keep only the three fds the script needs, at 3, 4, 5. */
static void child_main(pc_peer *p, int fd, int result_w)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int keep[3] = {fd, p->ctl[0], result_w};
    for (int i = 0; i < 3; i++)
        if ((keep[i] = fcntl(keep[i], F_DUPFD, 64)) < 0)
            _exit(127);
    for (int i = 0; i < 3; i++)
        if (dup2(keep[i], 3 + i) < 0)
            _exit(127);
    close_range(6, ~0u, 0);
    pc_peer_result r;
    peer_run(&p->script, 3, 4, p->buf, &r);
    const char *out = (const char *)&r;
    size_t left = sizeof r;
    while (left > 0) {
        ssize_t n = write(5, out, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(1);
        out += n;
        left -= (size_t)n;
    }
    _exit(0);
}

pc_peer *pc_peer_start(pc_pair *pair, const pc_peer_script *script)
{
    if (!pair || !script || pair->far < 0 || pair->peer)
        return NULL;
    pc_peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->pair = pair;
    p->script = *script;
    p->fd = pair->far;
    p->ctl[0] = p->ctl[1] = -1;
    p->result_fd = -1;
    p->pid = -1;
    p->buf = malloc(PC_PEER_CHUNK_MAX);
    if (!p->buf || pipe2(p->ctl, O_CLOEXEC) < 0)
        goto fail;
    /* The control read end is non-blocking so that a gate can tell a
     * token from "nothing yet" and poll. */
    fcntl(p->ctl[0], F_SETFL, O_NONBLOCK);

    if (pair->kind && (pair->kind->flags & PC_KIND_CHILD)) {
        int res[2];
        if (pipe2(res, O_CLOEXEC) < 0)
            goto fail;
        pid_t pid = fork();
        if (pid < 0) {
            close(res[0]);
            close(res[1]);
            goto fail;
        }
        if (pid == 0)
            child_main(p, p->fd, res[1]);
        close(res[1]);
        close(p->ctl[0]);
        p->ctl[0] = -1;
        close(p->fd);
        p->fd = -1;
        p->result_fd = res[0];
        p->pid = pid;
    } else {
        /* The peer thread takes no signal: SIGPIPE from its writes is
         * consumed where it is raised, and signals a test sends to itself
         * must reach the loop's thread. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int err = pthread_create(&p->thread, NULL, peer_thread, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err)
            goto fail;
        p->started_thread = 1;
    }
    pair->far = -1;
    pair->peer = p;
    return p;

fail:
    if (p->ctl[0] >= 0)
        close(p->ctl[0]);
    if (p->ctl[1] >= 0)
        close(p->ctl[1]);
    free(p->buf);
    free(p);
    return NULL;
}

int pc_peer_release(pc_peer *p)
{
    if (!p || p->ctl[1] < 0)
        return -EINVAL;
    unsigned char token = 1;
    ssize_t n = pc__write_nosigpipe(p->ctl[1], &token, 1);
    return n == 1 ? 0 : (n < 0 ? (int)n : -EIO);
}

int pc_peer_wait(pc_peer *p, pc_peer_result *out)
{
    if (!p)
        return -EINVAL;
    int err = 0;
    if (p->started_thread) {
        pthread_join(p->thread, NULL);
    } else {
        size_t got = 0;
        char *in = (char *)&p->result;
        while (got < sizeof p->result) {
            ssize_t n = pc__read(p->result_fd, in + got, sizeof p->result - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        int status = 0;
        pid_t r;
        do
            r = waitpid(p->pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            err = -errno;
        else if (got != sizeof p->result || !WIFEXITED(status) || WEXITSTATUS(status))
            err = -EPROTO;
        close(p->result_fd);
    }
    if (out)
        *out = p->result;
    if (p->ctl[0] >= 0)
        close(p->ctl[0]);
    if (p->ctl[1] >= 0)
        close(p->ctl[1]);
    if (p->pair && p->pair->peer == p)
        p->pair->peer = NULL;
    free(p->buf);
    free(p);
    return err;
}

int pc_peer_stop(pc_peer *p, pc_peer_result *out)
{
    if (!p)
        return -EINVAL;
    if (p->ctl[1] >= 0) {
        close(p->ctl[1]);
        p->ctl[1] = -1;
    }
    return pc_peer_wait(p, out);
}
