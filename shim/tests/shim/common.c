/*
 * common.c — test_shim's shared helpers (shim_test.h).
 */
#include "shim_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int (*api_abi)(void);
const char *(*api_version)(void);
int (*api_active)(void);
void (*api_get)(stats_t *);
uint64_t (*api_reset_peak)(void);
int (*api_degraded)(void);

size_t P;
int under_valgrind;
void *volatile sink;
volatile size_t vsize_max = SIZE_MAX;

int bind_api(void)
{
    *(void **)&api_abi = dlsym(RTLD_DEFAULT, "heapscope_abi_version");
    *(void **)&api_version = dlsym(RTLD_DEFAULT, "heapscope_version");
    *(void **)&api_active = dlsym(RTLD_DEFAULT, "heapscope_active");
    *(void **)&api_get = dlsym(RTLD_DEFAULT, "heapscope_get_stats");
    *(void **)&api_reset_peak = dlsym(RTLD_DEFAULT, "heapscope_reset_peak");
    *(void **)&api_degraded = dlsym(RTLD_DEFAULT, "heapscope_degraded");
    return api_abi && api_version && api_active && api_get && api_reset_peak && api_degraded;
}

stats_t snap(void)
{
    stats_t s;
    api_get(&s);
    return s;
}

size_t pr(size_t n) { return (n + P - 1) / P * P; }

void expect_delta(const char *what, const stats_t *a, const stats_t *b, int64_t cur, int64_t n_alloc, int64_t n_free,
                  int64_t allocated, int64_t freed)
{
    int64_t dc = (int64_t)(b->current_bytes - a->current_bytes);
    CHECK(dc == cur, "%s: current changed by %lld, expected %lld", what, (long long)dc, (long long)cur);
    CHECK((int64_t)(b->alloc_count - a->alloc_count) == n_alloc, "%s: alloc_count +%lld, expected +%lld", what,
          (long long)(b->alloc_count - a->alloc_count), (long long)n_alloc);
    CHECK((int64_t)(b->free_count - a->free_count) == n_free, "%s: free_count +%lld, expected +%lld", what,
          (long long)(b->free_count - a->free_count), (long long)n_free);
    CHECK((int64_t)(b->allocated_bytes - a->allocated_bytes) == allocated, "%s: allocated +%lld, expected +%lld", what,
          (long long)(b->allocated_bytes - a->allocated_bytes), (long long)allocated);
    CHECK((int64_t)(b->freed_bytes - a->freed_bytes) == freed, "%s: freed +%lld, expected +%lld", what,
          (long long)(b->freed_bytes - a->freed_bytes), (long long)freed);
    CHECK(b->peak_bytes >= b->current_bytes, "%s: peak %llu below current %llu", what,
          (unsigned long long)b->peak_bytes, (unsigned long long)b->current_bytes);
}

void *anon(void *addr, size_t len, int extra)
{
    return mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
}
