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
static _Atomic uint64_t reclaimed;  /* nodes reclaimed in all */
/* hs_stacks_reclaim: ids below swept_hi were looked at; survivors[] (ascending) are those kept */
static uint32_t swept_hi = 1, *survivors, n_survivors, survivors_cap, reclaim_no;

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
        nd->flags = HS_NODE_LIVE;
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
        if (!(nd->flags & HS_NODE_LIVE))
            continue;
        if (nd->code >= HEAPSCOPE_PSEUDO_MAX && among((uintptr_t)nd->code, codes, n))
            __atomic_store_n(&nd->code, (uint64_t)HEAPSCOPE_FRAME_FREED, __ATOMIC_RELEASE);
    }
    atomic_fetch_add_explicit(&forget_gen, 1, memory_order_release);
    hs_unlock(&lock);
}

HS_HIDDEN uint64_t hs_stack_bytes(void) { return atomic_load_explicit(&mapped_bytes, memory_order_relaxed); }

HS_HIDDEN uint64_t hs_stack_live_nodes(void)
{
    uint32_t count = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    uint64_t made = count ? count - 1 : 0, gone = atomic_load_explicit(&reclaimed, memory_order_relaxed);
    return made > gone ? made - gone : 0;
}

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

#define NODES_PER_PAGE (4096u / sizeof(struct hs_node))

/* Gives back a 4 KiB page of nodes when every node on it is gone and all its ids are below `below`. */
static void drop_page_locked(uint32_t page, uint32_t below)
{
    uint32_t first = page * NODES_PER_PAGE;
    if (first + NODES_PER_PAGE > below)
        return;
    for (uint32_t k = first; k < first + NODES_PER_PAGE; k++)
        if (k && (hs_node(k)->flags & HS_NODE_LIVE))
            return;
    if (hs_own_release(hs_node(first), 4096) == 0)
        atomic_fetch_sub_explicit(&mapped_bytes, 4096, memory_order_relaxed);
}

/* The walk of a reclaim (ids descending): the page it is on, whether a node on it went, the last
   page given back. */
struct pagewalk {
    uint32_t page, gone, dropped;
};

static void page_step(struct pagewalk *w, uint32_t id, uint32_t below)
{
    uint32_t page = id == UINT32_MAX ? UINT32_MAX : id / NODES_PER_PAGE;
    if (page == w->page)
        return;
    if (w->page != UINT32_MAX && w->gone && w->page != w->dropped) {
        drop_page_locked(w->page, below);
        w->dropped = w->page;
    }
    w->page = page;
    w->gone = 0;
}

/* Looks at node id: keeps it (returns 1, marks its parent) or reclaims it (returns 0). */
static int sweep_one_locked(uint32_t id, uint32_t *gone)
{
    struct hs_node *nd = hs_node(id);
    if (!(nd->flags & HS_NODE_LIVE))
        return -1;
    int keep = (nd->flags & HS_NODE_PINNED) || nd->mark == reclaim_no ||
               __atomic_load_n(&nd->cur_b, __ATOMIC_RELAXED) || __atomic_load_n(&nd->cur_c, __ATOMIC_RELAXED);
    if (keep) {
        if (nd->parent)
            hs_node(nd->parent)->mark = reclaim_no;
        return 1;
    }
    idx_remove_locked(id);
    __atomic_store_n(&nd->flags, 0u, __ATOMIC_RELEASE);
    nd->cur_b = nd->cur_c = nd->pk_b = nd->pk_c = 0;
    (*gone)++;
    return 0;
}

HS_HIDDEN uint32_t hs_stacks_reclaim(uint32_t below, const uint32_t *protect, int nprotect)
{
    hs_lock(&lock);
    uint32_t count = atomic_load_explicit(&hs_node_count, memory_order_acquire);
    if (below > count)
        below = count;
    if (below <= swept_hi && !n_survivors) {
        hs_unlock(&lock);
        return 0;
    }
    if (below < swept_hi)
        below = swept_hi;
    /* the survivors of this reclaim: at most the old ones plus the new range */
    uint32_t cap = n_survivors + (below - swept_hi);
    uint32_t *keep = NULL;
    if (cap > survivors_cap || !survivors) {
        uint32_t ncap = cap < 1024 ? 1024 : cap + cap / 2;
        keep = hs_own_map((size_t)ncap * sizeof *keep);
        if (!keep) { /* no memory to remember the survivors: reclaim nothing this time */
            hs_unlock(&lock);
            return 0;
        }
        atomic_fetch_add_explicit(&mapped_bytes, (size_t)ncap * sizeof *keep, memory_order_relaxed);
        if (survivors) {
            memcpy(keep, survivors, (size_t)n_survivors * sizeof *keep);
            hs_own_unmap(survivors, (size_t)survivors_cap * sizeof *survivors);
            atomic_fetch_sub_explicit(&mapped_bytes, (size_t)survivors_cap * sizeof *survivors, memory_order_relaxed);
        }
        survivors = keep;
        survivors_cap = ncap;
    }
    reclaim_no++;
    uint32_t gone = 0, n_new = 0;
    /* pages are looked at when the walk leaves them (all their nodes seen), each at most once */
    struct pagewalk pw = {UINT32_MAX, 0, UINT32_MAX};
    /* Children have higher ids than their parents: going down, a node's children were all seen
       before it. New range first (highest ids), then the old survivors (all below swept_hi). The
       kept ones are written at the top end of survivors[] (descending), then moved down. */
    uint32_t top = survivors_cap;
    for (uint32_t id = below; id-- > swept_hi;) {
        page_step(&pw, id, below);
        struct hs_node *nd = hs_node(id);
        if (!(nd->flags & HS_NODE_LIVE) || protected_run(nd->run, protect, nprotect)) {
            if ((nd->flags & HS_NODE_LIVE) && nd->parent)
                hs_node(nd->parent)->mark = reclaim_no;
            continue;
        }
        int r = sweep_one_locked(id, &gone);
        if (r == 1)
            survivors[--top] = id, n_new++;
        else if (r == 0)
            pw.gone = 1;
    }
    /* old survivors: [0, n_survivors) ascending, below the new ones at [top, cap) */
    uint32_t kept_old = 0;
    for (uint32_t i = n_survivors; i-- > 0;) {
        uint32_t id = survivors[i];
        page_step(&pw, id, below);
        int r = sweep_one_locked(id, &gone);
        if (r == 1)
            survivors[--top] = id, kept_old++;
        else if (r == 0)
            pw.gone = 1;
    }
    page_step(&pw, UINT32_MAX, below);
    /* [top, survivors_cap) holds every survivor ascending (written descending from the end) */
    n_survivors = n_new + kept_old;
    memmove(survivors, survivors + top, (size_t)n_survivors * sizeof *survivors);
    swept_hi = below;
    atomic_fetch_add_explicit(&reclaimed, gone, memory_order_relaxed);
    if (gone)
        atomic_fetch_add_explicit(&forget_gen, 1, memory_order_release);
    hs_unlock(&lock);
    return gone;
}

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
