/*
 * The test runner: one forked process (and process group) per test,
 * timeouts, and the run loop over the tests of the registry (registry.c).
 *
 * The runner never uses SIGCHLD.  It waits in poll() on every running test's
 * result pipe and pidfd, with the nearest deadline as the timeout.  A pidfd
 * becomes readable when its process exits, even if something the test
 * forked still holds the result pipe open.  Without pidfd_open (Linux <
 * 5.3) the loop also wakes every FALLBACK_TICK_MS to look with waitid().
 * A finished test's process is left a zombie until its process group has
 * been killed, so the group id cannot be reused before the kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_internal.h"

#define FALLBACK_TICK_MS 50
/* Captured output beyond this keeps its head and tail. */
#define OUTPUT_HEAD (32u * 1024u)
#define OUTPUT_TAIL (96u * 1024u)
/* The largest record a test may send; more is a broken protocol. */
#define RECORD_MAX (sizeof(uint32_t) + PC__MESSAGE_MAX)
#define MAX_SLOTS 256

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t random_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t state = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    state ^= (uint64_t)getpid() << 32;
    /* Keep seeds short enough to retype. */
    return splitmix64(&state) % 1000000000u;
}

/* Where a test's stdout and stderr go: a memfd (or an unlinked temporary
 * file) that the runner reads after the test, so a test that prints a lot
 * never blocks on a full pipe. */
static int capture_open(void)
{
    int fd = memfd_create("pipecheck-output", MFD_CLOEXEC);
    if (fd >= 0 || errno != ENOSYS)
        return fd >= 0 ? fd : -errno;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/pipecheck-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return fd;
}

static char *capture_read(int fd)
{
    struct stat st;
    size_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    size_t head = size, tail = 0;
    if (size > OUTPUT_HEAD + OUTPUT_TAIL) {
        head = OUTPUT_HEAD;
        tail = OUTPUT_TAIL;
    }
    char *text = malloc(head + tail + 64);
    if (text == NULL)
        return NULL;
    ssize_t got = pread(fd, text, head, 0);
    size_t len = got > 0 ? (size_t)got : 0;
    if (tail > 0) {
        len += (size_t)snprintf(text + len, 64, "\n[... %zu bytes cut ...]\n",
                                size - head - tail);
        got = pread(fd, text + len, tail, (off_t)(size - tail));
        len += got > 0 ? (size_t)got : 0;
    }
    text[len] = '\0';
    /* A NUL in the output would end the string early: show it. */
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\0')
            text[i] = '?';
    return text;
}

static int pidfd_open_or_none(pid_t pid)
{
#ifdef SYS_pidfd_open
    /* Ask once: old kernels (and valgrind) say ENOSYS, and valgrind warns
     * about every attempt. */
    static int unsupported;
    if (unsupported)
        return -1;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0 && errno == ENOSYS)
        unsupported = 1;
    return fd;
#else
    (void)pid;
    return -1;
#endif
}

/* ------------------------------------------------------------------------ */
/* Signals to the runner.  SIGINT and SIGTERM interrupt the run: no new     */
/* test starts, the running ones' process groups are killed, and pc_run     */
/* returns the partial results (the loop learns of it through a pipe, so a  */
/* signal between two polls is never missed).  A second one, or SIGHUP or   */
/* SIGQUIT, kills the running groups and ends the process at once.          */

static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define FATAL_COUNT (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction saved_actions[FATAL_COUNT];
static volatile sig_atomic_t running_groups[MAX_SLOTS];
static volatile sig_atomic_t interrupt_signal;
static volatile sig_atomic_t interrupt_wake_fd = -1;

static void on_fatal_signal(int sig)
{
    int saved_errno = errno;
    if ((sig == SIGINT || sig == SIGTERM) && interrupt_signal == 0 &&
        interrupt_wake_fd >= 0) {
        interrupt_signal = sig;
        if (write(interrupt_wake_fd, "!", 1) < 0) {
            /* Full: the loop is awake anyway. */
        }
        errno = saved_errno;
        return;
    }
    for (size_t i = 0; i < MAX_SLOTS; i++)
        if (running_groups[i] > 0)
            kill(-(pid_t)running_groups[i], SIGKILL);
    for (size_t i = 0; i < FATAL_COUNT; i++)
        if (fatal_signals[i] == sig)
            sigaction(sig, &saved_actions[i], NULL);
    raise(sig);
    errno = saved_errno;
}

static void fatal_signals_catch(void)
{
    for (size_t i = 0; i < FATAL_COUNT; i++) {
        sigaction(fatal_signals[i], NULL, &saved_actions[i]);
        if (saved_actions[i].sa_handler == SIG_IGN)
            continue; /* nohup and friends: keep ignoring */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, NULL);
    }
}

static void fatal_signals_restore(void)
{
    for (size_t i = 0; i < FATAL_COUNT; i++)
        sigaction(fatal_signals[i], &saved_actions[i], NULL);
}

/* ------------------------------------------------------------------------ */
/* The test process                                                          */

/* fds open when the run started: the only ones a test process keeps. */
static int *inherited_fds;
static size_t inherited_count;

static int is_inherited(int fd)
{
    for (size_t i = 0; i < inherited_count; i++)
        if (inherited_fds[i] == fd)
            return 1;
    return 0;
}

static PC__NORETURN void child_die(const char *what)
{
    char text[256];
    snprintf(text, sizeof text, "pipecheck: test setup failed: %s: %s\n", what,
             strerror(errno));
    if (write(STDERR_FILENO, text, strlen(text)) < 0)
        _exit(126);
    _exit(126);
}

static PC__NORETURN void child_main(const struct pc__test_entry *t, pid_t runner,
                                    int result_fd, int capture_fd, unsigned timeout_ms)
{
    /* Own process group, so that a timeout kills whatever the test forked;
     * and die with the runner. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != runner)
        _exit(126);
    fatal_signals_restore();

    /* A private stdin (so that a test changing fd 0's flags cannot touch
     * the runner's terminal), and stdout and stderr into the capture. */
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0)
        child_die("stdin");
    if (dup2(capture_fd, STDOUT_FILENO) < 0 || dup2(capture_fd, STDERR_FILENO) < 0)
        child_die("capture");
    /* Line-buffered stdout keeps the test's stdout and stderr in order in
     * the capture and loses at most a line on a crash.  The runner flushed
     * stdout before fork, so its buffer is empty here. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Close what the test must not hold: other tests' pipes and captures
     * (with -j), and anything the runner opened. */
    int *fds;
    size_t count;
    if (pc__list_fds(&fds, &count) < 0)
        child_die("listing fds");
    for (size_t i = 0; i < count; i++)
        if (fds[i] > 2 && fds[i] != result_fd && !is_inherited(fds[i]))
            close(fds[i]);
    free(fds);

    pc__test.name = t->name;
    pc__test.timeout_ms = timeout_ms;
    pc__test.result_fd = result_fd;
    pc__test.test_pid = getpid();
    pc__test.in_process = 0;

    struct pc__baseline baseline;
    if (pc__baseline_take(&baseline) < 0)
        child_die("leak baseline");
    t->fn(t->arg);
    fflush(stdout);
    if (getpid() != pc__test.test_pid) {
        /* A process the test forked returned from the test body. */
        fprintf(stderr,
                "pipecheck: a process forked by %s returned from the test "
                "body; it should _exit()\n",
                t->name);
        _exit(127);
    }
    char message[PC__MESSAGE_MAX - 64] = "";
    if (pc__baseline_check(&baseline, message, sizeof message) > 0) {
        char full[PC__MESSAGE_MAX];
        snprintf(full, sizeof full, "after the test: %s", message);
        pc__finish(PC_FAIL, full);
    }
    pc__report_pass_and_exit();
}

/* ------------------------------------------------------------------------ */
/* The runner's side of one running test                                     */

struct slot {
    int active;
    const struct pc__test_entry *test;
    pid_t pid;
    int pidfd;     /* -1 without pidfd_open */
    int result_fd; /* read end; -1 after EOF */
    int capture_fd;
    uint64_t start_ns;
    unsigned timeout_ms;
    unsigned char *buf; /* unparsed bytes from result_fd */
    size_t len, cap;
    int have_outcome;
    pc_status status;
    char *message;
    int protocol_error;
};

struct run {
    const pc_options *opts;
    pc_results *results;
    struct pc__reporter reporter;
    struct slot *slots;
    unsigned slot_count;
    int error;
    struct pc__expect expect;
    int stop; /* --fail-fast saw a failure: start no further test */
};

static void slot_handle_record(struct slot *s, uint32_t kind, const unsigned char *p,
                               size_t len)
{
    if (kind == PC__RECORD_TIMEOUT && len == sizeof(uint32_t)) {
        uint32_t ms;
        memcpy(&ms, p, sizeof ms);
        s->timeout_ms = ms;
    } else if (kind == PC__RECORD_OUTCOME && len >= sizeof(uint32_t)) {
        uint32_t status;
        memcpy(&status, p, sizeof status);
        if (status > PC_SKIP)
            status = PC_FAIL;
        /* A failure is final (a forked helper may report one before the
         * test passes); anything else can be overridden. */
        if (s->have_outcome && s->status == PC_FAIL)
            return;
        char *message = strndup((const char *)p + sizeof status, len - sizeof status);
        if (message == NULL)
            return;
        free(s->message);
        s->message = message;
        s->status = (pc_status)status;
        s->have_outcome = 1;
    } else {
        s->protocol_error = 1;
    }
}

/* Read whatever is in the result pipe and handle complete records. */
static void slot_read_results(struct slot *s)
{
    while (s->result_fd >= 0) {
        if (s->cap - s->len < 4096) {
            size_t cap = s->cap ? 2 * s->cap : 8192;
            unsigned char *bigger = realloc(s->buf, cap);
            if (bigger == NULL)
                return;
            s->buf = bigger;
            s->cap = cap;
        }
        ssize_t n = read(s->result_fd, s->buf + s->len, s->cap - s->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            close(s->result_fd);
            s->result_fd = -1;
            break;
        }
        s->len += (size_t)n;
    }
    size_t used = 0;
    while (s->len - used >= sizeof(struct pc__record_header)) {
        struct pc__record_header h;
        memcpy(&h, s->buf + used, sizeof h);
        if (h.len > RECORD_MAX) {
            s->protocol_error = 1;
            used = s->len;
            break;
        }
        if (s->len - used - sizeof h < h.len)
            break;
        slot_handle_record(s, h.kind, s->buf + used + sizeof h, h.len);
        used += sizeof h + h.len;
    }
    memmove(s->buf, s->buf + used, s->len - used);
    s->len -= used;
}

static int slot_exited(const struct slot *s)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* WNOWAIT: leave the zombie, which keeps the process group id. */
    if (waitid(P_PID, (id_t)s->pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno != EINTR;
    return info.si_pid != 0;
}

static void record(struct run *run, const char *name, pc_status status,
                   const char *message, const char *output, double seconds)
{
    if (pc__results_add(run->results, name, status, message, output, seconds) < 0) {
        run->error = -ENOMEM;
        return;
    }
    pc__report_result(&run->reporter, &run->results->items[run->results->count - 1]);
    int bad = status == PC_FAIL;
    if (run->expect.active) {
        int want = pc__expect_verdict(&run->expect, name);
        bad = want >= 0 && (int)status != want;
        if (bad) {
            static const char *const words[] = {"pass", "fail", "skip"};
            printf("%sunexpected: %s: %s, expected %s\n", run->opts->tap ? "# " : "",
                   name, words[status], words[want]);
        }
    }
    if (!bad)
        return;
    run->results->unexpected++;
    if (run->opts->fail_fast && !run->stop) {
        run->stop = 1;
        pc__report_bail_out(&run->reporter,
                            "stopping at the first failure (--fail-fast)");
    }
}

static void slot_start(struct run *run, struct slot *s, const struct pc__test_entry *t)
{
    memset(s, 0, sizeof *s);
    s->test = t;
    s->pidfd = s->result_fd = s->capture_fd = -1;
    s->timeout_ms = pc_scale_ms(PC_DEFAULT_TIMEOUT_MS);
    s->start_ns = pc_now_ns();
    pc__report_progress(&run->reporter, t->name);

    int pipe_fds[2] = {-1, -1};
    const char *what = "output capture";
    int err = capture_open();
    if (err >= 0) {
        s->capture_fd = err;
        what = "result pipe";
        err = pipe2(pipe_fds, O_CLOEXEC) < 0 ? -errno : 0;
    }
    if (err < 0) {
        char message[256];
        snprintf(message, sizeof message, "could not start: %s: %s", what,
                 strerror(-err));
        record(run, t->name, PC_FAIL, message, "", 0);
        if (s->capture_fd >= 0)
            close(s->capture_fd);
        return;
    }
    fflush(NULL); /* or the child would print the runner's buffered output */
    pid_t runner = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        child_main(t, runner, pipe_fds[1], s->capture_fd, s->timeout_ms);
    }
    close(pipe_fds[1]);
    if (pid < 0) {
        char message[256];
        snprintf(message, sizeof message, "could not start: fork: %s", strerror(errno));
        record(run, t->name, PC_FAIL, message, "", 0);
        close(pipe_fds[0]);
        close(s->capture_fd);
        return;
    }
    /* Also here, so the group exists before any kill(-pid) (no race). */
    setpgid(pid, pid);
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    s->pid = pid;
    s->result_fd = pipe_fds[0];
    s->pidfd = pidfd_open_or_none(pid);
    s->active = 1;
    running_groups[s - run->slots] = pid;
}

enum finish_reason { FINISH_EXITED, FINISH_TIMED_OUT, FINISH_INTERRUPTED };

/* The test's process has exited, timed out, or the run was interrupted:
 * kill its process group, reap it, collect its outcome and output, and
 * record the result (an interrupted test is recorded as stopped, without
 * an outcome, unless it had already reported a failure). */
static void slot_finish(struct run *run, struct slot *s, enum finish_reason why)
{
    kill(-s->pid, SIGKILL);
    if (why != FINISH_EXITED)
        kill(s->pid, SIGKILL); /* in case it left its group */
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        continue;
    running_groups[s - run->slots] = 0;
    double seconds = (double)(pc_now_ns() - s->start_ns) / 1e9;
    if (s->result_fd >= 0)
        slot_read_results(s);

    char message[PC__MESSAGE_MAX];
    pc_status outcome = PC_FAIL;
    int failed_already = s->have_outcome && s->status == PC_FAIL;
    char *output = capture_read(s->capture_fd);
    if (why == FINISH_INTERRUPTED && !failed_already) {
        if (pc__results_add_stopped(run->results, s->test->name, output ? output : "",
                                    seconds) < 0)
            run->error = -ENOMEM;
        goto done;
    }
    if (why != FINISH_EXITED && !failed_already) {
        snprintf(message, sizeof message, "timeout after %u ms", s->timeout_ms);
    } else if (s->have_outcome) {
        outcome = s->status;
        snprintf(message, sizeof message, "%s", s->message);
    } else if (WIFSIGNALED(status)) {
        char name[32];
        snprintf(message, sizeof message, "killed by signal %s%s",
                 pc__signal_name(WTERMSIG(status), name, sizeof name),
                 WCOREDUMP(status) ? " (core dumped)" : "");
    } else {
        snprintf(message, sizeof message,
                 "exited with status %d without reporting a result%s",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                 s->protocol_error ? " (garbled result pipe)" : "");
    }
    record(run, s->test->name, outcome, message, output ? output : "", seconds);
done:
    free(output);
    close(s->capture_fd);
    if (s->result_fd >= 0)
        close(s->result_fd);
    if (s->pidfd >= 0)
        close(s->pidfd);
    free(s->buf);
    free(s->message);
    s->active = 0;
}

/* While the progress line is shown, redraw it this often. */
#define PROGRESS_TICK_MS 250

static void run_forked(struct run *run, struct pc__test_entry *const *list, size_t total)
{
    size_t next = 0;
    unsigned running = 0;
    int wake[2] = {-1, -1};
    struct pollfd *pfds = calloc(2u * run->slot_count + 1, sizeof *pfds);
    unsigned *owner = calloc(2u * run->slot_count + 1, sizeof *owner);
    if (pfds == NULL || owner == NULL) {
        run->error = -ENOMEM;
        goto out;
    }
    /* Made after the fd baseline, so every test process closes it. */
    if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        run->error = -errno;
        goto out;
    }
    interrupt_signal = 0;
    interrupt_wake_fd = wake[1];
    fatal_signals_catch();
    for (;;) {
        for (unsigned i = 0; i < run->slot_count && next < total && !run->error &&
                             !run->stop && !interrupt_signal;
             i++)
            if (!run->slots[i].active) {
                slot_start(run, &run->slots[i], list[next++]);
                running += (unsigned)run->slots[i].active;
            }
        if (running == 0 || interrupt_signal)
            break;

        nfds_t n = 0;
        int tick = 0;
        uint64_t now = pc_now_ns(), wait_ns = UINT64_MAX;
        pfds[n] = (struct pollfd){.fd = wake[0], .events = POLLIN};
        owner[n++] = UINT32_MAX;
        for (unsigned i = 0; i < run->slot_count; i++) {
            struct slot *s = &run->slots[i];
            if (!s->active)
                continue;
            if (s->result_fd >= 0) {
                pfds[n] = (struct pollfd){.fd = s->result_fd, .events = POLLIN};
                owner[n++] = i;
            }
            if (s->pidfd >= 0) {
                pfds[n] = (struct pollfd){.fd = s->pidfd, .events = POLLIN};
                owner[n++] = i;
            } else {
                tick = 1;
            }
            uint64_t deadline = s->start_ns + (uint64_t)s->timeout_ms * 1000000u;
            uint64_t left = deadline > now ? deadline - now : 0;
            if (left < wait_ns)
                wait_ns = left;
        }
        /* Round up, so that the loop does not wake just before a deadline. */
        uint64_t wait_ms = (wait_ns + 999999u) / 1000000u;
        if (tick && wait_ms > FALLBACK_TICK_MS)
            wait_ms = FALLBACK_TICK_MS;
        if (run->reporter.progress && wait_ms > PROGRESS_TICK_MS)
            wait_ms = PROGRESS_TICK_MS;
        if (poll(pfds, n, wait_ms > INT32_MAX ? INT32_MAX : (int)wait_ms) < 0 &&
            errno != EINTR) {
            run->error = -errno;
            break;
        }
        if (interrupt_signal)
            break;
        if (pfds[0].revents) {
            /* A test process caught a signal meant for the runner before
             * it restored the default handlers: it wrote here. */
            char drain[64];
            while (read(wake[0], drain, sizeof drain) > 0)
                continue;
        }
        for (nfds_t k = 1; k < n; k++)
            if (pfds[k].revents && pfds[k].fd == run->slots[owner[k]].result_fd)
                slot_read_results(&run->slots[owner[k]]);
        now = pc_now_ns();
        for (unsigned i = 0; i < run->slot_count; i++) {
            struct slot *s = &run->slots[i];
            if (!s->active)
                continue;
            uint64_t deadline = s->start_ns + (uint64_t)s->timeout_ms * 1000000u;
            if (slot_exited(s))
                slot_finish(run, s, FINISH_EXITED);
            else if (now >= deadline)
                slot_finish(run, s, FINISH_TIMED_OUT);
            else
                continue;
            running--;
        }
        pc__report_progress(&run->reporter, NULL);
    }
    /* Interrupted, or after an internal error: leave nothing running. */
    for (unsigned i = 0; i < run->slot_count; i++)
        if (run->slots[i].active)
            slot_finish(run, &run->slots[i],
                        interrupt_signal ? FINISH_INTERRUPTED : FINISH_TIMED_OUT);
    if (interrupt_signal) {
        run->results->interrupted = interrupt_signal;
        run->results->not_started = total - next;
        pc__report_interrupted(&run->reporter, run->results);
    }
    fatal_signals_restore();
    interrupt_wake_fd = -1;
out:
    if (wake[0] >= 0) {
        close(wake[0]);
        close(wake[1]);
    }
    free(pfds);
    free(owner);
}

/* ------------------------------------------------------------------------ */
/* --no-fork                                                                 */

/* Returns the status; the message is in pc__escape_message. */
static pc_status run_in_process_once(const struct pc__test_entry *t,
                                     struct pc__baseline *baseline)
{
    jmp_buf escape;
    pc__test.escape = &escape;
    if (setjmp(escape) != 0) {
        pc__test.escape = NULL;
        return pc__test.escape_status;
    }
    t->fn(t->arg);
    pc__test.escape = NULL;
    char message[PC__MESSAGE_MAX - 64] = "";
    if (pc__baseline_check(baseline, message, sizeof message) == 0)
        return PC_PASS;
    snprintf(pc__escape_message, sizeof pc__escape_message, "after the test: %s",
             message);
    pc__run_failure_hooks();
    return PC_FAIL;
}

static void run_in_process(struct run *run, struct pc__test_entry *const *list,
                           size_t total)
{
    for (size_t i = 0; i < total && !run->error; i++) {
        const struct pc__test_entry *t = list[i];
        pc__report_progress(&run->reporter, t->name);
        struct pc__baseline baseline;
        if (pc__baseline_take(&baseline) < 0) {
            run->error = -ENOMEM;
            break;
        }
        pc__test.name = t->name;
        pc__test.timeout_ms = pc_scale_ms(PC_DEFAULT_TIMEOUT_MS);
        pc__test.result_fd = -1;
        pc__test.test_pid = 0;
        pc__test.in_process = 1;
        pc__test.thread = pthread_self();
        pc__test.hooks_at_start = pc__hooks_count();
        pc__escape_message[0] = '\0';
        fflush(NULL);
        uint64_t start = pc_now_ns();
        pc_status status = run_in_process_once(t, &baseline);
        double seconds = (double)(pc_now_ns() - start) / 1e9;
        fflush(NULL);
        pc__hooks_truncate(pc__test.hooks_at_start);
        pc__test.name = NULL;
        pc__test.in_process = 0;
        pc__baseline_free(&baseline);
        record(run, t->name, status, status == PC_PASS ? "" : pc__escape_message, "",
               seconds);
        if (status == PC_FAIL) {
            if (!run->stop)
                pc__report_bail_out(&run->reporter,
                                    "stopping at the first failure (--no-fork)");
            break;
        }
        if (run->stop)
            break;
    }
}

/* ------------------------------------------------------------------------ */
/* pc_run and pc_main                                                        */

int pc_run(const pc_options *opts, pc_results **out)
{
    *out = NULL;
    int err = pc__registry_check();
    if (err < 0)
        return err;
    /* A JUnit path that cannot be written stops the run before it starts. */
    FILE *junit = NULL;
    if (opts->junit_path != NULL && (junit = pc__junit_open(opts->junit_path)) == NULL)
        return -errno;

    struct run run;
    memset(&run, 0, sizeof run);
    run.opts = opts;
    size_t selected = 0;
    for (size_t i = 0; i < pc_test_count(); i++)
        selected += (size_t)pc_options_match(opts, pc__registry_entry(i)->name,
                                             pc__registry_entry(i)->flags);
    size_t repeat = opts->repeat ? opts->repeat : 1, total = selected * repeat;
    struct pc__test_entry **list = malloc((total ? total : 1) * sizeof *list);
    run.results = calloc(1, sizeof *run.results);
    unsigned jobs = opts->no_fork ? 1 : opts->jobs ? opts->jobs : 1;
    if (jobs > MAX_SLOTS)
        jobs = MAX_SLOTS;
    if (jobs > total && total > 0)
        jobs = (unsigned)total;
    run.slot_count = jobs;
    run.slots = calloc(jobs, sizeof *run.slots);
    err = list && run.results && run.slots
              ? pc__list_fds(&inherited_fds, &inherited_count)
              : -ENOMEM;
    if (err < 0) {
        free(list);
        free(run.results);
        free(run.slots);
        if (junit != NULL)
            fclose(junit);
        return err;
    }
    run.results->tap = opts->tap;
    if (opts->expect_path != NULL) {
        err = pc__expect_load(&run.expect, opts->expect_path, stderr);
        if (err < 0) {
            free(list);
            free(run.results);
            free(run.slots);
            free(inherited_fds);
            inherited_fds = NULL;
            if (junit != NULL)
                fclose(junit);
            return err;
        }
        run.results->expecting = 1;
    }
    size_t n = 0;
    for (size_t r = 0; r < repeat; r++)
        for (size_t i = 0; i < pc_test_count(); i++)
            if (pc_options_match(opts, pc__registry_entry(i)->name,
                                 pc__registry_entry(i)->flags))
                list[n++] = pc__registry_entry(i);

    uint64_t seed = opts->seed_given ? opts->seed : random_seed();
    if (opts->shuffle) {
        uint64_t state = seed;
        for (size_t i = total; i > 1; i--) {
            size_t j = (size_t)(splitmix64(&state) % i);
            struct pc__test_entry *tmp = list[i - 1];
            list[i - 1] = list[j];
            list[j] = tmp;
        }
    }
    pc__settings.active = 1;
    pc__settings.multiplier = opts->timeout_multiplier > 0 ? opts->timeout_multiplier : 1;
    pc__settings.seed = seed;

    if (total == 0)
        fprintf(stderr, "%s: no tests match the filters\n", opts->program);
    pc__report_start(&run.reporter, opts, total, jobs, seed);
    if (opts->no_fork)
        run_in_process(&run, list, total);
    else
        run_forked(&run, list, total);
    pc__report_end(&run.reporter);
    if (run.error < 0)
        fprintf(stderr, "pipecheck: the run failed: %s\n", strerror(-run.error));

    free(list);
    free(run.slots);
    pc__expect_free(&run.expect);
    free(inherited_fds);
    inherited_fds = NULL;
    inherited_count = 0;
    err = run.error;
    if (junit != NULL) {
        int junit_err = pc__junit_write(junit, opts->junit_path, run.results, seed);
        if (err == 0)
            err = junit_err;
    }
    *out = run.results;
    return err;
}

int pc_main(int argc, char **argv)
{
    pc_options opts;
    pc_options_init(&opts);
    int err = pc_options_parse(&opts, argc, argv, NULL, NULL);
    if (err < 0) {
        pc_options_free(&opts);
        return 2;
    }
    if (opts.help || opts.version || opts.list) {
        if (opts.help) {
            printf("usage: %s [options] [GLOB...]\n\noptions:\n", opts.program);
            pc_print_usage(stdout);
        } else if (opts.version) {
            printf("%s (pipecheck) %s\n", opts.program, pl_version_string());
        } else {
            pc_list_tests(&opts, stdout);
        }
        pc_options_free(&opts);
        return pc_exit_status(NULL, 0);
    }
    pc_results *results;
    err = pc_run(&opts, &results);
    if (results != NULL)
        pc_results_print_summary(results);
    int status = pc_exit_status(results, err);
    pc_results_free(results);
    pc_options_free(&opts);
    return status;
}
