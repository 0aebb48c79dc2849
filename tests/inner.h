/*
 * Running a program (this test binary again, or pipecheck beside it) from a
 * test and collecting what it prints: on pipes, or on ptys for what a
 * program does on a terminal.  Shared by the self-tests of the runner and
 * of the pipecheck CLI.
 */
#ifndef PIPELOOP_TESTS_INNER_H
#define PIPELOOP_TESTS_INNER_H

#include <stddef.h>

/* The environment variable that hands runner-guard.ready-then-hang the fd
 * to announce that it runs. */
#define READY_FD_ENV "PIPECHECK_GUARD_READY_FD"

struct inner {
    int status; /* exit status, or 128 + signal */
    char *out;  /* stdout (what the pty master read, with pty) */
    char *err;  /* stderr */
};

struct inner_opts {
    const char *stdout_path; /* stdout to this file instead of a pipe */
    int pty;                 /* stdout on a pty (a terminal) */
    const char *const *env;  /* "NAME=value" sets, "NAME" unsets */
    int ready_fd;            /* > 0: the child inherits it as READY_FD_ENV */
    int ready_read_fd;       /* with signal: wait for a byte here first */
    int signal;              /* send it once ready_read_fd had a byte */
    int err_pty;             /* stderr on a pty of its own (read into err) */
    unsigned short cols;     /* > 0: the ptys' window width */
};

/* Run argv[0] (a path) with argv; fill *r (o may be NULL).  Closes what
 * it opens; fails the test if the program does not finish in time. */
void run_inner(struct inner *r, const char *const *argv, const struct inner_opts *o);
void inner_free(struct inner *r);

#define EXPECT_IN(text, needle)                                                          \
    do {                                                                                 \
        if (strstr((text), (needle)) == NULL)                                            \
            PC_FAIL("expected \"%s\" in:\n%s", (needle), (text));                        \
    } while (0)
#define EXPECT_NOT_IN(text, needle)                                                      \
    do {                                                                                 \
        if (strstr((text), (needle)) != NULL)                                            \
            PC_FAIL("did not expect \"%s\" in:\n%s", (needle), (text));                  \
    } while (0)

/* The pipecheck CLI built next to this binary; the test skips without it. */
const char *pipecheck_path(void);
/* The full path of a program on $PATH (static storage), or NULL. */
const char *find_program(const char *name);
/* A new empty file /tmp/pipecheck-WHAT-XXXXXX; its name into path. */
void temp_path(char *path, size_t size, const char *what);
/* The whole file, NUL-terminated (free it). */
char *read_file(const char *path);

#endif
