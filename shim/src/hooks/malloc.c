/*
 * malloc.c — the interposed libc allocation family.
 *
 * Contract
 *   malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc, memalign, valloc,
 *   pvalloc, malloc_usable_size and the C23 free_sized/free_aligned_sized keep the semantics of the
 *   real functions (hs_libc) and, when counting, report each block's usable size (libc's
 *   malloc_usable_size) through account.h:
 *   - a block is accounted after libc's allocation returns it, and un-accounted BEFORE libc's
 *     free/realloc releases it (the address may be handed to another thread at once); a failed
 *     realloc puts the old block back;
 *   - realloc(NULL, n) is an allocation; realloc(p, 0) that returns NULL has freed p (glibc);
 *     a successful realloc is one free plus one allocation, also in place;
 *   - calloc/reallocarray overflow returns NULL with ENOMEM and counts nothing;
 *   - blocks of the bootstrap arena (boot.h) are never passed to libc's allocator, never counted.
 *   Not counting (FORWARD, or nested inside a counted hook): one atomic load, then libc's call.
 *
 * Thread-safety
 *   No lock: the counters are atomics. The guard (core/counting.h) covers libc's call and the accounting.
 */
#include "hooks/account.h"
#include "core/boot.h"
#include "core/counting.h"
#include "core/libc.h"
#include "engine/guard.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* C23, not declared by older headers. */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);

static inline size_t usable(void *p) { return hs_libc.malloc_usable_size(p); }

static inline void *counted(void *p)
{
    if (p)
        hs_account_alloc(p, usable(p));
    return p;
}

/* The memory guard (engine/guard.h): an allocation by cell code over its hard threshold fails. */
static inline int refused(size_t n)
{
    if (HS_LIKELY(!hs_guard_refuse(n)))
        return 0;
    errno = ENOMEM;
    return 1;
}

static void *do_malloc(size_t n)
{
    switch (hs_path()) {
    case HS_PATH_COUNT: {
        if (refused(n))
            return NULL;
        hs_enter();
        void *p = counted(hs_libc.malloc(n));
        hs_leave();
        return p;
    }
    case HS_PATH_BOOT:
        return hs_boot_alloc(n, 0);
    default:
        return hs_libc.malloc(n);
    }
}

HS_EXPORT void *malloc(size_t n) { return do_malloc(n); }

HS_EXPORT void *calloc(size_t count, size_t size)
{
    size_t total;
    switch (hs_path()) {
    case HS_PATH_COUNT: {
        if (__builtin_mul_overflow(count, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        if (refused(total))
            return NULL;
        hs_enter();
        void *p = counted(hs_libc.calloc(count, size));
        hs_leave();
        return p;
    }
    case HS_PATH_BOOT:
        if (__builtin_mul_overflow(count, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        return hs_boot_alloc(total, 0); /* the arena is zero-filled and never reused */
    default:
        return hs_libc.calloc(count, size);
    }
}

/* free(p) for p != NULL that is not a bootstrap block, with `sized` telling which real function. */
static inline void do_free(void *p, int sized, size_t al, size_t n)
{
    int path = hs_path();
    if (path == HS_PATH_BOOT)
        return; /* cannot free before libc's free is known: leak (only inside dlsym) */
    if (path == HS_PATH_COUNT) {
        hs_enter();
        hs_account_free(p, usable(p));
    }
    if (sized == 2)
        hs_libc.free_aligned_sized(p, al, n);
    else if (sized == 1)
        hs_libc.free_sized(p, n);
    else
        hs_libc.free(p);
    if (path == HS_PATH_COUNT)
        hs_leave();
}

HS_EXPORT void free(void *p)
{
    if (p && !hs_boot_owns(p))
        do_free(p, 0, 0, 0);
}

HS_EXPORT void free_sized(void *p, size_t n)
{
    if (p && !hs_boot_owns(p))
        do_free(p, 1, 0, n);
}

HS_EXPORT void free_aligned_sized(void *p, size_t al, size_t n)
{
    if (p && !hs_boot_owns(p))
        do_free(p, 2, al, n);
}

/* realloc(p, n) or, when is_array, reallocarray(p, count, size) with n = count * size. */
static void *do_realloc(void *p, size_t n, int is_array, size_t count, size_t size)
{
    if (p && hs_boot_owns(p)) { /* move out of the arena; the arena block is never released */
        if (n == 0)
            return NULL;
        void *q = do_malloc(n);
        if (q) {
            size_t old = hs_boot_usable(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    int path = hs_path();
    if (path == HS_PATH_BOOT) {
        if (p) {
            errno = ENOMEM;
            return NULL;
        }
        return hs_boot_alloc(n, 0);
    }
    if (path == HS_PATH_FORWARD)
        return is_array ? hs_libc.reallocarray(p, count, size) : hs_libc.realloc(p, n);
    if (HS_UNLIKELY(atomic_load_explicit(&hs_guard.armed, memory_order_relaxed))) {
        size_t had = p ? usable(p) : 0;
        if (n > had && refused(n - had))
            return NULL; /* p is still valid, as after any failed realloc */
    }

    hs_enter();
    size_t old = p ? usable(p) : 0;
    if (p)
        hs_account_release(p, old);
    void *q = is_array ? hs_libc.reallocarray(p, count, size) : hs_libc.realloc(p, n);
    if (q) {
        if (p)
            hs_account_commit_free(p, old);
        hs_account_alloc(q, usable(q));
    } else if (p) {
        if (n == 0)
            hs_account_commit_free(p, old); /* glibc: realloc(p, 0) freed p */
        else
            hs_account_unrelease(p, old); /* failure: p is still valid */
    }
    hs_leave();
    return q;
}

HS_EXPORT void *realloc(void *p, size_t n) { return do_realloc(p, n, 0, 0, 0); }

HS_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(p, n, 1, count, size);
}

HS_EXPORT int posix_memalign(void **out, size_t alignment, size_t n)
{
    switch (hs_path()) {
    case HS_PATH_COUNT: {
        if (HS_UNLIKELY(hs_guard_refuse(n)))
            return ENOMEM;
        hs_enter();
        int r = hs_libc.posix_memalign(out, alignment, n);
        if (r == 0)
            (void)counted(*out);
        hs_leave();
        return r;
    }
    case HS_PATH_BOOT: {
        if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
            return EINVAL;
        void *p = hs_boot_alloc(n, alignment);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    default:
        return hs_libc.posix_memalign(out, alignment, n);
    }
}

/* aligned_alloc, memalign, valloc, pvalloc: `which` selects libc's function. */
enum { AL_ALIGNED_ALLOC, AL_MEMALIGN, AL_VALLOC, AL_PVALLOC };

static inline void *real_aligned(int which, size_t al, size_t n)
{
    switch (which) {
    case AL_ALIGNED_ALLOC:
        return hs_libc.aligned_alloc(al, n);
    case AL_MEMALIGN:
        return hs_libc.memalign(al, n);
    case AL_VALLOC:
        return hs_libc.valloc(n);
    default:
        return hs_libc.pvalloc(n);
    }
}

static void *do_aligned(int which, size_t al, size_t n)
{
    switch (hs_path()) {
    case HS_PATH_COUNT: {
        if (refused(n))
            return NULL;
        hs_enter();
        void *p = counted(real_aligned(which, al, n));
        hs_leave();
        return p;
    }
    case HS_PATH_BOOT:
        if (which == AL_VALLOC || which == AL_PVALLOC)
            al = 4096;
        if (which == AL_PVALLOC)
            n = (n + 4095) & ~(size_t)4095;
        return hs_boot_alloc(n, al);
    default:
        return real_aligned(which, al, n);
    }
}

HS_EXPORT void *aligned_alloc(size_t al, size_t n) { return do_aligned(AL_ALIGNED_ALLOC, al, n); }
HS_EXPORT void *memalign(size_t al, size_t n) { return do_aligned(AL_MEMALIGN, al, n); }
HS_EXPORT void *valloc(size_t n) { return do_aligned(AL_VALLOC, 0, n); }
HS_EXPORT void *pvalloc(size_t n) { return do_aligned(AL_PVALLOC, 0, n); }

HS_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (hs_boot_owns(p))
        return hs_boot_usable(p);
    if (hs_path() == HS_PATH_BOOT)
        return 0;
    return hs_libc.malloc_usable_size(p);
}
