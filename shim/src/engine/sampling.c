/*
 * sampling.c — countdown draws and weights of the Poisson sampler (estimator in sampling.h).
 * Thread-safety: per-thread state only; hs_eng.interval is read-only after the first install.
 */
#include "engine/sampling.h"

#include <math.h>
#include <time.h>

HS_HIDDEN int64_t hs_sample_draw(struct hs_tls *t)
{
    if (!t->seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)t ^ 0x2545F4914F6CDD1Dull;
        if (!t->rng)
            t->rng = 1;
        t->seeded = 1;
    }
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    uint64_t r = x * 0x2545F4914F6CDD1Dull;
    double u = ((double)(r >> 11) + 0.5) * (1.0 / 9007199254740992.0); /* (0, 1) */
    double e = -log(u) * hs_eng.interval;
    return (int64_t)ceil(e);
}

HS_HIDDEN void hs_sample_weight(size_t n, int64_t *bytes, int64_t *count)
{
    double p = -expm1(-(double)n / hs_eng.interval);
    if (p <= 0) { /* n == 0 */
        *bytes = 0;
        *count = 1;
        return;
    }
    *bytes = llround((double)n / p);
    *count = llround(1.0 / p);
}
