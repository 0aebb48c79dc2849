/*
 * PC_REQUIRE / pc_blocked_by: a failed precondition that belongs to another
 * behaviour blocks the instance for a foreign subject, fails it for
 * pipeloop, and is an ordinary failure on its own row.  The hidden cases
 * run in a child run of this binary, named like conformance instances of
 * F4 so that the running test's ID is F4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipecheck.h>

/* pipeloop's table without its API: what the bench takes for another
 * implementation. */
static pc_subject foreign;

static void be_foreign(void)
{
    foreign = pc_subject_pipeloop;
    foreign.name = "not-pipeloop";
    foreign.caps &= ~(unsigned)PC_CAP_PIPELOOP_API;
    pc_subject_set(&foreign);
}

PC_TEST_FLAGS(req_foreign, "F4.require-other-foreign", PC_TEST_HIDDEN)
{
    be_foreign();
    PC_REQUIRE("F3", 1 + 1 == 3, "pause_writing came %d times", 0);
    PC_FAIL("PC_REQUIRE returned");
}

PC_TEST_FLAGS(req_pipeloop, "F4.require-other-pipeloop", PC_TEST_HIDDEN)
{
    pc_subject_set(NULL);
    PC_REQUIRE("F3", 1 + 1 == 3, "pause_writing came %d times", 0);
    PC_FAIL("PC_REQUIRE returned");
}

PC_TEST_FLAGS(req_own, "F4.require-own-foreign", PC_TEST_HIDDEN)
{
    be_foreign();
    PC_REQUIRE("F4", 1 + 1 == 3, "resume_writing came %d times", 0);
    PC_FAIL("PC_REQUIRE returned");
}

PC_TEST_FLAGS(req_holds, "F4.require-holds-foreign", PC_TEST_HIDDEN)
{
    be_foreign();
    PC_REQUIRE("F3", 1 + 1 == 2, "never printed");
    printf("went on past a precondition that holds\n");
}

static char *run_hidden(const char *name, int *status)
{
    const char *argv[] = {pc_self_path(), "-v", "--filter", name, NULL};
    return pc_run_capture(NULL, argv, status);
}

static void expect(const char *name, int want_status, const char *needle,
                   const char *absent)
{
    int status;
    char *out = run_hidden(name, &status);
    if (status != want_status || strstr(out, needle) == NULL ||
        (absent && strstr(out, absent) != NULL))
        PC_FAIL("%s: expected exit status %d and \"%s\"%s%s%s, got %d:\n%s", name,
                want_status, needle, absent ? " without \"" : "", absent ? absent : "",
                absent ? "\"" : "", status, out);
    free(out);
}

PC_TEST(blocked_by, "runner.blocked-by-id")
{
    pc_set_timeout_ms(20000);
    /* Another subject: a skip that names the row, where and why; not a
     * failure (exit status 0). */
    expect("F4.require-other-foreign", 0, "blocked by F3: " __FILE__ ":",
           "PC_REQUIRE returned");
    expect("F4.require-other-foreign", 0, "pause_writing came 0 times", NULL);
    /* pipeloop must hold every behaviour: a FAIL naming the precondition. */
    expect("F4.require-other-pipeloop", 1, "precondition F3 failed: pause_writing came 0",
           "blocked by");
    /* The row's own ID: an ordinary failure. */
    expect("F4.require-own-foreign", 1, "resume_writing came 0 times", "blocked by");
    /* A precondition that holds changes nothing. */
    expect("F4.require-holds-foreign", 0, "went on past a precondition that holds",
           "blocked by");
}
