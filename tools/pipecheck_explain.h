/* pipecheck --explain ID: one behaviour, its tests, results and findings. */
#ifndef PIPECHECK_EXPLAIN_H
#define PIPECHECK_EXPLAIN_H

#include <stdio.h>

/* docs/behaviours.md and docs/findings.md, a string per line, NULL last:
 * generated from the source tree by CMakeLists.txt (pipecheck_docs.c). */
extern const char *const pipecheck_doc_behaviours[];
extern const char *const pipecheck_doc_findings[];

/*
 * Print what behaviour id is (its catalogue entry), the tests that check
 * it with their file:line, the result per subject from json_path (a file
 * --json wrote; NULL for none) and the findings about it, fitted to width.
 * Returns the exit status: 0, or 2 (with a message on stderr) for an
 * unknown id or a json_path that cannot be read.
 */
int explain(const char *id, const char *json_path, int color, int width, FILE *out);

#endif
