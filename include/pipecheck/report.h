/*
 * pipecheck's report layer: the findings of docs/findings.md as data
 * (check/findings.c) and the self-contained HTML report of a run
 * (check/report_html.c, `pipecheck --html FILE`).  Part of pipecheck.h;
 * include that.
 */
#ifndef PIPECHECK_REPORT_H
#define PIPECHECK_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of docs/findings.md: where another implementation differs
 * from the spec, with the standalone script that shows it. */
typedef struct pc_finding {
    const char *code;    /* "A1" (asyncio) or "U1" (uvloop) */
    const char *subject; /* "asyncio", "uvloop" */
    const char *ids;     /* the behaviour IDs it concerns, "D4 D5" */
    const char *heading; /* its heading in docs/findings.md, without "### " */
    const char *script;  /* "findings/asyncio_abort_twice.py" */
} pc_finding;

/* Every finding, in the order of docs/findings.md. */
PC_EXPORT size_t pc_finding_count(void);
PC_EXPORT const pc_finding *pc_finding_get(size_t i);

/*
 * pc_json_write_string writes s (NULL: "") to f as a JSON string: '"' and
 * '\\' escaped, control characters as \n, \t or \u00XX, and every byte that
 * is not part of valid UTF-8 as U+FFFD, so that the document parses
 * whatever a test printed.
 */
PC_EXPORT void pc_json_write_string(FILE *f, const char *s);

/*
 * pc_report_html writes one self-contained HTML page (inline CSS and
 * script, nothing fetched) that shows json, a document in the format of
 * `pipecheck --json` (NUL-terminated; its "results" need "subject", "id",
 * "kind", "backend", "status", "seconds", "message" and "output"), as a
 * grid: a row per behaviour of the spec with its meaning, a cell per
 * subject holding the kinds x backends of that row, filters by subject,
 * kind, backend and result, and each cell opening its instances.  The
 * document is embedded as data, never as markup: the page builds its
 * elements from it as text, so messages with any bytes are shown as they
 * are (invalid UTF-8 as U+FFFD).
 *
 * The page reads its state from the URL fragment, which it also keeps up
 * to date: `#subject=A,B&kind=K&backend=B&result=fail,differs&open=ID,S`
 * (items URI-encoded; a missing key selects everything).
 *
 * doc_base is prepended to the links to docs/behaviours.md,
 * docs/findings.md and findings/ (e.g. "../" when the page is written to a
 * directory beside docs/); NULL shows those paths as plain text.
 * Returns 0, or -EIO if writing to out failed.
 */
PC_EXPORT int pc_report_html(FILE *out, const char *json, const char *doc_base);

/*
 * pc_report_html_file writes the page of pc_report_html to path (replacing
 * it), its links relative to the directory of path when source_dir (a
 * pipeloop source tree) has docs/behaviours.md, as plain text otherwise
 * (source_dir NULL, or an installed copy without the tree).  Returns 0 or
 * -errno (the reason also printed to stderr).
 */
PC_EXPORT int pc_report_html_file(const char *path, const char *json,
                                  const char *source_dir);

#ifdef __cplusplus
}
#endif

#endif /* PIPECHECK_REPORT_H */
