/*
 * What the libuv variants of the benchmarks share: the error check and the
 * read buffer's allocation callback.  A program defines BENCH_LABEL (the
 * start of its failure messages, e.g. "W2 uv") before it includes this
 * file.
 */
#ifndef PIPELOOP_BENCH_UV_UTIL_H
#define PIPELOOP_BENCH_UV_UTIL_H

#include "common.h"

#include <uv.h>

#ifndef BENCH_LABEL
#error "define BENCH_LABEL before including uv_util.h"
#endif

/* The buffer bench_uv_alloc lends to every read; the program sets it (with
 * uv_buf_init) before the first read starts. */
static uv_buf_t bench_uv_read_buf __attribute__((unused));

/* Fail with "<BENCH_LABEL>: <what>: <message>" when rc < 0. */
static inline void bench_uv_check(int rc, const char *what)
{
    if (rc < 0)
        bench_fail(BENCH_LABEL ": %s: %s", what, uv_strerror(rc));
}

/* A uv_alloc_cb that lends bench_uv_read_buf: every read of the program
 * goes to that one buffer, which it consumes before the next. */
static inline void bench_uv_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    *buf = bench_uv_read_buf;
}

#endif /* PIPELOOP_BENCH_UV_UTIL_H */
