/*
 * Memory: the heap bytes an idle pipeloop read transport and write
 * transport hold, and the allocations made per read and per write.
 *
 * The program counts heap use by defining malloc, calloc, realloc, free and
 * the aligned allocators itself; they forward to glibc's __libc_* entry
 * points.  A definition in the executable interposes on every shared
 * object, so the library's allocations (and libc's own, made through its
 * PLT) are counted.  Bytes are malloc_usable_size(), i.e. what the heap
 * really hands out, excluding chunk headers.
 *
 * Idle means: connected, connection_made delivered, no data.  The loop is
 * warmed up first (one transport of each kind made, used and closed), so
 * that lazily grown loop tables are not charged to the transport measured.
 *
 * usage: mem_pl [READS]   (default 10000)
 */
#define BENCH_LABEL "MEM pl"
#include "common.h"
#include "pl_util.h"

#include <errno.h>
#include <malloc.h>
#include <pipeloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- the counting allocator --------------------------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *ptr);

struct heap_counts {
    uint64_t allocations; /* successful malloc/calloc/realloc/aligned calls */
    uint64_t frees;
    int64_t live_bytes;
};

static struct heap_counts counts;

static void *note_allocation(void *p)
{
    if (p != NULL) {
        counts.allocations++;
        counts.live_bytes += (int64_t)malloc_usable_size(p);
    }
    return p;
}

static void note_free(void *p)
{
    if (p != NULL) {
        counts.frees++;
        counts.live_bytes -= (int64_t)malloc_usable_size(p);
    }
}

void *malloc(size_t size)
{
    return note_allocation(__libc_malloc(size));
}

void *calloc(size_t count, size_t size)
{
    return note_allocation(__libc_calloc(count, size));
}

void *realloc(void *ptr, size_t size)
{
    int64_t old = ptr != NULL ? (int64_t)malloc_usable_size(ptr) : 0;
    void *p = __libc_realloc(ptr, size);
    if (p != NULL || size == 0) {
        counts.live_bytes -= old;
        if (ptr != NULL && size == 0)
            counts.frees++;
    }
    return note_allocation(p);
}

void *reallocarray(void *ptr, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, count * size);
}

void free(void *ptr)
{
    note_free(ptr);
    __libc_free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
    return note_allocation(__libc_memalign(alignment, size));
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return note_allocation(__libc_memalign(alignment, size));
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    void *p;
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    p = note_allocation(__libc_memalign(alignment, size));
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

/* ---- the measurements --------------------------------------------------- */

static uint64_t data_calls, lost_calls;

static void on_data(pl_transport *t, const void *data, size_t len, void *user)
{
    (void)t;
    (void)data;
    (void)len;
    (void)user;
    data_calls++;
}

static void on_lost(pl_transport *t, int error, void *user)
{
    (void)t;
    (void)user;
    bench_pl_check(error, "connection_lost");
    lost_calls++;
}

static const pl_protocol protocol = {
    .data_received = on_data,
    .connection_lost = on_lost,
};

/* Run iterations until counter reaches target (failing after 10 s). */
static void run_until(pl_loop *loop, const uint64_t *counter, uint64_t target)
{
    uint64_t deadline = bench_now_ns() + 10000000000u;
    while (*counter < target) {
        if (bench_now_ns() > deadline)
            bench_fail("MEM pl: the loop made no progress in 10 s");
        bench_pl_check(pl_loop_run_once(loop, 100), "pl_loop_run_once");
    }
}

/* Connect (and run to connection_made) one transport on fd. */
static pl_transport *connect_idle(pl_loop *loop, int fd, int read_side)
{
    pl_transport *t;
    if (read_side)
        bench_pl_check(pl_connect_read_pipe(loop, fd, &protocol, NULL, &t),
                       "pl_connect_read_pipe");
    else
        bench_pl_check(pl_connect_write_pipe(loop, fd, &protocol, NULL, &t),
                       "pl_connect_write_pipe");
    bench_pl_check(pl_loop_run_once(loop, 0), "pl_loop_run_once");
    return t;
}

static void close_and_wait(pl_loop *loop, pl_transport *t)
{
    uint64_t target = lost_calls + 1;
    bench_pl_check(pl_transport_close(t), "pl_transport_close");
    run_until(loop, &lost_calls, target);
}

static void one_byte(int fd)
{
    static const unsigned char byte = 'x';
    bench_write_full(fd, &byte, 1);
}

static void drain(int fd, size_t len)
{
    unsigned char buf[4096];
    if (len > sizeof buf || bench_read_full(fd, buf, len) != 0)
        bench_fail("MEM pl: drain");
}

int main(int argc, char **argv)
{
    uint64_t reads = argc > 1 ? bench_parse_size(argv[1], "reads", 1, 100000000) : 10000;
    static const unsigned char message[64] = {0};
    struct heap_counts before;
    pl_loop *loop;
    pl_transport *rt, *wt;
    int rp[2], wp[2];
    int64_t read_bytes, write_bytes;
    uint64_t read_allocs, write_allocs, per_read, per_write;

    if (argc > 2)
        bench_fail("usage: %s [READS]", argv[0]);
    bench_pl_check(pl_loop_new(&loop, 0), "pl_loop_new");
    bench_pipe(rp);
    bench_pipe(wp);

    /* Warm-up: a read and a write transport used once and closed. */
    {
        int a[2], b[2];
        bench_pipe(a);
        bench_pipe(b);
        rt = connect_idle(loop, a[0], 1);
        wt = connect_idle(loop, b[1], 0);
        one_byte(a[1]);
        run_until(loop, &data_calls, 1);
        bench_pl_check((int)pl_transport_write(wt, message, sizeof message),
                       "pl_transport_write");
        drain(b[0], sizeof message);
        close_and_wait(loop, rt);
        close_and_wait(loop, wt);
        close(a[1]);
        close(b[0]);
    }

    before = counts;
    rt = connect_idle(loop, rp[0], 1);
    read_bytes = counts.live_bytes - before.live_bytes;
    read_allocs = counts.allocations - before.allocations;

    before = counts;
    wt = connect_idle(loop, wp[1], 0);
    write_bytes = counts.live_bytes - before.live_bytes;
    write_allocs = counts.allocations - before.allocations;

    /* Reads: one byte at a time, one data_received each. */
    data_calls = 0;
    one_byte(rp[1]);
    run_until(loop, &data_calls, 1);
    before = counts;
    for (uint64_t i = 0; i < reads; i++) {
        one_byte(rp[1]);
        run_until(loop, &data_calls, i + 2);
    }
    per_read = counts.allocations - before.allocations;

    /* Writes that the pipe takes whole at once. */
    before = counts;
    for (uint64_t i = 0; i < reads; i++) {
        ssize_t n = pl_transport_write(wt, message, sizeof message);
        if (n != (ssize_t)sizeof message)
            bench_pl_check(n < 0 ? (int)n : -EIO, "pl_transport_write");
        drain(wp[0], sizeof message);
    }
    per_write = counts.allocations - before.allocations;

    close_and_wait(loop, rt);
    close_and_wait(loop, wt);
    close(rp[1]);
    close(wp[0]);
    bench_pl_check(pl_loop_close(loop), "pl_loop_close");

    bench_result("MEM", "pl", "read_transport", "idle_bytes", (double)read_bytes);
    bench_result("MEM", "pl", "read_transport", "allocations", (double)read_allocs);
    bench_result("MEM", "pl", "write_transport", "idle_bytes", (double)write_bytes);
    bench_result("MEM", "pl", "write_transport", "allocations", (double)write_allocs);
    bench_result("MEM", "pl", "reads", "allocations_per_read",
                 (double)per_read / (double)reads);
    bench_result("MEM", "pl", "reads", "allocations_total", (double)per_read);
    bench_result("MEM", "pl", "writes", "allocations_per_write",
                 (double)per_write / (double)reads);
    bench_result("MEM", "pl", "writes", "allocations_total", (double)per_write);
    return 0;
}
