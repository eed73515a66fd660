/*
 * sampling.h — byte-weighted Poisson sampling of small allocations (default mode).
 *
 * The estimator
 *   Think of every byte a thread allocates as a point on a line, and of samples as a Poisson process
 *   of rate 1/T on it (T = sample_interval). An allocation of n bytes is sampled when at least one
 *   sample point falls in its n bytes: p(n) = 1 - exp(-n/T). Each thread keeps a countdown
 *   C = ceil(E), E ~ Exponential(mean T): an allocation subtracts n and is sampled when C <= 0,
 *   then C is drawn afresh. Because P(C > k) = exp(-k/T) for integer k (geometric, memoryless),
 *   each allocation is sampled independently with probability exactly p(n), whatever came before.
 *   A sampled allocation is recorded with weight w(n) = n / p(n) bytes and c(n) = 1 / p(n) blocks
 *   (Horvitz-Thompson), so for any set S of allocations (a site, a cell, "alive now")
 *       E[sum over sampled i in S of w(n_i)] = sum over S of p(n_i) w(n_i) = sum over S of n_i,
 *   i.e. the attributed bytes are unbiased, and Var = sum n_i^2 (1 - p_i) / p_i <= T * sum n_i,
 *   so the relative error is at most sqrt(T / bytes): 2.5 % for 100 MiB at T = 64 KiB.
 *   For n << T, w(n) ~ T + n/2; for n >> T, w(n) -> n. Allocations >= exact_threshold bypass the
 *   sampler (weight n). The weights are computed from n alone, so the free of a block subtracts
 *   exactly what its allocation added. tests/engine (group sampling) checks unbiasedness.
 *
 * Thread-safety
 *   The countdown and the generator (xorshift64*) are per thread (hs_tls); T is fixed by the
 *   first install.
 */
#ifndef HS_SAMPLING_H
#define HS_SAMPLING_H

#include "core/hs.h"

#include "core/state.h"

#include <stddef.h>
#include <stdint.h>

HS_HIDDEN int64_t hs_sample_draw(struct hs_tls *t);
HS_HIDDEN void hs_sample_weight(size_t n, int64_t *bytes, int64_t *count);

/* 1 when this allocation of n bytes is sampled. */
static inline int hs_sample_take(size_t n)
{
    struct hs_tls *t = &hs_tls;
    if (__builtin_expect(!t->seeded, 0))
        t->countdown = hs_sample_draw(t);
    t->countdown -= (int64_t)n;
    if (__builtin_expect(t->countdown > 0, 1))
        return 0;
    t->countdown = hs_sample_draw(t);
    return 1;
}

#endif
