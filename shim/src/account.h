/*
 * account.h — the one place where the hooks report allocation events.
 *
 * Contract
 *   Hooks call these with the block (or mapping) address and its size in bytes (usable size of a
 *   heap block, page-rounded length of an anonymous mapping), always inside hs_enter()/hs_leave():
 *     hs_account_alloc(p, n)        a block/mapping of n bytes now exists at p
 *     hs_account_free(p, n)         it is gone (called BEFORE the real free)
 *     hs_account_release(p, n)      it is about to go (before the real realloc/munmap/mremap) ...
 *     hs_account_commit_free(p, n)  ... and it went
 *     hs_account_unrelease(p, n)    ... but the call failed: it is live again
 *   For now (issue 2) this maintains the exact counters of stats.h. The engine (issue 3) adds here
 *   the pointer table, sampling and stack attribution, without touching the hooks.
 *
 * Thread-safety
 *   As stats.h: any thread, no lock.
 */
#ifndef HS_ACCOUNT_H
#define HS_ACCOUNT_H

#include <stddef.h>

#include "stats.h"

static inline void hs_account_alloc(const void *p, size_t n)
{
    (void)p;
    hs_stats_alloc(n);
}

static inline void hs_account_free(const void *p, size_t n)
{
    (void)p;
    hs_stats_free(n);
}

static inline void hs_account_release(const void *p, size_t n)
{
    (void)p;
    hs_stats_release(n);
}

static inline void hs_account_commit_free(const void *p, size_t n)
{
    (void)p;
    hs_stats_commit_free(n);
}

static inline void hs_account_unrelease(const void *p, size_t n)
{
    (void)p;
    hs_stats_unrelease(n);
}

#endif
