/*
 * guard.h — process mode and per-thread recursion guard, shared by every hook.
 *
 * Contract
 *   hs_mode is the process-wide state: UNINIT until the real functions are resolved, PENDING until
 *   activation is decided (the environment is readable), then FORWARD (hooks only call the real
 *   function) or COUNTING. hs_path() tells a hook which way to go:
 *     HS_PATH_COUNT    count this call: wrap it in hs_enter()/hs_leave();
 *     HS_PATH_FORWARD  call the real function only (not counting, or nested inside a counted hook);
 *     HS_PATH_BOOT     this thread is resolving the real functions: use the bootstrap arena (boot.h).
 *   hs_tls_depth counts how deep this thread is inside counted hooks. It covers the real call and
 *   the bookkeeping, so an allocator calling back into malloc/mmap (glibc's malloc using mmap,
 *   jemalloc, old musl's realloc calling malloc) or a signal handler interrupting a hook is never
 *   counted twice and never takes a shim lock twice.
 *
 * Thread-safety
 *   hs_mode is read with acquire ordering (pairs with the release store made after resolution).
 *   hs_tls_depth is initial-exec TLS (no allocation, no __tls_get_addr), touched only by its thread.
 */
#ifndef HS_GUARD_H
#define HS_GUARD_H

#include <stdatomic.h>

#define HS_HIDDEN __attribute__((visibility("hidden")))
#define HS_EXPORT __attribute__((visibility("default")))
#define HS_LIKELY(x) __builtin_expect(!!(x), 1)
#define HS_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum { HS_MODE_UNINIT = 0, HS_MODE_PENDING = 1, HS_MODE_FORWARD = 2, HS_MODE_COUNTING = 3 };
enum { HS_PATH_FORWARD = 0, HS_PATH_COUNT = 1, HS_PATH_BOOT = 2 };

extern HS_HIDDEN _Atomic int hs_mode;
extern HS_HIDDEN __thread unsigned hs_tls_depth __attribute__((tls_model("initial-exec")));

/* Slow path (init.c): resolves the real functions and decides activation if not done yet. */
HS_HIDDEN int hs_init_slow(void);

static inline int hs_path(void)
{
    int m = atomic_load_explicit(&hs_mode, memory_order_acquire);
    if (HS_LIKELY(m == HS_MODE_COUNTING))
        return hs_tls_depth ? HS_PATH_FORWARD : HS_PATH_COUNT;
    if (HS_LIKELY(m == HS_MODE_FORWARD))
        return HS_PATH_FORWARD;
    return hs_init_slow();
}

static inline void hs_enter(void) { hs_tls_depth++; }
static inline void hs_leave(void) { hs_tls_depth--; }

#endif
