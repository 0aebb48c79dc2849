/* W6 many commands: arguments, the commands' expected outputs, clocks and
 * the result lines. */
#include "w6.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

static struct w6_args args;
static uint64_t start_ns;
static double start_self, start_children;
static char *expected; /* scratch for the expected output */

struct w6_args w6_parse_args(int argc, char **argv)
{
    if (argc > 3 ||
        (argc > 1 && strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "cat") != 0))
        bench_fail("usage: %s [echo|cat [COMMANDS]]", argv[0]);
    args.kind = argc > 1 && strcmp(argv[1], "cat") == 0 ? W6_CAT : W6_ECHO;
    args.commands = argc > 2 ? bench_parse_size(argv[2], "commands", 1, 10000000) : 10000;
    if (access(w6_program(&args), X_OK) != 0)
        bench_fail("W6: %s is not executable", w6_program(&args));
    expected = malloc(W6_CAT_INPUT > W6_ECHO_ARG + 1 ? W6_CAT_INPUT : W6_ECHO_ARG + 1);
    if (expected == NULL)
        bench_fail("out of memory");
    return args;
}

const char *w6_program(const struct w6_args *a)
{
    return a->kind == W6_CAT ? W6_CAT_PROGRAM : W6_ECHO_PROGRAM;
}

size_t w6_input_len(const struct w6_args *a)
{
    return a->kind == W6_CAT ? W6_CAT_INPUT : 0;
}

/* Printable filler: byte k is 'a' + k % 26, with a newline every 64. */
static void fill(char *buf, size_t len)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (k % 64 == 63) ? '\n' : (char)('a' + k % 26);
}

/* The first bytes: the index, then a space. */
static void stamp(char *buf, uint64_t index)
{
    char head[24];
    int n = snprintf(head, sizeof head, "%llu ", (unsigned long long)index);
    memcpy(buf, head, (size_t)n);
}

void w6_slot_init(struct w6_slot *slot, const struct w6_args *a)
{
    static char echo[] = W6_ECHO_PROGRAM;
    static char cat[] = W6_CAT_PROGRAM;

    memset(slot, 0, sizeof *slot);
    if (a->kind == W6_ECHO) {
        slot->arg = malloc(W6_ECHO_ARG + 1);
        if (slot->arg == NULL)
            bench_fail("out of memory");
        fill(slot->arg, W6_ECHO_ARG);
        /* echo's argument holds no newline: the output is one line. */
        for (size_t k = 0; k < W6_ECHO_ARG; k++)
            if (slot->arg[k] == '\n')
                slot->arg[k] = '.';
        slot->arg[W6_ECHO_ARG] = '\0';
        slot->argv[0] = echo;
        slot->argv[1] = slot->arg;
    } else {
        slot->input = malloc(W6_CAT_INPUT);
        if (slot->input == NULL)
            bench_fail("out of memory");
        fill((char *)slot->input, W6_CAT_INPUT);
        slot->argv[0] = cat;
    }
}

void w6_slot_prepare(struct w6_slot *slot, uint64_t index)
{
    slot->index = index;
    stamp(slot->arg ? slot->arg : (char *)slot->input, index);
}

void w6_check(const char *variant, uint64_t index, const void *out, size_t out_len,
              size_t err_len, int returncode)
{
    size_t want;

    if (args.kind == W6_ECHO) {
        fill(expected, W6_ECHO_ARG);
        for (size_t k = 0; k < W6_ECHO_ARG; k++)
            if (expected[k] == '\n')
                expected[k] = '.';
        expected[W6_ECHO_ARG] = '\n';
        want = W6_ECHO_ARG + 1;
    } else {
        fill(expected, W6_CAT_INPUT);
        want = W6_CAT_INPUT;
    }
    stamp(expected, index);
    if (returncode != 0 || err_len != 0 || out_len != want ||
        memcmp(out, expected, want) != 0)
        bench_fail(
            "W6 %s: command %llu: return code %d, %zu bytes on stderr, %zu bytes on "
            "stdout (%s)",
            variant, (unsigned long long)index, returncode, err_len, out_len,
            out_len == want ? "wrong bytes" : "wrong length");
}

static double cpu_of(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        bench_fail("getrusage");
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void w6_begin(void)
{
    start_self = cpu_of(RUSAGE_SELF);
    start_children = cpu_of(RUSAGE_CHILDREN);
    start_ns = bench_now_ns();
}

void w6_finish(const char *variant, uint64_t completed)
{
    double wall = (double)(bench_now_ns() - start_ns) / 1e3;
    double self = (cpu_of(RUSAGE_SELF) - start_self) * 1e6;
    double children = (cpu_of(RUSAGE_CHILDREN) - start_children) * 1e6;
    const char *label = args.kind == W6_CAT ? "cat" : "echo";
    double n = (double)args.commands;

    if (completed != args.commands)
        bench_fail("W6 %s: %llu of %llu commands completed", variant,
                   (unsigned long long)completed, (unsigned long long)args.commands);
    bench_result("W6", variant, label, "us/command", wall / n);
    bench_result("W6", variant, label, "cpu_us/command", self / n);
    bench_result("W6", variant, label, "child_cpu_us/command", children / n);
}
