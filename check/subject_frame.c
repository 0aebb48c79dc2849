/* Remote subjects, the wire: length-prefixed frames over the socketpair
 * (docs/subject-protocol.md), their tokens, every wait bounded by a
 * deadline inside the test's own limit, and requests that deliver the
 * events arriving before their answer. */
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

uint64_t pc__remote_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void copy_text(char *dst, const char *src, size_t len)
{
    size_t n = 0;
    for (; n < len && n + 1 < TEXT_MAX; n++)
        dst[n] = src[n] >= 32 && src[n] < 127 ? src[n] : '?';
    dst[n] = '\0';
}

/* Split the next space-separated token off *p. */
const char *pc__remote_token(char **p, size_t *len)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    char *e = s;
    while (*e && *e != ' ')
        e++;
    *len = (size_t)(e - s);
    *p = e;
    return s;
}

int pc__remote_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* ---- frames ------------------------------------------------------------- */

uint64_t pc__remote_deadline_for(const pc_loop *l, unsigned wait_ms)
{
    uint64_t d = pc__remote_now_ms() + pc_scale_ms(wait_ms);
    return d < l->test_deadline ? d : l->test_deadline;
}

static void wait_fd(pc_loop *l, short events, uint64_t deadline, const char *doing)
{
    for (;;) {
        uint64_t now = pc__remote_now_ms();
        /* The test's own time limit cut the wait short: the test ran out
         * of time (a slow machine, a test at its limit), which is not
         * evidence of a hung subject. */
        if (now >= deadline && deadline >= l->test_deadline)
            pc_fail(__FILE__, __LINE__,
                    "%s: the test's time limit ran out while %s (last sent '%s')",
                    l->cfg->name, doing, l->last_sent);
        if (now >= deadline)
            pc__remote_fail(l, "no answer within the time allowed while %s (hung?)",
                            doing);
        struct pollfd p = {l->sock, events, 0};
        uint64_t left = deadline - now;
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return;
        if (r < 0 && errno != EINTR)
            pc__remote_fail(l, "poll: %s", strerror(errno));
    }
}

/* Send header [+ '\n' + payload], passing fd (if >= 0) with SCM_RIGHTS. */
void pc__remote_send_frame(pc_loop *l, const char *header, const void *payload,
                           size_t len, int fd)
{
    size_t hlen = strlen(header);
    size_t body = hlen + (payload || len ? 1 + len : 0);
    unsigned char prefix[4] = {(unsigned char)(body >> 24), (unsigned char)(body >> 16),
                               (unsigned char)(body >> 8), (unsigned char)body};
    struct iovec iov[4] = {
        {prefix, 4}, {(void *)header, hlen}, {(void *)"\n", 1}, {(void *)payload, len}};
    int iovcnt = body > hlen ? 4 : 2;
    copy_text(l->last_sent, header, hlen);
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)iovcnt;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    uint64_t deadline = pc__remote_deadline_for(l, OP_WAIT_MS);
    size_t left = 4 + body;
    while (left > 0) {
        ssize_t n = sendmsg(l->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                wait_fd(l, POLLOUT, deadline, "sending a request");
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET)
                pc__remote_subject_gone(l, "before reading a request");
            pc__remote_fail(l, "sendmsg: %s", strerror(errno));
        }
        /* The fd went with the first bytes; move past what was sent. */
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        left -= (size_t)n;
        size_t skip = (size_t)n;
        while (skip > 0 && mh.msg_iovlen > 0) {
            if (skip >= mh.msg_iov->iov_len) {
                skip -= mh.msg_iov->iov_len;
                mh.msg_iov++;
                mh.msg_iovlen--;
            } else {
                mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + skip;
                mh.msg_iov->iov_len -= skip;
                skip = 0;
            }
        }
    }
}

static void read_exact(pc_loop *l, void *buf, size_t len, uint64_t deadline,
                       const char *doing)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(l->sock, (char *)buf + got, len - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            pc__remote_subject_gone(l, doing);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            pc__remote_fail(l, "recv: %s", strerror(errno));
        wait_fd(l, POLLIN, deadline, doing);
    }
}

static void recv_frame(pc_loop *l, uint64_t deadline, const char *doing, struct msg *m)
{
    unsigned char prefix[4];
    read_exact(l, prefix, 4, deadline, doing);
    uint32_t body = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 |
                    (uint32_t)prefix[2] << 8 | prefix[3];
    if (body == 0 || body > FRAME_MAX) {
        copy_text(l->last_received, (const char *)prefix, 4);
        pc__remote_fail(l, "garbage on the socket: a frame of %u bytes", (unsigned)body);
    }
    m->body = malloc((size_t)body + 1);
    if (!m->body)
        PC_FAIL("out of memory for a %u-byte message", (unsigned)body);
    read_exact(l, m->body, body, deadline, doing);
    m->body[body] = '\0';
    char *nl = memchr(m->body, '\n', body);
    m->header = m->body;
    if (nl) {
        *nl = '\0';
        m->payload = nl + 1;
        m->payload_len = body - (size_t)(nl + 1 - m->body);
    } else {
        m->payload = m->body + body;
        m->payload_len = 0;
    }
    copy_text(l->last_received, m->header, strlen(m->header));
    for (const char *p = m->header; *p; p++)
        if (*p < 32 || *p > 126) {
            free(m->body);
            pc__remote_fail(l, "garbage on the socket: a header that is not text");
        }
}

/* Send a request and wait for its answer (ok, err, done or hello),
 * delivering the events that come first.  *reply must be freed.  The
 * subject has wait_ms (scaled here) for each message, or, for a loop
 * span (step_ms >= 0, already scaled by the caller), that span plus
 * STEP_GRACE_MS; never past the test's own limit. */
void pc__remote_request_span(pc_loop *l, const char *header, const void *payload,
                             size_t len, int fd, unsigned wait_ms, int64_t step_ms,
                             struct msg *reply)
{
    pc__remote_send_frame(l, header, payload, len, fd);
    for (;;) {
        struct msg m;
        uint64_t deadline = pc__remote_deadline_for(l, wait_ms);
        if (step_ms >= 0) {
            deadline =
                pc__remote_now_ms() + (uint64_t)step_ms + pc_scale_ms(STEP_GRACE_MS);
            if (deadline > l->test_deadline)
                deadline = l->test_deadline;
        }
        recv_frame(l, deadline, "waiting for an answer", &m);
        if (strncmp(m.header, "event ", 6) == 0) {
            pc__remote_dispatch_event(l, &m);
            free(m.body);
            continue;
        }
        if (strncmp(m.header, "ok", 2) == 0 || strncmp(m.header, "err ", 4) == 0 ||
            strncmp(m.header, "done ", 5) == 0 || strncmp(m.header, "hello ", 6) == 0) {
            *reply = m;
            return;
        }
        free(m.body);
        pc__remote_fail(l, "protocol error: an unexpected message");
    }
}

void pc__remote_request(pc_loop *l, const char *header, const void *payload, size_t len,
                        int fd, unsigned wait_ms, struct msg *reply)
{
    pc__remote_request_span(l, header, payload, len, fd, wait_ms, -1, reply);
}
