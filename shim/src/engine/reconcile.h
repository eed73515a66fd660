/*
 * reconcile.h — dropping the tracked anonymous mappings that are gone (unmapped behind the hooks).
 *
 * Contract
 *   hs_reconcile() (= heapscope_reconcile): every tracked range that is no longer mapped (a raw
 *   syscall(SYS_munmap) the hooks never saw) is removed from the region map as a free, from the
 *   totals and from the per-stack counters of the stack that mapped it (data/regions.h
 *   hs_regions_prune: an msync check of every range, /proc/self/maps only when one fails). Returns
 *   the bytes dropped; unmapped_bytes counts them. Called by the ticker once a second, and by cell_end
 *   when there is no ticker.
 *
 * Thread-safety
 *   Any thread; the region map's lock is held during the check (and the counters' lock inside it).
 */
#ifndef HS_RECONCILE_H
#define HS_RECONCILE_H

#include "core/hs.h"

#include <stdint.h>

HS_HIDDEN uint64_t hs_reconcile(void);

#endif
