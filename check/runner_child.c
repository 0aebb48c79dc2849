/* The test's side of the runner: what a test can ask (its name, timeout,
 * seed), asserts, failing and skipping, failure hooks, and the records it
 * sends to the runner over its result pipe. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check_internal.h"

struct pc__run_settings pc__settings;
struct pc__test_state pc__test = {.result_fd = -1};
char pc__escape_message[PC__MESSAGE_MAX];
char pc__last_exception[256];

void pc__note_exception(const char *text, size_t len)
{
    if (len >= sizeof pc__last_exception)
        len = sizeof pc__last_exception - 1;
    memcpy(pc__last_exception, text, len);
    pc__last_exception[len] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                  */

static double multiplier(void)
{
    if (pc__settings.active)
        return pc__settings.multiplier;
    const char *env = getenv("PIPECHECK_TIMEOUT_MULTIPLIER");
    if (env != NULL && *env != '\0') {
        char *end;
        double value = strtod(env, &end);
        if (*end == '\0' && value > 0)
            return value;
    }
    return 1.0;
}

unsigned pc_scale_ms(unsigned ms)
{
    if (ms == 0)
        return 0;
    double scaled = (double)ms * multiplier();
    if (scaled >= (double)UINT_MAX)
        return UINT_MAX;
    unsigned result = (unsigned)scaled;
    if ((double)result < scaled)
        result++;
    return result ? result : 1;
}

const char *pc_current_test(void)
{
    return pc__test.name;
}

unsigned pc_timeout_ms(void)
{
    return pc__test.name ? pc__test.timeout_ms : pc_scale_ms(PC_DEFAULT_TIMEOUT_MS);
}

void pc_set_timeout_ms(unsigned ms)
{
    if (pc__test.name == NULL)
        return;
    pc__test.timeout_ms = pc_scale_ms(ms);
    uint32_t payload = pc__test.timeout_ms;
    pc__send_record(PC__RECORD_TIMEOUT, &payload, sizeof payload);
}

uint64_t pc_seed(void)
{
    return pc__settings.seed;
}

/* ------------------------------------------------------------------------ */
/* Records to the runner                                                     */

void pc__send_record(uint32_t kind, const void *payload, size_t len)
{
    if (pc__test.result_fd < 0)
        return;
    struct pc__record_header header = {kind, (uint32_t)len};
    struct iovec iov[2] = {{&header, sizeof header}, {(void *)payload, len}};
    size_t total = sizeof header + len, sent = 0;
    /* One writev normally does it; the loop handles EINTR and the (never
     * seen) short write by skipping what went out. */
    while (sent < total) {
        struct iovec rest[2];
        int count = 0;
        size_t skip = sent;
        for (int i = 0; i < 2; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            rest[count].iov_base = (char *)iov[i].iov_base + skip;
            rest[count].iov_len = iov[i].iov_len - skip;
            skip = 0;
            count++;
        }
        ssize_t n = writev(pc__test.result_fd, rest, count);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the runner is gone: nobody to tell */
        sent += (size_t)n;
    }
}

void pc__report_pass_and_exit(void)
{
    uint32_t status = PC_PASS;
    pc__send_record(PC__RECORD_OUTCOME, &status, sizeof status);
    _exit(0);
}

/* ------------------------------------------------------------------------ */
/* Failure hooks                                                             */

struct hook {
    void (*fn)(void *arg);
    void *arg;
};
static struct hook *hooks;
static size_t hook_count, hook_cap;

int pc_on_failure(void (*fn)(void *arg), void *arg)
{
    if (fn == NULL)
        return -EINVAL;
    if (hook_count == hook_cap) {
        size_t cap = hook_cap ? 2 * hook_cap : 8;
        struct hook *bigger = realloc(hooks, cap * sizeof *bigger);
        if (bigger == NULL)
            return -ENOMEM;
        hooks = bigger;
        hook_cap = cap;
    }
    hooks[hook_count].fn = fn;
    hooks[hook_count].arg = arg;
    hook_count++;
    return 0;
}

void pc_on_failure_remove(void (*fn)(void *arg), void *arg)
{
    for (size_t i = hook_count; i-- > 0;)
        if (hooks[i].fn == fn && hooks[i].arg == arg) {
            memmove(&hooks[i], &hooks[i + 1], (hook_count - i - 1) * sizeof *hooks);
            hook_count--;
            return;
        }
}

size_t pc__hooks_count(void)
{
    return hook_count;
}

void pc__hooks_truncate(size_t count)
{
    if (count < hook_count)
        hook_count = count;
    if (hook_count == 0) {
        free(hooks);
        hooks = NULL;
        hook_cap = 0;
    }
}

void pc__run_failure_hooks(void)
{
    /* Pop each hook before calling it, so a hook that fails (and so comes
     * back through pc__finish) cannot run twice. */
    while (hook_count > 0) {
        struct hook h = hooks[--hook_count];
        h.fn(h.arg);
    }
}

/* ------------------------------------------------------------------------ */
/* Failing and skipping                                                      */

static atomic_int finishing;
static pthread_t finishing_thread;
static char first_message[PC__MESSAGE_MAX];

static PC__NORETURN void deliver(pc_status status)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", status == PC_FAIL ? "FAIL" : "SKIP", first_message);
    if (pc__test.in_process) {
        memcpy(pc__escape_message, first_message, sizeof first_message);
        pc__test.escape_status = status;
        atomic_store(&finishing, 0);
        if (pc__test.escape != NULL && pthread_equal(pthread_self(), pc__test.thread))
            longjmp(*pc__test.escape, 1);
        fprintf(stderr, "pipecheck: test ended outside the runner's thread with "
                        "--no-fork; exiting\n");
        _exit(1);
    }
    size_t len = strlen(first_message);
    char payload[sizeof(uint32_t) + PC__MESSAGE_MAX];
    uint32_t code = status;
    memcpy(payload, &code, sizeof code);
    memcpy(payload + sizeof code, first_message, len);
    pc__send_record(PC__RECORD_OUTCOME, payload, sizeof code + len);
    _exit(status == PC_FAIL ? 1 : 0);
}

void pc__finish(pc_status status, const char *message)
{
    if (pc__test.name == NULL) {
        fprintf(stderr, "%s (outside a test)\n", message);
        abort();
    }
    if (atomic_fetch_add(&finishing, 1) > 0) {
        if (!pthread_equal(pthread_self(), finishing_thread)) {
            /* Another thread is already reporting and will end the process
             * (or, in-process, the run): stay out of its way. */
            for (;;)
                pause();
        }
        /* A failure hook failed: keep the first message, note the second,
         * and skip the remaining hooks. */
        pc__append(first_message, sizeof first_message, "; and a failure hook failed: %s",
                   message);
        deliver(PC_FAIL);
    }
    finishing_thread = pthread_self();
    snprintf(first_message, sizeof first_message, "%s", message);
    if (status == PC_SKIP && !pc__test.in_process && getpid() != pc__test.test_pid) {
        status = PC_FAIL;
        pc__append(first_message, sizeof first_message,
                   " (pc_skip in a process the test forked)");
    }
    if (status == PC_FAIL)
        pc__run_failure_hooks();
    deliver(status);
}

void pc_fail(const char *file, int line, const char *fmt, ...)
{
    char message[PC__MESSAGE_MAX];
    int len = snprintf(message, sizeof message, "%s:%d: ", file, line);
    if (len < 0 || (size_t)len >= sizeof message)
        len = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message + len, sizeof message - (size_t)len, fmt, ap);
    va_end(ap);
    pc__finish(PC_FAIL, message);
}

void pc_skip(const char *fmt, ...)
{
    char message[PC__MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    pc__finish(PC_SKIP, message);
}

/* ------------------------------------------------------------------------ */
/* Assert helpers                                                            */

void pc__fail_int(const char *file, int line, const char *atext, const char *op,
                  const char *btext, intmax_t a, intmax_t b)
{
    pc_fail(file, line, "assertion failed: %s %s %s (left: %jd, right: %jd)", atext, op,
            btext, a, b);
}

void pc__fail_uint(const char *file, int line, const char *atext, const char *op,
                   const char *btext, uintmax_t a, uintmax_t b)
{
    pc_fail(file, line, "assertion failed: %s %s %s (left: %ju, right: %ju)", atext, op,
            btext, a, b);
}

void pc__fail_ptr(const char *file, int line, const char *text, const void *a,
                  const void *b)
{
    if (b == NULL)
        pc_fail(file, line, "assertion failed: %s (got %p)", text, a);
    pc_fail(file, line, "assertion failed: %s (left: %p, right: %p)", text, a, b);
}

/* "PL_ECLOSED (-30002)", "OK (0)", "EPIPE (-32)", "5" */
static void describe_code(intmax_t code, char *buf, size_t size)
{
    if (code > 0)
        snprintf(buf, size, "%jd", code);
    else if (code == PC_EEXCEPTION && pc__last_exception[0] != '\0')
        snprintf(buf, size, "PC_EEXCEPTION (%jd: the subject raised %s)", code,
                 pc__last_exception);
    else if (code == PC_EEXCEPTION)
        snprintf(buf, size,
                 "PC_EEXCEPTION (%jd: the subject raised an exception, its text "
                 "is in the output)",
                 code);
    else if (code >= INT_MIN)
        snprintf(buf, size, "%s (%jd)", pl_err_name((int)code), code);
    else
        snprintf(buf, size, "UNKNOWN (%jd)", code);
}

void pc__fail_err(const char *file, int line, const char *text, intmax_t want,
                  intmax_t got)
{
    char want_text[320], got_text[320];
    describe_code(want, want_text, sizeof want_text);
    describe_code(got, got_text, sizeof got_text);
    pc_fail(file, line, "%s: expected %s, got %s", text, want_text, got_text);
}

void pc__fail_ok(const char *file, int line, const char *text, intmax_t got)
{
    char got_text[320];
    describe_code(got, got_text, sizeof got_text);
    if (got == PC_EEXCEPTION)
        pc_fail(file, line, "%s failed: %s", text, got_text);
    pc_fail(file, line, "%s failed: %s: %s", text, got_text,
            got >= INT_MIN ? pl_strerror((int)got) : "unknown error");
}

/* s as a C string literal, at most 200 of its bytes, into buf. */
static void quote(const char *s, char *buf, size_t size)
{
    if (s == NULL) {
        snprintf(buf, size, "NULL");
        return;
    }
    buf[0] = '\0';
    pc__append(buf, size, "\"");
    size_t i;
    for (i = 0; s[i] != '\0' && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            pc__append(buf, size, "\\%c", c);
        else if (c == '\n')
            pc__append(buf, size, "\\n");
        else if (c == '\t')
            pc__append(buf, size, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            pc__append(buf, size, "\\x%02x", c);
        else
            pc__append(buf, size, "%c", c);
    }
    pc__append(buf, size, s[i] != '\0' ? "\"..." : "\"");
}

void pc__check_str(const char *file, int line, const char *atext, const char *btext,
                   const char *a, const char *b)
{
    if (a == b || (a != NULL && b != NULL && strcmp(a, b) == 0))
        return;
    char left[1024], right[1024];
    quote(a, left, sizeof left);
    quote(b, right, sizeof right);
    if (a == NULL || b == NULL)
        pc_fail(file, line, "assertion failed: %s == %s (left: %s, right: %s)", atext,
                btext, left, right);
    size_t at = 0;
    while (a[at] == b[at])
        at++;
    pc_fail(file, line,
            "assertion failed: %s == %s (left: %s, right: %s; first difference at "
            "offset %zu)",
            atext, btext, left, right, at);
}

static void hex_bytes(const unsigned char *p, size_t n, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 16; i++)
        pc__append(buf, size, i ? " %02x" : "%02x", p[i]);
    if (n > 16)
        pc__append(buf, size, " ...");
}

void pc__check_mem(const char *file, int line, const char *atext, const char *btext,
                   const char *ntext, const void *a, const void *b, size_t n)
{
    if (n == 0 || a == b)
        return;
    if (a == NULL || b == NULL)
        pc_fail(file, line, "assertion failed: memcmp(%s, %s, %s) == 0 (%s is NULL)",
                atext, btext, ntext, a == NULL ? atext : btext);
    const unsigned char *x = a, *y = b;
    size_t at = 0;
    while (at < n && x[at] == y[at])
        at++;
    if (at == n)
        return;
    char left[80], right[80];
    hex_bytes(x + at, n - at, left, sizeof left);
    hex_bytes(y + at, n - at, right, sizeof right);
    pc_fail(file, line,
            "assertion failed: memcmp(%s, %s, %s) == 0: first difference at offset %zu "
            "of %zu (left: %s, right: %s)",
            atext, btext, ntext, at, n, left, right);
}
