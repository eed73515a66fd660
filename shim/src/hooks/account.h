/*
 * account.h — the one place where the libc-family hooks report allocation events.
 *
 * Contract
 *   Hooks call these with the block address and its usable size in bytes, always inside
 *   hs_enter()/hs_leave():
 *     hs_account_alloc(p, n)        a block of n bytes now exists at p
 *     hs_account_free(p, n)         it is gone (called BEFORE libc's free)
 *     hs_account_release(p, n)      it is about to go (before libc's realloc) ...
 *     hs_account_commit_free(p, n)  ... and it went
 *     hs_account_unrelease(p, n)    ... but the call failed: it is alive again
 *   Each maintains the exact counters of core/stats.h and, when the engine is on, the pointer
 *   table and per-stack counters (engine/record.h): an allocation is recorded (exact, or sampled in
 *   default mode), a free/release removes the entry before libc's call, an unrelease puts it back.
 *   A block allocated while this thread's agent flag is set (heapscope_agent_begin) is profiler
 *   memory: it is not in the totals, from its allocation to its free (whichever thread frees it).
 *   Anonymous mappings do not come here: hooks/mmap.c keeps them in the tagged region map.
 *
 * Thread-safety
 *   As core/stats.h (atomics) plus the engine's short internal locks; any thread.
 */
#ifndef HS_ACCOUNT_H
#define HS_ACCOUNT_H

#include "core/state.h"
#include "core/stats.h"
#include "data/table.h"
#include "engine/record.h"

#include <stddef.h>

static inline void hs_account_alloc(const void *p, size_t n)
{
    if (hs_engine_on()) {
        if (HS_UNLIKELY(hs_tls.agent) && hs_record_agent_alloc(p, n))
            return;
        hs_stats_alloc(n);
        hs_record_alloc(p, n);
        return;
    }
    hs_stats_alloc(n);
}

static inline void hs_account_free(const void *p, size_t n)
{
    if (hs_tls.pm_depth)
        hs_tls.pm_libc_freed = 1; /* inside a PEP 445 wrapper: libc, not pymalloc, frees this one */
    if (hs_engine_on() && hs_record_free(p, n) == HS_FREED_AGENT)
        return;
    hs_stats_free(n);
}

/* 1 when the block a realloc released was profiler memory (not in the totals). */
static inline int hs_account_released_agent(void) { return hs_tls.rel_found && (hs_tls.rel_meta & HS_META_AGENT); }

static inline void hs_account_release(const void *p, size_t n)
{
    hs_tls.rel_found = 0;
    if (hs_tls.pm_depth)
        hs_tls.pm_libc_freed = 1;
    if (hs_engine_on())
        hs_record_release(p, n);
    if (!hs_account_released_agent())
        hs_stats_release(n);
}

static inline void hs_account_commit_free(const void *p, size_t n)
{
    (void)p;
    if (!hs_account_released_agent())
        hs_stats_commit_free(n);
    hs_tls.rel_found = 0;
}

static inline void hs_account_unrelease(const void *p, size_t n)
{
    if (!hs_account_released_agent())
        hs_stats_unrelease(n);
    hs_record_unrelease(p);
}

#endif
