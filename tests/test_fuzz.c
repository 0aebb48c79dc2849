/* The model-based fuzzer (check/fuzz.c, pipecheck --fuzz):
 *   fuzz.model-holds: a few seconds of random sequences on this build
 *     find no divergence (the seed is the run's: --seed replays);
 *   fuzz.catches-broken-pause: pipecheck-broken, built on a library whose
 *     pause_reading does nothing, is caught within 60 s, and the shrunk
 *     sequence it prints pauses reading. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipecheck.h>

static void model_holds(void *arg)
{
    (void)arg;
    pc_set_timeout_ms(60000);
    FILE *log = tmpfile();
    PC_ASSERT_NOT_NULL(log);
    pc_fuzz_options o;
    memset(&o, 0, sizeof o);
    o.seconds = 3;
    o.seed = pc_seed() | 1;
    o.log = log;
    pc_fuzz_result r;
    PC_ASSERT_OK(pc_fuzz(&o, &r));
    if (r.divergences) {
        char text[4096];
        rewind(log);
        size_t n = fread(text, 1, sizeof text - 1, log);
        text[n] = '\0';
        PC_FAIL("%llu divergences in %llu sequences:\n%s",
                (unsigned long long)r.divergences, (unsigned long long)r.sequences, text);
    }
    fclose(log);
    PC_ASSERT_GT_UINT(r.sequences, 0);
    printf("# %llu sequences, %llu operations, 0 divergences\n",
           (unsigned long long)r.sequences, (unsigned long long)r.operations);
}

static void catches_broken_pause(void *arg)
{
    (void)arg;
    pc_set_timeout_ms(90000);
    char self[PATH_MAX], broken[PATH_MAX + 32];
    snprintf(self, sizeof self, "%s", pc_self_path());
    *strrchr(self, '/') = '\0';
    snprintf(broken, sizeof broken, "%s/pipecheck-broken", self);
    if (access(broken, X_OK) != 0)
        PC_FAIL("%s is missing: it is built with the tests", broken);
    const char *argv[] = {broken, "--fuzz", "60", "--fuzz-first", NULL};
    int status;
    char *text = pc_run_capture(broken, argv, &status);
    if (status != 1 || !strstr(text, "divergence:"))
        PC_FAIL("the broken pause was not caught (exit %d):\n%s", status, text);
    /* The shortest failing sequence names the culprit. */
    PC_ASSERT(strstr(text, "pause_reading") != NULL);
    PC_ASSERT(strstr(text, ", 1 divergences") != NULL);
    printf("# %s", strstr(text, "divergence:"));
    free(text);
}

__attribute__((constructor)) static void register_fuzz_tests(void)
{
    (void)pc_test_add("fuzz.model-holds", model_holds, NULL, 0);
    (void)pc_test_add("fuzz.catches-broken-pause", catches_broken_pause, NULL, 0);
}
