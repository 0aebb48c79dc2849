/* Remote subjects, starting them: a remote subject's configuration, the
 * subject process (the Python adapter or an exec: command) started for a
 * test or forked by the zygote, the hello that probes it, and how a test
 * that loses its subject fails. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipecheck.h"
#include "subject_remote.h"

#ifndef PIPECHECK_ADAPTER
#define PIPECHECK_ADAPTER "tools/pipecheck_subject.py"
#endif

extern char **environ;

static char python_path[1024] = "python3";

/* Set by pc_subject_set_python: then uvloop never falls back. */
static int python_chosen;

void pc_subject_set_python(const char *path)
{
    snprintf(python_path, sizeof python_path, "%s", path ? path : "python3");
    python_chosen = path != NULL;
}

const char *pc_subject_python(void)
{
    return python_path;
}

/* $PIPECHECK_ADAPTER, else the source tree's copy (a build directory's
 * pipecheck), else the installed one (an installed pipecheck whose source
 * tree is gone). */
static const char *adapter_path(void)
{
    const char *env = getenv("PIPECHECK_ADAPTER");
    if (env && *env)
        return env;
#ifdef PIPECHECK_ADAPTER_INSTALLED
    if (access(PIPECHECK_ADAPTER, R_OK) != 0)
        return PIPECHECK_ADAPTER_INSTALLED;
#endif
    return PIPECHECK_ADAPTER;
}

/* Kill and reap the subject process, close the socket: leave nothing. */
void pc__remote_reap(pc_loop *l, int kill_it, int *status)
{
    if (l->sock >= 0) {
        close(l->sock);
        l->sock = -1;
    }
    if (l->pid <= 0)
        return;
    if (kill_it)
        kill(l->pid, SIGKILL);
    if (l->foreign) {
        /* The zygote reaps it. */
        l->pid = -1;
        return;
    }
    int st = 0;
    while (waitpid(l->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (status)
        *status = st;
    l->pid = -1;
}

void pc__remote_on_failure(void *arg)
{
    pc_loop *l = arg;
    if (l->pid > 0)
        fprintf(stderr, "subject %s (pid %d): last sent '%s', last received '%s'\n",
                l->cfg->name, (int)l->pid, l->last_sent, l->last_received);
    pc__remote_reap(l, 1, NULL);
}

PC__PRINTF(2, 3) PC__NORETURN void pc__remote_fail(pc_loop *l, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    pc_fail(__FILE__, __LINE__, "subject %s: %s (last sent: '%s'; last received: '%s')",
            l->cfg->name, what, l->last_sent, l->last_received);
}

/* The subject closed its end: say how it ended. */
PC__NORETURN void pc__remote_subject_gone(pc_loop *l, const char *while_doing)
{
    /* Give an exiting process a moment to be reaped, then make sure. */
    int st = 0;
    pid_t got = l->foreign ? -1 : 0;
    for (int i = 0; i < 40 && got == 0; i++) {
        got = waitpid(l->pid, &st, WNOHANG);
        if (got == 0) {
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    char how[96];
    if (got == l->pid) {
        l->pid = -1;
        if (WIFEXITED(st))
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
        else
            snprintf(how, sizeof how, "was killed by signal %d (%s)", WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
    } else if (l->foreign) {
        snprintf(how, sizeof how, "closed its socket (it exited or crashed)");
    } else {
        snprintf(how, sizeof how, "closed its socket and was killed");
    }
    pc__remote_reap(l, 1, NULL);
    pc__remote_fail(l, "the subject process %s %s", how, while_doing);
}

/* Ask the zygote for a subject: it forks one that serves sv[1] and writes
 * to this test's stderr. */
static int spawn_from_zygote(struct remote_config *cfg, pc_loop *l)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    int fds[2] = {sv[1], 2};
    /* "spawn NAME": the test's name, for the adapter's line coverage
     * (tools/mutate.py); the zygote takes the datagram's first 512 bytes. */
    char what[512];
    const char *test = pc_current_test();
    int len = snprintf(what, sizeof what, "spawn %s", test ? test : "-");
    if (len < 0 || (size_t)len >= sizeof what)
        len = (int)sizeof what - 1;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof fds)];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {what, (size_t)len};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    ssize_t n;
    do
        n = sendmsg(cfg->zygote_fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    int err = n < 0 ? -errno : 0;
    close(sv[1]);
    if (err) {
        close(sv[0]);
        return err;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    l->cfg = cfg;
    l->pid = 0; /* told in hello */
    l->foreign = 1;
    l->sock = sv[0];
    return 0;
}

static int spawn_process(struct remote_config *cfg, pc_loop *l, int zygote);

int pc__remote_spawn(struct remote_config *cfg, pc_loop *l)
{
    if (cfg->zygote_fd >= 0)
        return spawn_from_zygote(cfg, l);
    return spawn_process(cfg, l, 0);
}

/* Start the adapter (or the exec: command) as our child; zygote: the
 * forking adapter, on a SOCK_SEQPACKET socket. */
static int spawn_process(struct remote_config *cfg, pc_loop *l, int zygote)
{
    int sv[2];
    if (socketpair(AF_UNIX, (zygote ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0,
                   sv) < 0)
        return -errno;
    char *argv[8];
    char mode[32];
    if (cfg->command) {
        argv[0] = (char *)"/bin/sh";
        argv[1] = (char *)"-c";
        argv[2] = cfg->command;
        argv[3] = NULL;
    } else {
        snprintf(mode, sizeof mode, "%s", cfg->loop_kind);
        /* The interpreter the probe found, not a wrapper (pyenv's shim
         * costs a shell per start). */
        argv[0] = cfg->executable[0] ? cfg->executable : python_path;
        argv[1] = (char *)adapter_path();
        argv[2] = (char *)"--loop";
        argv[3] = mode;
        argv[4] = zygote ? (char *)"--zygote" : NULL;
        argv[5] = NULL;
    }
    /* The environment, with the subject's fd named; made before fork so
     * that the child only calls async-signal-safe functions. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    if (!envp) {
        close(sv[0]);
        close(sv[1]);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PIPECHECK_SUBJECT_FD=", 21) != 0)
            envp[k++] = environ[i];
    envp[k++] = (char *)"PIPECHECK_SUBJECT_FD=3";
    envp[k] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        free(envp);
        close(sv[0]);
        close(sv[1]);
        return err;
    }
    if (pid == 0) {
        if (sv[1] == SUBJECT_FD) {
            fcntl(SUBJECT_FD, F_SETFD, 0);
        } else if (dup2(sv[1], SUBJECT_FD) < 0) {
            _exit(126);
        }
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, 0);
        signal(SIGPIPE, SIG_DFL);
        /* The subject starts with 0-3 only: an fd the bench inherited
         * from whoever started it must not show up in the subject's
         * children (S8 looks at exactly that). */
        if (syscall(SYS_close_range, SUBJECT_FD + 1, ~0u, 0) != 0)
            for (int fd = SUBJECT_FD + 1; fd < 4096; fd++)
                close(fd);
        execvpe(argv[0], argv, envp);
        _exit(127);
    }
    free(envp);
    close(sv[1]);
    if (!zygote)
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    l->cfg = cfg;
    l->pid = pid;
    l->sock = sv[0];
    return 0;
}

/* hello 1 read_size=N backends=A,B caps=X,Y describe=TEXT... */
static void parse_hello(struct remote_config *cfg, char *p)
{
    cfg->subject.caps = 0;
    while (*p) {
        size_t len;
        const char *tok = pc__remote_token(&p, &len);
        if (len == 0)
            break;
        if (len > 9 && strncmp(tok, "describe=", 9) == 0) {
            snprintf(cfg->describe, sizeof cfg->describe, "%s", tok + 9);
            return; /* the rest of the line */
        }
        if (len > 10 && strncmp(tok, "read_size=", 10) == 0) {
            uint64_t v;
            if (pc__remote_parse_u64(tok + 10, len - 10, &v) == 0)
                cfg->subject.read_size = (size_t)v;
        } else if (len > 11 && strncmp(tok, "executable=", 11) == 0) {
            snprintf(cfg->executable, sizeof cfg->executable, "%.*s", (int)(len - 11),
                     tok + 11);
        } else if (len > 9 && strncmp(tok, "backends=", 9) == 0) {
            snprintf(cfg->backends, sizeof cfg->backends, "%.*s", (int)(len - 9),
                     tok + 9);
        } else if (len > 5 && strncmp(tok, "caps=", 5) == 0) {
            const char *c = tok + 5, *end = tok + len;
            while (c < end) {
                const char *comma = memchr(c, ',', (size_t)(end - c));
                size_t n = comma ? (size_t)(comma - c) : (size_t)(end - c);
                cfg->subject.caps |= pc__subject_cap_from_name(c, n);
                c += n + 1;
            }
            /* A subject in another process never has pipeloop's API: its
             * transports are ids on the wire, which pc_transport_native
             * would hand out as pl_transport pointers, and the CLI would
             * grade it as pipeloop (OURS items as its own choices).  The
             * claim is ignored, as an unknown capability is. */
            cfg->subject.caps &= ~(unsigned)PC_CAP_PIPELOOP_API;
        }
    }
}

static int probe_once(struct remote_config *cfg, FILE *err);

/* Debian's python3-uvloop serves /usr/bin/python3 only. */
#define SYSTEM_PYTHON "/usr/bin/python3"

int pc__remote_probe(const pc_subject *self, FILE *err)
{
    struct remote_config *cfg = self->config;
    int r = probe_once(cfg, NULL);
    /* uvloop missing for the default python3 but present for the system
     * interpreter: use that one, and the report names it. */
    if (r && strcmp(cfg->loop_kind, "uvloop") == 0 && !python_chosen &&
        !cfg->python_given && access(SYSTEM_PYTHON, X_OK) == 0) {
        char first[sizeof cfg->probe_error];
        snprintf(first, sizeof first, "%s", cfg->probe_error);
        snprintf(cfg->executable, sizeof cfg->executable, "%s", SYSTEM_PYTHON);
        r = probe_once(cfg, NULL);
        if (r) {
            cfg->executable[0] = '\0';
            snprintf(cfg->probe_error, sizeof cfg->probe_error, "%s", first);
        }
    }
    if (r && err)
        fprintf(err, "pipecheck: subject %s: %s\n", cfg->name, cfg->probe_error);
    return r;
}

static int probe_once(struct remote_config *cfg, FILE *err)
{
    /* Talk to it without a test around us: failures come back here
     * through the runner's outside-a-test path, so check by hand. */
    pc_loop l;
    memset(&l, 0, sizeof l);
    l.sock = -1;
    l.test_deadline = pc__remote_now_ms() + pc_scale_ms(OP_WAIT_MS * 2);
    int r = spawn_process(cfg, &l, 0);
    if (r) {
        snprintf(cfg->probe_error, sizeof cfg->probe_error, "cannot start: %s",
                 strerror(-r));
        goto fail;
    }
    char header[32];
    snprintf(header, sizeof header, "hello %d", PROTOCOL_VERSION);
    /* By hand, not send_frame: a subject that cannot even start must be
     * a message here, not a failed test outside any test. */
    size_t hlen = strlen(header);
    unsigned char frame[64] = {0, 0, 0, (unsigned char)hlen};
    memcpy(frame + 4, header, hlen);
    if (send(l.sock, frame, 4 + hlen, MSG_NOSIGNAL) != (ssize_t)(4 + hlen)) {
        int st = 0;
        pc__remote_reap(&l, 0, &st);
        snprintf(cfg->probe_error, sizeof cfg->probe_error,
                 "cannot start (exit status %d): %.200s %.200s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                 cfg->command ? cfg->command
                              : (cfg->executable[0] ? cfg->executable : python_path),
                 cfg->command ? "" : adapter_path());
        goto fail;
    }
    /* Read the answer by hand, so that a subject that cannot start is a
     * message here rather than an abort. */
    unsigned char prefix[4];
    size_t got = 0;
    char *body = NULL;
    uint32_t len = 0;
    while (got < 4) {
        struct pollfd p = {l.sock, POLLIN, 0};
        uint64_t now = pc__remote_now_ms();
        if (now >= l.test_deadline || poll(&p, 1, (int)(l.test_deadline - now)) <= 0)
            break;
        ssize_t n = recv(l.sock, prefix + got, 4 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 4) {
        len = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
              (uint32_t)prefix[2] << 8 | prefix[3];
        if (len > 0 && len < 65536 && (body = calloc(1, len + 1)) != NULL) {
            got = 0;
            while (got < len) {
                struct pollfd p = {l.sock, POLLIN, 0};
                if (poll(&p, 1, 5000) <= 0)
                    break;
                ssize_t n = recv(l.sock, body + got, len - got, 0);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
            if (got < len) {
                free(body);
                body = NULL;
            }
        }
    }
    if (!body) {
        int st = 0;
        pc__remote_reap(&l, 1, &st);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
            snprintf(cfg->probe_error, sizeof cfg->probe_error,
                     "cannot start: command not found: %.400s",
                     cfg->command ? cfg->command
                                  : (cfg->executable[0] ? cfg->executable : python_path));
            goto fail;
        }
        snprintf(cfg->probe_error, sizeof cfg->probe_error,
                 "no answer to hello (is the command right? for asyncio/uvloop: %.200s "
                 "%.200s)",
                 cfg->executable[0] ? cfg->executable : python_path, adapter_path());
        goto fail;
    }
    char *nl = strchr(body, '\n');
    if (nl)
        *nl = '\0';
    if (strncmp(body, "hello ", 6) != 0) {
        snprintf(cfg->probe_error, sizeof cfg->probe_error, "%s",
                 strncmp(body, "err ", 4) == 0 ? body + 4 : body);
        free(body);
        pc__remote_reap(&l, 1, NULL);
        goto fail;
    }
    parse_hello(cfg, body + 6);
    free(body);
    pc__remote_reap(&l, 1, NULL); /* a probe needs no goodbye */
    cfg->probed = 1;
    cfg->probe_error[0] = '\0';
    return 0;
fail:
    if (err)
        fprintf(err, "pipecheck: subject %s: %s\n", cfg->name, cfg->probe_error);
    return -ENOENT;
}

const char *pc__remote_probe_error(const pc_subject *self)
{
    return ((const struct remote_config *)self->config)->probe_error;
}

int pc__remote_start(const pc_subject *self)
{
    struct remote_config *cfg = self->config;
    if (cfg->command || cfg->zygote_fd >= 0)
        return 0; /* exec: subjects start once per test */
    pc_loop l;
    memset(&l, 0, sizeof l);
    int err = spawn_process(cfg, &l, 1);
    if (err)
        return err;
    cfg->zygote_fd = l.sock;
    cfg->zygote_pid = l.pid;
    return 0;
}

void pc__remote_stop(const pc_subject *self)
{
    struct remote_config *cfg = self->config;
    if (cfg->zygote_fd < 0)
        return;
    /* The zygote ends when no one holds the control socket. */
    close(cfg->zygote_fd);
    cfg->zygote_fd = -1;
    int st;
    while (waitpid(cfg->zygote_pid, &st, 0) < 0 && errno == EINTR)
        ;
    cfg->zygote_pid = -1;
}
