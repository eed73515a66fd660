/*
 * shim_test.h — shared part of test_shim, the tests of libheapscope.so as the kernel uses it: preloaded, read through dlsym.
 *
 *   test_shim GROUP      GROUP: counters | mmap | peak | threads | fork | env | inactive | degraded
 *
 * tests/run.sh runs each group in its own process with the environment it needs (LD_PRELOAD and
 * HEAPSCOPE_ENABLE=1, except `inactive`). Expected values are computed independently of the shim:
 * usable sizes from malloc_usable_size, page-rounded lengths from the page size. Nothing else
 * allocates between two snapshots (stdout is unbuffered, messages go to a static buffer).
 * One file per subject: counters.c (counters, peak), mmap.c (mmap, degraded), threads.c (threads,
 * fork), env.c (env, inactive).
 */
#ifndef HS_SHIM_TEST_H
#define HS_SHIM_TEST_H

#include "heapscope.h"

#include "check.h"

#include <stddef.h>
#include <stdint.h>

typedef struct heapscope_stats stats_t;

extern int (*api_abi)(void);
extern const char *(*api_version)(void);
extern int (*api_active)(void);
extern void (*api_get)(stats_t *);
extern uint64_t (*api_reset_peak)(void);
extern int (*api_degraded)(void);

extern size_t P;           /* page size */
extern int under_valgrind; /* HS_TEST_VALGRIND=1 (make valgrind): its allocator has another layout, no pvalloc */
extern void *volatile sink;
/* Through a volatile, so that the compiler does not reject the absurd sizes at compile time. */
extern volatile size_t vsize_max;

int bind_api(void);
stats_t snap(void);
size_t pr(size_t n);
/* Checks the change of every counter between a and b. */
void expect_delta(const char *what, const stats_t *a, const stats_t *b, int64_t cur, int64_t n_alloc, int64_t n_free,
                  int64_t allocated, int64_t freed);
/* An anonymous private read-write mapping (flags | extra). */
void *anon(void *addr, size_t len, int extra);

void group_counters(void);
void group_peak(void);
void group_mmap(void);
void group_degraded(void);
void group_threads(void);
void group_fork(void);
void group_env(void);
void group_inactive(void);

#endif
