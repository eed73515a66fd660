/*
 * pages.c — the pymalloc block map (contract in pages.h).
 * Thread-safety: one spinlock around every operation; counters are relaxed atomics.
 */
#include "data/pages.h"

#include "core/state.h"
#include "core/lock.h"

#include <stdatomic.h>
#include <string.h>

#define PAGE_BITS      12
#define SLOTS          256u       /* 4 KiB / 16 */
#define RECS_PER_CHUNK 1024u      /* 1 MiB of records per mapping */
#define CHUNKS         16384u     /* up to 16 Mi pages = 64 GiB of pymalloc memory */
#define STACK_LIMIT    (1u << 25) /* a slot keeps 25 bits of stack id */
#define MAX_LOAD       70         /* percent, index */

struct rec {
    uint32_t slot[SLOTS];
};

struct ient {
    uint64_t page; /* 0 = empty */
    uint32_t rec, alive;
};

static hs_lock_t lock;
static struct rec *chunks[CHUNKS];
static uint32_t nrecs;     /* records handed out so far (ids 1..nrecs) */
static uint32_t free_head; /* recycled records, linked through slot[0] */
static struct ient *idx;
static uint32_t idx_cap, idx_used;
static uint64_t cache_page; /* the last page found, and its index position */
static uint32_t cache_i;
static _Atomic uint64_t blocks, mapped;

static inline struct rec *rec_of(uint32_t id) { return &chunks[(id - 1) / RECS_PER_CHUNK][(id - 1) % RECS_PER_CHUNK]; }
static inline uint32_t home(uint64_t page, uint32_t cap)
{
    return (uint32_t)((page * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void *map(size_t bytes)
{
    void *m = hs_own_map(bytes);
    if (m)
        atomic_fetch_add_explicit(&mapped, bytes, memory_order_relaxed);
    return m;
}

static int grow_locked(void)
{
    uint32_t ncap = idx_cap ? idx_cap * 2 : 1024;
    struct ient *n = map((size_t)ncap * sizeof *n);
    if (!n)
        return -1;
    for (uint32_t i = 0; i < idx_cap; i++) {
        if (!idx[i].page)
            continue;
        uint32_t j = home(idx[i].page, ncap);
        while (n[j].page)
            j = (j + 1) & (ncap - 1);
        n[j] = idx[i];
    }
    if (idx) {
        hs_own_unmap(idx, (size_t)idx_cap * sizeof *idx);
        atomic_fetch_sub_explicit(&mapped, (size_t)idx_cap * sizeof *idx, memory_order_relaxed);
    }
    idx = n;
    idx_cap = ncap;
    cache_page = 0;
    return 0;
}

/* The index position of page, or -1 (then *at is where it would go). */
static int64_t find_locked(uint64_t page, uint32_t *at)
{
    if (page == cache_page)
        return cache_i;
    if (!idx_cap) {
        *at = 0;
        return -1;
    }
    uint32_t i = home(page, idx_cap);
    while (idx[i].page) {
        if (idx[i].page == page) {
            cache_page = page;
            cache_i = i;
            return i;
        }
        i = (i + 1) & (idx_cap - 1);
    }
    *at = i;
    return -1;
}

static uint32_t new_rec_locked(void)
{
    if (free_head) {
        uint32_t id = free_head;
        struct rec *r = rec_of(id);
        free_head = r->slot[0];
        r->slot[0] = 0;
        return id;
    }
    if (nrecs % RECS_PER_CHUNK == 0) {
        uint32_t c = nrecs / RECS_PER_CHUNK;
        if (c >= CHUNKS || !(chunks[c] = map((size_t)RECS_PER_CHUNK * sizeof(struct rec))))
            return 0;
    }
    return ++nrecs;
}

/* Removes index entry i (its record is empty): recycles the record, backward-shift deletion. */
static void drop_locked(uint32_t i)
{
    struct rec *r = rec_of(idx[i].rec);
    r->slot[0] = free_head;
    free_head = idx[i].rec;
    uint32_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & (idx_cap - 1);
        if (!idx[j].page)
            break;
        uint32_t k = home(idx[j].page, idx_cap);
        int in_range = hole <= j ? (k > hole && k <= j) : (k > hole || k <= j);
        if (!in_range) {
            idx[hole] = idx[j];
            hole = j;
        }
    }
    memset(&idx[hole], 0, sizeof idx[hole]);
    idx_used--;
    cache_page = 0;
}

HS_HIDDEN int hs_pages_insert(uintptr_t p, uint32_t stack, uint16_t meta, struct hs_tentry *old)
{
    if ((p & 15) || p < (1u << PAGE_BITS) || stack >= STACK_LIMIT || !(meta & HS_META_EXACT) ||
        HS_META_KIND(meta) != HS_KIND_PYMALLOC)
        return 0;
    uint64_t page = (uint64_t)p >> PAGE_BITS;
    uint32_t off = (uint32_t)(p >> 4) & (SLOTS - 1), at = 0;
    hs_lock(&lock);
    int64_t i = find_locked(page, &at);
    if (i < 0) {
        if ((uint64_t)(idx_used + 1) * 100 > (uint64_t)idx_cap * MAX_LOAD) {
            if (grow_locked() != 0) {
                hs_unlock(&lock);
                return 0;
            }
            (void)find_locked(page, &at);
        }
        uint32_t id = new_rec_locked();
        if (!id) {
            hs_unlock(&lock);
            return 0;
        }
        idx[at] = (struct ient){.page = page, .rec = id, .alive = 0};
        idx_used++;
        i = at;
        cache_page = page;
        cache_i = at;
    }
    uint32_t *s = &rec_of(idx[i].rec)->slot[off];
    int r = 1;
    if (*s) {
        if (old) {
            old->stack = *s >> 7;
            old->meta = HS_META_MAKE(HS_KIND_PYMALLOC, 1, (*s >> 1) & 63u);
        }
        r = 2;
    } else {
        idx[i].alive++;
        atomic_fetch_add_explicit(&blocks, 1, memory_order_relaxed);
    }
    *s = stack << 7 | (uint32_t)HS_META_SC(meta) << 1 | 1u;
    hs_unlock(&lock);
    return r;
}

HS_HIDDEN int hs_pages_remove(uintptr_t p, struct hs_tentry *out)
{
    if ((p & 15) || p < (1u << PAGE_BITS) || !atomic_load_explicit(&blocks, memory_order_relaxed))
        return 0;
    uint64_t page = (uint64_t)p >> PAGE_BITS;
    uint32_t off = (uint32_t)(p >> 4) & (SLOTS - 1), at;
    hs_lock(&lock);
    int64_t i = find_locked(page, &at);
    uint32_t *s = i < 0 ? NULL : &rec_of(idx[i].rec)->slot[off];
    if (!s || !*s) {
        hs_unlock(&lock);
        return 0;
    }
    out->stack = *s >> 7;
    out->meta = HS_META_MAKE(HS_KIND_PYMALLOC, 1, (*s >> 1) & 63u);
    *s = 0;
    atomic_fetch_sub_explicit(&blocks, 1, memory_order_relaxed);
    if (--idx[i].alive == 0)
        drop_locked((uint32_t)i);
    hs_unlock(&lock);
    return 1;
}

HS_HIDDEN uint64_t hs_pages_count(void) { return atomic_load_explicit(&blocks, memory_order_relaxed); }
HS_HIDDEN uint64_t hs_pages_bytes(void) { return atomic_load_explicit(&mapped, memory_order_relaxed); }

HS_HIDDEN void hs_pages_atfork_prepare(void) { hs_lock(&lock); }
HS_HIDDEN void hs_pages_atfork_parent(void) { hs_unlock(&lock); }
HS_HIDDEN void hs_pages_atfork_child(void) { hs_lock_init(&lock); }
