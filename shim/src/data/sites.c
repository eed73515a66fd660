/*
 * sites.c — per-stack counters and high-water-mark aggregation (contract in sites.h).
 * Thread-safety: `lock` guards heap/hwm/peak_index/dirty and the counter fields of every node.
 */
#include "data/sites.h"

#include "core/lock.h"
#include "data/stacks.h"

static hs_lock_t lock;
static int64_t heap, hwm;
static uint32_t peak_index = 1;
static int dirty;

static inline void rebase(struct hs_node *n)
{
    if (n->last_peak != peak_index) {
        n->pk_b = n->cur_b;
        n->pk_c = n->cur_c;
        n->last_peak = peak_index;
    }
}

HS_HIDDEN void hs_sites_apply(uint32_t stack, int64_t bytes, int64_t count)
{
    if (!stack || (!bytes && !count))
        return;
    struct hs_node *n = hs_node(stack);
    hs_lock(&lock);
    if (bytes < 0 && dirty) { /* falling edge: the state before this event is the new peak */
        hwm = heap;
        peak_index++;
        dirty = 0;
    }
    rebase(n);
    n->cur_b += bytes;
    n->cur_c += count;
    heap += bytes;
    if (bytes > 0 && heap >= hwm)
        dirty = 1;
    hs_unlock(&lock);
}

HS_HIDDEN void hs_sites_move(uint32_t from, uint32_t to, int64_t bytes, int64_t dc_from, int64_t dc_to)
{
    if (!from || !to)
        return;
    struct hs_node *a = hs_node(from), *b = hs_node(to);
    hs_lock(&lock);
    rebase(a);
    rebase(b);
    a->cur_b -= bytes;
    b->cur_b += bytes;
    a->cur_c += dc_from;
    b->cur_c += dc_to;
    hs_unlock(&lock);
}

HS_HIDDEN void hs_sites_begin(void)
{
    hs_lock(&lock);
    hwm = heap;
    peak_index++;
    dirty = 0;
    hs_unlock(&lock);
}

HS_HIDDEN int64_t hs_sites_heap(void)
{
    hs_lock(&lock);
    int64_t h = heap;
    hs_unlock(&lock);
    return h;
}

/* Adds node id to out[] when it belongs to run (run < 0: any) and holds something (under the lock). */
static inline size_t collect_one(uint32_t id, int what, long run, struct heapscope_site *out, size_t cap, size_t k)
{
    struct hs_node *n = hs_node(id);
    if ((run >= 0 && n->run != (uint32_t)run) || !(__atomic_load_n(&n->flags, __ATOMIC_ACQUIRE) & HS_NODE_LIVE))
        return k;
    int64_t b, c;
    if (what == HS_COLLECT_ALIVE || dirty || n->last_peak != peak_index) {
        b = n->cur_b;
        c = n->cur_c;
    } else {
        b = n->pk_b;
        c = n->pk_c;
    }
    if (!b && !c)
        return k;
    if (k < cap)
        out[k] = (struct heapscope_site){.stack = id, .run = n->run, .bytes = b, .count = c};
    return k + 1;
}

HS_HIDDEN size_t hs_sites_collect(int what, long run, struct heapscope_site *out, size_t cap)
{
    size_t k = 0;
    hs_lock(&lock);
    uint32_t count = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    int known = 0;
    uint32_t id = run >= 0 ? hs_stacks_run_head((uint32_t)run, &known) : 0;
    if (known) /* the run's own list (at most count steps, whatever happens to it meanwhile) */
        for (uint32_t steps = 0; id && steps < count;
             steps++, id = __atomic_load_n(&hs_node(id)->next, __ATOMIC_ACQUIRE))
            k = collect_one(id, what, run, out, cap, k);
    else
        for (id = 1; id < count; id++)
            k = collect_one(id, what, run, out, cap, k);
    hs_unlock(&lock);
    return k;
}

HS_HIDDEN void hs_sites_atfork_prepare(void) { hs_lock(&lock); }
HS_HIDDEN void hs_sites_atfork_parent(void) { hs_unlock(&lock); }
HS_HIDDEN void hs_sites_atfork_child(void) { hs_lock_init(&lock); }
