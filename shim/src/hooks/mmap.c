/*
 * mmap.c — the interposed mmap, mmap64, munmap and mremap.
 *
 * Contract
 *   Only anonymous mappings (MAP_ANONYMOUS, private or shared, any protection) are counted, by their
 *   page-rounded length, through the interval map of regions.h, so that:
 *   - a partial munmap subtracts exactly the tracked pages it removes (before libc's munmap; put
 *     back if it fails);
 *   - mremap of a tracked mapping is a free of the old range plus an allocation of the new one
 *     (grow, shrink, move, MREMAP_FIXED, MREMAP_DONTUNMAP which leaves the old range mapped);
 *   - MAP_FIXED (or MREMAP_FIXED) over tracked pages replaces them: those pages are freed, whatever
 *     the new mapping is; file-backed mappings are otherwise ignored;
 *   - mappings made inside a counted hook (glibc's malloc) are never counted a second time: glibc's
 *     are internal calls anyway, and the guard catches other allocators calling mmap.
 *   errno is what libc's call left.
 *   Attribution (engine on): a new anonymous mapping is tagged in the region map with the stack of
 *   the caller (or "<pymalloc arenas>" inside a PEP 445 wrapper, see pymem.c), and every piece the
 *   map removes or restores moves the per-stack counters of its tag (data/sites.h), so partial
 *   munmap, mremap and MAP_FIXED stay exact per stack. mremap keeps the old mapping's tag.
 *
 * Thread-safety
 *   regions.h locks its map; no lock is held during libc's call.
 */
#include "core/state.h"
#include "core/stats.h"
#include "core/counting.h"
#include "core/libc.h"
#include "data/regions.h"
#include "data/sites.h"
#include "engine/guard.h"
#include "engine/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* Per-stack counters of the pieces in *u: sign -1 removed, +1 put back. */
static void attr_pieces(const struct hs_regions_undo *u, int sign)
{
    if (!hs_engine_on())
        return;
    for (size_t k = 0; k < u->n; k++)
        if (u->piece[k].tag)
            hs_sites_apply(u->piece[k].tag, sign * (int64_t)(u->piece[k].end - u->piece[k].start),
                           sign * (int64_t)(u->piece[k].flags & HS_RANGE_HEAD));
}

/* Bookkeeping after a successful mapping at [s, e): count it if anonymous, drop replaced pages.
   tag: the stack to attribute it to (0: the caller's); heads: how many mappings it counts as per
   stack (1 for a new mapping; for mremap, whether the moved pieces held their mapping's count). */
static void note_mapped(uintptr_t s, uintptr_t e, int anonymous, int replaces, uint32_t tag, int heads)
{
    uint64_t stale = 0;
    struct hs_regions_undo undo;
    undo.n = 0;
    if (anonymous) {
        int added;
        if (!tag)
            tag = hs_record_map_stack();
        stale = hs_regions_add_tagged(s, e, tag, heads ? HS_RANGE_HEAD : 0, &added, &undo);
        if (added) {
            hs_stats_alloc(e - s);
            if (tag)
                hs_sites_apply(tag, (int64_t)(e - s), heads);
        }
    } else if (replaces) {
        stale = hs_regions_remove(s, e, &undo);
    }
    if (stale) {
        hs_stats_free(stale);
        attr_pieces(&undo, -1);
    }
}

/* After a failed munmap/mremap: put back what hs_regions_remove took (counters and attribution);
   what cannot be put back (the map is degraded) is a free. */
static void restore_removed(struct hs_regions_undo *undo, uint64_t removed)
{
    uint64_t back = hs_regions_restore(undo);
    if (back) {
        hs_stats_unrelease(back);
        attr_pieces(undo, +1);
    }
    if (removed > back)
        hs_stats_commit_free(removed - back);
}

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, off64_t off, int is64)
{
    int path = hs_path();
    if (HS_UNLIKELY(path == HS_PATH_BOOT))
        return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, (off_t)off);
    if (path == HS_PATH_FORWARD || !(flags & (MAP_ANONYMOUS | MAP_FIXED)))
        return is64 ? hs_libc.mmap64(addr, len, prot, flags, fd, off)
                    : hs_libc.mmap(addr, len, prot, flags, fd, (off_t)off);
    if ((flags & (MAP_ANONYMOUS | MAP_FIXED)) == MAP_ANONYMOUS && HS_UNLIKELY(hs_guard_refuse(len))) {
        errno = ENOMEM; /* the memory guard (engine/guard.h): cell code over its hard threshold */
        return MAP_FAILED;
    }
    hs_enter();
    void *r =
        is64 ? hs_libc.mmap64(addr, len, prot, flags, fd, off) : hs_libc.mmap(addr, len, prot, flags, fd, (off_t)off);
    if (r != MAP_FAILED) {
        int saved = errno;
        uintptr_t s = (uintptr_t)r;
        note_mapped(s, s + hs_page_round(len), flags & MAP_ANONYMOUS, flags & MAP_FIXED, 0, 1);
        errno = saved;
    }
    hs_leave();
    return r;
}

HS_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return do_mmap(addr, len, prot, flags, fd, off, 0);
}

HS_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    return do_mmap(addr, len, prot, flags, fd, off, 1);
}

HS_EXPORT int munmap(void *addr, size_t len)
{
    int path = hs_path();
    if (HS_UNLIKELY(path == HS_PATH_BOOT))
        return (int)syscall(SYS_munmap, addr, len);
    uintptr_t s = (uintptr_t)addr;
    if (path == HS_PATH_FORWARD || len == 0 || (s & (hs_page_size() - 1)))
        return hs_libc.munmap(addr, len); /* invalid arguments fail without unmapping anything */
    hs_enter();
    struct hs_regions_undo undo;
    uint64_t removed = hs_regions_remove(s, s + hs_page_round(len), &undo);
    if (removed) {
        hs_stats_release(removed);
        attr_pieces(&undo, -1);
    }
    int r = hs_libc.munmap(addr, len);
    int saved = errno;
    if (removed && r == 0)
        hs_stats_commit_free(removed);
    else if (removed)
        restore_removed(&undo, removed);
    errno = saved;
    hs_leave();
    return r;
}

HS_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    int path = hs_path();
    if (HS_UNLIKELY(path == HS_PATH_BOOT))
        return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
    uintptr_t os = (uintptr_t)old;
    if (path == HS_PATH_FORWARD || (os & (hs_page_size() - 1)))
        return hs_libc.mremap(old, old_len, new_len, flags, new_addr);

    hs_enter();
    uintptr_t oe = os + hs_page_round(old_len);
    struct hs_regions_undo undo;
    uint64_t removed = 0;
    int tracked, heads = 0;
    uint32_t tag = 0;
    if (old_len == 0 || (flags & MREMAP_DONTUNMAP)) { /* the old range stays mapped */
        tracked = hs_regions_overlap(os, old_len ? oe : os + 1) > 0;
        if (tracked && hs_engine_on())
            tag = hs_regions_tag_at(os);
    } else {
        removed = hs_regions_remove(os, oe, &undo);
        tracked = removed > 0;
        if (removed) {
            hs_stats_release(removed);
            attr_pieces(&undo, -1);
            tag = undo.n ? undo.piece[0].tag : 0;
            for (size_t k = 0; k < undo.n; k++)
                heads |= (int)(undo.piece[k].flags & HS_RANGE_HEAD);
        }
    }
    void *r = hs_libc.mremap(old, old_len, new_len, flags, new_addr);
    int saved = errno;
    if (r != MAP_FAILED) {
        if (removed)
            hs_stats_commit_free(removed);
        uintptr_t ns = (uintptr_t)r;
        note_mapped(ns, ns + hs_page_round(new_len), tracked, flags & MREMAP_FIXED, tag, removed ? heads : 1);
    } else if (removed) {
        restore_removed(&undo, removed);
    }
    errno = saved;
    hs_leave();
    return r;
}
