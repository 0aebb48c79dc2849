/* The library's allocations, in one place, so that a test can make the
 * N-th of them fail and prove that every caller copes (tests/fault_alloc.c:
 * the call returns -ENOMEM, or the transport ends with
 * connection_lost(-ENOMEM), and nothing leaks). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Test hooks: 0 in normal use.  Not thread-safe, like the loop itself; the
 * fault tests run one thread. */
unsigned long pl__alloc_fail_at;
unsigned long pl__alloc_count;
const char *pl__alloc_sites[PL__ALLOC_SITES_MAX];
size_t pl__alloc_nsites;

/* While a test watches (fail_at set): count the call, remember its site,
 * and say whether this is the one to fail. */
static int fail_now(const char *site)
{
    /* Unarmed (always, outside the fault tests) it touches nothing, so
     * loops in several threads do not share a counter. */
    if (pl__alloc_fail_at == 0)
        return 0;
    pl__alloc_count++;
    size_t i = 0;
    while (i < pl__alloc_nsites && strcmp(pl__alloc_sites[i], site) != 0)
        i++;
    if (i == pl__alloc_nsites && i < PL__ALLOC_SITES_MAX)
        pl__alloc_sites[pl__alloc_nsites++] = site;
    return pl__alloc_count == pl__alloc_fail_at;
}

void *pl__malloc_at(size_t size, const char *site)
{
    return fail_now(site) ? NULL : malloc(size);
}

void *pl__calloc_at(size_t n, size_t size, const char *site)
{
    return fail_now(site) ? NULL : calloc(n, size);
}

void *pl__realloc_at(void *p, size_t size, const char *site)
{
    return fail_now(site) ? NULL : realloc(p, size);
}
