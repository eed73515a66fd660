/*
 * stacks.c — the stack trie and the per-thread stack cache (contract in stacks.h).
 * Thread-safety: `lock` guards the index and node creation; nodes are read by id lock-free.
 */
#include "data/stacks.h"

#include "core/state.h"
#include "core/lock.h"

#include <string.h>

#define CHUNK (1u << HS_NODE_CHUNK_BITS)

HS_HIDDEN struct hs_node *_Atomic hs_node_chunks[HS_NODE_CHUNKS];
HS_HIDDEN _Atomic uint32_t hs_node_count;

static hs_lock_t lock;
static uint32_t *idx; /* open addressing, node ids, 0 = empty */
static uint32_t idx_cap, idx_used;
static _Atomic uint64_t mapped_bytes;
static _Atomic uint32_t forget_gen; /* bumped by hs_stacks_forget: per-thread caches are stale */

static inline uint64_t mix(uint32_t parent, uint64_t code, uint32_t lasti)
{
    uint64_t h = code * 0x9E3779B97F4A7C15ull ^ ((uint64_t)parent << 32 | lasti) * 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 29);
}

static int idx_grow_locked(void)
{
    uint32_t ncap = idx_cap ? idx_cap * 2 : 4096;
    uint32_t *n = hs_own_map((size_t)ncap * sizeof *n);
    if (!n)
        return -1;
    atomic_fetch_add_explicit(&mapped_bytes, (size_t)ncap * sizeof *n, memory_order_relaxed);
    for (uint32_t i = 0; i < idx_cap; i++) {
        uint32_t id = idx[i];
        if (!id)
            continue;
        struct hs_node *nd = hs_node(id);
        uint32_t j = (uint32_t)mix(nd->parent, nd->code, nd->lasti) & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = id;
    }
    if (idx) {
        hs_own_unmap(idx, (size_t)idx_cap * sizeof *idx);
        atomic_fetch_sub_explicit(&mapped_bytes, (size_t)idx_cap * sizeof *idx, memory_order_relaxed);
    }
    idx = n;
    idx_cap = ncap;
    return 0;
}

/* A new node id with its chunk mapped, or 0. */
static uint32_t new_node_locked(void)
{
    uint32_t id = atomic_load_explicit(&hs_node_count, memory_order_relaxed);
    if (id == 0)
        id = 1; /* id 0 is "none" */
    uint32_t c = id >> HS_NODE_CHUNK_BITS;
    if (c >= HS_NODE_CHUNKS)
        return 0;
    if (!atomic_load_explicit(&hs_node_chunks[c], memory_order_relaxed)) {
        struct hs_node *m = hs_own_map(CHUNK * sizeof(struct hs_node));
        if (!m)
            return 0;
        atomic_fetch_add_explicit(&mapped_bytes, CHUNK * sizeof(struct hs_node), memory_order_relaxed);
        atomic_store_explicit(&hs_node_chunks[c], m, memory_order_release);
    }
    return id;
}

/* Looks up (parent, code, lasti); when absent, creates it. A node that refers to a real code object
   is created only after the pin callback has pinned that object (with the GIL): when the callback
   refuses (this thread does not hold the GIL, so the object cannot be kept alive), nothing is created,
   *refused is set and parent is returned. Pinning a code that has died meanwhile would write into
   freed memory (pymalloc's free list), and a node for it would dangle: neither may happen. */
static uint32_t intern(uint32_t parent, uintptr_t code, uint32_t lasti, uint32_t run, int *refused)
{
    uint64_t h = mix(parent, code, lasti);
    int pinned = code < HEAPSCOPE_PSEUDO_MAX;
    uint32_t id = 0;
    for (;;) {
        hs_lock(&lock);
        if ((idx_used + 1) * 10 > idx_cap * 7 && idx_grow_locked() != 0) {
            if (!idx || idx_used + 1 >= idx_cap) {
                hs_unlock(&lock);
                hs_degrade("stack table memory exhausted: stacks are truncated");
                return parent;
            }
        }
        uint32_t j = (uint32_t)h & (idx_cap - 1);
        for (;;) {
            uint32_t cand = idx[j];
            if (!cand)
                break;
            struct hs_node *nd = hs_node(cand);
            if (nd->code == code && nd->lasti == lasti && nd->parent == parent) {
                hs_unlock(&lock);
                return cand; /* (an extra pin of a code already pinned only leaks a reference) */
            }
            j = (j + 1) & (idx_cap - 1);
        }
        if (!pinned) {
            /* pin first, outside the lock, then look again (another thread may have interned it) */
            hs_unlock(&lock);
            heapscope_pin_fn fn = atomic_load_explicit(&hs_eng.pin, memory_order_acquire);
            int r = fn ? fn(code) : 0;
            if (!r) {
                *refused = 1;
                return parent;
            }
            if (r == 2)
                atomic_store_explicit(&hs_eng.pins_queued, 1, memory_order_release);
            pinned = 1;
            continue;
        }
        id = new_node_locked();
        if (!id) {
            hs_unlock(&lock);
            hs_degrade("stack table memory exhausted: stacks are truncated");
            return parent;
        }
        struct hs_node *nd = hs_node(id);
        memset(nd, 0, sizeof *nd);
        nd->code = code;
        nd->lasti = lasti;
        nd->parent = parent;
        nd->run = run;
        idx[j] = id;
        idx_used++;
        atomic_store_explicit(&hs_node_count, id + 1, memory_order_release);
        hs_unlock(&lock);
        return id;
    }
}

HS_HIDDEN uint32_t hs_stack_intern(uint32_t parent, uintptr_t code, uint32_t lasti, uint32_t run)
{
    int refused = 0;
    return intern(parent, code, lasti, run, &refused);
}

HS_HIDDEN uint32_t hs_stack_root(uint32_t run) { return hs_stack_intern(0, HEAPSCOPE_FRAME_ROOT, run, run); }

HS_HIDDEN uint32_t hs_stack_pseudo(uint32_t code, uint32_t run)
{
    uint32_t r = hs_stack_root(run);
    return r ? hs_stack_intern(r, code, 0, run) : 0;
}

HS_HIDDEN uint32_t hs_stack_here(void)
{
    struct hs_tls *t = &hs_tls;
    uint32_t ep = atomic_load_explicit(&hs_eng.run, memory_order_relaxed);
    heapscope_locator_fn loc = atomic_load_explicit(&hs_eng.locator, memory_order_acquire);
    int max = atomic_load_explicit(&hs_eng.max_depth, memory_order_relaxed);
    uint32_t sw = atomic_load_explicit(&hs_eng.switches, memory_order_relaxed);
    if (HS_UNLIKELY(t->memo_run != sw)) {
        memset(t->locator_memo, 0, sizeof t->locator_memo);
        t->memo_run = sw;
    }
    int n = loc ? loc(t->buf, max, t->locator_memo) : 0;
    if (n <= 0) {
        if (n < 0 && t->inherit)
            return t->inherit;
        uint32_t code = n < 0 ? HEAPSCOPE_FRAME_NATIVE : HEAPSCOPE_FRAME_NOPYTHON;
        if (t->native_id && t->native_run == ep && hs_node(t->native_id)->code == code)
            return t->native_id;
        t->native_id = hs_stack_pseudo(code, ep);
        t->native_run = ep;
        return t->native_id;
    }
    if (n > max)
        n = max;
    /* common prefix (outermost frames) with the cached stack of this thread */
    int keep = 0;
    uint32_t gen = atomic_load_explicit(&forget_gen, memory_order_acquire);
    if (t->cache_run == ep && t->cache_gen == gen && t->cache_n > 0) {
        int lim = n < t->cache_n ? n : t->cache_n;
        while (keep < lim) {
            const struct heapscope_frame *a = &t->buf[n - 1 - keep], *b = &t->cache[t->cache_n - 1 - keep];
            if (a->code != b->code || a->lasti != b->lasti)
                break;
            keep++;
        }
        if (keep == n && n == t->cache_n)
            return t->path[n - 1];
    }
    uint32_t parent = keep ? t->path[keep - 1] : hs_stack_root(ep);
    for (int k = keep; k < n; k++) {
        const struct heapscope_frame *f = &t->buf[n - 1 - k];
        int refused = 0;
        uint32_t id = intern(parent, f->code, f->lasti, ep, &refused);
        if (id == parent) { /* degraded, or a code that cannot be pinned now: stop here, do not cache */
            t->cache_n = 0;
            if (refused && k == 0) /* not even the outermost frame is known */
                return hs_stack_pseudo(HEAPSCOPE_FRAME_TRUNCATED, ep);
            return parent ? parent : 0;
        }
        t->path[k] = parent = id;
    }
    memcpy(t->cache, t->buf, (size_t)n * sizeof t->buf[0]);
    t->cache_n = n;
    t->cache_run = ep;
    t->cache_gen = gen;
    return parent;
}

/* 1 when code is in the sorted codes[0..n) (no libc call: this runs under the trie lock) */
static int among(uintptr_t code, const uintptr_t *codes, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (codes[mid] == code)
            return 1;
        if (codes[mid] < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

HS_HIDDEN void hs_stacks_forget(uintptr_t *codes, size_t n)
{
    if (!n)
        return;
    for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
        for (size_t j = i; j > 0 && codes[j - 1] > codes[j]; j--) {
            uintptr_t x = codes[j];
            codes[j] = codes[j - 1];
            codes[j - 1] = x;
        }
    hs_lock(&lock);
    uint32_t count = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    for (uint32_t id = 1; id < count; id++) {
        struct hs_node *nd = hs_node(id);
        if (nd->code >= HEAPSCOPE_PSEUDO_MAX && among((uintptr_t)nd->code, codes, n))
            __atomic_store_n(&nd->code, (uint64_t)HEAPSCOPE_FRAME_FREED, __ATOMIC_RELEASE);
    }
    atomic_fetch_add_explicit(&forget_gen, 1, memory_order_release);
    hs_unlock(&lock);
}

HS_HIDDEN uint64_t hs_stack_bytes(void) { return atomic_load_explicit(&mapped_bytes, memory_order_relaxed); }

HS_HIDDEN void hs_stacks_atfork_prepare(void) { hs_lock(&lock); }
HS_HIDDEN void hs_stacks_atfork_parent(void) { hs_unlock(&lock); }
HS_HIDDEN void hs_stacks_atfork_child(void) { hs_lock_init(&lock); }

/* First node id of the last RUN_RING runs (a run's nodes are created after it begins, so their ids
   are at least this; a thread that read the previous run number just before the switch only adds
   nodes of that previous run, which are after its own first id too). */
#define RUN_RING 1024u
static struct {
    uint32_t run, first;
} run_first[RUN_RING];

HS_HIDDEN void hs_stacks_run_begin(uint32_t run)
{
    uint32_t first = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    __atomic_store_n(&run_first[run % RUN_RING].first, first ? first : 1, __ATOMIC_RELAXED);
    __atomic_store_n(&run_first[run % RUN_RING].run, run, __ATOMIC_RELEASE);
}

HS_HIDDEN uint32_t hs_stacks_first_of(uint32_t run)
{
    if (__atomic_load_n(&run_first[run % RUN_RING].run, __ATOMIC_ACQUIRE) != run)
        return 1;
    uint32_t f = __atomic_load_n(&run_first[run % RUN_RING].first, __ATOMIC_RELAXED);
    return f ? f : 1;
}
