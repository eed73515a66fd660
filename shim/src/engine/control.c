/*
 * control.c — the engine's controlling API: install, callbacks, profiler memory and the agent
 *             flag, stack and site reads, engine stats (include/heapscope.h).
 *
 * Contract
 *   heapscope_engine_install validates the configuration (mode, 1 <= max_depth <= 64, interval >= 1,
 *   tick_hz <= 1000; the interval is fixed by the first install), maps the table's filter, then turns
 *   the engine on and starts the ticker. The reads (stack, alive, engine_stats) take only the short
 *   locks of the data structures they read.
 *
 * Thread-safety
 *   install and set_locator for one controlling thread (the bridge, with the GIL); the rest any thread.
 */
#include "core/counting.h"
#include "core/libc.h"
#include "core/state.h"
#include "data/pages.h"
#include "data/sites.h"
#include "data/stacks.h"
#include "data/table.h"
#include "engine/record.h"
#include "engine/ticker.h"

#include <string.h>

static int interval_fixed;

HS_EXPORT int heapscope_engine_install(const struct heapscope_config *cfg)
{
    if (!cfg || (cfg->mode != HEAPSCOPE_MODE_DEFAULT && cfg->mode != HEAPSCOPE_MODE_EXACT) || cfg->max_depth < 1 ||
        cfg->max_depth > HEAPSCOPE_MAX_DEPTH || cfg->sample_interval < 1 || cfg->tick_hz > 1000)
        return -1;
    if (interval_fixed && (double)cfg->sample_interval != hs_eng.interval)
        return -1;
    if (atomic_load_explicit(&hs_counting, memory_order_acquire) != HS_COUNTING_ON)
        return -1;
    hs_enter();
    int ok = hs_table_init() == 0;
    hs_leave();
    if (!ok) {
        hs_degrade("pointer table memory exhausted: attribution is off");
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
    (void)hs_record_arenas_stack();
    hs_leave();
    atomic_store_explicit(&hs_eng.on, 1, memory_order_release);
    if (cfg->tick_hz)
        (void)heapscope_ticker_start(cfg->tick_hz);
    return 0;
}

HS_EXPORT void *heapscope_profiler_map(size_t bytes) { return hs_own_map(bytes); }
HS_EXPORT void heapscope_profiler_unmap(void *p, size_t bytes) { hs_own_unmap(p, bytes); }

HS_EXPORT void heapscope_agent_begin(void) { hs_tls.agent++; }

HS_EXPORT void heapscope_agent_end(void)
{
    if (hs_tls.agent)
        hs_tls.agent--;
}

HS_EXPORT const char *heapscope_degraded_reason(void) { return hs_degraded_reason(); }

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
    out->run = atomic_load_explicit(&hs_eng.run, memory_order_relaxed);
    out->max_depth = (uint32_t)atomic_load_explicit(&hs_eng.max_depth, memory_order_relaxed);
    out->exact_threshold = atomic_load_explicit(&hs_eng.threshold, memory_order_relaxed);
    out->sample_interval = (uint64_t)hs_eng.interval;
    out->tracked_blocks = hs_table_count() + hs_pages_count();
    out->table_bytes = hs_table_bytes() + hs_pages_bytes();
    out->profiler_bytes = atomic_load_explicit(&hs_eng.profiler_bytes, memory_order_relaxed);
    uint32_t nodes = atomic_load_explicit(&hs_node_count, memory_order_relaxed);
    out->stack_nodes = nodes ? nodes - 1 : 0; /* slots handed out (the highest + 1 - 1), free ones too */
    out->attributed_bytes = hs_sites_heap();
    out->collisions = atomic_load_explicit(&hs_eng.collisions, memory_order_relaxed);
    out->untracked = atomic_load_explicit(&hs_eng.untracked, memory_order_relaxed);
    out->ticks_taken = hs_ticker_taken();
    out->ticker_running = hs_ticker_running();
    out->pad = 0;
    int64_t agent = atomic_load_explicit(&hs_eng.agent_bytes, memory_order_relaxed);
    out->agent_bytes = agent > 0 ? (uint64_t)agent : 0;
    out->profiler_bytes += out->agent_bytes;
    out->unmapped_bytes = atomic_load_explicit(&hs_eng.unmapped_bytes, memory_order_relaxed);
}

HS_EXPORT int heapscope_block(uintptr_t p, uint32_t *stack, uint64_t *bytes)
{
    struct hs_tentry e;
    if (!p || !hs_table_find(p, &e) || HS_META_KIND(e.meta) != HS_KIND_LIBC)
        return 0;
    *stack = (e.meta & HS_META_AGENT) ? 0 : e.stack;
    *bytes = hs_libc.malloc_usable_size((void *)p); /* the caller keeps the block alive */
    return 1;
}

HS_EXPORT int heapscope_stack(uint32_t stack, uint32_t *run, struct heapscope_frame *out, int cap)
{
    if (!hs_stack_live(stack)) /* never made, or reclaimed (and not reused yet) */
        return -1;
    int k = 0;
    struct hs_node *n = hs_node(stack);
    if (run)
        *run = n->run;
    for (uint32_t id = stack; id; id = hs_node(id)->parent) {
        if (!hs_stack_live(id) || hs_node(id)->run != n->run) /* a stalled thread's node under a reclaimed parent */
            return -1;
        n = hs_node(id);
        if (n->code == HEAPSCOPE_FRAME_ROOT)
            break;
        if (k < cap)
            out[k] = (struct heapscope_frame){.code = n->code, .lasti = n->lasti};
        k++;
    }
    return k < cap ? k : cap;
}

HS_EXPORT long heapscope_alive(long run, struct heapscope_site *sites, size_t cap)
{
    size_t n = hs_sites_collect(HS_COLLECT_ALIVE, run, sites, cap);
    return n <= cap ? (long)n : -(long)n;
}

HS_EXPORT uint64_t heapscope_stack_live_nodes(void) { return hs_stack_live_nodes(); }

HS_EXPORT uint64_t heapscope_stack_key(uint32_t stack) { return hs_stack_key(stack); }

HS_EXPORT int heapscope_stack_at(uint64_t key, uint32_t *run, struct heapscope_frame *out, int cap)
{
    uint32_t id = hs_stack_at_key(key);
    return id ? heapscope_stack(id, run, out, cap) : -1;
}

HS_EXPORT uint64_t heapscope_stack_bytes(void) { return hs_stack_bytes(); }
