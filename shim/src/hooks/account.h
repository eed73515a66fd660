/*
 * account.h — the one place where the libc-family hooks report allocation events.
 *
 * Contract
 *   Hooks call these with the block address and its usable size in bytes, always inside
 *   hs_enter()/hs_leave():
 *     hs_account_alloc(p, n)        a block of n bytes now exists at p
 *     hs_account_free(p, n)         it is gone (called BEFORE the real free)
 *     hs_account_release(p, n)      it is about to go (before the real realloc) ...
 *     hs_account_commit_free(p, n)  ... and it went
 *     hs_account_unrelease(p, n)    ... but the call failed: it is live again
 *   Each maintains the exact counters of stats.h and, when the engine is on (engine.h), the pointer
 *   table and per-stack counters: an allocation is recorded (exact, or sampled in default mode),
 *   a free/release removes the entry before the real call, an unrelease puts it back.
 *   Anonymous mappings do not come here: hooks_mmap.c keeps them in the tagged region map.
 *
 * Thread-safety
 *   As stats.h (atomics) plus the engine's short internal locks; any thread.
 */
#ifndef HS_ACCOUNT_H
#define HS_ACCOUNT_H

#include <stddef.h>

#include "engine.h"
#include "stats.h"

static inline void hs_account_alloc(const void *p, size_t n)
{
    hs_stats_alloc(n);
    if (hs_engine_on())
        hs_engine_alloc(p, n);
}

static inline void hs_account_free(const void *p, size_t n)
{
    hs_stats_free(n);
    if (hs_engine_on())
        hs_engine_free(p, n);
}

static inline void hs_account_release(const void *p, size_t n)
{
    hs_stats_release(n);
    hs_tls.rel_found = 0;
    if (hs_engine_on())
        hs_engine_release(p, n);
}

static inline void hs_account_commit_free(const void *p, size_t n)
{
    (void)p;
    hs_stats_commit_free(n);
    hs_tls.rel_found = 0;
}

static inline void hs_account_unrelease(const void *p, size_t n)
{
    hs_stats_unrelease(n);
    hs_engine_unrelease(p);
}

#endif
