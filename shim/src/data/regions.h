/*
 * regions.h — the interval map of tracked anonymous mappings.
 *
 * Contract
 *   A sorted array of disjoint page-aligned [start, end) ranges, kept in memory the shim mmaps itself
 *   (never malloc). A byte is counted in the totals if and only if it is in the map, so partial
 *   munmap, mremap and MAP_FIXED replacement stay exact:
 *     hs_regions_add(s, e, &added)   first removes any stale overlap (a mapping that disappeared
 *                                    without us seeing it, or one replaced by MAP_FIXED) and returns
 *                                    its bytes; then inserts [s, e) and sets *added.
 *     hs_regions_remove(s, e, undo)  removes every tracked byte in [s, e), splitting ranges, and
 *                                    returns how many; the removed pieces are recorded in *undo
 *                                    (if given) so that hs_regions_restore can put them back when
 *                                    libc's munmap/mremap fails.
 *     hs_regions_overlap(s, e)       tracked bytes in [s, e), without changing anything.
 *     hs_regions_add_tagged(s, e, tag, flags, &added, stale)  as hs_regions_add, tagging the new range
 *                                    with the engine's stack id; the stale pieces it removed are
 *                                    recorded in *stale (if given) with their tags.
 *     hs_regions_tag_at(a)           the tag of the range containing address a (0 if none).
 *   Every piece recorded in an undo carries its range's tag, and HS_RANGE_HEAD when the piece
 *   removed a whole range that held the mapping's count, so the engine can attribute exactly
 *   (up to HS_REGIONS_UNDO pieces per call; beyond that the pieces are only counted in bytes).
 *   Failure policy: if the map cannot grow (the shim's own mmap fails), the map is marked degraded:
 *   no new mapping is tracked from then on (hs_regions_add sets *added = 0), and a split that needs
 *   a slot drops the piece it cannot keep (its bytes are returned as removed). The totals then miss
 *   some anonymous mappings but stay consistent (never negative, never double counted);
 *   hs_regions_degraded() reports it (heapscope_degraded()). Nothing ever aborts.
 *   Cost: O(log n) search plus an O(n) memmove per insert/delete; n is the number of alive anonymous
 *   mappings made through the PLT (pymalloc arenas, mmap.mmap, allocators such as jemalloc):
 *   typically thousands.
 *
 * Thread-safety
 *   One spinlock (lock.h) inside each call; never held across a real allocator call. Fork: call
 *   prepare/parent/child from pthread_atfork handlers (the child gets a copy of the map).
 */
#ifndef HS_REGIONS_H
#define HS_REGIONS_H

#include "core/hs.h"

#include <stddef.h>
#include <stdint.h>

#define HS_REGIONS_UNDO 64

/* tag: the engine's stack id of the mapping (0: none); flags: HS_RANGE_HEAD when this range still
   holds the mapping's "one mapping" count (the first piece of a split keeps it). */
#define HS_RANGE_HEAD 1u
struct hs_range {
    uintptr_t start, end;
    uint32_t tag, flags;
};

struct hs_regions_undo {
    size_t n;     /* pieces recorded */
    int overflow; /* more pieces were removed than fit: they cannot be restored */
    struct hs_range piece[HS_REGIONS_UNDO];
};

HS_HIDDEN uint64_t hs_regions_add(uintptr_t start, uintptr_t end, int *added);
HS_HIDDEN uint64_t hs_regions_add_tagged(uintptr_t start, uintptr_t end, uint32_t tag, uint32_t flags, int *added,
                                         struct hs_regions_undo *stale);
HS_HIDDEN uint32_t hs_regions_tag_at(uintptr_t addr);
HS_HIDDEN uint64_t hs_regions_remove(uintptr_t start, uintptr_t end, struct hs_regions_undo *undo);
/* returns the bytes put back (tracked again) */
HS_HIDDEN uint64_t hs_regions_restore(const struct hs_regions_undo *undo);
HS_HIDDEN uint64_t hs_regions_overlap(uintptr_t start, uintptr_t end);
/* Removes every tracked byte that is no longer mapped (unmapped behind the hooks, e.g. by a raw
   syscall): a quick check first (msync(MS_ASYNC) of every tracked range fails with ENOMEM over a hole),
   then, only if one fails, the exact pieces from /proc/self/maps, calling gone() for each removed piece (with its tag and
   HS_RANGE_HEAD flag; under the map's lock: gone must not call into the map). At most 64 gaps per
   call. Returns the bytes removed (0 when the file cannot be read). */
HS_HIDDEN uint64_t hs_regions_prune(void (*gone)(const struct hs_range *piece, void *ctx), void *ctx);
HS_HIDDEN int hs_regions_degraded(void);
HS_HIDDEN size_t hs_regions_count(void);

HS_HIDDEN void hs_regions_atfork_prepare(void);
HS_HIDDEN void hs_regions_atfork_parent(void);
HS_HIDDEN void hs_regions_atfork_child(void);

#endif
