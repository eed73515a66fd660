/*
 * table.c — the sharded pointer table (contract in table.h).
 * Thread-safety: per-shard spinlock; the filter is lock-free; counters are relaxed atomics.
 */
#include "data/table.h"

#include "core/state.h"
#include "core/lock.h"

#include <stdatomic.h>
#include <string.h>

#define SHARD_BITS 7
#define SHARDS     (1u << SHARD_BITS)
#define MIN_CAP    256u
#define MAX_LOAD   75 /* percent; grow by 1.5x: steady-state load 50-75 %, 16-24 bytes per entry */
#define MIN_LOAD \
    12 /* percent; shrink (to 50 %) only far below: churn that frees and rebuilds
                       millions of objects would otherwise rehash the table on every wave */
#define FILTER_BITS 18

struct entry {
    uint32_t lo;
    uint16_t hi;
    uint16_t meta;
    uint32_t stack;
};
_Static_assert(sizeof(struct entry) == 12, "12-byte entries");

struct shard {
    hs_lock_t lock;
    uint32_t count, cap;
    struct entry *slot;
    size_t mapped; /* bytes mapped for slot[] */
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];
static _Atomic uint8_t *filter;
static int filter_on; /* written with every shard lock held (hs_table_use_filter), read under one */
static _Atomic uint64_t total_count, total_bytes;

static inline uint64_t key_of(uintptr_t p) { return (uint64_t)p & 0xFFFFFFFFFFFFull; }
static inline uint64_t hash_of(uint64_t key) { return (key >> 4) * 0x9E3779B97F4A7C15ull; }
static inline uint64_t ekey(const struct entry *e) { return (uint64_t)e->lo | ((uint64_t)e->hi << 32); }
static inline uint32_t home(uint64_t h, uint32_t cap) { return (uint32_t)(((h >> 16) & 0xFFFFFFFFull) * cap >> 32); }
static inline size_t filter_index(uint64_t h) { return (size_t)((h >> 24) & ((1u << FILTER_BITS) - 1)); }

HS_HIDDEN int hs_table_init(void)
{
    if (filter)
        return 0;
    void *m = hs_own_map(1u << FILTER_BITS);
    if (!m)
        return -1;
    filter = m;
    return 0;
}

static void filter_inc(uint64_t h)
{
    _Atomic uint8_t *c = &filter[filter_index(h)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v != 255 &&
           !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + 1), memory_order_relaxed, memory_order_relaxed))
        ;
}

static void filter_dec(uint64_t h)
{
    _Atomic uint8_t *c = &filter[filter_index(h)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    while (v != 255 && v != 0 &&
           !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v - 1), memory_order_relaxed, memory_order_relaxed))
        ;
}

HS_HIDDEN int hs_table_maybe(uintptr_t p)
{
    if (!filter)
        return 0;
    if (!__atomic_load_n(&filter_on, __ATOMIC_ACQUIRE))
        return 1;
    return atomic_load_explicit(&filter[filter_index(hash_of(key_of(p)))], memory_order_relaxed) != 0;
}

HS_HIDDEN void hs_table_use_filter(int on)
{
    if (!filter || on == __atomic_load_n(&filter_on, __ATOMIC_ACQUIRE))
        return;
    for (unsigned i = 0; i < SHARDS; i++)
        hs_lock(&shards[i].lock);
    if (on) { /* recount every entry: the filter was not kept while off */
        memset((void *)filter, 0, 1u << FILTER_BITS);
        for (unsigned i = 0; i < SHARDS; i++)
            for (uint32_t k = 0; k < shards[i].cap; k++) {
                const struct entry *e = &shards[i].slot[k];
                if (e->lo || e->hi)
                    filter_inc(hash_of(ekey(e)));
            }
    }
    __atomic_store_n(&filter_on, on, __ATOMIC_RELEASE);
    for (unsigned i = SHARDS; i-- > 0;)
        hs_unlock(&shards[i].lock);
}

HS_HIDDEN void hs_table_prefetch(uintptr_t p)
{
    uint64_t h = hash_of(key_of(p));
    struct shard *s = &shards[h >> (64 - SHARD_BITS)];
    struct entry *slot = __atomic_load_n(&s->slot, __ATOMIC_RELAXED);
    uint32_t cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
    if (slot && cap) /* racy on purpose: a stale guess costs nothing, a prefetch never faults */
        __builtin_prefetch(&slot[home(h, cap)], 1, 1);
}

static size_t bytes_for(uint32_t cap)
{
    size_t b = (size_t)cap * sizeof(struct entry);
    return (b + 4095) & ~(size_t)4095;
}

/* Rehashes shard s into ncap slots; -1 if the memory cannot be mapped (shard unchanged). */
static int resize_locked(struct shard *s, uint32_t ncap)
{
    size_t nb = bytes_for(ncap);
    ncap = (uint32_t)(nb / sizeof(struct entry)); /* use the whole mapping */
    struct entry *n = hs_own_map(nb);
    if (!n)
        return -1;
    for (uint32_t i = 0; i < s->cap; i++) {
        struct entry *e = &s->slot[i];
        if (!e->lo && !e->hi)
            continue;
        uint32_t j = home(hash_of(ekey(e)), ncap);
        while (n[j].lo || n[j].hi)
            j = j + 1 == ncap ? 0 : j + 1;
        n[j] = *e;
    }
    if (s->slot) {
        hs_own_unmap(s->slot, s->mapped);
        atomic_fetch_sub_explicit(&total_bytes, s->mapped, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&total_bytes, nb, memory_order_relaxed);
    s->slot = n;
    s->cap = ncap;
    s->mapped = nb;
    return 0;
}

HS_HIDDEN int hs_table_insert(uintptr_t p, uint32_t stack, uint16_t meta, struct hs_tentry *old)
{
    uint64_t key = key_of(p);
    if (key != (uint64_t)p || !key || !filter)
        return 0;
    uint64_t h = hash_of(key);
    struct shard *s = &shards[h >> (64 - SHARD_BITS)];
    int r = 1;
    hs_lock(&s->lock);
    if ((uint64_t)(s->count + 1) * 100 > (uint64_t)s->cap * MAX_LOAD) {
        uint32_t ncap = s->cap ? s->cap + s->cap / 2 : MIN_CAP;
        if (resize_locked(s, ncap) != 0) {
            hs_degrade("pointer table memory exhausted: new allocations are not attributed");
            if ((uint64_t)(s->count + 1) * 100 > (uint64_t)s->cap * 97) {
                hs_unlock(&s->lock);
                return 0;
            }
        }
    }
    uint32_t cap = s->cap, i = home(h, cap);
    struct entry *e;
    for (;;) {
        e = &s->slot[i];
        if (!e->lo && !e->hi)
            break;
        if (ekey(e) == key) {
            if (old) {
                old->stack = e->stack;
                old->meta = e->meta;
            }
            r = 2;
            break;
        }
        i = i + 1 == cap ? 0 : i + 1;
    }
    e->lo = (uint32_t)key;
    e->hi = (uint16_t)(key >> 32);
    e->meta = meta;
    e->stack = stack;
    if (r == 1) {
        s->count++;
        if (filter_on)
            filter_inc(h);
    }
    hs_unlock(&s->lock);
    if (r == 1)
        atomic_fetch_add_explicit(&total_count, 1, memory_order_relaxed);
    return r;
}

HS_HIDDEN int hs_table_remove(uintptr_t p, int kind, struct hs_tentry *out)
{
    uint64_t key = key_of(p);
    if (key != (uint64_t)p || !key || !filter)
        return 0;
    uint64_t h = hash_of(key);
    struct shard *s = &shards[h >> (64 - SHARD_BITS)];
    hs_lock(&s->lock);
    uint32_t cap = s->cap;
    if (!s->count) {
        hs_unlock(&s->lock);
        return 0;
    }
    uint32_t i = home(h, cap);
    for (;;) {
        struct entry *e = &s->slot[i];
        if (!e->lo && !e->hi) {
            hs_unlock(&s->lock);
            return 0;
        }
        if (ekey(e) == key)
            break;
        i = i + 1 == cap ? 0 : i + 1;
    }
    struct entry *e = &s->slot[i];
    if (kind >= 0 && HS_META_KIND(e->meta) != (unsigned)kind) {
        hs_unlock(&s->lock);
        return 0;
    }
    if (out) {
        out->stack = e->stack;
        out->meta = e->meta;
    }
    /* backward-shift deletion: pull later members of the cluster into the hole when their home
       position allows it */
    uint32_t hole = i, j = i;
    for (;;) {
        j = j + 1 == cap ? 0 : j + 1;
        struct entry *f = &s->slot[j];
        if (!f->lo && !f->hi)
            break;
        uint32_t k = home(hash_of(ekey(f)), cap);
        /* f may move to the hole iff its home is not cyclically in (hole, j] */
        int in_range = hole <= j ? (k > hole && k <= j) : (k > hole || k <= j);
        if (!in_range) {
            s->slot[hole] = *f;
            hole = j;
        }
    }
    memset(&s->slot[hole], 0, sizeof(struct entry));
    s->count--;
    if (filter_on)
        filter_dec(h);
    if ((uint64_t)s->count * 100 < (uint64_t)s->cap * MIN_LOAD) {
        uint32_t ncap = (uint32_t)((uint64_t)s->count * 100 / 50);
        if (ncap < MIN_CAP)
            ncap = MIN_CAP;
        if (bytes_for(ncap) < s->mapped)
            (void)resize_locked(s, ncap); /* failure: keep the big one */
    }
    hs_unlock(&s->lock);
    atomic_fetch_sub_explicit(&total_count, 1, memory_order_relaxed);
    return 1;
}

HS_HIDDEN int hs_table_find(uintptr_t p, struct hs_tentry *out)
{
    uint64_t key = key_of(p);
    if (key != (uint64_t)p || !key || !filter)
        return 0;
    uint64_t h = hash_of(key);
    struct shard *s = &shards[h >> (64 - SHARD_BITS)];
    int found = 0;
    hs_lock(&s->lock);
    if (s->count) {
        uint32_t cap = s->cap, i = home(h, cap);
        for (;;) {
            const struct entry *e = &s->slot[i];
            if (!e->lo && !e->hi)
                break;
            if (ekey(e) == key) {
                out->stack = e->stack;
                out->meta = e->meta;
                found = 1;
                break;
            }
            i = i + 1 == cap ? 0 : i + 1;
        }
    }
    hs_unlock(&s->lock);
    return found;
}

HS_HIDDEN uint64_t hs_table_count(void) { return atomic_load_explicit(&total_count, memory_order_relaxed); }
HS_HIDDEN uint64_t hs_table_bytes(void) { return atomic_load_explicit(&total_bytes, memory_order_relaxed); }

HS_HIDDEN void hs_table_atfork_prepare(void)
{
    for (unsigned i = 0; i < SHARDS; i++)
        hs_lock(&shards[i].lock);
}
HS_HIDDEN void hs_table_atfork_parent(void)
{
    for (unsigned i = 0; i < SHARDS; i++)
        hs_unlock(&shards[i].lock);
}
HS_HIDDEN void hs_table_atfork_child(void)
{
    for (unsigned i = 0; i < SHARDS; i++)
        hs_lock_init(&shards[i].lock);
}
