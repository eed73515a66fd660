/*
 * stats.c — definitions, snapshot and peak reset of the counters (contract in stats.h).
 * Thread-safety: lock-free; a snapshot reads each field atomically, one after another.
 */
#include "core/stats.h"

HS_HIDDEN struct hs_counters hs_counters;
HS_HIDDEN struct hs_peak hs_peak;

static uint64_t clamp(int64_t v) { return v < 0 ? 0 : (uint64_t)v; }

HS_HIDDEN void hs_stats_read(struct heapscope_stats *out)
{
    uint64_t freed = atomic_load_explicit(&hs_counters.freed, memory_order_relaxed);
    uint64_t free_count = atomic_load_explicit(&hs_counters.free_count, memory_order_relaxed);
    int64_t cur = atomic_load_explicit(&hs_counters.current, memory_order_relaxed);
    uint64_t allocated = atomic_load_explicit(&hs_counters.allocated, memory_order_relaxed);
    uint64_t alloc_count = atomic_load_explicit(&hs_counters.alloc_count, memory_order_relaxed);
    int64_t peak = atomic_load_explicit(&hs_peak.value, memory_order_relaxed);
    /* a thread may have raised current and not yet the peak: the peak is at least what we saw */
    if (peak < cur)
        peak = cur;
    out->current_bytes = clamp(cur);
    out->peak_bytes = clamp(peak);
    out->allocated_bytes = allocated;
    out->freed_bytes = freed;
    out->alloc_count = alloc_count;
    out->free_count = free_count;
}

HS_HIDDEN uint64_t hs_stats_reset_peak(void)
{
    int64_t cur = atomic_load_explicit(&hs_counters.current, memory_order_relaxed);
    atomic_store_explicit(&hs_peak.value, cur, memory_order_relaxed);
    /* an allocation that raised current between our load and our store would have its peak
       overwritten: re-read and raise, so the peak covers every value current took after the reset */
    int64_t again = atomic_load_explicit(&hs_counters.current, memory_order_relaxed);
    hs_stats_raise_peak(again);
    return clamp(cur > again ? cur : again);
}

HS_HIDDEN void hs_stats_atfork_child(void)
{
    atomic_store_explicit(&hs_peak.value, atomic_load_explicit(&hs_counters.current, memory_order_relaxed),
                          memory_order_relaxed);
}
