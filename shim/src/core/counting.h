/*
 * counting.h — whether the shim counts (process state) and the per-thread recursion guard.
 *
 * Contract
 *   hs_counting is the process-wide state: UNINIT until the libc functions are resolved (libc.h),
 *   PENDING until activation is decided (the environment is readable), then OFF (hooks only call
 *   the libc function) or ON. hs_path() tells a hook which way to go:
 *     HS_PATH_COUNT    count this call: wrap it in hs_enter()/hs_leave();
 *     HS_PATH_FORWARD  call the libc function only (not counting, or nested inside a counted hook);
 *     HS_PATH_BOOT     this thread is resolving the libc functions: use the bootstrap arena (boot.h).
 *   hs_counting_decide() (counting.c) is the slow path of hs_path(): it resolves the libc functions
 *   and decides activation (ON if HEAPSCOPE_ENABLE=1, env.h) if not done yet; force=1 (the
 *   constructor) decides even when the environment is not readable yet.
 *   hs_tls_depth counts how deep this thread is inside counted hooks. It covers the libc call and
 *   the bookkeeping, so an allocator calling back into malloc/mmap (glibc's malloc using mmap,
 *   jemalloc, old musl's realloc calling malloc) or a signal handler interrupting a hook is never
 *   counted twice and never takes a shim lock twice.
 *
 * Thread-safety
 *   hs_counting is read with acquire ordering (pairs with the release store made after resolution);
 *   the decision is a CAS from PENDING, so racing threads agree. hs_tls_depth is initial-exec TLS,
 *   touched only by its thread.
 */
#ifndef HS_COUNTING_H
#define HS_COUNTING_H

#include "core/hs.h"

#include <stdatomic.h>

enum { HS_COUNTING_UNINIT = 0, HS_COUNTING_PENDING = 1, HS_COUNTING_OFF = 2, HS_COUNTING_ON = 3 };
enum { HS_PATH_FORWARD = 0, HS_PATH_COUNT = 1, HS_PATH_BOOT = 2 };

extern HS_HIDDEN _Atomic int hs_counting;
extern HS_HIDDEN HS_TLS unsigned hs_tls_depth;

/* The slow path of hs_path(); returns the path to take. */
HS_HIDDEN int hs_counting_decide(int force);

static inline int hs_path(void)
{
    int m = atomic_load_explicit(&hs_counting, memory_order_acquire);
    if (HS_LIKELY(m == HS_COUNTING_ON))
        return hs_tls_depth ? HS_PATH_FORWARD : HS_PATH_COUNT;
    if (HS_LIKELY(m == HS_COUNTING_OFF))
        return HS_PATH_FORWARD;
    return hs_counting_decide(0);
}

static inline int hs_counting_on(void)
{
    return atomic_load_explicit(&hs_counting, memory_order_acquire) == HS_COUNTING_ON;
}

static inline void hs_enter(void) { hs_tls_depth++; }
static inline void hs_leave(void) { hs_tls_depth--; }

#endif
