/*
 * libc.h — the allocation functions of the C library (the next definition after ours) that the hooks
 *          forward to: `hs_libc.malloc(n)` is libc's malloc, never the hooked one.
 *
 * Contract
 *   hs_libc_resolve() fills hs_libc with dlsym(RTLD_NEXT, ...) once per process, so an allocator
 *   preloaded after us or linked into the executable (jemalloc, tcmalloc) is reached, never a
 *   hard-wired __libc_malloc. After it returns every pointer in hs_libc is non-NULL: a function the
 *   C library lacks is replaced by a fallback built on the others (reallocarray → realloc with an
 *   overflow check, memalign/aligned_alloc/valloc/pvalloc → posix_memalign, mmap family → raw
 *   syscalls; free_sized/free_aligned_sized → free; pthread_create → fails with EAGAIN). While the resolving thread is inside dlsym,
 *   hs_libc_resolving_here() is 1 and its allocations must be served from boot.h.
 *
 * Thread-safety
 *   hs_libc_resolve() may be called by any number of threads: one resolves, the others wait (yield)
 *   until it is done. hs_libc is written only during resolution and read-only afterwards; readers
 *   see it through the release/acquire pair on hs_counting (counting.h) or on the resolver's state.
 */
#ifndef HS_LIBC_H
#define HS_LIBC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/hs.h"

struct hs_libc_fns {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    void (*free_sized)(void *, size_t);
    void (*free_aligned_sized)(void *, size_t, size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    void *(*mmap64)(void *, size_t, int, int, int, off64_t);
    int (*munmap)(void *, size_t);
    void *(*mremap)(void *, size_t, size_t, int, ...);
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
};

extern HS_HIDDEN struct hs_libc_fns hs_libc;

HS_HIDDEN void hs_libc_resolve(void);
HS_HIDDEN int hs_libc_resolving_here(void);
/* The page size (getauxval, 4096 if unknown); cached. */
HS_HIDDEN size_t hs_page_size(void);
static inline uintptr_t hs_page_round(size_t len)
{
    size_t ps = hs_page_size();
    return ((uintptr_t)len + ps - 1) & ~(uintptr_t)(ps - 1);
}

#endif
