/*
 * reconcile.c — mappings unmapped behind the hooks (contract in reconcile.h).
 */
#include "engine/reconcile.h"

#include "core/counting.h"
#include "core/state.h"
#include "core/stats.h"
#include "data/regions.h"
#include "data/sites.h"

static void gone(const struct hs_range *piece, void *ctx)
{
    uint64_t bytes = piece->end - piece->start;
    *(uint64_t *)ctx += bytes;
    hs_stats_free(bytes);
    if (piece->tag && hs_engine_on())
        hs_sites_apply(piece->tag, -(int64_t)bytes, -(int64_t)(piece->flags & HS_RANGE_HEAD));
}

HS_HIDDEN uint64_t hs_reconcile(void)
{
    if (!hs_counting_on())
        return 0;
    uint64_t bytes = 0;
    hs_enter();
    (void)hs_regions_prune(gone, &bytes);
    hs_leave();
    if (bytes)
        atomic_fetch_add_explicit(&hs_eng.unmapped_bytes, bytes, memory_order_relaxed);
    return bytes;
}

HS_EXPORT uint64_t heapscope_reconcile(void) { return hs_reconcile(); }
