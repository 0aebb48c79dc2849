/* Error codes: one table (PL_ERROR_MAP in the header plus the errno list
 * below) yields the names and messages. */
#include <errno.h>
#include <stddef.h>

#include "internal.h"

/* The errno values this library can return, with stable names.  Messages
 * are our own so that pl_strerror() is thread-safe and locale-free. */
#define PL_ERRNO_MAP(X)                                                                  \
    X(EPERM, "operation not permitted")                                                  \
    X(ENOENT, "no such file or directory")                                               \
    X(ESRCH, "no such process")                                                          \
    X(EINTR, "interrupted system call")                                                  \
    X(EIO, "i/o error")                                                                  \
    X(ENXIO, "no such device or address")                                                \
    X(E2BIG, "argument list too long")                                                   \
    X(ENOEXEC, "exec format error")                                                      \
    X(EBADF, "bad file descriptor")                                                      \
    X(ECHILD, "no child processes")                                                      \
    X(EAGAIN, "resource temporarily unavailable")                                        \
    X(ENOMEM, "not enough memory")                                                       \
    X(EACCES, "permission denied")                                                       \
    X(EFAULT, "bad address")                                                             \
    X(EBUSY, "resource busy")                                                            \
    X(EEXIST, "already exists")                                                          \
    X(ENODEV, "no such device")                                                          \
    X(ENOTDIR, "not a directory")                                                        \
    X(EISDIR, "is a directory")                                                          \
    X(EINVAL, "invalid argument")                                                        \
    X(ENFILE, "file table overflow")                                                     \
    X(EMFILE, "too many open files")                                                     \
    X(ENOTTY, "not a tty")                                                               \
    X(ETXTBSY, "text file busy")                                                         \
    X(ENOSPC, "no space left on device")                                                 \
    X(ESPIPE, "illegal seek")                                                            \
    X(EPIPE, "broken pipe")                                                              \
    X(ERANGE, "result out of range")                                                     \
    X(ENAMETOOLONG, "name too long")                                                     \
    X(ENOSYS, "function not implemented")                                                \
    X(ELOOP, "too many symbolic links")                                                  \
    X(ENOTSOCK, "not a socket")                                                          \
    X(EOPNOTSUPP, "operation not supported")                                             \
    X(ECONNRESET, "connection reset by peer")                                            \
    X(ENOTCONN, "not connected")                                                         \
    X(ETIMEDOUT, "timed out")                                                            \
    X(ECONNREFUSED, "connection refused")                                                \
    X(EALREADY, "operation already in progress")                                         \
    X(ECANCELED, "operation cancelled")                                                  \
    X(EPROTO, "protocol error")

struct error_entry {
    int code;
    const char *name;
    const char *text;
};

static const struct error_entry error_table[] = {
#define LIB_ENTRY(name, value, text) {value, "PL_" #name, text},
    PL_ERROR_MAP(LIB_ENTRY)
#undef LIB_ENTRY
#define ERRNO_ENTRY(name, text) {-name, #name, text},
        PL_ERRNO_MAP(ERRNO_ENTRY)
#undef ERRNO_ENTRY
};

static const struct error_entry *error_find(int err)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].code == err)
            return &error_table[i];
    return NULL;
}

const char *pl_strerror(int err)
{
    if (err == 0)
        return "success";
    const struct error_entry *e = error_find(err);
    return e ? e->text : "unknown error";
}

const char *pl_err_name(int err)
{
    if (err == 0)
        return "OK";
    const struct error_entry *e = error_find(err);
    return e ? e->name : "UNKNOWN";
}

unsigned pl_version(void)
{
    return PL_VERSION_NUMBER;
}

#define PL_STR2(x) #x
#define PL_STR(x) PL_STR2(x)
const char *pl_version_string(void)
{
    return PL_STR(PL_VERSION_MAJOR) "." PL_STR(PL_VERSION_MINOR) "." PL_STR(
        PL_VERSION_PATCH);
}
