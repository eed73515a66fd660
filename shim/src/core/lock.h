/*
 * lock.h — a tiny spinlock for the shim's own short critical sections.
 *
 * Contract
 *   Zero-initialised means unlocked; POD, so it lives in any static or mmap'd memory and can be
 *   re-initialised in a fork child by hs_lock_init(). Hold it only around in-memory updates (and the
 *   occasional mmap of the shim's own memory), never around a real allocator call, dlsym or Python.
 *   It spins briefly, then sleeps on a futex (states 0 free, 1 held, 2 held with waiters), so many
 *   threads contending on few cores do not burn CPU in sched_yield while a preempted holder waits.
 *   Raw futex syscalls: no allocation, no libc lock.
 *
 * Thread-safety
 *   Acquire/release ordering; not recursive (the hooks' depth guard prevents re-entry on a thread).
 */
#ifndef HS_LOCK_H
#define HS_LOCK_H

#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
    _Atomic int v;
} hs_lock_t;

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
    int c = 0;
    if (atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed))
        return;
    for (unsigned i = 0; i < 100; i++) {
        hs_cpu_relax();
        c = 0;
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed))
            return;
    }
    if (c != 2)
        c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
    while (c != 0) {
        syscall(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
    }
}

static inline void hs_unlock(hs_lock_t *l)
{
    if (atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2)
        syscall(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

#endif
