/* pipecheck-broken: pipecheck on a deliberately broken library, whose
 * pause_reading records the pause but does not stop reading.  The test
 * hook that breaks it is set before main runs; tests/test_fuzz.c runs
 * `pipecheck-broken --fuzz` and expects the fuzzer's model to catch it. */
#include "../src/internal.h" /* pl__pause_keeps_reading */

__attribute__((constructor)) static void break_pause(void)
{
    pl__pause_keeps_reading = 1;
}
