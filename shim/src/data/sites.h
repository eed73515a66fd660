/*
 * sites.h — per-stack counters and the high-water-mark aggregation.
 *
 * Contract
 *   Every stack node (stacks.h) carries cur_b/cur_c (alive attributed bytes and blocks now) and the
 *   fields of a lazy snapshot of the last committed peak. The attributed heap H is the sum of cur_b.
 *   Peak detection (after memray's high-water-mark idea, O(1) amortised, no copying per peak):
 *     - `dirty` is set after an increase leaves H >= hwm (the current state is a candidate peak);
 *     - a decrease while dirty first *commits* the candidate: hwm = H, peak_index++;
 *     - before any change to a node, the node is *rebased*: if its last_peak != peak_index, its
 *       value at the last committed peak is its current value (it has not changed since), so
 *       pk = cur, last_peak = peak_index. Then the change is applied to cur only.
 *   A node's contribution to the cell's peak is then: cur if dirty (the current state is the
 *   peak), pk if last_peak == peak_index, else cur. hs_sites_begin() commits the current state as
 *   the first candidate of a new cell. Moves (a pymalloc block sampled out of the "<pymalloc
 *   arenas>" pseudo-site) change two nodes with a zero net effect and never commit a peak.
 *   hs_sites_collect() lists nonzero nodes (at-peak or alive values), optionally of one run: then it
 *   follows that run's own list of nodes (data/stacks.h hs_stacks_run_head), so closing a cell costs
 *   O(its own stacks), not O(every stack of the session); a run whose list is no longer known (swept
 *   by a reclaim: only runs older than the history window) is found by looking at every slot.
 *
 * Thread-safety
 *   One spinlock around every update and collection (a collection of all runs scans every slot:
 *   milliseconds for a million nodes). Counters are plain fields under that lock.
 */
#ifndef HS_SITES_H
#define HS_SITES_H

#include "core/hs.h"

#include "heapscope.h"

#include <stddef.h>
#include <stdint.h>

HS_HIDDEN void hs_sites_apply(uint32_t stack, int64_t bytes, int64_t count);
/* bytes go from `from` to `to`; the block counts change by dc_from and dc_to */
HS_HIDDEN void hs_sites_move(uint32_t from, uint32_t to, int64_t bytes, int64_t dc_from, int64_t dc_to);
HS_HIDDEN void hs_sites_begin(void);
enum { HS_COLLECT_PEAK = 0, HS_COLLECT_ALIVE = 1 };
/* Returns the number of nonzero sites, written to out[] only if it fits in cap. */
HS_HIDDEN size_t hs_sites_collect(int what, long run, struct heapscope_site *out, size_t cap);
HS_HIDDEN int64_t hs_sites_heap(void);

HS_HIDDEN void hs_sites_atfork_prepare(void);
HS_HIDDEN void hs_sites_atfork_parent(void);
HS_HIDDEN void hs_sites_atfork_child(void);

#endif
