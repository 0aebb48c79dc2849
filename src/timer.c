/* Timers: a binary min-heap of (deadline, sequence) keys over pooled slots.
 * Slots are recycled through a free list, so a loop that keeps a steady
 * number of timers allocates nothing; cancel is O(log n) because each slot
 * knows its heap position. */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define NO_INDEX UINT32_MAX

/* a was made before b (sequence numbers wrap around). */
static int made_before(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static int entry_less(const struct pl__heap_entry *a, const struct pl__heap_entry *b)
{
    return a->when < b->when || (a->when == b->when && made_before(a->seq, b->seq));
}

static void heap_place(struct pl__timers *t, uint32_t i, struct pl__heap_entry e)
{
    t->heap[i] = e;
    t->slots[e.slot].heap_index = i;
}

static void sift_up(struct pl__timers *t, uint32_t i)
{
    struct pl__heap_entry e = t->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!entry_less(&e, &t->heap[parent]))
            break;
        heap_place(t, i, t->heap[parent]);
        i = parent;
    }
    heap_place(t, i, e);
}

static void sift_down(struct pl__timers *t, uint32_t i)
{
    struct pl__heap_entry e = t->heap[i];
    uint32_t n = t->heap_len;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && entry_less(&t->heap[child + 1], &t->heap[child]))
            child++;
        if (!entry_less(&t->heap[child], &e))
            break;
        heap_place(t, i, t->heap[child]);
        i = child;
    }
    heap_place(t, i, e);
}

static void heap_remove(struct pl__timers *t, uint32_t i)
{
    uint32_t last = --t->heap_len;
    if (i == last)
        return;
    struct pl__heap_entry moved = t->heap[last];
    heap_place(t, i, moved);
    if (i > 0 && entry_less(&moved, &t->heap[(i - 1) / 2]))
        sift_up(t, i);
    else
        sift_down(t, i);
}

static void slot_release(struct pl__timers *t, uint32_t slot)
{
    t->slots[slot].heap_index = NO_INDEX;
    t->slots[slot].cb = NULL;
    t->slots[slot].generation++;
    t->free_list[t->free_len++] = slot;
}

static int grow(struct pl__timers *t)
{
    if (t->heap_len < t->heap_cap && (t->free_len > 0 || t->nslots < t->slots_cap))
        return 0;
    uint32_t cap = t->slots_cap ? t->slots_cap * 2 : 64;
    if (cap < t->slots_cap)
        return -ENOMEM;
    struct pl__timer_slot *slots = pl__realloc(t->slots, (size_t)cap * sizeof *slots);
    if (!slots)
        return -ENOMEM;
    t->slots = slots;
    struct pl__heap_entry *heap = pl__realloc(t->heap, (size_t)cap * sizeof *heap);
    if (!heap)
        return -ENOMEM;
    t->heap = heap;
    uint32_t *free_list = pl__realloc(t->free_list, (size_t)cap * sizeof *free_list);
    if (!free_list)
        return -ENOMEM;
    t->free_list = free_list;
    t->slots_cap = cap;
    t->heap_cap = cap;
    return 0;
}

#define RENUMBER_AT (1u << 30)

static int compare_entries(const void *a, const void *b)
{
    return entry_less(a, b) ? -1 : entry_less(b, a) ? 1 : 0;
}

/* Give the pending timers sequence numbers 0..n-1 in firing order.  A
 * sorted array is a valid heap, so only the slots' positions change.
 * O(n log n) once every 2^30 creations. */
static void renumber(struct pl__timers *t)
{
    qsort(t->heap, t->heap_len, sizeof t->heap[0], compare_entries);
    for (uint32_t i = 0; i < t->heap_len; i++) {
        t->heap[i].seq = i;
        t->slots[t->heap[i].slot].heap_index = i;
    }
    t->next_seq = t->heap_len;
}

int pl_call_at(pl_loop *loop, uint64_t when_ms, pl_callback cb, void *user,
               pl_timer_id *id)
{
    if (!loop || !cb)
        return -EINVAL;
    struct pl__timers *t = &loop->timers;
    if (t->next_seq >= RENUMBER_AT && !t->running)
        renumber(t);
    /* A timer made by a timer callback never sorts before the timers that
     * are due in this run: they all run first, it runs in a later
     * iteration (as the header promises). */
    if (t->running && when_ms < t->run_now)
        when_ms = t->run_now;
    int err = grow(t);
    if (err)
        return err;
    uint32_t slot;
    if (t->free_len > 0) {
        slot = t->free_list[--t->free_len];
    } else {
        slot = t->nslots++;
        t->slots[slot].generation = 1;
    }
    t->slots[slot].cb = cb;
    t->slots[slot].user = user;
    struct pl__heap_entry e = {when_ms, t->next_seq++, slot};
    uint32_t i = t->heap_len++;
    heap_place(t, i, e);
    sift_up(t, i);
    if (id)
        *id = ((uint64_t)t->slots[slot].generation << 32) | ((uint64_t)slot + 1);
    return 0;
}

int pl_call_later(pl_loop *loop, uint64_t delay_ms, pl_callback cb, void *user,
                  pl_timer_id *id)
{
    if (!loop)
        return -EINVAL;
    uint64_t when = loop->now_ms + delay_ms;
    if (when < loop->now_ms)
        when = UINT64_MAX;
    return pl_call_at(loop, when, cb, user, id);
}

int pl_timer_cancel(pl_loop *loop, pl_timer_id id)
{
    if (!loop)
        return -EINVAL;
    struct pl__timers *t = &loop->timers;
    uint64_t index = (id & 0xffffffffu);
    uint32_t generation = (uint32_t)(id >> 32);
    if (index == 0 || index > t->nslots)
        return -ENOENT;
    uint32_t slot = (uint32_t)(index - 1);
    struct pl__timer_slot *s = &t->slots[slot];
    if (s->generation != generation || s->heap_index == NO_INDEX)
        return -ENOENT;
    heap_remove(t, s->heap_index);
    slot_release(t, slot);
    return 0;
}

int pl__timers_run(pl_loop *loop, struct pl__timers *t, uint64_t now)
{
    /* Timers made by a timer callback get a sequence number at or above
     * this limit and wait for a later iteration, even if already due. */
    if (t->next_seq >= RENUMBER_AT)
        renumber(t);
    uint32_t seq_limit = t->next_seq;
    int ran = 0;
    t->running = 1;
    t->run_now = now;
    while (t->heap_len > 0 && t->heap[0].when <= now &&
           made_before(t->heap[0].seq, seq_limit)) {
        uint32_t slot = t->heap[0].slot;
        pl_callback cb = t->slots[slot].cb;
        void *user = t->slots[slot].user;
        heap_remove(t, 0);
        slot_release(t, slot);
        cb(loop, user);
        ran++;
    }
    t->running = 0;
    return ran;
}

int64_t pl__timers_next(const struct pl__timers *t, uint64_t now)
{
    if (t->heap_len == 0)
        return -1;
    uint64_t when = t->heap[0].when;
    if (when <= now)
        return 0;
    uint64_t delta = when - now;
    return delta > INT32_MAX ? INT32_MAX : (int64_t)delta;
}

void pl__timers_destroy(struct pl__timers *t)
{
    free(t->slots);
    free(t->heap);
    free(t->free_list);
    *t = (struct pl__timers){0};
}
