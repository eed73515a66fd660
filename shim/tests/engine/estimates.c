/*
 * estimates.c — test_engine groups (engine_test.h).
 */
#include "engine_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- sampling: the estimator is unbiased -------------------------------------------------------- */

void group_sampling(void)
{
    enum { T = 65536, R = 400 };
    CHECK(install(HEAPSCOPE_MODE_DEFAULT, 1 << 20, T, 0) == 0, "install");
    static const size_t req[3] = {40, 1000, 30000};
    static const int num[3] = {20000, 1000, 40};
    static void *blk[20000];
    double sum[3] = {0}, sum2[3] = {0}, truth[3] = {0}, var_theory[3] = {0};
    for (int round = 0; round < R; round++) {
        for (int k = 0; k < 3; k++) {
            at(20 + k);
            for (int i = 0; i < num[k]; i++)
                blk[i] = malloc(req[k]);
            int64_t b, c;
            alive_of(20 + k, 21 + k, &b, &c);
            double n = (double)malloc_usable_size(blk[0]);
            if (round == 0) {
                truth[k] = n * num[k];
                double p = -expm1(-n / T);
                var_theory[k] = num[k] * n * n * (1 - p) / p;
            }
            sum[k] += (double)b;
            sum2[k] += (double)b * (double)b;
            for (int i = 0; i < num[k]; i++)
                free(blk[i]);
        }
    }
    int64_t b, c;
    alive_of(20, 23, &b, &c);
    CHECK(b == 0 && c == 0, "after freeing: %lld bytes left", (long long)b);
    for (int k = 0; k < 3; k++) {
        double mean = sum[k] / R, var = sum2[k] / R - mean * mean;
        double z = (mean - truth[k]) / sqrt(var_theory[k] / R);
        printf("# size %zu x %d: truth %.0f, mean estimate %.0f (z = %.2f), sd %.0f (theory %.0f)\n", req[k], num[k],
               truth[k], mean, z, sqrt(var), sqrt(var_theory[k]));
        CHECK(fabs(z) < 4.5, "size %zu: mean %.0f vs truth %.0f, z = %.2f", req[k], mean, truth[k], z);
        CHECK(var > 0.6 * var_theory[k] && var < 1.5 * var_theory[k], "size %zu: variance %.3g, theory %.3g", req[k],
              var, var_theory[k]);
    }
    /* at or above the threshold: exact */
    at(23);
    void *x = malloc(1 << 20);
    alive_of(23, 24, &b, &c);
    CHECK(b == (int64_t)malloc_usable_size(x) && c == 1, "large block attributed %lld", (long long)b);
    free(x);
    report("default mode: Poisson estimate unbiased (|z| < 4.5 over 400 rounds) with the predicted variance, for "
           "40 B, 1000 B, 30000 B blocks; blocks >= threshold exact");
}

/* ---- hwm: attribution at the peak is exact ------------------------------------------------------- */

#define HK 5
/* cur/at_peak: bytes of the blocks the current run allocated (cell_end lists the run's own stacks);
   heap: every block's (the peak is the whole attributed heap's) */
struct ref {
    int64_t cur[HK], at_peak[HK], heap, best;
};

static void ref_event(struct ref *r, int k, int64_t d, int own)
{
    if (own)
        r->cur[k] += d;
    r->heap += d;
    if (d > 0 && r->heap >= r->best) {
        r->best = r->heap;
        memcpy(r->at_peak, r->cur, sizeof r->cur);
    }
}

static void check_cell(const char *what, struct ref *r)
{
    struct heapscope_cell c;
    long n = api.cell_end(&c, sites, SITES);
    int64_t got[HK] = {0};
    for (long i = 0; i < n; i++) {
        uintptr_t code = leaf(sites[i].stack);
        for (int k = 0; k < HK; k++)
            if (code == CODE(30 + k))
                got[k] += sites[i].bytes;
    }
    for (int k = 0; k < HK; k++)
        CHECK(got[k] == r->at_peak[k], "%s: stack %d at peak %lld, reference %lld", what, k, (long long)got[k],
              (long long)r->at_peak[k]);
}

static unsigned cur_run;

static void begin_ref(struct ref *r)
{
    cur_run = api.cell_begin();
    r->heap = r->best = 0;
    memset(r->cur, 0, sizeof r->cur);
    memset(r->at_peak, 0, sizeof r->at_peak);
}

void group_hwm(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    static void *blk[HK][4096];
    static unsigned blk_run[HK][4096];
    static int nb[HK];
    struct ref r;
    memset(&r, 0, sizeof r);
#define ALLOC(k, n)                                           \
    do {                                                      \
        at(30 + (k));                                         \
        void *p_ = malloc(n);                                 \
        blk_run[k][nb[k]] = cur_run;                          \
        blk[k][nb[k]++] = p_;                                 \
        ref_event(&r, k, (int64_t)malloc_usable_size(p_), 1); \
    } while (0)
#define FREE(k)                                                                           \
    do {                                                                                  \
        void *p_ = blk[k][--nb[k]];                                                       \
        ref_event(&r, k, -(int64_t)malloc_usable_size(p_), blk_run[k][nb[k]] == cur_run); \
        free(p_);                                                                         \
    } while (0)
    /* cell 1, scripted: peaks at 150, 180, then 230 */
    begin_ref(&r);
    ALLOC(0, 100000);
    ALLOC(1, 50000);
    FREE(0);
    ALLOC(2, 120000);
    ALLOC(1, 10000);
    FREE(2);
    ALLOC(0, 170000);
    FREE(0);
    FREE(1);
    ALLOC(3, 1000);
    check_cell("scripted cell", &r);
    /* cell 2: starts by freeing, never exceeds its start: the peak is the start state */
    begin_ref(&r);
    FREE(3);
    ALLOC(4, 500);
    FREE(1);
    check_cell("peak at the start", &r);
    /* cell 3: 3000 random events */
    uint64_t s = 12345;
    begin_ref(&r);
    for (int i = 0; i < 3000; i++) {
        uint64_t x = rnd(&s);
        int k = (int)(x % HK);
        if (nb[k] && (x >> 8) % 100 < 45)
            FREE(k);
        else if (nb[k] < 4096)
            ALLOC(k, (x >> 20) % 20000 + 1);
    }
    check_cell("3000 random events", &r);
    for (int k = 0; k < HK; k++)
        while (nb[k])
            FREE(k);
    report("high-water mark: the run's own per-stack bytes at each cell's peak equal a brute-force reference "
           "(scripted peaks, peak at start, 3000 random events)");
}
