/*
 * libc.c — resolution of the C library's allocation functions (contract in libc.h).
 *
 * The fallbacks below only matter on a C library that lacks a symbol; on glibc every lookup
 * except free_sized/free_aligned_sized (C23, glibc >= 2.39) succeeds. A failed lookup makes glibc's
 * dlsym allocate its error message: that allocation is served by the bootstrap arena.
 */
#include "core/libc.h"

#include "core/boot.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

HS_HIDDEN struct hs_libc_fns hs_libc;

static _Atomic int resolve_state; /* 0 not started, 1 running, 2 done */
/* volatile: glibc declares dlsym __leaf__, which lets the compiler drop a store it thinks dlsym cannot
   observe; but dlsym does re-enter us through malloc, and the hook must see this flag set. */
static HS_TLS volatile int tls_resolving;

HS_HIDDEN int hs_libc_resolving_here(void) { return tls_resolving; }

/* ---- fallbacks for functions the next object does not provide -------------------------------- */

static void *fb_malloc(size_t n) { return hs_boot_alloc(n, 0); }
static void *fb_calloc(size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return hs_boot_alloc(n, 0);
}
static void fb_free(void *p) { (void)p; }
static size_t fb_usable(void *p) { return hs_boot_usable(p); }
static void *fb_realloc(void *p, size_t n)
{
    void *q = hs_boot_alloc(n, 0);
    if (q && p) {
        size_t old = hs_boot_usable(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}
static int fb_posix_memalign(void **out, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    void *p = hs_boot_alloc(n, al);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
static void *fb_reallocarray(void *p, size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return hs_libc.realloc(p, n);
}
static void *fb_memalign(size_t al, size_t n)
{
    void *p = NULL;
    if (al < sizeof(void *))
        al = sizeof(void *);
    int r = hs_libc.posix_memalign(&p, al, n);
    if (r) {
        errno = r;
        return NULL;
    }
    return p;
}
static size_t page;

HS_HIDDEN size_t hs_page_size(void)
{
    if (HS_LIKELY(page != 0))
        return page;
    unsigned long ps = getauxval(AT_PAGESZ);
    page = ps ? (size_t)ps : 4096;
    return page;
}
static void *fb_valloc(size_t n) { return fb_memalign(hs_page_size(), n); }
static void *fb_pvalloc(size_t n)
{
    size_t ps = hs_page_size();
    size_t r = (n + ps - 1) & ~(ps - 1);
    if (r < n) {
        errno = ENOMEM;
        return NULL;
    }
    return fb_memalign(ps, r ? r : ps);
}
static void fb_free_sized(void *p, size_t n)
{
    (void)n;
    hs_libc.free(p);
}
static void fb_free_aligned_sized(void *p, size_t al, size_t n)
{
    (void)al;
    (void)n;
    hs_libc.free(p);
}
static void *fb_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, a, n, prot, flags, fd, off);
}
static void *fb_mmap64(void *a, size_t n, int prot, int flags, int fd, off64_t off)
{
    return hs_libc.mmap(a, n, prot, flags, fd, (off_t)off);
}
static int fb_munmap(void *a, size_t n) { return (int)syscall(SYS_munmap, a, n); }
static void *fb_mremap(void *a, size_t o, size_t n, int flags, ...)
{
    void *na = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        na = va_arg(ap, void *);
        va_end(ap);
    }
    return (void *)syscall(SYS_mremap, a, o, n, flags, na);
}

static int fb_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg)
{
    (void)t;
    (void)a;
    (void)f;
    (void)arg;
    return EAGAIN;
}

/* ---- resolution --------------------------------------------------------------------------------- */

#define RESOLVE(field, fallback)                    \
    do {                                            \
        void *sym_ = dlsym(RTLD_NEXT, #field);      \
        memcpy(&hs_libc.field, &sym_, sizeof sym_); \
        if (!hs_libc.field)                         \
            hs_libc.field = fallback;               \
    } while (0)

static void resolve_all(void)
{
    /* Whatever dlsym allocates on this thread (e.g. the message of a failed lookup) is served by
       the bootstrap arena, because tls_resolving is set: it is never counted nor freed for real. */
    RESOLVE(malloc, fb_malloc);
    RESOLVE(free, fb_free);
    RESOLVE(calloc, fb_calloc);
    RESOLVE(realloc, fb_realloc);
    RESOLVE(posix_memalign, fb_posix_memalign);
    RESOLVE(malloc_usable_size, fb_usable);
    RESOLVE(reallocarray, fb_reallocarray);
    RESOLVE(aligned_alloc, fb_memalign);
    RESOLVE(memalign, fb_memalign);
    RESOLVE(valloc, fb_valloc);
    RESOLVE(pvalloc, fb_pvalloc);
    RESOLVE(mmap, fb_mmap);
    RESOLVE(mmap64, fb_mmap64);
    RESOLVE(munmap, fb_munmap);
    RESOLVE(mremap, fb_mremap);
    RESOLVE(free_sized, fb_free_sized);
    RESOLVE(free_aligned_sized, fb_free_aligned_sized);
    RESOLVE(pthread_create, fb_pthread_create);
}

HS_HIDDEN void hs_libc_resolve(void)
{
    if (atomic_load_explicit(&resolve_state, memory_order_acquire) == 2)
        return;
    int expected = 0;
    if (atomic_compare_exchange_strong_explicit(&resolve_state, &expected, 1, memory_order_acq_rel,
                                                memory_order_acquire)) {
        int saved = errno;
        tls_resolving = 1;
        resolve_all();
        tls_resolving = 0;
        errno = saved;
        atomic_store_explicit(&resolve_state, 2, memory_order_release);
        return;
    }
    if (tls_resolving) /* re-entered from dlsym on the resolving thread: caller uses the arena */
        return;
    while (atomic_load_explicit(&resolve_state, memory_order_acquire) != 2)
        sched_yield();
}
