/*
 * engine.c — configuration, degradation, the engine's own memory, and the libc-family record/free
 * paths that account.h calls (contract in engine.h).
 * Thread-safety: see engine.h; the record paths take the table shard lock and the sites lock in
 * turn, never both at once, and never across a real allocator call.
 */
#include "engine.h"

#include "real.h"
#include "sampler.h"
#include "sampling.h"
#include "sites_hwm.h"
#include "pages.h"
#include "stacks.h"
#include "table.h"

#include <string.h>
#include <sys/mman.h>

HS_HIDDEN struct hs_engine hs_eng = {.interval = 65536.0, .max_depth = 32, .threshold = 65536};
HS_HIDDEN __thread struct hs_tls hs_tls __attribute__((tls_model("initial-exec")));

static _Atomic(const char *) degraded_reason;
static int interval_fixed;

HS_HIDDEN void hs_engine_degrade(const char *reason)
{
    const char *expected = NULL;
    atomic_compare_exchange_strong(&degraded_reason, &expected, reason);
}

HS_EXPORT const char *heapscope_degraded_reason(void)
{
    return atomic_load_explicit(&degraded_reason, memory_order_acquire);
}

HS_HIDDEN void *hs_sys_map(size_t bytes)
{
    void *m = hs_real.mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (bytes >= (4u << 20)) /* big tables: fewer TLB misses on their random accesses */
        (void)madvise(m, bytes, MADV_HUGEPAGE);
    atomic_fetch_add_explicit(&hs_eng.profiler_bytes, bytes, memory_order_relaxed);
    return m;
}

HS_HIDDEN void hs_sys_unmap(void *p, size_t bytes)
{
    hs_real.munmap(p, bytes);
    atomic_fetch_sub_explicit(&hs_eng.profiler_bytes, bytes, memory_order_relaxed);
}

/* ---- libc-family blocks ---------------------------------------------------------------------- */

static inline void weight_of(uint16_t meta, size_t n, int64_t *w, int64_t *c)
{
    if (meta & HS_META_EXACT) {
        *w = (int64_t)n;
        *c = 1;
    } else {
        hs_sample_weight(n, w, c);
    }
}

HS_HIDDEN void hs_engine_alloc(const void *p, size_t n)
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
    weight_of(meta, n, &w, &c);
    hs_sites_apply(st, w, c);
}

HS_HIDDEN void hs_engine_free(const void *p, size_t n)
{
    if (!atomic_load_explicit(&hs_eng.exact, memory_order_relaxed) && !hs_table_maybe((uintptr_t)p))
        return;
    struct hs_tentry e;
    if (!hs_table_remove((uintptr_t)p, -1, &e))
        return;
    int64_t w, c;
    if (HS_META_KIND(e.meta) == HS_KIND_PYMALLOC) { /* cannot happen for a libc block; be safe */
        n = HS_META_SC(e.meta) * 16u;
    }
    weight_of(e.meta, n, &w, &c);
    hs_sites_apply(e.stack, -w, -c);
}

HS_HIDDEN void hs_engine_release(const void *p, size_t n)
{
    struct hs_tls *t = &hs_tls;
    t->rel_found = 0;
    if (!atomic_load_explicit(&hs_eng.exact, memory_order_relaxed) && !hs_table_maybe((uintptr_t)p))
        return;
    struct hs_tentry e;
    if (!hs_table_remove((uintptr_t)p, -1, &e))
        return;
    weight_of(e.meta, n, &t->rel_w, &t->rel_c);
    t->rel_found = 1;
    t->rel_stack = e.stack;
    t->rel_meta = e.meta;
    hs_sites_apply(e.stack, -t->rel_w, -t->rel_c);
}

HS_HIDDEN void hs_engine_unrelease(const void *p)
{
    struct hs_tls *t = &hs_tls;
    if (!t->rel_found)
        return;
    t->rel_found = 0;
    if (hs_table_insert((uintptr_t)p, t->rel_stack, t->rel_meta, NULL))
        hs_sites_apply(t->rel_stack, t->rel_w, t->rel_c);
}

/* ---- anonymous mappings ---------------------------------------------------------------------- */

static uint32_t arenas_stack;

HS_HIDDEN uint32_t hs_engine_arenas_stack(void)
{
    if (!arenas_stack)
        arenas_stack = hs_stack_pseudo(HEAPSCOPE_FRAME_ARENAS, 0);
    return arenas_stack;
}

HS_HIDDEN uint32_t hs_engine_map_stack(void)
{
    if (!hs_engine_on())
        return 0;
    if (hs_tls.pm_depth) /* a pymalloc arena (or another PEP 445 allocator's segment) */
        return hs_engine_arenas_stack();
    return hs_stack_here();
}

/* ---- install and stats ----------------------------------------------------------------------- */

HS_EXPORT int heapscope_engine_install(const struct heapscope_config *cfg)
{
    if (!cfg || (cfg->mode != HEAPSCOPE_MODE_DEFAULT && cfg->mode != HEAPSCOPE_MODE_EXACT) || cfg->max_depth < 1 ||
        cfg->max_depth > HEAPSCOPE_MAX_DEPTH || cfg->sample_interval < 1 || cfg->sampler_hz > 1000)
        return -1;
    if (interval_fixed && (double)cfg->sample_interval != hs_eng.interval)
        return -1;
    if (atomic_load_explicit(&hs_mode, memory_order_acquire) != HS_MODE_COUNTING)
        return -1;
    hs_enter();
    int ok = hs_table_init() == 0;
    hs_leave();
    if (!ok) {
        hs_engine_degrade("pointer table memory exhausted: attribution is off");
        return -1;
    }
    hs_eng.interval = (double)cfg->sample_interval;
    interval_fixed = 1;
    atomic_store_explicit(&hs_eng.threshold, cfg->exact_threshold, memory_order_relaxed);
    hs_enter();
    hs_table_use_filter(cfg->mode == HEAPSCOPE_MODE_DEFAULT); /* before frees may consult it */
    hs_leave();
    atomic_store_explicit(&hs_eng.exact, cfg->mode == HEAPSCOPE_MODE_EXACT, memory_order_relaxed);
    atomic_store_explicit(&hs_eng.max_depth, cfg->max_depth, memory_order_relaxed);
    hs_enter();
    (void)hs_engine_arenas_stack();
    hs_leave();
    atomic_store_explicit(&hs_eng.on, 1, memory_order_release);
    if (cfg->sampler_hz)
        (void)heapscope_sampler_start(cfg->sampler_hz);
    return 0;
}

HS_EXPORT void *heapscope_profiler_map(size_t bytes) { return hs_sys_map(bytes); }
HS_EXPORT void heapscope_profiler_unmap(void *p, size_t bytes) { hs_sys_unmap(p, bytes); }

HS_EXPORT void heapscope_forget_codes(const uintptr_t *codes, size_t n)
{
    uintptr_t buf[64];
    hs_enter();
    while (n) {
        size_t k = n < 64 ? n : 64;
        memcpy(buf, codes, k * sizeof *buf);
        hs_stacks_forget(buf, k);
        codes += k;
        n -= k;
    }
    hs_leave();
}

HS_EXPORT void heapscope_set_locator(heapscope_locator_fn locator, heapscope_pin_fn pin, heapscope_drain_fn drain)
{
    atomic_store_explicit(&hs_eng.drain, drain, memory_order_release);
    atomic_store_explicit(&hs_eng.pin, pin, memory_order_release);
    atomic_store_explicit(&hs_eng.locator, locator, memory_order_release);
}

HS_EXPORT void heapscope_engine_stats(struct heapscope_engine_stats *out)
{
    if (!out)
        return;
    out->installed = hs_engine_on();
    out->mode = atomic_load_explicit(&hs_eng.exact, memory_order_relaxed);
    out->epoch = atomic_load_explicit(&hs_eng.epoch, memory_order_relaxed);
    out->max_depth = (uint32_t)atomic_load_explicit(&hs_eng.max_depth, memory_order_relaxed);
    out->exact_threshold = atomic_load_explicit(&hs_eng.threshold, memory_order_relaxed);
    out->sample_interval = (uint64_t)hs_eng.interval;
    out->tracked_blocks = hs_table_count() + hs_pages_count();
    out->table_bytes = hs_table_bytes() + hs_pages_bytes();
    out->profiler_bytes = atomic_load_explicit(&hs_eng.profiler_bytes, memory_order_relaxed);
    uint32_t nodes = atomic_load_explicit(&hs_node_count, memory_order_relaxed);
    out->stack_nodes = nodes ? nodes - 1 : 0;
    out->attributed_bytes = hs_sites_heap();
    out->collisions = atomic_load_explicit(&hs_eng.collisions, memory_order_relaxed);
    out->untracked = atomic_load_explicit(&hs_eng.untracked, memory_order_relaxed);
    out->samples_taken = hs_sampler_taken();
    out->sampler_running = hs_sampler_running();
    out->pad = 0;
}

HS_EXPORT int heapscope_stack(uint32_t stack, uint32_t *epoch, struct heapscope_frame *out, int cap)
{
    uint32_t count = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    if (!stack || stack >= count)
        return -1;
    int k = 0;
    struct hs_node *n = hs_node(stack);
    if (epoch)
        *epoch = n->epoch;
    for (uint32_t id = stack; id; id = hs_node(id)->parent) {
        n = hs_node(id);
        if (n->code == HEAPSCOPE_FRAME_ROOT)
            break;
        if (k < cap)
            out[k] = (struct heapscope_frame){.code = n->code, .lasti = n->lasti};
        k++;
    }
    return k < cap ? k : cap;
}

HS_EXPORT long heapscope_live(long epoch, struct heapscope_site *sites, size_t cap)
{
    size_t n = hs_sites_collect(HS_COLLECT_LIVE, epoch, sites, cap);
    return n <= cap ? (long)n : -(long)n;
}

/* ---- fork ------------------------------------------------------------------------------------- */

HS_HIDDEN void hs_engine_atfork_prepare(void)
{
    hs_stacks_atfork_prepare();
    hs_table_atfork_prepare();
    hs_pages_atfork_prepare();
    hs_sites_atfork_prepare();
    hs_sampler_atfork_prepare();
}

HS_HIDDEN void hs_engine_atfork_parent(void)
{
    hs_sampler_atfork_parent();
    hs_sites_atfork_parent();
    hs_pages_atfork_parent();
    hs_table_atfork_parent();
    hs_stacks_atfork_parent();
}

HS_HIDDEN void hs_engine_atfork_child(void)
{
    hs_sampler_atfork_child();
    hs_sites_atfork_child();
    hs_pages_atfork_child();
    hs_table_atfork_child();
    hs_stacks_atfork_child();
    hs_tls.pm_depth = 0;
    hs_tls.rel_found = 0;
}
