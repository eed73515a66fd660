/*
 * api.c — the basic public functions of include/heapscope.h (totals, version, degradation).
 * heapscope_degraded() covers the region map (data/regions.h) and the engine (core/state.h).
 * Thread-safety: every function may be called from any thread at any time (atomics only).
 */
#include "core/counting.h"
#include "core/state.h"
#include "core/stats.h"
#include "data/regions.h"
#include "heapscope.h"

#ifndef HS_VERSION
#define HS_VERSION "0.0.0"
#endif

HS_EXPORT int heapscope_abi_version(void) { return HEAPSCOPE_ABI_VERSION; }

HS_EXPORT const char *heapscope_version(void) { return HS_VERSION; }

HS_EXPORT int heapscope_active(void) { return hs_counting_on(); }

HS_EXPORT void heapscope_get_stats(struct heapscope_stats *out)
{
    if (out)
        hs_stats_read(out);
}

HS_EXPORT uint64_t heapscope_reset_peak(void) { return hs_stats_reset_peak(); }

HS_EXPORT int heapscope_degraded(void) { return hs_regions_degraded() || hs_degraded_reason() != NULL; }
