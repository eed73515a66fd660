/*
 * pymem.c — PEP 445 wrappers for CPython's MEM and OBJ domains, version-independent.
 *
 * Contract
 *   heapscope_pymem_wrap(orig, hook) gives the bridge an allocator (struct heapscope_allocator ==
 *   PyMemAllocatorEx) that forwards every call to a copy of *orig (whatever was installed: pymalloc,
 *   tracemalloc's hooks, a debug allocator) and records the blocks that *pymalloc* served:
 *   - around the forwarded call the thread's pm_depth is raised; the libc hooks note in pm_libc the
 *     block they served meanwhile (they record it themselves, with its stack), and anonymous
 *     mappings made meanwhile (pymalloc arenas) are tagged "<pymalloc arenas>";
 *   - a returned block that is not pm_libc was served by pymalloc (requests of 1..512 bytes, or a
 *     realloc that pymalloc kept in place): it is recorded here (exact mode, or sampled by its size
 *     class (n + 15) & ~15 in default mode) as a *move* of its weight from "<pymalloc arenas>" to its
 *     stack, so arena bytes are never counted twice (docs/engine.md); exact entries go to the page
 *     map (pages.h), sampled ones to the pointer table (table.h);
 *   - free/realloc remove a pymalloc entry before forwarding (the address may be reused at once)
 *     and move its weight back; a libc block is left to the libc hooks; a failed realloc puts the
 *     old entry back.
 *   - while pins queued by threads without the GIL wait (heapscope_drain_fn), every call drains
 *     them first (it holds the GIL), naming the block a free/realloc is about to release;
 *   - alloc_count/free_count (core/stats.h) count the blocks pymalloc serves and releases (a block
 *     libc served or freed meanwhile is counted by the libc hooks, which say so in pm_libc and
 *     pm_libc_freed);
 *   - a block pymalloc serves while this thread's agent flag is set (heapscope_agent_begin) is
 *     profiler memory: recorded in the table with HS_META_AGENT (always, also in default mode), its
 *     bytes moved out of the totals' current bytes until it is freed, and into agent_bytes;
 *   heapscope_pymem_calls() counts calls through any wrapper, so the bridge can check with a test
 *   allocation that its wrapper is still in the chain after someone (tracemalloc) swapped
 *   allocators, and wrap the new chain if not. Up to 64 wrappers (slots are never reused, so an
 *   allocator that captured an older wrapper keeps working).
 *
 * Thread-safety
 *   The PEP 445 domains are called with the GIL held; nothing here relies on it: per-thread state
 *   is in hs_tls, the table and sites have their own locks. Nested calls (an allocator inside the
 *   hook) forward only.
 */
#include "core/counting.h"
#include "core/state.h"
#include "core/stats.h"
#include "data/pages.h"
#include "data/sites.h"
#include "data/stacks.h"
#include "data/table.h"
#include "engine/record.h"
#include "engine/sampling.h"

#define SLOTS 64

struct pm_ctx {
    struct heapscope_allocator orig;
};

static struct pm_ctx slots[SLOTS];
static _Atomic unsigned used;
static _Atomic uint64_t calls;

/* a plain (racy) increment: only used to see whether a wrapper is reached at all */
static inline void bump(void)
{
    atomic_store_explicit(&calls, atomic_load_explicit(&calls, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* PEP 445 calls hold the GIL: pin what other threads queued without it, before `freeing` (the block
   a free or realloc is about to release, else NULL) is gone (heapscope_drain_fn). */
static inline void drain_pins(const void *freeing)
{
    if (HS_LIKELY(!atomic_load_explicit(&hs_eng.pins_queued, memory_order_relaxed)))
        return;
    atomic_store_explicit(&hs_eng.pins_queued, 0, memory_order_relaxed);
    heapscope_drain_fn fn = atomic_load_explicit(&hs_eng.drain, memory_order_acquire);
    if (fn) {
        hs_enter();
        fn((uintptr_t)freeing);
        hs_leave();
    }
}

static inline int pm_active(const void *freeing)
{
    if (!hs_engine_on() || hs_path() != HS_PATH_COUNT)
        return 0;
    drain_pins(freeing);
    return 1;
}

/* Exact entries go to the page map (data/pages.h), sampled and agent ones (and what the page map
   declines) to the table. */
static int put(uintptr_t p, uint32_t st, uint16_t meta, struct hs_tentry *old)
{
    int r = (meta & HS_META_EXACT) && !(meta & HS_META_AGENT) ? hs_pages_insert(p, st, meta, old) : 0;
    return r ? r : hs_table_insert(p, st, meta, old);
}

/* A block of the agent (profiler memory): out of the totals' current bytes while it is alive. */
static void pm_record_agent(void *p, size_t sc)
{
    uint16_t meta = (uint16_t)(HS_META_MAKE(HS_KIND_PYMALLOC, 1, sc / 16) | HS_META_AGENT);
    if (hs_table_insert((uintptr_t)p, 0, meta, NULL) != 1)
        return;
    hs_stats_release(sc);
    atomic_fetch_add_explicit(&hs_eng.agent_bytes, (int64_t)sc, memory_order_relaxed);
}

static void pm_record(void *p, size_t n)
{
    size_t sc = (n + 15) & ~(size_t)15;
    hs_stats_count_alloc();
    if (!sc || sc > 1008)
        return;
    if (HS_UNLIKELY(hs_tls.agent)) {
        hs_enter();
        pm_record_agent(p, sc);
        hs_leave();
        return;
    }
    int exact = atomic_load_explicit(&hs_eng.exact, memory_order_relaxed);
    if (!exact && !hs_sample_take(sc))
        return;
    if (!exact)
        hs_table_prefetch((uintptr_t)p); /* its slot loads while the stack is found */
    hs_enter();
    uint32_t st = hs_stack_here();
    uint16_t meta = HS_META_MAKE(HS_KIND_PYMALLOC, exact, sc / 16);
    struct hs_tentry old;
    int r = put((uintptr_t)p, st, meta, &old);
    if (r) {
        int64_t w = (int64_t)sc, c = 1;
        if (!exact)
            hs_sample_weight(sc, &w, &c);
        if (r == 2)
            atomic_fetch_add_explicit(&hs_eng.collisions, 1, memory_order_relaxed);
        hs_sites_move(hs_record_arenas_stack(), st, w, 0, c);
    } else {
        atomic_fetch_add_explicit(&hs_eng.untracked, 1, memory_order_relaxed);
    }
    hs_leave();
}

/* Removes p's pymalloc entry (if any) and moves its weight back to the arenas (an agent block: its
   bytes back into the totals); *e gets the entry. */
static int pm_unrecord(void *p, struct hs_tentry *e, int64_t *w, int64_t *c)
{
    hs_enter();
    int found = hs_pages_remove((uintptr_t)p, e);
    if (!found && (atomic_load_explicit(&hs_eng.exact, memory_order_relaxed) || hs_table_maybe((uintptr_t)p)))
        found = hs_table_remove((uintptr_t)p, HS_KIND_PYMALLOC, e);
    if (found) {
        size_t sc = HS_META_SC(e->meta) * 16u;
        *w = (int64_t)sc;
        *c = 1;
        if (e->meta & HS_META_AGENT) {
            hs_stats_unrelease(sc);
            atomic_fetch_sub_explicit(&hs_eng.agent_bytes, (int64_t)sc, memory_order_relaxed);
        } else {
            if (!(e->meta & HS_META_EXACT))
                hs_sample_weight(sc, w, c);
            hs_sites_move(e->stack, hs_record_arenas_stack(), *w, -*c, 0);
        }
    }
    hs_leave();
    return found;
}

/* Puts back the entry pm_unrecord removed (the realloc failed: p is still valid). */
static void pm_rerecord(void *p, const struct hs_tentry *e, int64_t w, int64_t c)
{
    hs_enter();
    if (put((uintptr_t)p, e->stack, e->meta, NULL)) {
        if (e->meta & HS_META_AGENT) {
            hs_stats_release((uint64_t)w);
            atomic_fetch_add_explicit(&hs_eng.agent_bytes, w, memory_order_relaxed);
        } else {
            hs_sites_move(hs_record_arenas_stack(), e->stack, w, 0, c);
        }
    }
    hs_leave();
}

static void *pm_malloc(void *ctx, size_t n)
{
    struct pm_ctx *c = ctx;
    bump();
    if (!pm_active(NULL))
        return c->orig.malloc(c->orig.ctx, n);
    struct hs_tls *t = &hs_tls;
    t->pm_depth++;
    t->pm_libc = NULL;
    void *p = c->orig.malloc(c->orig.ctx, n);
    t->pm_depth--;
    if (p && p != t->pm_libc)
        pm_record(p, n);
    return p;
}

static void *pm_calloc(void *ctx, size_t nelem, size_t elsize)
{
    struct pm_ctx *c = ctx;
    bump();
    size_t n;
    if (!pm_active(NULL) || __builtin_mul_overflow(nelem, elsize, &n))
        return c->orig.calloc(c->orig.ctx, nelem, elsize);
    struct hs_tls *t = &hs_tls;
    t->pm_depth++;
    t->pm_libc = NULL;
    void *p = c->orig.calloc(c->orig.ctx, nelem, elsize);
    t->pm_depth--;
    if (p && p != t->pm_libc)
        pm_record(p, n);
    return p;
}

static void *pm_realloc(void *ctx, void *p, size_t n)
{
    struct pm_ctx *c = ctx;
    bump();
    if (!pm_active(p))
        return c->orig.realloc(c->orig.ctx, p, n);
    struct hs_tentry e;
    int64_t w = 0, cnt = 0;
    int had = p ? pm_unrecord(p, &e, &w, &cnt) : 0;
    struct hs_tls *t = &hs_tls;
    t->pm_depth++;
    t->pm_libc = NULL;
    t->pm_libc_freed = 0;
    void *q = c->orig.realloc(c->orig.ctx, p, n);
    t->pm_depth--;
    if (q) {
        if (p && !t->pm_libc_freed)
            hs_stats_count_free(); /* pymalloc released p (moved, or resized in place) */
        if (q != t->pm_libc)
            pm_record(q, n);
    } else if (had) { /* failed: p is still valid */
        pm_rerecord(p, &e, w, cnt);
    }
    return q;
}

static void pm_free(void *ctx, void *p)
{
    struct pm_ctx *c = ctx;
    bump();
    if (!p || !pm_active(p)) {
        c->orig.free(c->orig.ctx, p);
        return;
    }
    struct hs_tentry e;
    int64_t w, cnt;
    (void)pm_unrecord(p, &e, &w, &cnt);
    struct hs_tls *t = &hs_tls;
    t->pm_depth++;
    t->pm_libc_freed = 0;
    c->orig.free(c->orig.ctx, p);
    t->pm_depth--;
    if (!t->pm_libc_freed)
        hs_stats_count_free();
}

HS_EXPORT int heapscope_pymem_wrap(const struct heapscope_allocator *orig, struct heapscope_allocator *hook)
{
    if (!orig || !hook || !orig->malloc || !orig->calloc || !orig->realloc || !orig->free)
        return -1;
    unsigned i = atomic_fetch_add_explicit(&used, 1, memory_order_relaxed);
    if (i >= SLOTS)
        return -1;
    slots[i].orig = *orig;
    hook->ctx = &slots[i];
    hook->malloc = pm_malloc;
    hook->calloc = pm_calloc;
    hook->realloc = pm_realloc;
    hook->free = pm_free;
    return 0;
}

HS_EXPORT uint64_t heapscope_pymem_calls(void) { return atomic_load_explicit(&calls, memory_order_relaxed); }
