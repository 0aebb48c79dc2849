/*
 * W5 timers, flat binary heap: the baseline.  One array-backed min-heap of
 * (deadline, sequence) keys with the callback beside them, a millisecond
 * clock read once per iteration, and poll(2) with no fds to sleep until the
 * next deadline, which is what an event loop's iteration costs at least.
 *
 * usage: w5_heap [TIMERS [MAX_DELAY_MS]]   (defaults 1000000 1000)
 */
#include "common.h"
#include "w5.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

struct timer {
    uint64_t when;
    uint64_t seq;
    void (*cb)(void *user, uint64_t now);
    void *user;
};

static struct timer *heap;
static size_t heap_len, heap_cap;
static uint64_t next_seq;

static int earlier(const struct timer *a, const struct timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_push(uint64_t when, void (*cb)(void *, uint64_t), void *user)
{
    struct timer t = {when, next_seq++, cb, user};
    size_t i;

    if (heap_len == heap_cap) {
        size_t cap = heap_cap ? 2 * heap_cap : 1024;
        struct timer *h = realloc(heap, cap * sizeof *h);
        if (h == NULL)
            bench_fail("out of memory");
        heap = h;
        heap_cap = cap;
    }
    i = heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(&t, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = t;
}

static struct timer heap_pop(void)
{
    struct timer top = heap[0];
    struct timer last = heap[--heap_len];
    size_t i = 0;

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_len)
            break;
        if (child + 1 < heap_len && earlier(&heap[child + 1], &heap[child]))
            child++;
        if (!earlier(&heap[child], &last))
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (heap_len > 0)
        heap[i] = last;
    return top;
}

static uint64_t now_ms(void)
{
    return bench_now_ns() / 1000000;
}

static void on_timer(void *user, uint64_t now)
{
    w5_fired((uint64_t)(uintptr_t)user, now);
}

int main(int argc, char **argv)
{
    struct w5_args args = w5_parse_args(argc, argv);
    uint64_t base;

    w5_begin();
    base = now_ms();
    for (uint64_t i = 0; i < args.timers; i++) {
        uint64_t due = base + w5_next_delay();
        heap_push(due, on_timer, (void *)(uintptr_t)due);
    }
    while (heap_len > 0) {
        uint64_t now = now_ms();
        while (heap_len > 0 && heap[0].when <= now) {
            struct timer t = heap_pop();
            t.cb(t.user, now);
        }
        if (heap_len > 0 && poll(NULL, 0, (int)(heap[0].when - now)) < 0 &&
            errno != EINTR)
            bench_fail_errno("poll", -errno);
    }
    w5_finish("heap");
    free(heap);
    return 0;
}
