/*
 * test_tsan.c — ThreadSanitizer check of the shared state: the region map (regions.c, its lock and
 * growth) and the counters (stats.c), hammered by 8 threads. Built with -fsanitize=thread by
 * `make -C shim tsan` (not preloaded: TSan owns malloc). Each thread works on its own address
 * window with a page bitmap as the independent truth, plus a shared window where threads race.
 */
#include "core/libc.h"
#include "core/stats.h"
#include "data/regions.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THREADS 8
#define PAGES   4096 /* per thread window */
#define OPS     100000

static uintptr_t P;
static int failures;

struct w {
    int id;
    uint64_t seed;
    unsigned char page[PAGES];
    int64_t stats_delta;
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *run(void *arg)
{
    struct w *w = arg;
    uintptr_t base = ((uintptr_t)(w->id + 1) << 40);
    uintptr_t shared = (uintptr_t)1 << 46;
    for (int i = 0; i < OPS; i++) {
        uint64_t r = rnd(&w->seed);
        uintptr_t first = r % PAGES, n = 1 + (r >> 20) % 16;
        if (first + n > PAGES)
            n = PAGES - first;
        uintptr_t s = base + first * P, e = s + n * P;
        if ((r >> 40) % 2) {
            int added;
            hs_regions_add(s, e, &added);
            memset(&w->page[first], added, n);
        } else {
            struct hs_regions_undo undo;
            hs_regions_remove(s, e, &undo);
            memset(&w->page[first], 0, n);
        }
        /* shared window: results are not checked, only the absence of races and crashes */
        int added;
        uintptr_t ss = shared + (r % 64) * P;
        if ((r >> 50) % 2)
            hs_regions_add(ss, ss + P, &added);
        else
            hs_regions_remove(ss, ss + 2 * P, NULL);
        (void)hs_regions_overlap(shared, shared + 64 * P);
        hs_stats_alloc(n * P);
        hs_stats_free((n - 1) * P);
        w->stats_delta += (int64_t)P;
        if (i % 1000 == 0) {
            struct heapscope_stats st;
            hs_stats_read(&st);
            if (st.peak_bytes < st.current_bytes)
                __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
            if (w->id == 0)
                hs_stats_reset_peak();
        }
    }
    return NULL;
}

int main(void)
{
    hs_libc_resolve();
    P = hs_page_size();
    static struct w ws[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ws[i].id = i;
        ws[i].seed = 0x2545F4914F6CDD1Dull * (uint64_t)(i + 1);
        pthread_create(&th[i], NULL, run, &ws[i]);
    }
    int64_t want_stats = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        want_stats += ws[i].stats_delta;
    }
    for (int i = 0; i < THREADS; i++) {
        uintptr_t base = ((uintptr_t)(i + 1) << 40);
        uint64_t want = 0;
        for (int k = 0; k < PAGES; k++)
            want += ws[i].page[k] ? P : 0;
        uint64_t got = hs_regions_overlap(base, base + PAGES * P);
        if (got != want) {
            printf("not ok - thread %d window: map holds %llu bytes, bitmap %llu\n", i, (unsigned long long)got,
                   (unsigned long long)want);
            failures++;
        }
    }
    struct heapscope_stats st;
    hs_stats_read(&st);
    if ((int64_t)st.current_bytes != want_stats || st.allocated_bytes - st.freed_bytes != st.current_bytes) {
        printf("not ok - counters: current %llu, expected %lld\n", (unsigned long long)st.current_bytes,
               (long long)want_stats);
        failures++;
    }
    printf("%s - tsan: regions + stats, %d threads x %d ops, %zu ranges, degraded=%d\n", failures ? "not ok" : "ok",
           THREADS, OPS, hs_regions_count(), hs_regions_degraded());
    return failures != 0;
}
