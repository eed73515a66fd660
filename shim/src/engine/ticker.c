/*
 * ticker.c — the ticker thread and its ring (contract in ticker.h).
 * Thread-safety: see ticker.h.
 */
#include "engine/ticker.h"

#include "engine/guard.h"
#include "core/counting.h"
#include "core/state.h"
#include "core/lock.h"
#include "core/libc.h"
#include "core/stats.h"
#include "engine/reconcile.h"

#include <pthread.h>
#include <time.h>

#define RING 8192u

static struct heapscope_tick ring[RING];
static _Atomic uint64_t written, taken;
static uint64_t read_pos;
static hs_lock_t read_lock, start_lock;
static _Atomic int running;
static _Atomic unsigned period_ns;

static void *ticker_main(void *arg)
{
    (void)arg;
    hs_tls_depth = 1; /* this thread's own allocations (none after start) are never counted */
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    time_t reconciled = next.tv_sec;
    for (;;) {
        if (next.tv_sec != reconciled) { /* once a second: mappings unmapped behind the hooks (engine/reconcile.h) */
            reconciled = next.tv_sec;
            (void)hs_reconcile();
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t cur = atomic_load_explicit(&hs_counters.current, memory_order_relaxed);
        uint64_t w = atomic_load_explicit(&written, memory_order_relaxed);
        ring[w % RING] = (struct heapscope_tick){.time = (double)now.tv_sec + now.tv_nsec * 1e-9,
                                                 .bytes = cur < 0 ? 0 : (uint64_t)cur};
        atomic_store_explicit(&written, w + 1, memory_order_release);
        atomic_fetch_add_explicit(&taken, 1, memory_order_relaxed);
        hs_guard_tick(cur); /* engine/guard.h: usage against the memory limit */
        next.tv_nsec += atomic_load_explicit(&period_ns, memory_order_relaxed);
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
            ;
    }
    return NULL;
}

HS_EXPORT int heapscope_ticker_start(unsigned hz)
{
    if (hz < 1 || hz > 1000)
        return -1;
    atomic_store_explicit(&period_ns, 1000000000u / hz, memory_order_relaxed);
    hs_lock(&start_lock);
    int r = 0;
    if (!atomic_load_explicit(&running, memory_order_acquire)) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        r = hs_libc.pthread_create(&th, &attr, ticker_main, NULL) == 0 ? 0 : -1;
        pthread_attr_destroy(&attr);
        if (r == 0)
            atomic_store_explicit(&running, 1, memory_order_release);
    }
    hs_unlock(&start_lock);
    return r;
}

HS_EXPORT size_t heapscope_ticks(struct heapscope_tick *out, size_t cap)
{
    hs_lock(&read_lock);
    uint64_t w = atomic_load_explicit(&written, memory_order_acquire);
    uint64_t from = read_pos;
    if (w - from > RING - 16) /* keep away from the slots the writer may be overwriting */
        from = w - (RING - 16);
    uint64_t end = w - from > cap ? from + cap : w;
    for (uint64_t i = from; i < end; i++)
        out[i - from] = ring[i % RING];
    /* slots the writer reached while we copied may hold newer ticks: drop them from the front */
    uint64_t w2 = atomic_load_explicit(&written, memory_order_acquire);
    uint64_t lo = w2 > RING - 16 ? w2 - (RING - 16) : 0;
    size_t skip = lo > from ? (size_t)(lo - from) : 0;
    size_t n = (size_t)(end - from);
    if (skip > n)
        skip = n;
    for (size_t k = skip; k < n; k++)
        out[k - skip] = out[k];
    read_pos = end;
    hs_unlock(&read_lock);
    return n - skip;
}

HS_HIDDEN uint64_t hs_ticker_taken(void) { return atomic_load_explicit(&taken, memory_order_relaxed); }
HS_HIDDEN int hs_ticker_running(void) { return atomic_load_explicit(&running, memory_order_relaxed); }
HS_HIDDEN void hs_ticker_atfork_prepare(void) { hs_lock(&read_lock); }
HS_HIDDEN void hs_ticker_atfork_parent(void) { hs_unlock(&read_lock); }
HS_HIDDEN void hs_ticker_atfork_child(void)
{
    hs_lock_init(&read_lock);
    hs_lock_init(&start_lock);
    atomic_store_explicit(&running, 0, memory_order_relaxed);
    hs_guard_atfork_child();
}
