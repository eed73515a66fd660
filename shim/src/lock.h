/*
 * lock.h — a tiny spinlock for the shim's own short critical sections.
 *
 * Contract
 *   Zero-initialised means unlocked; POD, so it lives in any static or mmap'd memory and can be
 *   re-initialised in a fork child by hs_lock_init(). Hold it only around in-memory updates (and the
 *   occasional mmap of the shim's own memory), never around a real allocator call, dlsym or Python.
 *   It spins briefly and then yields, so a preempted holder does not burn a core.
 *
 * Thread-safety
 *   Acquire/release ordering; not recursive (the hooks' depth guard prevents re-entry on a thread).
 */
#ifndef HS_LOCK_H
#define HS_LOCK_H

#include <sched.h>
#include <stdatomic.h>

typedef struct { _Atomic int v; } hs_lock_t;

static inline void hs_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void hs_lock_init(hs_lock_t *l) { atomic_store_explicit(&l->v, 0, memory_order_relaxed); }

static inline void hs_lock(hs_lock_t *l)
{
    for (;;) {
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
        for (unsigned i = 0; atomic_load_explicit(&l->v, memory_order_relaxed); i++) {
            if (i < 100)
                hs_cpu_relax();
            else
                sched_yield();
        }
    }
}

static inline void hs_unlock(hs_lock_t *l) { atomic_store_explicit(&l->v, 0, memory_order_release); }

#endif
