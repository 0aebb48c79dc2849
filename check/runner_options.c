/* Runner options: defaults, the command line, filters. */
#include <errno.h>
#include <fnmatch.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_internal.h"

/* -j above this is almost certainly a typo, and the runner keeps a fixed
 * table of running process groups for its signal handler. */
#define MAX_JOBS 256u

static unsigned default_jobs(void)
{
    long cpus = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cpus = CPU_COUNT(&set);
    if (cpus <= 0)
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus <= 0)
        cpus = 1;
    return cpus > 8 ? 8u : (unsigned)cpus;
}

void pc_options_init(pc_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->program = "pipecheck";
    opts->jobs = default_jobs();
    opts->repeat = 1;
    opts->timeout_multiplier = 1.0;
    const char *env = getenv("PIPECHECK_TIMEOUT_MULTIPLIER");
    if (env != NULL && *env != '\0') {
        char *end;
        double value = strtod(env, &end);
        if (*end == '\0' && value > 0)
            opts->timeout_multiplier = value;
        else
            fprintf(stderr,
                    "pipecheck: ignoring PIPECHECK_TIMEOUT_MULTIPLIER=%s (want a "
                    "number > 0)\n",
                    env);
    }
}

void pc_options_free(pc_options *opts)
{
    for (size_t i = 0; i < opts->filter_count; i++)
        free(opts->filters[i]);
    free(opts->filters);
    opts->filters = NULL;
    opts->filter_count = 0;
}

int pc_options_add_filter(pc_options *opts, const char *glob)
{
    char *copy = strdup(glob);
    if (copy == NULL)
        return -ENOMEM;
    char **bigger = realloc(opts->filters, (opts->filter_count + 1) * sizeof *bigger);
    if (bigger == NULL) {
        free(copy);
        return -ENOMEM;
    }
    opts->filters = bigger;
    opts->filters[opts->filter_count++] = copy;
    return 0;
}

int pc_options_match(const pc_options *opts, const char *name, unsigned flags)
{
    if (flags & PC_TEST_HIDDEN) {
        for (size_t i = 0; i < opts->filter_count; i++)
            if (strcmp(opts->filters[i], name) == 0)
                return 1;
        return 0;
    }
    if (opts->filter_count == 0)
        return 1;
    for (size_t i = 0; i < opts->filter_count; i++)
        if (fnmatch(opts->filters[i], name, 0) == 0)
            return 1;
    return 0;
}

int pc_color_wanted(const pc_options *opts, int fd)
{
    if (opts->color != PC_COLOR_AUTO)
        return opts->color == PC_COLOR_ALWAYS;
    /* https://no-color.org: set and not empty means no colour. */
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(fd) && (no_color == NULL || *no_color == '\0') &&
           !(term != NULL && strcmp(term, "dumb") == 0);
}

void pc_list_tests(const pc_options *opts, FILE *out)
{
    for (size_t i = 0; i < pc_test_count(); i++)
        if (pc_options_match(opts, pc_test_name(i), pc_test_flags(i)))
            fprintf(out, "%s\n", pc_test_name(i));
}

void pc_print_usage(FILE *out)
{
    fputs(
        "  -l, --list                list the selected tests and exit\n"
        "  -f, --filter GLOB         run the tests whose name matches GLOB (fnmatch;\n"
        "                            repeatable; a bare GLOB argument does the same);\n"
        "                            hidden tests run only when named exactly\n"
        "  -j, --jobs N              run N tests at once (default: CPUs, at most 8)\n"
        "      --repeat N            run every selected test N times\n"
        "      --shuffle             run the tests in a random order (see --seed)\n"
        "      --seed S              seed for --shuffle and pc_seed() (default: random;\n"
        "                            it is printed, so a run can be replayed)\n"
        "      --tap                 print TAP version 13 on stdout\n"
        "      --junit FILE          write JUnit XML to FILE\n"
        "      --no-fork             run tests in this process, for debuggers: no\n"
        "                            isolation or timeouts; a failure ends the run\n"
        "  -x, --fail-fast           start no test after the first failure\n"
        "      --expect FILE         judge each test against the verdicts in FILE\n"
        "                            (lines 'pass|fail|skip|any NAME'; absent: pass):\n"
        "                            a run fails when a status differs from it\n"
        "      --timeout-multiplier X  multiply every timeout by X (default:\n"
        "                            $PIPECHECK_TIMEOUT_MULTIPLIER, else 1)\n"
        "  -v, --verbose             print every test, not only failures\n"
        "      --color WHEN          colour: auto (on a terminal unless $NO_COLOR is\n"
        "                            set), always or never (default: auto)\n"
        "  -h, --help                show this help\n"
        "      --version             print the version and exit\n"
        "Short options combine: -lv is -l -v; -vj2 is -v -j 2.  An option's value\n"
        "never starts with '-' unless written inline: --filter=-x.\n",
        out);
}

enum option_id {
    OPT_LIST,
    OPT_FILTER,
    OPT_JOBS,
    OPT_REPEAT,
    OPT_SHUFFLE,
    OPT_SEED,
    OPT_TAP,
    OPT_JUNIT,
    OPT_NO_FORK,
    OPT_MULTIPLIER,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_VERSION,
    OPT_COLOR,
    OPT_FAIL_FAST,
    OPT_EXPECT,
};

static const struct option_spec {
    const char *long_name;
    char short_name;
    int takes_value;
    enum option_id id;
} option_specs[] = {
    {"--list", 'l', 0, OPT_LIST},
    {"--filter", 'f', 1, OPT_FILTER},
    {"--jobs", 'j', 1, OPT_JOBS},
    {"--repeat", 0, 1, OPT_REPEAT},
    {"--shuffle", 0, 0, OPT_SHUFFLE},
    {"--seed", 0, 1, OPT_SEED},
    {"--tap", 0, 0, OPT_TAP},
    {"--junit", 0, 1, OPT_JUNIT},
    {"--no-fork", 0, 0, OPT_NO_FORK},
    {"--timeout-multiplier", 0, 1, OPT_MULTIPLIER},
    {"--verbose", 'v', 0, OPT_VERBOSE},
    {"--help", 'h', 0, OPT_HELP},
    {"--version", 0, 0, OPT_VERSION},
    {"--color", 0, 1, OPT_COLOR},
    {"--fail-fast", 'x', 0, OPT_FAIL_FAST},
    {"--expect", 0, 1, OPT_EXPECT},
};

static int usage_error(const pc_options *opts, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", opts->program);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return -EINVAL;
}

static int parse_unsigned(const pc_options *opts, const char *name, const char *value,
                          unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (errno || end == value || *end != '\0' || value[0] == '-' || n < min || n > max) {
        fprintf(stderr, "%s: %s wants a number from %u to %u, not '%s'\n", opts->program,
                name, min, max, value);
        return -EINVAL;
    }
    *out = (unsigned)n;
    return 0;
}

static int apply(pc_options *opts, const struct option_spec *spec, const char *value)
{
    char *end;
    switch (spec->id) {
    case OPT_LIST:
        opts->list = 1;
        return 0;
    case OPT_SHUFFLE:
        opts->shuffle = 1;
        return 0;
    case OPT_TAP:
        opts->tap = 1;
        return 0;
    case OPT_NO_FORK:
        opts->no_fork = 1;
        return 0;
    case OPT_VERBOSE:
        opts->verbose = 1;
        return 0;
    case OPT_HELP:
        opts->help = 1;
        return 0;
    case OPT_VERSION:
        opts->version = 1;
        return 0;
    case OPT_FAIL_FAST:
        opts->fail_fast = 1;
        return 0;
    case OPT_EXPECT:
        opts->expect_path = value;
        return 0;
    case OPT_FILTER:
        return pc_options_add_filter(opts, value);
    case OPT_JUNIT:
        opts->junit_path = value;
        return 0;
    case OPT_JOBS:
        return parse_unsigned(opts, "--jobs", value, 1, MAX_JOBS, &opts->jobs);
    case OPT_REPEAT:
        return parse_unsigned(opts, "--repeat", value, 1, 1000000, &opts->repeat);
    case OPT_SEED:
        errno = 0;
        opts->seed = strtoull(value, &end, 0);
        if (errno || end == value || *end != '\0' || value[0] == '-')
            return usage_error(opts, "--seed wants an unsigned number, not '%s'", value);
        opts->seed_given = 1;
        return 0;
    case OPT_COLOR:
        if (strcmp(value, "auto") == 0)
            opts->color = PC_COLOR_AUTO;
        else if (strcmp(value, "always") == 0)
            opts->color = PC_COLOR_ALWAYS;
        else if (strcmp(value, "never") == 0)
            opts->color = PC_COLOR_NEVER;
        else
            return usage_error(opts, "--color takes auto, always or never, not '%s'",
                               value);
        return 0;
    case OPT_MULTIPLIER:
        opts->timeout_multiplier = strtod(value, &end);
        if (end == value || *end != '\0' || !(opts->timeout_multiplier > 0) ||
            opts->timeout_multiplier > 1e6)
            return usage_error(opts, "--timeout-multiplier wants a number > 0, not '%s'",
                               value);
        return 0;
    }
    return -EINVAL;
}

/* The next argument as an option's value: NULL if there is none or it is
 * itself an option ("--junit --filter X" must not write a file called
 * "--filter").  "-" alone is a value.  A value that starts with '-' can be
 * given inline: --filter=-x. */
static const char *value_from(const char *next)
{
    if (next == NULL || (next[0] == '-' && next[1] != '\0'))
        return NULL;
    return next;
}

static int missing_value(const pc_options *opts, const char *option, const char *next)
{
    if (next != NULL) {
        fprintf(stderr,
                "%s: %s needs a value, not the option '%s' (write %s%sVALUE for a "
                "value that starts with '-')\n",
                opts->program, option, next, option, option[1] == '-' ? "=" : "");
        return -EINVAL;
    }
    return usage_error(opts, "%s needs a value", option);
}

/* Offer arg (with its value: inline after '=', else the next argument) to
 * the caller's hook.  Returns how many argv elements were used, or < 0. */
static int offer(pc_options *opts, pc_option_hook extra, void *user, const char *arg,
                 const char *inline_value, const char *next)
{
    if (extra == NULL)
        return 0;
    char name[256];
    const char *value = value_from(next);
    if (inline_value != NULL) {
        size_t len = (size_t)(inline_value - 1 - arg);
        if (len >= sizeof name)
            return usage_error(opts, "option too long: '%s'", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        arg = name;
        value = inline_value;
    }
    int taken = extra(arg, value, user);
    if (taken < 0)
        return -EINVAL;
    if (taken == PC_OPTION_TAKES_VALUE && value == NULL)
        return missing_value(opts, arg, next);
    if (inline_value != NULL) {
        if (taken == PC_OPTION_TAKES_ARG)
            return usage_error(opts, "%s takes no value", arg);
        return taken == PC_OPTION_UNKNOWN ? 0 : 1;
    }
    return taken == PC_OPTION_TAKES_VALUE ? 2 : taken == PC_OPTION_TAKES_ARG ? 1 : 0;
}

static const struct option_spec *find_long(const char *arg, const char **inline_value)
{
    for (size_t s = 0; s < sizeof option_specs / sizeof option_specs[0]; s++) {
        const struct option_spec *o = &option_specs[s];
        size_t len = strlen(o->long_name);
        if (strncmp(arg, o->long_name, len) == 0 &&
            (arg[len] == '\0' || arg[len] == '=')) {
            *inline_value = arg[len] == '=' ? arg + len + 1 : NULL;
            return o;
        }
    }
    return NULL;
}

static const struct option_spec *find_short(char c)
{
    for (size_t s = 0; s < sizeof option_specs / sizeof option_specs[0]; s++)
        if (option_specs[s].short_name == c)
            return &option_specs[s];
    return NULL;
}

/* A cluster of short options: "-lv", "-j2", "-vj2", "-vj 2".  Returns how
 * many argv elements were used (1 or 2), or < 0. */
static int parse_short(pc_options *opts, const char *arg, const char *next)
{
    for (size_t i = 1; arg[i] != '\0'; i++) {
        const struct option_spec *spec = find_short(arg[i]);
        if (spec == NULL) {
            char option[3] = {'-', arg[i], '\0'};
            if (i == 1 && arg[2] == '\0')
                return usage_error(opts, "unknown option '%s'", arg);
            fprintf(stderr, "%s: unknown option '%s' in '%s' (see --help)\n",
                    opts->program, option, arg);
            return -EINVAL;
        }
        if (!spec->takes_value) {
            int err = apply(opts, spec, NULL);
            if (err < 0)
                return err;
            continue;
        }
        char option[3] = {'-', spec->short_name, '\0'};
        const char *value = arg[i + 1] != '\0' ? arg + i + 1 : value_from(next);
        if (value == NULL)
            return missing_value(opts, option, next);
        int err = apply(opts, spec, value);
        if (err < 0)
            return err;
        return arg[i + 1] != '\0' ? 1 : 2;
    }
    return 1;
}

int pc_options_parse(pc_options *opts, int argc, char **argv, pc_option_hook extra,
                     void *user)
{
    if (argc > 0 && argv[0] != NULL) {
        const char *slash = strrchr(argv[0], '/');
        opts->program = slash ? slash + 1 : argv[0];
    }
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            int used = offer(opts, extra, user, arg, NULL, NULL);
            if (used < 0)
                return used;
            if (used == 0 && pc_options_add_filter(opts, arg) < 0)
                return -ENOMEM;
            continue;
        }
        const struct option_spec *spec = NULL;
        const char *inline_value = NULL;
        if (arg[1] == '-')
            spec = find_long(arg, &inline_value);
        else if (find_short(arg[1]) != NULL) {
            int used = parse_short(opts, arg, next);
            if (used < 0)
                return used;
            i += used - 1;
            continue;
        }
        if (spec == NULL) {
            /* Not ours: the caller's hook may know it. */
            const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
            int used = offer(opts, extra, user, arg, eq ? eq + 1 : NULL, next);
            if (used < 0)
                return used;
            if (used == 0)
                return usage_error(opts, "unknown option '%s'", arg);
            i += used - 1;
            continue;
        }
        const char *value = NULL;
        if (spec->takes_value) {
            value = inline_value ? inline_value : value_from(next);
            if (value == NULL)
                return missing_value(opts, spec->long_name, next);
            if (inline_value == NULL)
                i++;
        } else if (inline_value != NULL) {
            return usage_error(opts, "%s takes no value", spec->long_name);
        }
        int err = apply(opts, spec, value);
        if (err < 0)
            return err;
    }
    return 0;
}
