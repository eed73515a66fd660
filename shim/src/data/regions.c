/*
 * regions.c — the interval map of tracked anonymous mappings (contract in regions.h).
 *
 * Storage: an array of struct hs_range sorted by start, disjoint, so ends are sorted too. It grows
 * by doubling into a fresh mapping (real mmap) and the old one is unmapped; it never shrinks.
 * Thread-safety: every public function takes `lock`; helpers suffixed _locked expect it held.
 */
#include "data/regions.h"

#include "core/lock.h"
#include "core/procmaps.h"
#include "core/libc.h"

#include <stdatomic.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INITIAL_CAPACITY 1024

static struct hs_range *tab;
static size_t len, cap;
static hs_lock_t lock;
static _Atomic int degraded;

/* Room for `need` entries; on failure the map is degraded for good. */
static int reserve_locked(size_t need)
{
    if (need <= cap)
        return 0;
    if (atomic_load_explicit(&degraded, memory_order_relaxed))
        return -1;
    size_t ncap = cap ? cap * 2 : INITIAL_CAPACITY;
    while (ncap < need)
        ncap *= 2;
    void *m = hs_libc.mmap(NULL, ncap * sizeof *tab, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        atomic_store_explicit(&degraded, 1, memory_order_relaxed);
        return -1;
    }
    if (tab) {
        memcpy(m, tab, len * sizeof *tab);
        hs_libc.munmap(tab, cap * sizeof *tab);
    }
    tab = m;
    cap = ncap;
    return 0;
}

/* First index whose range ends after `addr` (len if none). */
static size_t first_ending_after_locked(uintptr_t addr)
{
    size_t lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void note_undo(struct hs_regions_undo *undo, uintptr_t s, uintptr_t e, const struct hs_range *r)
{
    if (!undo)
        return;
    int whole = r->start >= s && r->end <= e;
    if (undo->n < HS_REGIONS_UNDO)
        undo->piece[undo->n++] = (struct hs_range){s, e, r->tag, whole ? (r->flags & HS_RANGE_HEAD) : 0};
    else
        undo->overflow = 1;
}

static uint64_t remove_locked(uintptr_t s, uintptr_t e, struct hs_regions_undo *undo)
{
    uint64_t bytes = 0;
    size_t i = first_ending_after_locked(s);
    size_t del_from = i, del_n = 0;
    while (i < len && tab[i].start < e) {
        struct hs_range r = tab[i];
        uintptr_t os = r.start > s ? r.start : s, oe = r.end < e ? r.end : e;
        note_undo(undo, os, oe, &r);
        bytes += oe - os;
        if (r.start < s && r.end > e) { /* hole in the middle: split */
            tab[i].end = s;
            if (reserve_locked(len + 1) == 0) {
                memmove(&tab[i + 2], &tab[i + 1], (len - i - 1) * sizeof *tab);
                tab[i + 1] = (struct hs_range){e, r.end, r.tag, 0};
                len++;
            } else {
                bytes += r.end - e; /* degraded: drop the right piece */
            }
            return bytes;
        }
        if (r.start < s) { /* keep the left part */
            tab[i].end = s;
            del_from = ++i;
        } else if (r.end > e) { /* keep the right part */
            tab[i].start = e;
            break;
        } else { /* fully covered */
            del_n++;
            i++;
        }
    }
    if (del_n) {
        memmove(&tab[del_from], &tab[del_from + del_n], (len - del_from - del_n) * sizeof *tab);
        len -= del_n;
    }
    return bytes;
}

static uint64_t add_locked(uintptr_t s, uintptr_t e, uint32_t tag, uint32_t flags, int *added,
                           struct hs_regions_undo *stale_undo)
{
    uint64_t stale = remove_locked(s, e, stale_undo);
    *added = 0;
    if (s >= e || atomic_load_explicit(&degraded, memory_order_relaxed) || reserve_locked(len + 1) != 0)
        return stale; /* degraded: mappings are no longer tracked */
    size_t i = first_ending_after_locked(s);
    memmove(&tab[i + 1], &tab[i], (len - i) * sizeof *tab);
    tab[i] = (struct hs_range){s, e, tag, flags};
    len++;
    *added = 1;
    return stale;
}

HS_HIDDEN uint64_t hs_regions_add_tagged(uintptr_t start, uintptr_t end, uint32_t tag, uint32_t flags, int *added,
                                         struct hs_regions_undo *stale_undo)
{
    if (stale_undo) {
        stale_undo->n = 0;
        stale_undo->overflow = 0;
    }
    hs_lock(&lock);
    uint64_t stale = add_locked(start, end, tag, flags, added, stale_undo);
    hs_unlock(&lock);
    return stale;
}

HS_HIDDEN uint64_t hs_regions_add(uintptr_t start, uintptr_t end, int *added)
{
    return hs_regions_add_tagged(start, end, 0, HS_RANGE_HEAD, added, NULL);
}

HS_HIDDEN uint32_t hs_regions_tag_at(uintptr_t a)
{
    uint32_t tag = 0;
    hs_lock(&lock);
    size_t i = first_ending_after_locked(a);
    if (i < len && tab[i].start <= a)
        tag = tab[i].tag;
    hs_unlock(&lock);
    return tag;
}

HS_HIDDEN uint64_t hs_regions_remove(uintptr_t start, uintptr_t end, struct hs_regions_undo *undo)
{
    if (undo) {
        undo->n = 0;
        undo->overflow = 0;
    }
    if (start >= end)
        return 0;
    hs_lock(&lock);
    uint64_t bytes = len ? remove_locked(start, end, undo) : 0;
    hs_unlock(&lock);
    return bytes;
}

HS_HIDDEN uint64_t hs_regions_restore(const struct hs_regions_undo *undo)
{
    uint64_t bytes = 0;
    hs_lock(&lock);
    for (size_t k = 0; k < undo->n; k++) {
        int added;
        (void)add_locked(undo->piece[k].start, undo->piece[k].end, undo->piece[k].tag, undo->piece[k].flags, &added,
                         NULL);
        if (added)
            bytes += undo->piece[k].end - undo->piece[k].start;
    }
    hs_unlock(&lock);
    if (undo->overflow)
        atomic_store_explicit(&degraded, 1, memory_order_relaxed);
    return bytes;
}

HS_HIDDEN uint64_t hs_regions_overlap(uintptr_t s, uintptr_t e)
{
    uint64_t bytes = 0;
    hs_lock(&lock);
    for (size_t i = first_ending_after_locked(s); i < len && tab[i].start < e; i++) {
        uintptr_t os = tab[i].start > s ? tab[i].start : s, oe = tab[i].end < e ? tab[i].end : e;
        bytes += oe - os;
    }
    hs_unlock(&lock);
    return bytes;
}

HS_HIDDEN int hs_regions_degraded(void) { return atomic_load_explicit(&degraded, memory_order_relaxed); }

HS_HIDDEN size_t hs_regions_count(void)
{
    hs_lock(&lock);
    size_t n = len;
    hs_unlock(&lock);
    return n;
}

HS_HIDDEN void hs_regions_atfork_prepare(void) { hs_lock(&lock); }
HS_HIDDEN void hs_regions_atfork_parent(void) { hs_unlock(&lock); }
HS_HIDDEN void hs_regions_atfork_child(void) { hs_lock_init(&lock); }

/* 1 when some tracked byte may be unmapped: msync(MS_ASYNC) validates a range without touching it and
   fails with ENOMEM when part of it is not mapped (one cheap syscall per tracked range). */
static int any_gone_locked(void)
{
    for (size_t i = 0; i < len; i++)
        if (syscall(SYS_msync, tab[i].start, tab[i].end - tab[i].start, MS_ASYNC) != 0 && errno == ENOMEM)
            return 1;
    return 0;
}

HS_HIDDEN uint64_t hs_regions_prune(void (*gone)(const struct hs_range *piece, void *ctx), void *ctx)
{
    enum { MAX_GAPS = 64 };
    hs_lock(&lock);
    int suspect = any_gone_locked();
    hs_unlock(&lock);
    if (!suspect)
        return 0;
    struct hs_maps m;
    if (hs_maps_open(&m) != 0)
        return 0;
    struct hs_range gaps[MAX_GAPS];
    size_t ng = 0;
    uint64_t bytes = 0;
    /* Held while /proc/self/maps is read: a hooked munmap/mremap removes its range from the map
       before libc's call, so it waits; a hooked mmap maps before it inserts, so it is in the file. */
    hs_lock(&lock);
    uintptr_t ms = 0, me = 0;
    int have = hs_maps_next(&m, &ms, &me);
    for (size_t i = 0; i < len && ng < MAX_GAPS && have >= 0; i++) {
        uintptr_t cur = tab[i].start, e = tab[i].end;
        while (cur < e && ng < MAX_GAPS) {
            while (have == 1 && me <= cur)
                have = hs_maps_next(&m, &ms, &me);
            if (have < 0)
                break;
            if (have == 0 || ms >= e) {
                gaps[ng++] = (struct hs_range){cur, e, 0, 0};
                break;
            }
            if (ms > cur)
                gaps[ng++] = (struct hs_range){cur, ms, 0, 0};
            cur = me;
        }
    }
    if (have >= 0) { /* a read error: no conclusion */
        for (size_t g = 0; g < ng; g++) {
            struct hs_regions_undo u;
            u.n = 0;
            u.overflow = 0;
            bytes += remove_locked(gaps[g].start, gaps[g].end, &u);
            for (size_t k = 0; k < u.n; k++)
                gone(&u.piece[k], ctx);
        }
    }
    hs_unlock(&lock);
    hs_maps_close(&m);
    return bytes;
}
