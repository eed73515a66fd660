/*
 * epochs.c — cells: heapscope_cell_begin / heapscope_cell_end.
 *
 * Contract
 *   An epoch is a cell (or a whole script). cell_begin increments the epoch (new allocations get
 *   stacks rooted at the new epoch: stacks.h), records the exact totals at the start, resets the
 *   exact peak (stats.h) and starts a new high-water-mark period (sites_hwm.h). cell_end reports
 *   the exact start/peak/end bytes and the allocated/freed bytes and counts during the epoch, plus
 *   every stack's contribution at the epoch's attributed high-water mark. If the caller's buffer
 *   is too small nothing is closed and -(needed) is returned, so the caller retries. The epoch id
 *   stays current after cell_end until the next cell_begin (allocations in between belong to it).
 *
 * Thread-safety
 *   Serialised by one spinlock (the bridge calls them with the GIL held anyway); allocating threads
 *   are only blocked by the sites lock while the peak is collected.
 */
#include "engine.h"
#include "lock.h"
#include "sites_hwm.h"
#include "stats.h"

static hs_lock_t api_lock;
static struct heapscope_stats base;

HS_EXPORT uint32_t heapscope_cell_begin(void)
{
    hs_lock(&api_lock);
    uint32_t ep = atomic_fetch_add_explicit(&hs_eng.epoch, 1, memory_order_relaxed) + 1;
    hs_stats_reset_peak();
    hs_stats_read(&base);
    hs_sites_begin();
    hs_unlock(&api_lock);
    return ep;
}

HS_EXPORT long heapscope_cell_end(struct heapscope_cell *out, struct heapscope_site *sites, size_t cap)
{
    hs_lock(&api_lock);
    size_t n = hs_sites_collect(HS_COLLECT_PEAK, -1, sites, cap);
    if (n > cap) {
        hs_unlock(&api_lock);
        return -(long)n;
    }
    struct heapscope_stats now;
    hs_stats_read(&now);
    if (out) {
        out->epoch = atomic_load_explicit(&hs_eng.epoch, memory_order_relaxed);
        out->start_bytes = base.current_bytes;
        out->peak_bytes = now.peak_bytes > base.current_bytes ? now.peak_bytes : base.current_bytes;
        out->end_bytes = now.current_bytes;
        out->allocated_bytes = now.allocated_bytes - base.allocated_bytes;
        out->freed_bytes = now.freed_bytes - base.freed_bytes;
        out->alloc_count = now.alloc_count - base.alloc_count;
        out->free_count = now.free_count - base.free_count;
    }
    hs_unlock(&api_lock);
    return (long)n;
}
