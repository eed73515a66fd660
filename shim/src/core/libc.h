/*
 * real.h — the real (next-in-line) allocation functions the hooks forward to.
 *
 * Contract
 *   hs_real_resolve() fills hs_real with dlsym(RTLD_NEXT, ...) once per process, so an allocator
 *   preloaded after us or linked into the executable (jemalloc, tcmalloc) is reached, never a
 *   hard-wired __libc_malloc. After it returns every pointer in hs_real is non-NULL: a function the
 *   C library lacks is replaced by a fallback built on the others (reallocarray → realloc with an
 *   overflow check, memalign/aligned_alloc/valloc/pvalloc → posix_memalign, mmap family → raw
 *   syscalls; free_sized/free_aligned_sized → free; pthread_create → fails with EAGAIN). While the resolving thread is inside dlsym,
 *   hs_real_resolving_here() is 1 and its allocations must be served from boot.h.
 *
 * Thread-safety
 *   hs_real_resolve() may be called by any number of threads: one resolves, the others wait (yield)
 *   until it is done. hs_real is written only during resolution and read-only afterwards; readers
 *   see it through the release/acquire pair on hs_mode (guard.h) or on the resolver's state.
 */
#ifndef HS_REAL_H
#define HS_REAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

struct hs_real_fns {
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

extern __attribute__((visibility("hidden"))) struct hs_real_fns hs_real;

__attribute__((visibility("hidden"))) void hs_real_resolve(void);
__attribute__((visibility("hidden"))) int hs_real_resolving_here(void);

#endif
