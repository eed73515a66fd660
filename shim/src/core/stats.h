/*
 * stats.h — the exact counters of the tracked heap (struct heapscope_stats) and their updates.
 *
 * Contract
 *   current = allocated - freed at every quiescent point. An allocation adds its size; a free
 *   subtracts it. Frees happen in two steps so that the accounting can be removed *before* libc's
 *   free/realloc/munmap (another thread may get the same address the moment it is released):
 *     hs_stats_release(n)      current -= n           (before libc's call)
 *     hs_stats_commit_free(n)  freed += n, free_count++  (the call succeeded)
 *     hs_stats_unrelease(n)    current += n           (the call failed: the block is still alive)
 *   hs_stats_free(n) = release + commit. A realloc is one free plus one allocation (also in place).
 *   alloc_count/free_count also count the blocks pymalloc serves while the engine's PEP 445 wrappers
 *   are installed (hs_stats_count_alloc/free), whose bytes are in the totals as arena mappings.
 *   The pymalloc blocks the agent allocates (heapscope_agent_begin) are moved out of current while
 *   they are alive (hs_stats_release/hs_stats_unrelease without a commit): current = allocated -
 *   freed - those bytes.
 *   current_bytes is kept signed internally (a block allocated before activation and freed after
 *   could make it dip); hs_stats_read() clamps it at 0 and returns peak >= current.
 *
 * Thread-safety
 *   All updates are relaxed atomics (no lock); the peak is raised with a CAS loop. The counters
 *   share one cache line, the peak has its own (mostly read).
 */
#ifndef HS_STATS_H
#define HS_STATS_H

#include "core/hs.h"

#include <stdatomic.h>
#include <stdint.h>

#include "heapscope.h"

struct hs_counters {
    _Atomic int64_t current;
    _Atomic uint64_t allocated, freed, alloc_count, free_count;
} __attribute__((aligned(64)));

struct hs_peak {
    _Atomic int64_t value;
} __attribute__((aligned(64)));

extern HS_HIDDEN struct hs_counters hs_counters;
extern HS_HIDDEN struct hs_peak hs_peak;

static inline void hs_stats_raise_peak(int64_t cur)
{
    int64_t p = atomic_load_explicit(&hs_peak.value, memory_order_relaxed);
    while (cur > p &&
           !atomic_compare_exchange_weak_explicit(&hs_peak.value, &p, cur, memory_order_relaxed, memory_order_relaxed))
        ;
}

static inline void hs_stats_alloc(uint64_t n)
{
    int64_t cur = atomic_fetch_add_explicit(&hs_counters.current, (int64_t)n, memory_order_relaxed) + (int64_t)n;
    atomic_fetch_add_explicit(&hs_counters.allocated, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&hs_counters.alloc_count, 1, memory_order_relaxed);
    hs_stats_raise_peak(cur);
}

static inline void hs_stats_release(uint64_t n)
{
    atomic_fetch_sub_explicit(&hs_counters.current, (int64_t)n, memory_order_relaxed);
}

static inline void hs_stats_commit_free(uint64_t n)
{
    atomic_fetch_add_explicit(&hs_counters.freed, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&hs_counters.free_count, 1, memory_order_relaxed);
}

static inline void hs_stats_unrelease(uint64_t n)
{
    int64_t cur = atomic_fetch_add_explicit(&hs_counters.current, (int64_t)n, memory_order_relaxed) + (int64_t)n;
    hs_stats_raise_peak(cur);
}

static inline void hs_stats_free(uint64_t n)
{
    hs_stats_release(n);
    hs_stats_commit_free(n);
}

/* A block pymalloc served or released (PEP 445 wrappers, hooks/pymem.c): its bytes are already in the
   totals as arena mappings, so only the allocation and free counts move. */
static inline void hs_stats_count_alloc(void)
{
    atomic_fetch_add_explicit(&hs_counters.alloc_count, 1, memory_order_relaxed);
}
static inline void hs_stats_count_free(void)
{
    atomic_fetch_add_explicit(&hs_counters.free_count, 1, memory_order_relaxed);
}

HS_HIDDEN void hs_stats_read(struct heapscope_stats *out);
HS_HIDDEN uint64_t hs_stats_reset_peak(void);
/* fork child: the child is its own process; its peak starts at its current heap. */
HS_HIDDEN void hs_stats_atfork_child(void);

#endif
