/*
 * record.c — the record paths for libc-family blocks and anonymous mappings (contract in record.h).
 * Thread-safety: see record.h.
 */
#include "engine/record.h"

#include "core/state.h"
#include "data/sites.h"
#include "data/stacks.h"
#include "data/table.h"
#include "engine/sampling.h"

HS_HIDDEN void hs_record_weight(uint16_t meta, size_t n, int64_t *w, int64_t *c)
{
    if (meta & HS_META_EXACT) {
        *w = (int64_t)n;
        *c = 1;
    } else {
        hs_sample_weight(n, w, c);
    }
}

HS_HIDDEN void hs_record_alloc(const void *p, size_t n)
{
    struct hs_tls *t = &hs_tls;
    if (t->pm_depth)
        t->pm_libc = p; /* inside a PEP 445 wrapper: tell it libc served this block */
    int exact = atomic_load_explicit(&hs_eng.exact, memory_order_relaxed) ||
                n >= atomic_load_explicit(&hs_eng.threshold, memory_order_relaxed);
    if (!exact && !hs_sample_take(n))
        return;
    hs_table_prefetch((uintptr_t)p);
    uint32_t st = hs_stack_here();
    uint16_t meta = HS_META_MAKE(HS_KIND_LIBC, exact, 0);
    struct hs_tentry old;
    int r = hs_table_insert((uintptr_t)p, st, meta, &old);
    if (!r) {
        atomic_fetch_add_explicit(&hs_eng.untracked, 1, memory_order_relaxed);
        return;
    }
    if (r == 2)
        atomic_fetch_add_explicit(&hs_eng.collisions, 1, memory_order_relaxed);
    int64_t w, c;
    hs_record_weight(meta, n, &w, &c);
    hs_sites_apply(st, w, c);
}

HS_HIDDEN int hs_record_agent_alloc(const void *p, size_t n)
{
    struct hs_tls *t = &hs_tls;
    if (t->pm_depth)
        t->pm_libc = p;
    uint16_t meta = (uint16_t)(HS_META_MAKE(HS_KIND_LIBC, 1, 0) | HS_META_AGENT);
    if (hs_table_insert((uintptr_t)p, 0, meta, NULL) != 1)
        return 0;
    atomic_fetch_add_explicit(&hs_eng.agent_bytes, (int64_t)n, memory_order_relaxed);
    return 1;
}

/* Removes p's entry (if any) into *e; 1 when found. */
static int take(const void *p, struct hs_tentry *e)
{
    if (!atomic_load_explicit(&hs_eng.exact, memory_order_relaxed) && !hs_table_maybe((uintptr_t)p))
        return 0;
    return hs_table_remove((uintptr_t)p, -1, e);
}

HS_HIDDEN int hs_record_free(const void *p, size_t n)
{
    struct hs_tentry e;
    if (!take(p, &e))
        return 0;
    if (e.meta & HS_META_AGENT) {
        atomic_fetch_sub_explicit(&hs_eng.agent_bytes, (int64_t)n, memory_order_relaxed);
        return HS_FREED_AGENT;
    }
    if (HS_META_KIND(e.meta) == HS_KIND_PYMALLOC) /* cannot happen for a libc block; be safe */
        n = HS_META_SC(e.meta) * 16u;
    int64_t w, c;
    hs_record_weight(e.meta, n, &w, &c);
    hs_sites_apply(e.stack, -w, -c);
    return 0;
}

HS_HIDDEN void hs_record_release(const void *p, size_t n)
{
    struct hs_tls *t = &hs_tls;
    struct hs_tentry e;
    if (!take(p, &e))
        return;
    t->rel_found = 1;
    t->rel_stack = e.stack;
    t->rel_meta = e.meta;
    if (e.meta & HS_META_AGENT) {
        t->rel_w = (int64_t)n;
        atomic_fetch_sub_explicit(&hs_eng.agent_bytes, (int64_t)n, memory_order_relaxed);
        return;
    }
    hs_record_weight(e.meta, n, &t->rel_w, &t->rel_c);
    hs_sites_apply(e.stack, -t->rel_w, -t->rel_c);
}

HS_HIDDEN void hs_record_unrelease(const void *p)
{
    struct hs_tls *t = &hs_tls;
    if (!t->rel_found)
        return;
    t->rel_found = 0;
    if (!hs_table_insert((uintptr_t)p, t->rel_stack, t->rel_meta, NULL))
        return;
    if (t->rel_meta & HS_META_AGENT)
        atomic_fetch_add_explicit(&hs_eng.agent_bytes, t->rel_w, memory_order_relaxed);
    else
        hs_sites_apply(t->rel_stack, t->rel_w, t->rel_c);
}

/* ---- anonymous mappings ---------------------------------------------------------------------- */

static uint32_t arenas_stack;

HS_HIDDEN uint32_t hs_record_arenas_stack(void)
{
    if (!arenas_stack)
        arenas_stack = hs_stack_pseudo(HEAPSCOPE_FRAME_ARENAS, 0);
    return arenas_stack;
}

HS_HIDDEN uint32_t hs_record_map_stack(void)
{
    if (!hs_engine_on())
        return 0;
    if (hs_tls.pm_depth) /* a pymalloc arena (or another PEP 445 allocator's segment) */
        return hs_record_arenas_stack();
    return hs_stack_here();
}
