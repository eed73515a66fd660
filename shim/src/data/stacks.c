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
static _Atomic uint32_t forget_gen; /* bumped by hs_stacks_forget and reclaims: thread caches are stale */
static _Atomic uint64_t live;       /* nodes that exist */

/* Slots by 4 KiB page of 64 nodes (under the lock): free (reusable), pending (reclaimed by the last
   reclaim: quarantined until the next one), released (given back: its slots' generations restart at
   gen_base, higher than any they had). fill[fill_pos..n_fill) are the pages to take slots from
   before new ones, fullest first (rebuilt by every reclaim). */
#define NODES_PER_PAGE 64u
#define GEN_MAX        (UINT32_MAX >> HS_NODE_GEN_SHIFT)
_Static_assert(sizeof(struct hs_node) * NODES_PER_PAGE == 4096, "64 nodes per 4 KiB page");
struct page_state {
    uint64_t free, pending;
    uint32_t released, gen_base;
};
static struct page_state *pst;
static uint32_t pst_cap; /* pages */
static uint32_t *fill, fill_cap, n_fill, fill_pos;
static _Atomic uint32_t swept_before; /* runs below it were swept: their lists may lead through reused slots */

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

/* Grows the page states to cover `pages` pages (a new chunk). 0, or -1. */
static int pst_grow_locked(uint32_t pages)
{
    if (pages <= pst_cap)
        return 0;
    uint32_t ncap = pst_cap ? pst_cap : 256;
    while (ncap < pages)
        ncap *= 2;
    struct page_state *n = hs_own_map((size_t)ncap * sizeof *n);
    if (!n)
        return -1;
    atomic_fetch_add_explicit(&mapped_bytes, (size_t)ncap * sizeof *n, memory_order_relaxed);
    if (pst) {
        memcpy(n, pst, (size_t)pst_cap * sizeof *n);
        hs_own_unmap(pst, (size_t)pst_cap * sizeof *pst);
        atomic_fetch_sub_explicit(&mapped_bytes, (size_t)pst_cap * sizeof *pst, memory_order_relaxed);
    }
    pst = n;
    pst_cap = ncap;
    return 0;
}

/* A free slot of a page to fill (taking a given-back page again), or a new one with its chunk mapped;
   0 when none. The node's flags still hold its generation. */
static uint32_t new_node_locked(void)
{
    while (fill_pos < n_fill) {
        uint32_t p = fill[fill_pos];
        struct page_state *ps = &pst[p];
        if (!ps->free) {
            fill_pos++;
            continue;
        }
        uint32_t k = (uint32_t)__builtin_ctzll(ps->free);
        ps->free &= ps->free - 1;
        if (ps->released) { /* zero-filled again once written: every slot restarts at gen_base */
            ps->released = 0;
            hs_own_reuse(4096);
            atomic_fetch_add_explicit(&mapped_bytes, 4096, memory_order_relaxed);
            struct hs_node *first = hs_node(p * NODES_PER_PAGE);
            for (uint32_t i = 0; i < NODES_PER_PAGE; i++)
                first[i].flags = ps->gen_base << HS_NODE_GEN_SHIFT;
        }
        return p * NODES_PER_PAGE + k;
    }
    uint32_t id = atomic_load_explicit(&hs_node_count, memory_order_relaxed);
    if (id == 0)
        id = 1; /* id 0 is "none" */
    uint32_t c = id >> HS_NODE_CHUNK_BITS;
    if (c >= HS_NODE_CHUNKS)
        return 0;
    if (!atomic_load_explicit(&hs_node_chunks[c], memory_order_relaxed)) {
        if (pst_grow_locked((c + 1) * (CHUNK / NODES_PER_PAGE)) != 0)
            return 0;
        struct hs_node *m = hs_own_map(CHUNK * sizeof(struct hs_node));
        if (!m)
            return 0;
        atomic_fetch_add_explicit(&mapped_bytes, CHUNK * sizeof(struct hs_node), memory_order_relaxed);
        atomic_store_explicit(&hs_node_chunks[c], m, memory_order_release);
    }
    return id;
}

/* The run ring: the head of each of the last RUN_RING runs' lists of nodes. */
#define RUN_RING 2048u
static struct {
    uint32_t run, head;
} run_ring[RUN_RING];

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
        uint32_t gen = nd->flags >> HS_NODE_GEN_SHIFT; /* 0 for a new slot, bumped for a reused one */
        memset(nd, 0, sizeof *nd);
        nd->code = code;
        nd->lasti = lasti;
        nd->parent = parent;
        nd->run = run;
        int listed = __atomic_load_n(&run_ring[run % RUN_RING].run, __ATOMIC_ACQUIRE) == run;
        nd->next = listed ? run_ring[run % RUN_RING].head : 0;
        __atomic_store_n(&nd->flags, gen << HS_NODE_GEN_SHIFT | HS_NODE_LIVE, __ATOMIC_RELEASE);
        if (listed)
            __atomic_store_n(&run_ring[run % RUN_RING].head, id, __ATOMIC_RELEASE);
        idx[j] = id;
        idx_used++;
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
        if (id >= atomic_load_explicit(&hs_node_count, memory_order_relaxed))
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
        if (!(nd->flags & HS_NODE_LIVE))
            continue;
        if (nd->code >= HEAPSCOPE_PSEUDO_MAX && among((uintptr_t)nd->code, codes, n))
            __atomic_store_n(&nd->code, (uint64_t)HEAPSCOPE_FRAME_FREED, __ATOMIC_RELEASE);
    }
    atomic_fetch_add_explicit(&forget_gen, 1, memory_order_release);
    hs_unlock(&lock);
}

HS_HIDDEN uint64_t hs_stack_bytes(void) { return atomic_load_explicit(&mapped_bytes, memory_order_relaxed); }

HS_HIDDEN uint64_t hs_stack_live_nodes(void) { return atomic_load_explicit(&live, memory_order_relaxed); }

HS_HIDDEN void hs_stack_pin(uint32_t id)
{
    hs_lock(&lock);
    for (; hs_stack_live(id); id = hs_node(id)->parent) {
        struct hs_node *nd = hs_node(id);
        if (nd->flags & HS_NODE_PINNED)
            break; /* its path is pinned already */
        __atomic_store_n(&nd->flags, nd->flags | HS_NODE_PINNED, __ATOMIC_RELEASE);
    }
    hs_unlock(&lock);
}

/* ---- reclaiming (contract in stacks.h) --------------------------------------------------------- */

static inline uint32_t home_of(uint32_t id)
{
    struct hs_node *nd = hs_node(id);
    return (uint32_t)mix(nd->parent, nd->code, nd->lasti) & (idx_cap - 1);
}

/* Removes id from the index (backward-shift deletion: probe chains stay unbroken). */
static void idx_remove_locked(uint32_t id)
{
    if (!idx_cap)
        return;
    uint32_t mask = idx_cap - 1, i = home_of(id), seen = 0;
    while (idx[i] && idx[i] != id && seen++ < idx_cap)
        i = (i + 1) & mask;
    if (idx[i] != id) { /* a forgotten code's node sits where its old code hashed: look everywhere */
        for (i = 0; i < idx_cap && idx[i] != id; i++)
            ;
        if (i == idx_cap)
            return;
    }
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!idx[j])
            break;
        uint32_t k = home_of(idx[j]);
        /* idx[j] may move into the hole at i when its home is not in (i, j] (cyclically) */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            idx[i] = idx[j];
            i = j;
        }
    }
    idx[i] = 0;
    idx_used--;
}

static int protected_run(uint32_t run, const uint32_t *protect, int nprotect)
{
    if (run == 0)
        return 1;
    for (int i = 0; i < nprotect; i++)
        if (protect[i] == run)
            return 1;
    return 0;
}

/* The slots of page p below count (slot 0 is "none"). */
static inline uint64_t page_slots(uint32_t p, uint32_t count)
{
    uint32_t first = p * NODES_PER_PAGE;
    uint64_t m = count - first >= NODES_PER_PAGE ? ~0ull : (1ull << (count - first)) - 1;
    return p == 0 ? m & ~1ull : m;
}

static inline int holds(const struct hs_node *nd)
{
    return (nd->flags & HS_NODE_PINNED) || __atomic_load_n(&nd->cur_b, __ATOMIC_RELAXED) ||
           __atomic_load_n(&nd->cur_c, __ATOMIC_RELAXED);
}

/* Marks id and its ancestors (all of its run) as kept, up to the first one marked already. */
static void mark_path_locked(uint32_t id)
{
    for (; id; id = hs_node(id)->parent) {
        struct hs_node *nd = hs_node(id);
        if (!(nd->flags & HS_NODE_LIVE) || (nd->flags & HS_NODE_MARK))
            break;
        __atomic_store_n(&nd->flags, nd->flags | HS_NODE_MARK, __ATOMIC_RELEASE);
    }
}

/* Gives back page p when all its slots are free or quarantined (its slots' generations go on from
   the highest one on it). */
static void release_page_locked(uint32_t p, uint32_t count)
{
    struct page_state *ps = &pst[p];
    if (ps->released || p == 0 || (ps->free | ps->pending) != ~0ull || page_slots(p, count) != ~0ull)
        return;
    struct hs_node *first = hs_node(p * NODES_PER_PAGE);
    uint32_t top = 0;
    for (uint32_t i = 0; i < NODES_PER_PAGE; i++) {
        uint32_t g = first[i].flags >> HS_NODE_GEN_SHIFT;
        top = g > top ? g : top;
    }
    if (hs_own_release(first, 4096) != 0)
        return;
    atomic_fetch_sub_explicit(&mapped_bytes, 4096, memory_order_relaxed);
    ps->released = 1;
    ps->gen_base = top;
}

/* fill[]: the pages with free slots, fullest first (given-back pages, all free, come last). 0, or -1. */
static int rebuild_fill_locked(uint32_t npages)
{
    if (npages > fill_cap) {
        uint32_t ncap = npages < 1024 ? 1024 : npages + npages / 2;
        uint32_t *n = hs_own_map((size_t)ncap * sizeof *n);
        if (!n)
            return -1;
        atomic_fetch_add_explicit(&mapped_bytes, (size_t)ncap * sizeof *n, memory_order_relaxed);
        if (fill) {
            hs_own_unmap(fill, (size_t)fill_cap * sizeof *fill);
            atomic_fetch_sub_explicit(&mapped_bytes, (size_t)fill_cap * sizeof *fill, memory_order_relaxed);
        }
        fill = n;
        fill_cap = ncap;
    }
    uint32_t at[NODES_PER_PAGE + 2] = {0}; /* counting sort by free slots, fewest first */
    for (uint32_t p = 0; p < npages; p++)
        if (pst[p].free)
            at[__builtin_popcountll(pst[p].free) + 1]++;
    for (uint32_t b = 1; b < NODES_PER_PAGE + 2; b++)
        at[b] += at[b - 1];
    for (uint32_t p = 0; p < npages; p++)
        if (pst[p].free)
            fill[at[__builtin_popcountll(pst[p].free)]++] = p;
    n_fill = at[NODES_PER_PAGE];
    fill_pos = 0;
    return 0;
}

HS_HIDDEN uint32_t hs_stacks_reclaim(uint32_t before, const uint32_t *protect, int nprotect)
{
    hs_lock(&lock);
    uint32_t count = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    uint32_t npages = (count + NODES_PER_PAGE - 1) / NODES_PER_PAGE, gone = 0;
    if (npages > pst_cap) /* cannot happen: every chunk mapped has its page states */
        npages = pst_cap;
    /* the slots of the previous reclaim leave quarantine */
    for (uint32_t p = 0; p < npages; p++) {
        pst[p].free |= pst[p].pending;
        pst[p].pending = 0;
    }
    /* 1: the paths of the nodes that hold something are marked (a child may sit in a lower slot than
       its parent now: no order is assumed) */
    for (uint32_t p = 0; p < npages; p++)
        for (uint64_t m = page_slots(p, count) & ~pst[p].free; m; m &= m - 1) {
            uint32_t id = p * NODES_PER_PAGE + (uint32_t)__builtin_ctzll(m);
            struct hs_node *nd = hs_node(id);
            if ((nd->flags & HS_NODE_LIVE) && nd->run < before && !protected_run(nd->run, protect, nprotect) &&
                holds(nd))
                mark_path_locked(id);
        }
    /* 2: the unmarked nodes of those runs go (a node that holds something since 1 stays too) */
    for (uint32_t p = 0; p < npages; p++) {
        uint64_t went = 0;
        for (uint64_t m = page_slots(p, count) & ~pst[p].free; m; m &= m - 1) {
            uint32_t k = (uint32_t)__builtin_ctzll(m), id = p * NODES_PER_PAGE + k;
            struct hs_node *nd = hs_node(id);
            uint32_t f = nd->flags;
            if (!(f & HS_NODE_LIVE))
                continue;
            if (f & HS_NODE_MARK) {
                __atomic_store_n(&nd->flags, f & ~HS_NODE_MARK, __ATOMIC_RELEASE);
                continue;
            }
            if (nd->run >= before || protected_run(nd->run, protect, nprotect) || holds(nd))
                continue;
            idx_remove_locked(id);
            uint32_t gen = (f >> HS_NODE_GEN_SHIFT) + 1;
            nd->cur_b = nd->cur_c = nd->pk_b = nd->pk_c = 0;
            __atomic_store_n(&nd->flags, (gen > GEN_MAX ? GEN_MAX : gen) << HS_NODE_GEN_SHIFT, __ATOMIC_RELEASE);
            if (gen <= GEN_MAX) /* else the slot is retired: its keys could repeat */
                went |= 1ull << k;
            gone++;
        }
        if (went) {
            pst[p].pending |= went;
            release_page_locked(p, count);
        }
    }
    (void)rebuild_fill_locked(npages); /* (no memory: new slots are taken, reuse waits for the next) */
    if (before > atomic_load_explicit(&swept_before, memory_order_relaxed))
        atomic_store_explicit(&swept_before, before, memory_order_release);
    atomic_fetch_sub_explicit(&live, gone, memory_order_relaxed);
    if (gone)
        atomic_fetch_add_explicit(&forget_gen, 1, memory_order_release);
    hs_unlock(&lock);
    return gone;
}

HS_HIDDEN void hs_stacks_atfork_prepare(void) { hs_lock(&lock); }
HS_HIDDEN void hs_stacks_atfork_parent(void) { hs_unlock(&lock); }
HS_HIDDEN void hs_stacks_atfork_child(void) { hs_lock_init(&lock); }

HS_HIDDEN void hs_stacks_run_begin(uint32_t run)
{
    __atomic_store_n(&run_ring[run % RUN_RING].head, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&run_ring[run % RUN_RING].run, run, __ATOMIC_RELEASE);
}

HS_HIDDEN uint32_t hs_stacks_run_head(uint32_t run, int *known)
{
    *known = run >= atomic_load_explicit(&swept_before, memory_order_acquire) &&
             __atomic_load_n(&run_ring[run % RUN_RING].run, __ATOMIC_ACQUIRE) == run;
    return *known ? __atomic_load_n(&run_ring[run % RUN_RING].head, __ATOMIC_ACQUIRE) : 0;
}
