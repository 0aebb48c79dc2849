/* Tests of the bench itself: every pipe kind opens, carries bytes both
 * ways, cleans up, and has exactly the facts its table entry claims; the
 * pattern helpers and the peers' scripts do what they promise.  Names are
 * "kinds.<what>@<kind>" and "peers.<what>@<kind>". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipecheck.h"

#define MIB (1024u * 1024u)

static void open_pair(const pc_kind *kind, pc_dir dir, unsigned flags, pc_pair *pair)
{
    int err = pc_pair_open(kind, dir, flags, pair);
    if (err == -ENOENT || err == -ENXIO || err == -ENOSYS)
        PC_SKIP("cannot make a %s pair here: %s", kind->name, pl_err_name(err));
    PC_ASSERT_ERR(err, 0);
    PC_ASSERT_EQ_PTR(pair->kind, kind);
    PC_ASSERT_GE_INT(pair->near, 0);
}

/* poll one fd; returns revents (0 on timeout). */
static short poll_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    PC_ASSERT_GE_INT(n, 0);
    return n ? p.revents : 0;
}

/* Read what is there, waiting at most a (scaled) few seconds for it:
 * returns the count, 0 at EOF, or -errno. */
static ssize_t read_wait(int fd, void *buf, size_t len)
{
    short r = poll_fd(fd, POLLIN, (int)pc_scale_ms(5000));
    if (!r)
        PC_FAIL("fd %d: nothing to read within %u ms", fd, pc_scale_ms(5000));
    ssize_t n = read(fd, buf, len);
    return n < 0 ? -errno : n;
}

static void write_all(int fd, uint64_t seed, uint64_t total)
{
    static unsigned char buf[64 * 1024];
    uint64_t done = 0;
    while (done < total) {
        size_t want = sizeof buf;
        if (want > total - done)
            want = (size_t)(total - done);
        pc_pattern_fill(seed, done, buf, want);
        size_t off = 0;
        while (off < want) {
            PC_ASSERT_NE_INT(poll_fd(fd, POLLOUT, (int)pc_scale_ms(5000)), 0);
            ssize_t n = write(fd, buf + off, want - off);
            if (n < 0 && errno == EAGAIN)
                continue;
            PC_ASSERT_GT_INT(n, 0);
            off += (size_t)n;
        }
        done += want;
    }
}

/* Read exactly total bytes and check them against the pattern. */
static void read_exact(int fd, uint64_t seed, uint64_t total)
{
    static unsigned char buf[64 * 1024];
    uint64_t got = 0;
    while (got < total) {
        size_t want = sizeof buf;
        if (want > total - got)
            want = (size_t)(total - got);
        ssize_t n = read_wait(fd, buf, want);
        if (n <= 0)
            PC_FAIL("read after %llu of %llu bytes: %s", (unsigned long long)got,
                    (unsigned long long)total, n ? pl_err_name((int)n) : "EOF");
        size_t ok = pc_pattern_check(seed, got, buf, (size_t)n);
        if (ok < (size_t)n)
            PC_FAIL("byte %llu of the stream is wrong", (unsigned long long)(got + ok));
        got += (uint64_t)n;
    }
}

/* The near read end's EOF: 0, or EIO where the kind says so (R11). */
static void expect_eof(const pc_kind *kind, int fd)
{
    char c;
    ssize_t n = read_wait(fd, &c, 1);
    if (kind->flags & PC_KIND_EOF_IS_EIO)
        PC_ASSERT_ERR(n, -EIO);
    else
        PC_ASSERT_EQ_INT(n, 0);
}

static void no_children_left(void)
{
    PC_ASSERT_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
    PC_ASSERT_EQ_INT(errno, ECHILD);
}

/* ---- kinds ---------------------------------------------------------------- */

static void check_end(int fd, int want_read, int want_write)
{
    int fdflags = fcntl(fd, F_GETFD);
    PC_ASSERT_GE_INT(fdflags, 0);
    PC_ASSERT(fdflags & FD_CLOEXEC);
    int acc = fcntl(fd, F_GETFL) & O_ACCMODE;
    if (want_read)
        PC_ASSERT(acc == O_RDONLY || acc == O_RDWR);
    if (want_write)
        PC_ASSERT(acc == O_WRONLY || acc == O_RDWR);
}

static void test_open_close(void *arg)
{
    const pc_kind *kind = arg;
    for (int d = 0; d < 2; d++) {
        pc_dir dir = d ? PC_DIR_WRITE : PC_DIR_READ;
        pc_pair pair;
        open_pair(kind, dir, 0, &pair);
        PC_ASSERT_EQ_INT((int)pair.dir, (int)dir);
        PC_ASSERT_GE_INT(pair.far, 0);
        PC_ASSERT_NULL(pair.peer);
        check_end(pair.near, dir == PC_DIR_READ, dir == PC_DIR_WRITE);
        check_end(pair.far, dir == PC_DIR_WRITE, dir == PC_DIR_READ);
        PC_ASSERT_EQ_INT(isatty(pair.near), (kind->flags & PC_KIND_TTY) != 0);
        unsigned ptn;
        PC_ASSERT_EQ_INT(ioctl(pair.near, TIOCGPTN, &ptn) == 0,
                         (kind->flags & PC_KIND_PTY_MASTER) != 0);
        char dir_path[sizeof pair.path] = "";
        if (kind->flags & PC_KIND_FIFO) {
            struct stat st;
            PC_ASSERT_EQ_INT(stat(pair.path, &st), 0);
            PC_ASSERT(S_ISFIFO(st.st_mode));
            snprintf(dir_path, sizeof dir_path, "%s", pair.path);
            *strrchr(dir_path, '/') = '\0';
            PC_ASSERT_EQ_INT(stat(dir_path, &st), 0);
            PC_ASSERT_EQ_UINT(st.st_mode & 0777, 0700);
        } else {
            PC_ASSERT_EQ_STR(pair.path, "");
        }
        pc_pair_close(&pair);
        PC_ASSERT_EQ_INT(pair.near, -1);
        PC_ASSERT_EQ_INT(pair.far, -1);
        pc_pair_close(&pair); /* twice is fine */
        if (dir_path[0]) {
            struct stat st;
            PC_ASSERT_EQ_INT(stat(dir_path, &st), -1);
            PC_ASSERT_EQ_INT(errno, ENOENT);
        }
    }
    no_children_left();
}

/* Bytes flow far -> near: a peer writes 1 MiB in random chunks and closes;
 * the near end gets every byte in order, then HUP, then its EOF. */
static void test_read_roundtrip(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_READ, 0, &pair);
    /* A pty slave loses unread input when the master closes: the peer
     * holds its end until everything was read. */
    int hold = (kind->flags & PC_KIND_FAR_CLOSE_DROPS) != 0;
    pc_peer_script s = {
        .action = PC_PEER_WRITE, .seed = pc_seed(), .bytes = MIB, .hold = hold};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    PC_ASSERT_EQ_PTR(pair.peer, peer);
    PC_ASSERT_EQ_INT(pair.far, -1);
    read_exact(pair.near, s.seed, MIB);
    if (hold)
        PC_ASSERT_ERR(pc_peer_release(peer), 0);
    pc_peer_result r;
    PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
    PC_ASSERT_NULL(pair.peer);
    PC_ASSERT_EQ_UINT(r.bytes, MIB);
    PC_ASSERT_ERR(r.error, 0);
    PC_ASSERT_EQ_INT(r.stopped, 0);
    short rev = poll_fd(pair.near, POLLIN, (int)pc_scale_ms(5000));
    PC_ASSERT_EQ_INT((rev & POLLHUP) != 0,
                     (kind->flags & PC_KIND_HUP_ON_PEER_CLOSE) != 0);
    expect_eof(kind, pair.near);
    pc_pair_close(&pair);
    no_children_left();
}

/* Bytes flow near -> far: the test writes 1 MiB, a peer reads it in random
 * chunks and checks it. */
static void test_write_roundtrip(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_WRITE, 0, &pair);
    /* Closing a pty master drops what the slave has not read, so there the
     * peer stops after the count instead of waiting for EOF. */
    int drops = (kind->flags & PC_KIND_NEAR_CLOSE_DROPS) != 0;
    pc_peer_script s = {
        .action = PC_PEER_READ, .seed = pc_seed() + 1, .bytes = drops ? MIB : 0};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    write_all(pair.near, s.seed, MIB);
    pc_peer_result r;
    if (drops) {
        PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
        PC_ASSERT_EQ_INT(r.eof, 0);
        PC_ASSERT_EQ_INT(close(pair.near), 0);
        pair.near = -1;
    } else {
        PC_ASSERT_EQ_INT(close(pair.near), 0);
        pair.near = -1;
        PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
        PC_ASSERT_EQ_INT(r.eof, 1);
    }
    PC_ASSERT_EQ_UINT(r.bytes, MIB);
    PC_ASSERT_EQ_INT(r.pattern_ok, 1);
    PC_ASSERT_EQ_UINT(r.mismatch_at, UINT64_MAX);
    PC_ASSERT_ERR(r.error, 0);
    pc_pair_close(&pair);
    no_children_left();
}

/* PC_KIND_WRITE_SEES_IDLE_CLOSE: the far reader closes, nothing written:
 * the near write end reports HUP or ERR (E1, E4). */
static void test_idle_close(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_WRITE, 0, &pair);
    pc_peer_script s = {.action = PC_PEER_IDLE};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    PC_ASSERT_ERR(pc_peer_wait(peer, NULL), 0);
    short rev = poll_fd(pair.near, 0, 0);
    PC_ASSERT_EQ_INT((rev & (POLLHUP | POLLERR)) != 0,
                     (kind->flags & PC_KIND_WRITE_SEES_IDLE_CLOSE) != 0);
    pc_pair_close(&pair);
    no_children_left();
}

/* The capacity hints are upper bounds, and shrinking works where the kind
 * says it does; what a fill wrote arrives intact. */
static void test_shrink_fill(void *arg)
{
    const pc_kind *kind = arg;
    for (int shrink = 0; shrink < 2; shrink++) {
        pc_pair pair;
        open_pair(kind, PC_DIR_WRITE, 0, &pair);
        size_t bound = kind->capacity_max;
        if (shrink) {
            int err = pc_pair_shrink(&pair, PC_SHRINK_SIZE);
            if (kind->flags & (PC_KIND_HAS_PIPE_SIZE | PC_KIND_SOCKET))
                PC_ASSERT_ERR(err, 0);
            else
                PC_ASSERT_ERR(err, -ENOTSUP);
            bound = kind->shrunk_capacity_max;
        }
        int fl = fcntl(pair.near, F_GETFL);
        ssize_t n = pc_fill_until_full(pair.near, 9, 0);
        PC_ASSERT_GT_INT(n, 0);
        PC_ASSERT_LE_UINT((size_t)n, bound);
        PC_ASSERT_EQ_INT(fcntl(pair.near, F_GETFL), fl); /* flags restored */
        if (kind->flags & PC_KIND_HAS_PIPE_SIZE)
            PC_ASSERT_EQ_INT(n, fcntl(pair.near, F_GETPIPE_SZ));
        pc_peer_script s = {.action = PC_PEER_READ, .seed = 9, .bytes = (uint64_t)n};
        pc_peer *peer = pc_peer_start(&pair, &s);
        PC_ASSERT_NOT_NULL(peer);
        pc_peer_result r;
        PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
        PC_ASSERT_EQ_UINT(r.bytes, (uint64_t)n);
        PC_ASSERT_EQ_INT(r.pattern_ok, 1);
        pc_pair_close(&pair);
    }
    no_children_left();
}

/* PC_KIND_CAN_NEVER_HAVE_WRITER: a FIFO reader without a writer yet polls
 * nothing (R12); once a writer came and went it polls HUP. */
static void test_never_had_writer(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    if (!(kind->flags & PC_KIND_CAN_NEVER_HAVE_WRITER)) {
        PC_ASSERT_ERR(pc_pair_open(kind, PC_DIR_READ, PC_OPEN_DEFER_FAR, &pair), -EINVAL);
        return;
    }
    PC_ASSERT_ERR(pc_pair_open(kind, PC_DIR_WRITE, PC_OPEN_DEFER_FAR, &pair), -EINVAL);
    open_pair(kind, PC_DIR_READ, PC_OPEN_DEFER_FAR, &pair);
    PC_ASSERT_EQ_INT(pair.far, -1);
    PC_ASSERT_EQ_INT(poll_fd(pair.near, POLLIN, 0), 0);
    PC_ASSERT_ERR(pc_pair_open_far(&pair), 0);
    PC_ASSERT_ERR(pc_pair_open_far(&pair), -EALREADY);
    PC_ASSERT_EQ_INT(write(pair.far, "ab", 2), 2);
    PC_ASSERT_EQ_INT(close(pair.far), 0);
    pair.far = -1;
    char buf[2];
    PC_ASSERT_EQ_INT(read_wait(pair.near, buf, 2), 2);
    PC_ASSERT_EQ_MEM(buf, "ab", 2);
    PC_ASSERT_NE_INT(poll_fd(pair.near, POLLIN, 0) & POLLHUP, 0);
    pc_pair_close(&pair);
}

/* PC_KIND_NEAR_WRITE_END_READABLE: bytes written at the far end arrive as
 * input on the near write end (W7's "input on a tty"). */
static void test_near_write_end_input(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_WRITE, 0, &pair);
    if (kind->flags & PC_KIND_NEAR_WRITE_END_READABLE) {
        PC_ASSERT_EQ_INT(write(pair.far, "q", 1), 1);
        char c = 0;
        PC_ASSERT_EQ_INT(read_wait(pair.near, &c, 1), 1);
        PC_ASSERT_EQ_INT(c, 'q');
    } else {
        /* A write-only end: no input can ever show up. */
        PC_ASSERT_EQ_INT(fcntl(pair.near, F_GETFL) & O_ACCMODE, O_WRONLY);
    }
    pc_pair_close(&pair);
}

/* PC_KIND_NEAR_CLOSE_DROPS / PC_KIND_FAR_CLOSE_DROPS: the writer writes a
 * little and closes at once; the reader then gets all of it unless the
 * kind says a close drops it. */
static void close_drops(const pc_kind *kind, pc_dir dir, int drops)
{
    pc_pair pair;
    open_pair(kind, dir, 0, &pair);
    int *writer = dir == PC_DIR_WRITE ? &pair.near : &pair.far;
    int reader = dir == PC_DIR_WRITE ? pair.far : pair.near;
    char msg[100];
    pc_pattern_fill(3, 0, msg, sizeof msg);
    PC_ASSERT_EQ_INT(write(*writer, msg, sizeof msg), (int)sizeof msg);
    PC_ASSERT_EQ_INT(close(*writer), 0);
    *writer = -1;
    char buf[sizeof msg];
    size_t got = 0;
    for (;;) {
        ssize_t n = read_wait(reader, buf + got, sizeof buf - got);
        if (n <= 0)
            break; /* 0, or EIO from a pty */
        got += (size_t)n;
        if (got == sizeof buf)
            break;
    }
    if (drops) {
        PC_ASSERT_LT_SIZE(got, sizeof msg);
    } else {
        PC_ASSERT_EQ_SIZE(got, sizeof msg);
        PC_ASSERT_EQ_MEM(buf, msg, sizeof msg);
    }
    pc_pair_close(&pair);
}

static void test_close_drops(void *arg)
{
    const pc_kind *kind = arg;
    if (kind->flags & PC_KIND_CHILD)
        PC_SKIP("the far end of a child kind belongs in a peer");
    close_drops(kind, PC_DIR_WRITE, (kind->flags & PC_KIND_NEAR_CLOSE_DROPS) != 0);
    close_drops(kind, PC_DIR_READ, (kind->flags & PC_KIND_FAR_CLOSE_DROPS) != 0);
}

/* ---- peers ---------------------------------------------------------------- */

/* wait_start and hold: nothing before the first release, EOF only after
 * the second. */
static void test_peer_gates(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_READ, 0, &pair);
    pc_peer_script s = {.action = PC_PEER_WRITE,
                        .seed = 5,
                        .bytes = 1000,
                        .chunk = 100,
                        .wait_start = 1,
                        .hold = 1};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    /* The peer cannot have written: it waits for a token. */
    PC_ASSERT_EQ_INT(poll_fd(pair.near, POLLIN, 0), 0);
    PC_ASSERT_ERR(pc_peer_release(peer), 0);
    read_exact(pair.near, 5, 1000);
    /* All written, but held open: no HUP. */
    PC_ASSERT_EQ_INT(poll_fd(pair.near, POLLIN, 0), 0);
    PC_ASSERT_ERR(pc_peer_release(peer), 0);
    PC_ASSERT_NE_INT(poll_fd(pair.near, POLLIN, (int)pc_scale_ms(5000)) & POLLHUP, 0);
    pc_peer_result r;
    PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
    PC_ASSERT_EQ_UINT(r.bytes, 1000);
    PC_ASSERT_EQ_INT(r.stopped, 0);
    pc_pair_close(&pair);
    no_children_left();
}

/* A reader that stops after N bytes and holds: the pipe fills; when it is
 * released it closes and the writer gets EPIPE. */
static void test_peer_stop_reading(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_WRITE, 0, &pair);
    pc_peer_script s = {.action = PC_PEER_READ,
                        .seed = 4,
                        .bytes = 1000,
                        .chunk = 10,
                        .pause_us = 100,
                        .hold = 1};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    write_all(pair.near, 4, 1000);
    /* The peer stops reading at 1000: more writes fill the pipe. */
    ssize_t filled = pc_fill_until_full(pair.near, 4, 1000);
    PC_ASSERT_GT_INT(filled, 0);
    PC_ASSERT_ERR(pc_peer_release(peer), 0);
    pc_peer_result r;
    PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
    PC_ASSERT_EQ_UINT(r.bytes, 1000);
    PC_ASSERT_EQ_INT(r.pattern_ok, 1);
    PC_ASSERT_EQ_INT(r.eof, 0);
    PC_ASSERT_ERR(pc_fill_until_full(pair.near, 4, 0), -EPIPE);
    pc_pair_close(&pair);
    no_children_left();
}

/* A writer whose reader is gone sees -EPIPE, and the process survives. */
static void test_peer_epipe(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_READ, 0, &pair);
    pc_peer_script s = {
        .action = PC_PEER_WRITE, .seed = 6, .bytes = 8 * MIB, .wait_start = 1};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    PC_ASSERT_EQ_INT(close(pair.near), 0);
    pair.near = -1;
    PC_ASSERT_ERR(pc_peer_release(peer), 0);
    pc_peer_result r;
    PC_ASSERT_ERR(pc_peer_wait(peer, &r), 0);
    PC_ASSERT_ERR(r.error, -EPIPE);
    PC_ASSERT_LT_UINT(r.bytes, 8 * MIB);
    pc_pair_close(&pair);
    no_children_left();
}

/* A pattern mismatch is found and located; stop ends a holding peer and a
 * peer blocked in the middle of a read. */
static void test_peer_stop_and_mismatch(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_WRITE, 0, &pair);
    pc_peer_script s = {
        .action = PC_PEER_READ, .seed = 8, .bytes = 300, .chunk = 7, .hold = 1};
    pc_peer *peer = pc_peer_start(&pair, &s);
    PC_ASSERT_NOT_NULL(peer);
    unsigned char buf[300];
    pc_pattern_fill(8, 0, buf, sizeof buf);
    buf[123] ^= 0x40;
    PC_ASSERT_EQ_INT(write(pair.near, buf, sizeof buf), (int)sizeof buf);
    pc_peer_result r;
    PC_ASSERT_ERR(pc_peer_stop(peer, &r), 0);
    PC_ASSERT_EQ_INT(r.stopped, 1);
    PC_ASSERT_EQ_INT(r.eof, 0);
    PC_ASSERT_EQ_INT(r.pattern_ok, 0);
    PC_ASSERT_EQ_UINT(r.mismatch_at, 123);
    PC_ASSERT_EQ_UINT(r.bytes, 300);
    pc_pair_close(&pair);

    /* A reader waiting for data that never comes. */
    open_pair(kind, PC_DIR_WRITE, 0, &pair);
    pc_peer_script forever = {.action = PC_PEER_READ, .seed = 8};
    peer = pc_peer_start(&pair, &forever);
    PC_ASSERT_NOT_NULL(peer);
    PC_ASSERT_ERR(pc_peer_stop(peer, &r), 0);
    PC_ASSERT_EQ_INT(r.stopped, 1);
    PC_ASSERT_EQ_UINT(r.bytes, 0);
    PC_ASSERT_EQ_INT(r.pattern_ok, 1);
    pc_pair_close(&pair);
    no_children_left();
}

/* pc_pair_close also stops and reaps a peer nobody waited for. */
static void test_pair_close_reaps(void *arg)
{
    const pc_kind *kind = arg;
    pc_pair pair;
    open_pair(kind, PC_DIR_READ, 0, &pair);
    pc_peer_script s = {.action = PC_PEER_IDLE, .hold = 1};
    PC_ASSERT_NOT_NULL(pc_peer_start(&pair, &s));
    pc_pair_close(&pair);
    PC_ASSERT_NULL(pair.peer);
    no_children_left();
}

static void test_pattern(void *arg)
{
    (void)arg;
    unsigned char a[1000], b[1000];
    pc_pattern_fill(42, 0, a, sizeof a);
    /* Any window of the stream is the same bytes. */
    for (size_t off = 0; off < 40; off += 3) {
        pc_pattern_fill(42, off, b, 100);
        PC_ASSERT_EQ_MEM(b, a + off, 100);
        PC_ASSERT_EQ_SIZE(pc_pattern_check(42, off, a + off, 500), 500);
        PC_ASSERT_EQ_INT(pc_pattern_byte(42, off), a[off]);
    }
    PC_ASSERT_EQ_SIZE(pc_pattern_check(42, 0, a, sizeof a), sizeof a);
    a[777] ^= 1;
    PC_ASSERT_EQ_SIZE(pc_pattern_check(42, 0, a, sizeof a), 777);
    PC_ASSERT_EQ_SIZE(pc_pattern_check(42, 700, a + 700, 300), 77);
    pc_pattern_fill(43, 0, b, sizeof b);
    PC_ASSERT_LT_SIZE(pc_pattern_check(42, 0, b, sizeof b), 8);
    /* Not a short cycle: bytes 0..999 are not all equal to bytes 8..1007. */
    pc_pattern_fill(42, 8, b, sizeof b);
    PC_ASSERT_LT_SIZE(pc_pattern_check(42, 0, b, sizeof b), 8);
}

static void test_table(void *arg)
{
    (void)arg;
    PC_ASSERT_GE_SIZE(pc_kind_count(), 5);
    PC_ASSERT_NULL(pc_kind_get(pc_kind_count()));
    for (size_t i = 0; i < pc_kind_count(); i++) {
        const pc_kind *k = pc_kind_get(i);
        PC_ASSERT_EQ_PTR(pc_kind_find(k->name), k);
        PC_ASSERT_LE_SIZE(k->shrunk_capacity_max, k->capacity_max);
    }
    const char *need[] = {"pipe", "fifo", "socketpair", "pty", "child"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        PC_ASSERT_NOT_NULL(pc_kind_find(need[i]));
    PC_ASSERT_NULL(pc_kind_find("nope"));
    PC_ASSERT_NULL(pc_kind_find(NULL));
    pc_pair pair;
    PC_ASSERT_ERR(pc_pair_open(NULL, PC_DIR_READ, 0, &pair), -EINVAL);
    PC_ASSERT_ERR(pc_pair_open(pc_kind_find("pipe"), (pc_dir)7, 0, &pair), -EINVAL);
    PC_ASSERT_ERR(pc_pair_open(pc_kind_find("pipe"), PC_DIR_READ, 1u << 9, &pair),
                  -EINVAL);
}

/* ---- registration ----------------------------------------------------------- */

static const struct kind_test {
    const char *name;
    void (*fn)(void *arg);
    int all_kinds; /* else only the thread and the child peer: pipe, child */
} kind_tests[] = {
    {"kinds.open-close", test_open_close, 1},
    {"kinds.read-roundtrip", test_read_roundtrip, 1},
    {"kinds.write-roundtrip", test_write_roundtrip, 1},
    {"kinds.idle-close", test_idle_close, 1},
    {"kinds.shrink-fill", test_shrink_fill, 1},
    {"kinds.never-had-writer", test_never_had_writer, 1},
    {"kinds.near-write-end-input", test_near_write_end_input, 1},
    {"kinds.close-drops", test_close_drops, 1},
    {"peers.gates", test_peer_gates, 0},
    {"peers.stop-reading", test_peer_stop_reading, 0},
    {"peers.epipe", test_peer_epipe, 0},
    {"peers.stop-and-mismatch", test_peer_stop_and_mismatch, 0},
    {"peers.pair-close-reaps", test_pair_close_reaps, 0},
};

__attribute__((constructor)) static void register_kind_tests(void)
{
    char name[128];
    for (size_t t = 0; t < sizeof kind_tests / sizeof kind_tests[0]; t++) {
        for (size_t k = 0; k < pc_kind_count(); k++) {
            const pc_kind *kind = pc_kind_get(k);
            if (!kind_tests[t].all_kinds && strcmp(kind->name, "pipe") != 0 &&
                !(kind->flags & PC_KIND_CHILD))
                continue;
            snprintf(name, sizeof name, "%s@%s", kind_tests[t].name, kind->name);
            (void)pc_test_add(name, kind_tests[t].fn, (void *)(uintptr_t)kind, 0);
        }
    }
    (void)pc_test_add("kinds.pattern", test_pattern, NULL, 0);
    (void)pc_test_add("kinds.table", test_table, NULL, 0);
}
