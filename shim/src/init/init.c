/*
 * init.c — life cycle of the shim: first-call initialisation, constructor, destructor, fork.
 *
 * Contract
 *   - The real functions are resolved on the first hook call or in the constructor, whichever comes
 *     first (other libraries' constructors, and ld.so itself, allocate before ours runs).
 *   - Activation is decided once, as soon as the environment is readable: COUNTING if
 *     HEAPSCOPE_ENABLE=1, else FORWARD. Until then (ld.so's own early allocations) nothing is
 *     counted. Counting from the first possible call keeps "freed but never counted" blocks rare.
 *   - The constructor consumes the environment (env.h) and, when counting, registers pthread_atfork
 *     handlers: prepare takes every shim lock, parent releases them, child re-initialises them,
 *     clears the forking thread's guard and resets the peak to the current heap (the child keeps
 *     counting: it is its own process). The engine's locks (table shards, stack trie, sites,
 *     sampler ring) are handled the same way; the sampler thread does not exist in the child.
 *   - The destructor switches to FORWARD: hooks that run after it (exit-time frees, TLS teardown) only
 *     forward.
 *
 * Thread-safety
 *   hs_init_slow may race from several threads: resolution is once-only (real.c) and the decision
 *   is a CAS from PENDING. The constructor and destructor run single-threaded in practice.
 */
#include "boot.h"
#include "engine.h"
#include "env.h"
#include "guard.h"
#include "real.h"
#include "regions.h"
#include "stats.h"

#include <pthread.h>
#include <unistd.h>

HS_HIDDEN _Atomic int hs_mode;
HS_HIDDEN __thread unsigned hs_tls_depth __attribute__((tls_model("initial-exec")));

/* PENDING → FORWARD/COUNTING once the C library has set up the environment. */
static void decide(int force)
{
    if (atomic_load_explicit(&hs_mode, memory_order_acquire) != HS_MODE_PENDING)
        return;
    if (!environ && !force)
        return;
    int want = environ && hs_env_enabled() ? HS_MODE_COUNTING : HS_MODE_FORWARD;
    int expected = HS_MODE_PENDING;
    atomic_compare_exchange_strong_explicit(&hs_mode, &expected, want, memory_order_acq_rel,
                                            memory_order_acquire);
}

HS_HIDDEN int hs_init_slow(void)
{
    if (hs_real_resolving_here())
        return HS_PATH_BOOT;
    if (atomic_load_explicit(&hs_mode, memory_order_acquire) == HS_MODE_UNINIT) {
        hs_real_resolve();
        if (hs_real_resolving_here()) /* re-entered from inside dlsym */
            return HS_PATH_BOOT;
        int expected = HS_MODE_UNINIT;
        atomic_compare_exchange_strong_explicit(&hs_mode, &expected, HS_MODE_PENDING, memory_order_acq_rel,
                                                memory_order_acquire);
    }
    decide(0);
    int m = atomic_load_explicit(&hs_mode, memory_order_acquire);
    if (m == HS_MODE_COUNTING)
        return hs_tls_depth ? HS_PATH_FORWARD : HS_PATH_COUNT;
    return HS_PATH_FORWARD;
}

static void atfork_prepare(void)
{
    hs_engine_atfork_prepare();
    hs_regions_atfork_prepare();
}
static void atfork_parent(void)
{
    hs_regions_atfork_parent();
    hs_engine_atfork_parent();
}
static void atfork_child(void)
{
    hs_regions_atfork_child();
    hs_engine_atfork_child();
    hs_tls_depth = 0;
    hs_stats_atfork_child();
}

__attribute__((constructor)) static void hs_constructor(void)
{
    (void)hs_init_slow();
    decide(1);
    (void)hs_page_size();
    hs_env_consume();
    if (atomic_load_explicit(&hs_mode, memory_order_acquire) == HS_MODE_COUNTING)
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

__attribute__((destructor)) static void hs_destructor(void)
{
    atomic_store_explicit(&hs_mode, HS_MODE_FORWARD, memory_order_release);
}
