/*
 * runs.c — runs (cells): heapscope_cell_begin / heapscope_cell_end, and the reconciliation of
 *          anonymous mappings done at each of them (heapscope_reconcile).
 *
 * Contract
 *   A run is one execution of a cell (or a whole script). cell_begin starts the new run's list of
 *   stack nodes (data/stacks.h), increments the run (new allocations get stacks rooted at the
 *   new run), records the exact totals at the start, resets the exact peak (core/stats.h) and starts
 *   a new high-water-mark period (data/sites.h). cell_end reports the exact start/peak/end bytes and
 *   the allocated/freed bytes and counts during the run, plus the contribution of each of the run's
 *   own stacks at the run's attributed high-water mark (following only the run's own list of
 *   nodes). If the caller's buffer is too small nothing is closed and -(needed) is returned, so the
 *   caller retries. The run id stays current after cell_end until the next cell_begin (allocations
 *   in between belong to it).
 *   heapscope_run_resume(run) makes an earlier run current again (no new run, no peak reset): the
 *   agent keeps one run for all the time between cells, so the kernel's own machinery interns its
 *   stacks once per session instead of once per cell. cell_begin's next id is still the highest + 1.
 *   History: when a run begins, the stack nodes of runs older than the last HEAPSCOPE_HISTORY_RUNS
 *   (N) that hold nothing are reclaimed and their slots reused (data/stacks.h hs_stacks_reclaim), every
 *   max(1, N/8) runs (so N to N + N/8 runs keep every node): the node pages follow the nodes that
 *   exist (the window and what holds alive memory), however long the session is,
 *   and the agent can still resolve every stack of the last N runs and every stack that holds alive
 *   memory. Protected (never reclaimed): run 0's pseudo-sites and the last RESUMED runs that were
 *   resumed (the agent's between-cells run). Old runs keep only their summaries (the agent's ledger).
 *   Reconciliation: the ticker, once a second, drops the tracked anonymous mappings that are gone
 *   (unmapped by a raw syscall the hooks never saw): a free of those bytes in the totals and in the
 *   stack that mapped them (data/regions.h hs_regions_prune); without a ticker, cell_end does it.
 *
 * Thread-safety
 *   Serialised by one spinlock (the bridge calls them with the GIL held anyway; the reclaim runs under
 *   it and the trie lock, see data/stacks.h for the allocating threads' side); allocating threads
 *   are only blocked by the sites lock while the peak is collected, and mapping threads by the region
 *   map's lock while /proc/self/maps is read.
 */
#include "core/counting.h"
#include "core/lock.h"
#include "core/settings.h"
#include "core/state.h"
#include "core/stats.h"
#include "data/regions.h"
#include "data/sites.h"
#include "data/stacks.h"
#include "engine/reconcile.h"
#include "engine/ticker.h"

static hs_lock_t api_lock;
static struct heapscope_stats base;
static uint32_t newest; /* the highest run id handed out (a resumed run may be current) */
#define RESUMED 4
static uint32_t resumed[RESUMED]; /* the last runs resumed (protected from reclaiming), newest first */
static uint32_t reclaimed_to;     /* the oldest run of the window at the last reclaim */

/* Reclaims the nodes of runs before the history window that hold nothing (under api_lock). */
static void reclaim_history(uint32_t next)
{
    uint32_t n = hs_settings_history_runs(), stride = n / 8 ? n / 8 : 1;
    if (next <= n)
        return;
    uint32_t oldest = next - n + 1; /* the window: oldest..next */
    if (oldest - reclaimed_to < stride)
        return;
    (void)hs_stacks_reclaim(oldest, resumed, RESUMED);
    reclaimed_to = oldest;
}

HS_EXPORT uint32_t heapscope_cell_begin(void)
{
    hs_lock(&api_lock);
    uint32_t next = ++newest;
    hs_stacks_run_begin(next);
    atomic_store_explicit(&hs_eng.run, next, memory_order_release);
    atomic_fetch_add_explicit(&hs_eng.switches, 1, memory_order_relaxed);
    hs_stats_reset_peak();
    hs_stats_read(&base);
    hs_sites_begin();
    reclaim_history(next);
    hs_unlock(&api_lock);
    return next;
}

HS_EXPORT int heapscope_run_resume(uint32_t run)
{
    hs_lock(&api_lock);
    uint32_t cur = atomic_load_explicit(&hs_eng.run, memory_order_relaxed);
    int ok = run >= 1 && run <= newest;
    if (ok && resumed[0] != run) {
        int i = 0;
        while (i < RESUMED - 1 && resumed[i] != run)
            i++;
        for (; i > 0; i--) /* move run to the front */
            resumed[i] = resumed[i - 1];
        resumed[0] = run;
    }
    if (ok && run != cur) {
        atomic_store_explicit(&hs_eng.run, run, memory_order_release);
        atomic_fetch_add_explicit(&hs_eng.switches, 1, memory_order_relaxed);
    }
    hs_unlock(&api_lock);
    return ok ? 0 : -1;
}

HS_EXPORT long heapscope_cell_end(struct heapscope_cell *out, struct heapscope_site *sites, size_t cap)
{
    if (!hs_ticker_running()) /* (the ticker reconciles once a second, off the cell's close) */
        (void)hs_reconcile();
    hs_lock(&api_lock);
    uint32_t run = atomic_load_explicit(&hs_eng.run, memory_order_relaxed);
    size_t n = hs_sites_collect(HS_COLLECT_PEAK, (long)run, sites, cap);
    if (n > cap) {
        hs_unlock(&api_lock);
        return -(long)n;
    }
    struct heapscope_stats now;
    hs_stats_read(&now);
    if (out) {
        out->run = run;
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
