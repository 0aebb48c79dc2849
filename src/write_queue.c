/* A write transport's queue of unsent bytes.
 *
 * Copied bytes live in a ring that grows (only growth moves them) and is
 * given back when it drains.  Bytes the caller lends (pl_transport_write_lent)
 * are not copied: the queue keeps a segment pointing at them and, once the
 * kernel has taken them all, or they are dropped, a completion to report.
 * While no lent write is pending the segment list is empty and the whole
 * queue is the ring, which keeps the common path as cheap as before. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A drained ring larger than this is given back to the allocator. */
#define KEEP_RING (64u * 1024u)

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- the ring ------------------------------------------------------------ */

static void ring_put(struct pl__wq *q, const char *src, size_t n)
{
    size_t tail = (q->head + q->ring_len) % q->cap;
    size_t first = min_size(n, q->cap - tail);
    memcpy(q->data + tail, src, first);
    memcpy(q->data, src + first, n - first);
    q->ring_len += n;
}

/* len ring bytes starting off bytes after the head, as at most two iovecs
 * appended at iov[*n] (at most max in all). */
static void ring_region(const struct pl__wq *q, size_t off, size_t len, struct iovec *iov,
                        int *n, int max)
{
    size_t start = (q->head + off) % q->cap;
    size_t first = min_size(len, q->cap - start);
    if (*n < max && first) {
        iov[*n].iov_base = q->data + start;
        iov[*n].iov_len = first;
        (*n)++;
    }
    if (*n < max && len > first) {
        iov[*n].iov_base = q->data;
        iov[*n].iov_len = len - first;
        (*n)++;
    }
}

static int ring_grow(struct pl__wq *q, size_t need)
{
    if (need <= q->cap)
        return 0;
    size_t cap = q->cap ? q->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *data = pl__malloc(cap);
    if (!data)
        return -ENOMEM;
    struct iovec old[2];
    int n = 0;
    if (q->ring_len)
        ring_region(q, 0, q->ring_len, old, &n, 2);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(data + at, old[i].iov_base, old[i].iov_len);
        at += old[i].iov_len;
    }
    free(q->data);
    q->data = data;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static void ring_consume(struct pl__wq *q, size_t n)
{
    q->head = (q->head + n) % q->cap;
    q->ring_len -= n;
    if (q->ring_len == 0) {
        q->head = 0;
        if (q->cap > KEEP_RING) {
            free(q->data);
            q->data = NULL;
            q->cap = 0;
        }
    }
}

/* ---- segments and completions ---------------------------------------- */

static struct pl__wq_seg *seg_at(const struct pl__wq *q, uint32_t k)
{
    return &q->segs[(q->seg_head + k) % q->seg_cap];
}

static int seg_push(struct pl__wq *q, struct pl__wq_seg seg)
{
    if (q->seg_count == q->seg_cap) {
        uint32_t cap = q->seg_cap ? q->seg_cap * 2 : 8;
        struct pl__wq_seg *segs = pl__malloc(cap * sizeof *segs);
        if (!segs)
            return -ENOMEM;
        for (uint32_t k = 0; k < q->seg_count; k++)
            segs[k] = *seg_at(q, k);
        free(q->segs);
        q->segs = segs;
        q->seg_cap = cap;
        q->seg_head = 0;
    }
    *seg_at(q, q->seg_count++) = seg;
    return 0;
}

int pl__wq_reserve_done(struct pl__wq *q)
{
    /* Room for every pending lent write's completion plus this one, so
     * that completing (from consume or drop) never allocates. */
    uint32_t need = q->done_count + q->lent_count + 1;
    if (need <= q->done_cap)
        return 0;
    uint32_t cap = q->done_cap ? q->done_cap * 2 : 8;
    while (cap < need)
        cap *= 2;
    struct pl__wq_done *dones = pl__malloc(cap * sizeof *dones);
    if (!dones)
        return -ENOMEM;
    for (uint32_t k = 0; k < q->done_count; k++)
        dones[k] = q->dones[(q->done_head + k) % q->done_cap];
    free(q->dones);
    q->dones = dones;
    q->done_cap = cap;
    q->done_head = 0;
    return 0;
}

void pl__wq_complete(struct pl__wq *q, const void *data, size_t len, int status,
                     pl_write_done_cb done, void *user)
{
    assert(q->done_count < q->done_cap);
    q->dones[(q->done_head + q->done_count++) % q->done_cap] =
        (struct pl__wq_done){data, len, status, done, user};
}

int pl__wq_pop_done(struct pl__wq *q, struct pl__wq_done *out)
{
    if (q->done_count == 0)
        return 0;
    *out = q->dones[q->done_head];
    q->done_head = (q->done_head + 1) % q->done_cap;
    q->done_count--;
    return 1;
}

/* ---- the queue ------------------------------------------------------- */

int pl__wq_append_copy(struct pl__wq *q, const struct iovec *iov, int iovcnt, size_t skip,
                       size_t total)
{
    if (total == 0)
        return 0;
    int err = ring_grow(q, q->ring_len + total);
    if (err)
        return err;
    if (q->seg_count > 0) {
        /* Behind a lent segment: the ring bytes get their own place in
         * the order. */
        struct pl__wq_seg *last = seg_at(q, q->seg_count - 1);
        if (last->lent)
            err = seg_push(q, (struct pl__wq_seg){NULL, total, NULL, 0, NULL, NULL});
        else
            last->len += total;
        if (err)
            return err;
    }
    for (int i = 0; i < iovcnt; i++) {
        size_t n = iov[i].iov_len;
        if (skip >= n) {
            skip -= n;
            continue;
        }
        ring_put(q, (const char *)iov[i].iov_base + skip, n - skip);
        skip = 0;
    }
    q->len += total;
    return 0;
}

int pl__wq_append_lent(struct pl__wq *q, const void *data, size_t len, size_t skip,
                       pl_write_done_cb done, void *user)
{
    int err = pl__wq_reserve_done(q);
    if (err)
        return err;
    if (q->seg_count == 0 && q->ring_len > 0) {
        /* The first lent write behind copied bytes: from now on segments
         * describe the order, starting with what the ring holds. */
        err = seg_push(q, (struct pl__wq_seg){NULL, q->ring_len, NULL, 0, NULL, NULL});
        if (err)
            return err;
    }
    err = seg_push(q, (struct pl__wq_seg){(const char *)data + skip, len - skip, data,
                                          len, done, user});
    if (err) {
        if (q->seg_count == 1 && !seg_at(q, 0)->lent)
            q->seg_count = 0; /* undo the ring's segment */
        return err;
    }
    q->lent_count++;
    q->len += len - skip;
    return 0;
}

int pl__wq_iov(const struct pl__wq *q, struct iovec *iov, int max)
{
    int n = 0;
    if (q->seg_count == 0) {
        if (q->ring_len)
            ring_region(q, 0, q->ring_len, iov, &n, max);
        return n;
    }
    size_t ring_off = 0;
    for (uint32_t k = 0; k < q->seg_count && n < max; k++) {
        const struct pl__wq_seg *s = seg_at(q, k);
        if (s->lent) {
            iov[n].iov_base = (void *)(uintptr_t)s->lent;
            iov[n].iov_len = s->len;
            n++;
        } else {
            ring_region(q, ring_off, s->len, iov, &n, max);
            ring_off += s->len;
        }
    }
    return n;
}

int pl__wq_consume(struct pl__wq *q, size_t n)
{
    assert(n <= q->len);
    q->len -= n;
    if (q->seg_count == 0) {
        ring_consume(q, n);
        return 0;
    }
    int completed = 0;
    while (n > 0) {
        struct pl__wq_seg *s = seg_at(q, 0);
        size_t k = min_size(n, s->len);
        if (s->lent)
            s->lent += k;
        else
            ring_consume(q, k);
        s->len -= k;
        n -= k;
        if (s->len > 0)
            break;
        if (s->orig) {
            pl__wq_complete(q, s->orig, s->orig_len, 0, s->done, s->done_user);
            q->lent_count--;
            completed++;
        }
        q->seg_head = (q->seg_head + 1) % q->seg_cap;
        q->seg_count--;
    }
    return completed;
}

int pl__wq_drop(struct pl__wq *q, int status)
{
    int completed = 0;
    for (uint32_t k = 0; k < q->seg_count; k++) {
        struct pl__wq_seg *s = seg_at(q, k);
        if (s->orig) {
            pl__wq_complete(q, s->orig, s->orig_len, status, s->done, s->done_user);
            completed++;
        }
    }
    q->seg_count = 0;
    q->seg_head = 0;
    q->lent_count = 0;
    if (q->ring_len)
        ring_consume(q, q->ring_len);
    q->len = 0;
    return completed;
}

void pl__wq_free(struct pl__wq *q)
{
    assert(q->done_count == 0);
    free(q->data);
    free(q->segs);
    free(q->dones);
    memset(q, 0, sizeof *q);
}
