/* Internals shared by the subject files (check/subject*.c).  Not API. */
#ifndef PIPECHECK_SUBJECT_INTERNAL_H
#define PIPECHECK_SUBJECT_INTERNAL_H

#include <stddef.h>

#include "pipecheck.h"

/* A remote subject for spec ("asyncio", "uvloop", "exec:CMD"), made once
 * per spec; NULL (with a message) for an unknown spec. */
const pc_subject *pc__subject_remote(const char *spec);
/* The PC_CAP_* bit called name[0..len), or 0. */
unsigned pc__subject_cap_from_name(const char *name, size_t len);

/* "an exception" for the report kind EXC, ... (docs/subject-protocol.md). */
const char *pc__subject_report_kind(const char *type, size_t len);
/* Failure messages of a broken subject (crash, hang, protocol breach)
 * contain this; the CLI tells them from behaviours by it. */
#define PC__SUBJECT_BROKEN_MARK "(last sent: '"

#endif
