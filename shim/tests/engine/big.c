/*
 * big.c — test_engine groups (engine_test.h).
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

/* ---- big: 10 M live tracked allocations ------------------------------------------------------------ */

void group_big(void)
{
    long N = getenv("HS_BIG_N") ? atol(getenv("HS_BIG_N")) : 10000000;
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    at(-1);
    void **v = malloc((size_t)N * sizeof *v);
    uint64_t t0 = estats().tracked_blocks, tb0 = estats().table_bytes;
    at(7);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < N; i++)
        v[i] = malloc(16);
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct heapscope_engine_stats e = estats();
    int64_t bytes, count;
    alive_of(7, 8, &bytes, &count);
    uint64_t tracked = e.tracked_blocks - t0;
    double per = (double)(e.table_bytes - tb0) / (double)tracked;
    double per_all = (double)e.table_bytes / (double)e.tracked_blocks;
    CHECK((long)tracked == N, "tracked +%llu, expected %ld", (unsigned long long)tracked, N);
    CHECK(count == N && bytes == N * (int64_t)malloc_usable_size(v[0]), "site has %lld blocks, %lld bytes",
          (long long)count, (long long)bytes);
    CHECK(per_all <= 24.0, "%.1f table bytes per tracked allocation", per_all);
    for (long i = 0; i < N; i++)
        free(v[i]);
    struct heapscope_engine_stats f = estats();
    alive_of(7, 8, &bytes, &count);
    CHECK(bytes == 0 && count == 0 && f.tracked_blocks == t0, "after free: %lld bytes, tracked %llu (was %llu)",
          (long long)bytes, (unsigned long long)f.tracked_blocks, (unsigned long long)t0);
    CHECK(f.table_bytes < e.table_bytes / 4, "table did not shrink: %llu -> %llu bytes",
          (unsigned long long)e.table_bytes, (unsigned long long)f.table_bytes);
    free(v);
    printf("# %ld live tracked allocations: table %.1f MiB = %.1f bytes per tracked allocation (%.1f incl. "
           "the rest of the table); profiler total %.1f MiB; %.0f ns per malloc incl. tracking\n",
           N, (double)e.table_bytes / 1048576, per, per_all, (double)e.profiler_bytes / 1048576,
           ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)N);
    char name[160];
    snprintf(name, sizeof name,
             "%ld live tracked allocations: all in the table, <= 24 bytes each (%.1f), shrinks "
             "after free",
             N, per_all);
    report(name);
}

/* ---- exhaust: the table cannot grow (RLIMIT_AS) ---------------------------------------------------- */

static long vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0;
    if (f) {
        if (fscanf(f, "%ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * (long)P;
}

void group_exhaust(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    /* give malloc a big heap to carve from without new address space, then forbid new mappings */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_ARENA_MAX, 1);
    enum { CHUNKS = 256 };
    static void *big[CHUNKS];
    for (int i = 0; i < CHUNKS; i++)
        big[i] = malloc(1 << 20);
    for (int i = CHUNKS - 1; i >= 0; i--)
        free(big[i]);
    enum { MAXN = 4000000 };
    void **v = mmap(NULL, MAXN * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(v, 0, MAXN * sizeof(void *)); /* touch it: no lazy faults later */
    struct heapscope_stats s0;
    api.get_stats(&s0);
    uint64_t t0 = estats().tracked_blocks;
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_bytes() + 4 * P;
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit");
    at(3);
    long n = 0;
    int64_t ob = 0;
    while (n < MAXN && !api.degraded()) {
        v[n] = malloc(64);
        if (!v[n])
            break;
        ob += (int64_t)malloc_usable_size(v[n]);
        n++;
    }
    long more = 0; /* keep allocating a little after degradation */
    while (n < MAXN && more < 10000) {
        v[n] = malloc(64);
        if (!v[n])
            break;
        ob += (int64_t)malloc_usable_size(v[n]);
        n++;
        more++;
    }
    int deg = api.degraded();
    const char *why = api.reason();
    setrlimit(RLIMIT_AS, &old);
    struct heapscope_engine_stats e = estats();
    struct heapscope_stats s1;
    api.get_stats(&s1);
    CHECK(deg == 1 && why && strstr(why, "pointer table"), "not degraded after %ld allocations (reason %s)", n,
          why ? why : "none");
    CHECK(e.untracked > 0, "no allocation reported untracked");
    CHECK((int64_t)(s1.current_bytes - s0.current_bytes) == ob, "totals +%lld, expected %lld",
          (long long)(s1.current_bytes - s0.current_bytes), (long long)ob);
    int64_t bytes, count;
    alive_of(3, 4, &bytes, &count);
    CHECK(count == (int64_t)(e.tracked_blocks - t0), "site blocks %lld, table +%llu", (long long)count,
          (unsigned long long)(e.tracked_blocks - t0));
    for (long i = 0; i < n; i++)
        free(v[i]);
    alive_of(3, 4, &bytes, &count);
    api.get_stats(&s1);
    CHECK(bytes == 0 && count == 0, "after free: %lld bytes attributed", (long long)bytes);
    CHECK(s1.current_bytes == s0.current_bytes, "totals not back: %llu vs %llu", (unsigned long long)s1.current_bytes,
          (unsigned long long)s0.current_bytes);
    char name[200];
    snprintf(name, sizeof name,
             "table memory exhausted (RLIMIT_AS) after %ld blocks: degraded with a reason, no "
             "crash, totals exact, table and sites consistent (%llu untracked)",
             n, (unsigned long long)e.untracked);
    report(name);
}
