/*
 * state.h — the engine's shared state, its own memory, and degradation: the bottom every other
 *           part of the engine (data structures, record paths, hooks) builds on.
 *
 * Contract
 *   hs_eng holds the configuration set by heapscope_engine_install() (engine/control.c); `on` turns
 *   every engine path on. What is recorded with it (one entry per block in data/table.h or
 *   data/pages.h, per-stack counters in data/sites.h):
 *     exact mode    every block, weight = its size;
 *     default mode  blocks >= exact_threshold with weight = size; smaller ones when the thread's
 *                   Poisson countdown fires (engine/sampling.h), with the Horvitz-Thompson weight.
 *   The per-thread state (struct hs_tls) is initial-exec TLS of this preloaded library: the bridge
 *   (a dlopen'ed extension) must not have TLS of its own.
 *   Profiler memory: what the engine maps for itself goes through hs_own_map/hs_own_unmap (libc's
 *   mmap, counted in profiler_bytes, never in the totals). When it cannot get memory it degrades
 *   (hs_degrade): attribution becomes partial, totals stay exact, nothing aborts; the first reason
 *   is kept (heapscope_degraded_reason).
 *
 * Thread-safety
 *   hs_eng fields are written by install (one controlling thread) and read racily by hooks: each is
 *   a word, and a hook that sees an old value only records one allocation under the old rule (the
 *   table entry says which rule applied, so its free is still consistent).
 */
#ifndef HS_STATE_H
#define HS_STATE_H

#include "core/hs.h"
#include "heapscope.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct hs_engine {
    _Atomic int on;
    _Atomic int exact;
    _Atomic uint64_t threshold;
    double interval; /* fixed by the first install */
    _Atomic int max_depth;
    _Atomic(heapscope_locator_fn) locator;
    _Atomic(heapscope_pin_fn) pin;
    _Atomic(heapscope_drain_fn) drain;
    _Atomic int pins_queued;   /* a pin returned 2: the next PEP 445 call drains */
    _Atomic uint32_t run;      /* the current run (cell) */
    _Atomic uint32_t switches; /* bumped whenever the current run changes (begin or resume) */
    _Atomic uint64_t profiler_bytes;
    _Atomic int64_t agent_bytes; /* heap blocks allocated while the agent flag was set, alive */
    _Atomic uint64_t collisions, untracked;
    _Atomic uint64_t unmapped_bytes; /* tracked mappings found gone by heapscope_reconcile */
};
extern HS_HIDDEN struct hs_engine hs_eng;

struct hs_tls {
    /* engine/sampling.h */
    int64_t countdown;
    uint64_t rng;
    int seeded;
    /* hooks/pymem.c: depth inside a PEP 445 wrapper's call to the wrapped allocator, and the last
       block the libc hooks served (or freed) meanwhile, so the wrapper does not record it twice */
    unsigned pm_depth;
    const void *pm_libc;
    int pm_libc_freed;
    /* heapscope_agent_begin/end: > 0 while the agent does its own work (profiler memory) */
    unsigned agent;
    /* hooks/threads.c: stack of the thread that created this one */
    uint32_t inherit;
    /* hooks/account.h: a realloc's released block, put back if libc's realloc fails */
    int rel_found;
    uint32_t rel_stack;
    uint16_t rel_meta;
    int64_t rel_w, rel_c;
    /* data/stacks.c: the locator's memo (zeroed when the run changes: memo_run is hs_eng.switches then),
       and the last stack seen by this
       thread, outermost first in path[] */
    uint32_t memo_run;
    uint64_t locator_memo[HEAPSCOPE_LOCATOR_MEMO / 8];
    uint32_t cache_run, cache_gen, native_run, native_id;
    int cache_n;
    struct heapscope_frame cache[HEAPSCOPE_MAX_DEPTH], buf[HEAPSCOPE_MAX_DEPTH];
    uint32_t path[HEAPSCOPE_MAX_DEPTH];
};
extern HS_HIDDEN HS_TLS struct hs_tls hs_tls;

static inline int hs_engine_on(void) { return atomic_load_explicit(&hs_eng.on, memory_order_relaxed); }

/* Marks the engine degraded (the first reason is kept). */
HS_HIDDEN void hs_degrade(const char *reason);
HS_HIDDEN const char *hs_degraded_reason(void);
/* Profiler memory: zero-filled pages from libc's mmap, counted in profiler_bytes (NULL on failure). */
HS_HIDDEN void *hs_own_map(size_t bytes);
HS_HIDDEN void hs_own_unmap(void *p, size_t bytes);
/* Gives back the pages of [p, p+bytes) inside an own map (they read as zeros again, and count again
   in profiler_bytes only once the caller says so, hs_own_reuse, before it writes them again). 0, or -1. */
HS_HIDDEN int hs_own_release(void *p, size_t bytes);
HS_HIDDEN void hs_own_reuse(size_t bytes);

#endif
