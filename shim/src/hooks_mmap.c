/*
 * hooks_mmap.c — the interposed mmap, mmap64, munmap and mremap.
 *
 * Contract
 *   Only anonymous mappings (MAP_ANONYMOUS, private or shared, any protection) are counted, by their
 *   page-rounded length, through the interval map of regions.h, so that:
 *   - a partial munmap subtracts exactly the tracked pages it removes (before the real munmap; put
 *     back if it fails);
 *   - mremap of a tracked mapping is a free of the old range plus an allocation of the new one
 *     (grow, shrink, move, MREMAP_FIXED, MREMAP_DONTUNMAP which leaves the old range mapped);
 *   - MAP_FIXED (or MREMAP_FIXED) over tracked pages replaces them: those pages are freed, whatever
 *     the new mapping is; file-backed mappings are otherwise ignored;
 *   - mappings made inside a counted hook (glibc's malloc) are never counted a second time: glibc's
 *     are internal calls anyway, and the guard catches other allocators calling mmap.
 *   errno is what the real call left.
 *
 * Thread-safety
 *   regions.h locks its map; no lock is held during the real call.
 */
#include "account.h"
#include "guard.h"
#include "real.h"
#include "regions.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* Bookkeeping after a successful mapping at [s, e): count it if anonymous, drop replaced pages. */
static void note_mapped(uintptr_t s, uintptr_t e, int anonymous, int replaces)
{
    uint64_t stale = 0;
    if (anonymous) {
        int added;
        stale = hs_regions_add(s, e, &added);
        if (added)
            hs_account_alloc((void *)s, e - s);
    } else if (replaces) {
        stale = hs_regions_remove(s, e, NULL);
    }
    if (stale)
        hs_account_free((void *)s, stale);
}

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, off64_t off, int is64)
{
    int path = hs_path();
    if (HS_UNLIKELY(path == HS_PATH_BOOT))
        return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, (off_t)off);
    if (path == HS_PATH_FORWARD || !(flags & (MAP_ANONYMOUS | MAP_FIXED)))
        return is64 ? hs_real.mmap64(addr, len, prot, flags, fd, off)
                    : hs_real.mmap(addr, len, prot, flags, fd, (off_t)off);
    hs_enter();
    void *r = is64 ? hs_real.mmap64(addr, len, prot, flags, fd, off)
                   : hs_real.mmap(addr, len, prot, flags, fd, (off_t)off);
    if (r != MAP_FAILED) {
        int saved = errno;
        uintptr_t s = (uintptr_t)r;
        note_mapped(s, s + hs_page_round(len), flags & MAP_ANONYMOUS, flags & MAP_FIXED);
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
        return hs_real.munmap(addr, len); /* invalid arguments fail without unmapping anything */
    hs_enter();
    struct hs_regions_undo undo;
    uint64_t removed = hs_regions_remove(s, s + hs_page_round(len), &undo);
    if (removed)
        hs_account_release(addr, removed);
    int r = hs_real.munmap(addr, len);
    int saved = errno;
    if (removed) {
        uint64_t back = r == 0 ? 0 : hs_regions_restore(&undo);
        if (back)
            hs_account_unrelease(addr, back);
        if (removed > back)
            hs_account_commit_free(addr, removed - back);
    }
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
        return hs_real.mremap(old, old_len, new_len, flags, new_addr);

    hs_enter();
    uintptr_t oe = os + hs_page_round(old_len);
    struct hs_regions_undo undo;
    uint64_t removed = 0;
    int tracked;
    if (old_len == 0 || (flags & MREMAP_DONTUNMAP)) { /* the old range stays mapped */
        tracked = hs_regions_overlap(os, old_len ? oe : os + 1) > 0;
    } else {
        removed = hs_regions_remove(os, oe, &undo);
        tracked = removed > 0;
        if (removed)
            hs_account_release(old, removed);
    }
    void *r = hs_real.mremap(old, old_len, new_len, flags, new_addr);
    int saved = errno;
    if (r != MAP_FAILED) {
        if (removed)
            hs_account_commit_free(old, removed);
        uintptr_t ns = (uintptr_t)r;
        note_mapped(ns, ns + hs_page_round(new_len), tracked, flags & MREMAP_FIXED);
    } else if (removed) {
        uint64_t back = hs_regions_restore(&undo);
        if (back)
            hs_account_unrelease(old, back);
        if (removed > back)
            hs_account_commit_free(old, removed - back);
    }
    errno = saved;
    hs_leave();
    return r;
}
