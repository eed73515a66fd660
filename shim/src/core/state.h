/*
 * engine.h — shared state of the attribution engine (issue 3) and the glue the hooks call.
 *
 * Contract
 *   hs_eng holds the configuration set by heapscope_engine_install() (engine.c); `on` turns every
 *   engine path on. The hooks reach the engine only through account.h (libc family), hooks_mmap.c
 *   (anonymous mappings, via the tagged region map) and pymem.c (PEP 445 wrappers), always inside
 *   hs_enter()/hs_leave() so that nothing the engine does is counted or re-enters it.
 *   What is recorded (one table entry per block, see table.h; per-stack counters, see sites_hwm.h):
 *     exact mode    every block, weight = its size;
 *     default mode  blocks >= exact_threshold with weight = size; smaller ones when the thread's
 *                   Poisson countdown fires (sampling.h), with the Horvitz-Thompson weight.
 *   Anonymous mappings are always exact, tagged in the region map (regions.h), not in the table.
 *   The per-thread state (struct hs_tls) is initial-exec TLS of this preloaded library: the bridge
 *   (a dlopen'ed extension) must not have TLS of its own.
 *   Memory the engine maps for itself goes through hs_sys_map/hs_sys_unmap (the real mmap, counted
 *   in profiler_bytes, never in the totals). When it cannot get memory it degrades
 *   (hs_engine_degrade): attribution becomes partial, totals stay exact, nothing aborts.
 *
 * Thread-safety
 *   hs_eng fields are written by install (one controlling thread) and read racily by hooks: each is
 *   a word, and a hook that sees an old value only records one allocation under the old rule (the
 *   table entry says which rule applied, so its free is still consistent).
 */
#ifndef HS_ENGINE_H
#define HS_ENGINE_H

#include "heapscope.h"
#include "guard.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct hs_engine {
    _Atomic int on;
    _Atomic int exact;
    _Atomic uint64_t threshold;
    double interval;          /* fixed by the first install */
    _Atomic int max_depth;
    _Atomic(heapscope_locator_fn) locator;
    _Atomic(heapscope_pin_fn) pin;
    _Atomic(heapscope_drain_fn) drain;
    _Atomic int pins_queued; /* a pin returned 2: the next PEP 445 call drains */
    _Atomic uint32_t epoch;
    _Atomic uint64_t profiler_bytes;
    _Atomic uint64_t collisions, untracked;
};
extern HS_HIDDEN struct hs_engine hs_eng;

struct hs_tls {
    /* sampling.h */
    int64_t countdown;
    uint64_t rng;
    int seeded;
    /* pymem.c: depth inside a PEP 445 wrapper's call to the wrapped allocator, and the last block the
       libc hooks served meanwhile (so the wrapper does not record it twice) */
    unsigned pm_depth;
    const void *pm_libc;
    /* threads.c: stack of the thread that created this one */
    uint32_t inherit;
    /* account.h: a realloc's released block, put back if the real realloc fails */
    int rel_found;
    uint32_t rel_stack;
    uint16_t rel_meta;
    int64_t rel_w, rel_c;
    /* stacks.c: the last stack seen by this thread, outermost first in path[] */
    uint32_t cache_epoch, cache_gen, native_epoch, native_id;
    int cache_n;
    struct heapscope_frame cache[HEAPSCOPE_MAX_DEPTH], buf[HEAPSCOPE_MAX_DEPTH];
    uint32_t path[HEAPSCOPE_MAX_DEPTH];
};
extern HS_HIDDEN __thread struct hs_tls hs_tls __attribute__((tls_model("initial-exec")));

static inline int hs_engine_on(void) { return atomic_load_explicit(&hs_eng.on, memory_order_relaxed); }

HS_HIDDEN void hs_engine_degrade(const char *reason);
HS_HIDDEN void *hs_sys_map(size_t bytes);
HS_HIDDEN void hs_sys_unmap(void *p, size_t bytes);

/* libc-family blocks (account.h) */
HS_HIDDEN void hs_engine_alloc(const void *p, size_t n);
HS_HIDDEN void hs_engine_free(const void *p, size_t n);
HS_HIDDEN void hs_engine_release(const void *p, size_t n);
HS_HIDDEN void hs_engine_unrelease(const void *p);

/* anonymous mappings (hooks_mmap.c): the stack to tag a new mapping with (0 when off) */
HS_HIDDEN uint32_t hs_engine_map_stack(void);
/* the "<pymalloc arenas>" pseudo-site (epoch 0) */
HS_HIDDEN uint32_t hs_engine_arenas_stack(void);

/* fork handlers of every engine part (init.c) */
HS_HIDDEN void hs_engine_atfork_prepare(void);
HS_HIDDEN void hs_engine_atfork_parent(void);
HS_HIDDEN void hs_engine_atfork_child(void);

#endif
