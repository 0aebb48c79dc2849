/*
 * pipecheck: the pipeloop test bench (runner, asserts, pipe kinds, peers).
 *
 * Usage sketch:
 *
 *     #include <pipecheck.h>
 *     PC_TEST(pipe_roundtrip, "demo.pipe-roundtrip") {
 *         int fds[2];
 *         PC_ASSERT_EQ_INT(pipe(fds), 0);
 *         PC_ASSERT_EQ_INT(write(fds[1], "x", 1), 1);
 *         close(fds[0]);
 *         close(fds[1]);            // or the leak check fails the test
 *     }
 *     int main(int argc, char **argv) { return pc_main(argc, argv); }
 *
 *     $ ./pipeloop-tests --filter 'demo.*' -j 4 --tap
 *
 * Every test runs in its own forked process and process group, with a
 * timeout, stdin from /dev/null, its stdout and stderr captured, and leak
 * checks after it (open fds, child processes, the flags of fds 0-2, the
 * SIGPIPE disposition).
 * Functions return 0 or a count on success and -errno on failure.
 *
 * Guide: docs/guide.md (kinds, peers, recorder, PC_RUN_UNTIL, the matrix,
 * with examples/pipecheck/ as a complete example).  Behaviour IDs in test
 * names ("R4" in "R4.pause-stops-data@fifo/poll"): docs/behaviours.md.
 * Installed with pipeloop: pkg-config pipecheck, or find_package(pipeloop)
 * and the target pipeloop::pipecheck (pipeloop::pipecheck_static).
 */
#ifndef PIPECHECK_H
#define PIPECHECK_H

/* One header per layer, each building on the ones before it. */
#include "pipecheck/runner.h"      /* tests, asserts, options, running */
#include "pipecheck/pairs.h"       /* pipe kinds, pairs, peers, patterns */
#include "pipecheck/subject.h"     /* the implementation under test */
#include "pipecheck/recorder.h"    /* the recorder, stepping a loop */
#include "pipecheck/conformance.h" /* fuzzer, spec IDs, the suite */
#include "pipecheck/report.h"      /* findings, the HTML report */

#endif /* PIPECHECK_H */
