/*
 * counting.c — the counting state and its slow path (contract in counting.h).
 * Thread-safety: resolution is once-only (libc.c) and the decision is a CAS from PENDING.
 */
#include "core/counting.h"

#include "core/env.h"
#include "core/libc.h"

#include <unistd.h>

HS_HIDDEN _Atomic int hs_counting;
HS_HIDDEN HS_TLS unsigned hs_tls_depth;

/* PENDING → OFF/ON once the C library has set up the environment (or when forced). */
static void decide(int force)
{
    if (atomic_load_explicit(&hs_counting, memory_order_acquire) != HS_COUNTING_PENDING)
        return;
    if (!environ && !force)
        return;
    int want = environ && hs_env_enabled() ? HS_COUNTING_ON : HS_COUNTING_OFF;
    int expected = HS_COUNTING_PENDING;
    atomic_compare_exchange_strong_explicit(&hs_counting, &expected, want, memory_order_acq_rel, memory_order_acquire);
}

HS_HIDDEN int hs_counting_decide(int force)
{
    if (hs_libc_resolving_here())
        return HS_PATH_BOOT;
    if (atomic_load_explicit(&hs_counting, memory_order_acquire) == HS_COUNTING_UNINIT) {
        hs_libc_resolve();
        if (hs_libc_resolving_here()) /* re-entered from inside dlsym */
            return HS_PATH_BOOT;
        int expected = HS_COUNTING_UNINIT;
        atomic_compare_exchange_strong_explicit(&hs_counting, &expected, HS_COUNTING_PENDING, memory_order_acq_rel,
                                                memory_order_acquire);
    }
    decide(force);
    int m = atomic_load_explicit(&hs_counting, memory_order_acquire);
    if (m == HS_COUNTING_ON)
        return hs_tls_depth ? HS_PATH_FORWARD : HS_PATH_COUNT;
    return HS_PATH_FORWARD;
}
