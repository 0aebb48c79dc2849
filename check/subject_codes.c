/* Remote subjects, error codes: a subject's error names as pipeloop's
 * codes, the result of an answer, and the kinds of reports. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipecheck.h"
#include "check_internal.h"
#include "subject_remote.h"

const char *pc__subject_report_kind(const char *type, size_t len)
{
    if (len == 3 && strncmp(type, "EXC", 3) == 0)
        return "an exception";
    if (len == 3 && strncmp(type, "LOG", 3) == 0)
        return "a logged warning or error";
    if (len == 4 && strncmp(type, "WARN", 4) == 0)
        return "a Python warning";
    return "a report";
}

/* ---- codes -------------------------------------------------------------- */

/* "EPIPE" -> -EPIPE, "ECLOSED" -> PL_ECLOSED, "0" -> 0; unknown names and
 * "EXCEPTION" give PC_EEXCEPTION. */
int pc__remote_code_from_name(const char *name, size_t len)
{
    if (len == 1 && name[0] == '0')
        return 0;
    static const int lib[] = {PL_EOF, PL_ECLOSED, PL_EDIRECTION, PL_EFDKIND,
                              PL_ENOTWATCHABLE};
    for (size_t i = 0; i < sizeof lib / sizeof lib[0]; i++) {
        const char *n = pl_err_name(lib[i]) + 3; /* past "PL_" */
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return lib[i];
    }
    for (int e = 1; e < 200; e++) {
        const char *n = pl_err_name(-e);
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return -e;
    }
    return PC_EEXCEPTION;
}

/* The result of an answer: 0 for ok, the code of err (its text printed
 * when it is an exception).  values[] gets up to n numbers after ok. */
int pc__remote_result_of(pc_loop *l, struct msg *reply, int64_t *values, size_t n)
{
    int result = 0;
    char *p = reply->header;
    if (strncmp(p, "err ", 4) == 0) {
        p += 4;
        size_t len;
        const char *name = pc__remote_token(&p, &len);
        result = pc__remote_code_from_name(name, len);
        if (result == PC_EEXCEPTION) {
            fprintf(stderr, "subject %s: '%s' raised: %s\n", l->cfg->name, l->last_sent,
                    reply->header + 4);
            const char *text = reply->header + 4;
            if (strncmp(text, "EXCEPTION ", 10) == 0)
                text += 10;
            pc__note_exception(text, strlen(text));
        }
    } else {
        p += 2;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *v = pc__remote_token(&p, &len);
            int neg = len > 0 && v[0] == '-';
            uint64_t u;
            if (pc__remote_parse_u64(v + neg, len - (size_t)neg, &u))
                pc__remote_fail(l, "protocol error: 'ok' without the expected numbers");
            values[i] = neg ? -(int64_t)u : (int64_t)u;
        }
    }
    free(reply->body);
    return result;
}
