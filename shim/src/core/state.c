/*
 * state.c — the engine's shared state, its own memory and degradation (contract in state.h).
 * Thread-safety: atomics only.
 */
#include "core/state.h"

#include "core/libc.h"

#include <sys/mman.h>

HS_HIDDEN struct hs_engine hs_eng = {.interval = 65536.0, .max_depth = 32, .threshold = 65536};
HS_HIDDEN HS_TLS struct hs_tls hs_tls;

static _Atomic(const char *) degraded_reason;

HS_HIDDEN void hs_degrade(const char *reason)
{
    const char *expected = NULL;
    atomic_compare_exchange_strong(&degraded_reason, &expected, reason);
}

HS_HIDDEN const char *hs_degraded_reason(void) { return atomic_load_explicit(&degraded_reason, memory_order_acquire); }

HS_HIDDEN void *hs_own_map(size_t bytes)
{
    void *m = hs_libc.mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (bytes >= (4u << 20)) /* big tables: fewer TLB misses on their random accesses */
        (void)madvise(m, bytes, MADV_HUGEPAGE);
    atomic_fetch_add_explicit(&hs_eng.profiler_bytes, bytes, memory_order_relaxed);
    return m;
}

HS_HIDDEN int hs_own_release(void *p, size_t bytes)
{
    if (madvise(p, bytes, MADV_DONTNEED) != 0)
        return -1;
    atomic_fetch_sub_explicit(&hs_eng.profiler_bytes, bytes, memory_order_relaxed);
    return 0;
}

HS_HIDDEN void hs_own_reuse(size_t bytes)
{
    atomic_fetch_add_explicit(&hs_eng.profiler_bytes, bytes, memory_order_relaxed);
}

HS_HIDDEN void hs_own_unmap(void *p, size_t bytes)
{
    hs_libc.munmap(p, bytes);
    atomic_fetch_sub_explicit(&hs_eng.profiler_bytes, bytes, memory_order_relaxed);
}
