/*
 * test_engine.c — tests of the attribution engine of libheapscope.so, preloaded, through dlsym.
 *
 *   test_engine GROUP    churn | fork | big | exhaust | realloc | sampling | hwm | sampler | inherit
 *
 * Each group installs the engine itself with a fake locator: every thread says which "Python
 * stack" it is in by setting its thread-local frames (codes >= 0x100000, never dereferenced), or -1
 * for a thread without Python. Expected values are computed independently (usable sizes from
 * malloc_usable_size, a brute-force reference for the peaks), and compared with heapscope_live /
 * heapscope_cell_end. Output as check.h (ok / not ok lines, "# end").
 */
#include "heapscope.h"

#include "check.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
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

#define CODE(k) ((uintptr_t)0x100000 + (uintptr_t)(k) * 16)

static struct {
    int (*install)(const struct heapscope_config *);
    void (*set_locator)(heapscope_locator_fn, heapscope_pin_fn, heapscope_drain_fn);
    uint32_t (*cell_begin)(void);
    long (*cell_end)(struct heapscope_cell *, struct heapscope_site *, size_t);
    long (*live)(long, struct heapscope_site *, size_t);
    int (*stack)(uint32_t, uint32_t *, struct heapscope_frame *, int);
    size_t (*samples)(struct heapscope_sample *, size_t);
    void (*estats)(struct heapscope_engine_stats *);
    const char *(*reason)(void);
    int (*degraded)(void);
    void (*get_stats)(struct heapscope_stats *);
} api;

static size_t P;
static __thread struct heapscope_frame tframes[4];
static __thread int tn = -1;

static int fake_locator(struct heapscope_frame *out, int max)
{
    if (tn < 0)
        return -1;
    int n = tn < max ? tn : max;
    memcpy(out, tframes, (size_t)n * sizeof *out);
    return n;
}

static int fake_pin(uintptr_t code)
{
    (void)code;
    return 1;
}

/* this thread is now in a one-frame stack at code CODE(k) (k < 0: no Python) */
static void at(int k)
{
    if (k < 0) {
        tn = -1;
        return;
    }
    tframes[0] = (struct heapscope_frame){.code = CODE(k), .lasti = 2};
    tframes[1] = (struct heapscope_frame){.code = CODE(999), .lasti = 4};
    tn = 2;
}

static int bind(void)
{
#define B(f, n) *(void **)&api.f = dlsym(RTLD_DEFAULT, n)
    B(install, "heapscope_engine_install");
    B(set_locator, "heapscope_set_locator");
    B(cell_begin, "heapscope_cell_begin");
    B(cell_end, "heapscope_cell_end");
    B(live, "heapscope_live");
    B(stack, "heapscope_stack");
    B(samples, "heapscope_samples");
    B(estats, "heapscope_engine_stats");
    B(reason, "heapscope_degraded_reason");
    B(degraded, "heapscope_degraded");
    B(get_stats, "heapscope_get_stats");
#undef B
    return api.install && api.set_locator && api.cell_begin && api.cell_end && api.live && api.stack &&
           api.samples && api.estats && api.reason && api.degraded && api.get_stats;
}

static int install(int mode, uint64_t threshold, uint64_t interval, unsigned hz)
{
    struct heapscope_config c = {.mode = mode, .max_depth = 32, .exact_threshold = threshold,
                                 .sample_interval = interval, .sampler_hz = hz};
    api.set_locator(fake_locator, fake_pin, NULL);
    return api.install(&c);
}

static struct heapscope_engine_stats estats(void)
{
    struct heapscope_engine_stats e;
    api.estats(&e);
    return e;
}

/* Sites buffer: static, so reading does not allocate. */
#define SITES (1 << 16)
static struct heapscope_site sites[SITES];

/* Leaf code of a stack (0 if unknown). */
static uintptr_t leaf(uint32_t id)
{
    struct heapscope_frame f[4];
    uint32_t ep;
    int n = api.stack(id, &ep, f, 4);
    return n > 0 ? f[0].code : 0;
}

/* Live bytes and blocks of every stack whose leaf is CODE(k), k in [k0, k1). */
static void live_of(int k0, int k1, int64_t *bytes, int64_t *count)
{
    long n = api.live(-1, sites, SITES);
    *bytes = *count = 0;
    for (long i = 0; i < n; i++) {
        uintptr_t c = leaf(sites[i].stack);
        if (c >= CODE(k0) && c < CODE(k1)) {
            *bytes += sites[i].bytes;
            *count += sites[i].count;
        }
    }
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- churn: 16 threads x 1M random ops, cross-thread frees, exact mode ---------------------------- */

#define CHURN_THREADS 16
#define CHURN_SLOTS 8192
static _Atomic(void *) slots[CHURN_SLOTS];
static _Atomic int64_t oracle_bytes, oracle_count;
static pthread_barrier_t bar;
static long churn_ops = 1000000;

static void put_back(void *p)
{
    uint64_t h = (uintptr_t)p * 0x9E3779B97F4A7C15ull;
    void *old = atomic_exchange(&slots[(h >> 20) % CHURN_SLOTS], p);
    if (old) {
        atomic_fetch_sub(&oracle_bytes, (int64_t)malloc_usable_size(old));
        atomic_fetch_sub(&oracle_count, 1);
        free(old);
    }
}

static void *churn_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    at(id);
    pthread_barrier_wait(&bar);
    for (long i = 0; i < churn_ops; i++) {
        uint64_t r = rnd(&s);
        size_t n = (r >> 40) % 2048 + 1;
        if ((r & 1023) == 0)
            n = (r >> 40) % (256 * 1024) + 1; /* a few large ones (glibc mmaps them) */
        void *p = atomic_exchange(&slots[(r >> 8) % CHURN_SLOTS], NULL);
        if (p) {
            int64_t u = (int64_t)malloc_usable_size(p);
            if ((r >> 4) & 1) {
                atomic_fetch_sub(&oracle_bytes, u);
                atomic_fetch_sub(&oracle_count, 1);
                free(p);
            } else {
                atomic_fetch_sub(&oracle_bytes, u);
                void *q = realloc(p, n);
                if (!q) { /* cannot happen at these sizes; keep the oracle right anyway */
                    atomic_fetch_add(&oracle_bytes, u);
                    q = p;
                } else {
                    atomic_fetch_add(&oracle_bytes, (int64_t)malloc_usable_size(q));
                }
                put_back(q);
            }
        } else {
            void *q = (r >> 5) & 1 ? malloc(n) : calloc(1, n);
            atomic_fetch_add(&oracle_bytes, (int64_t)malloc_usable_size(q));
            atomic_fetch_add(&oracle_count, 1);
            put_back(q);
        }
    }
    pthread_barrier_wait(&bar); /* main measures here */
    pthread_barrier_wait(&bar);
    return NULL;
}

static void group_churn(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    if (getenv("HS_CHURN_OPS"))
        churn_ops = atol(getenv("HS_CHURN_OPS"));
    pthread_t th[CHURN_THREADS];
    pthread_barrier_init(&bar, NULL, CHURN_THREADS + 1);
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_create(&th[i], NULL, churn_main, (void *)(intptr_t)i);
    uint64_t t0 = estats().tracked_blocks;
    int64_t b0, c0;
    live_of(0, CHURN_THREADS, &b0, &c0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct heapscope_engine_stats e = estats();
    int64_t bytes, count;
    live_of(0, CHURN_THREADS, &bytes, &count);
    int64_t ob = atomic_load(&oracle_bytes), oc = atomic_load(&oracle_count);
    CHECK(b0 == 0 && c0 == 0, "test stacks not empty at start: %lld", (long long)b0);
    CHECK(bytes == ob, "live bytes %lld, independent count %lld", (long long)bytes, (long long)ob);
    CHECK(count == oc, "live blocks %lld, independent count %lld", (long long)count, (long long)oc);
    CHECK((int64_t)(e.tracked_blocks - t0) == oc, "tracked entries +%lld, independent count %lld",
          (long long)(e.tracked_blocks - t0), (long long)oc);
    CHECK(e.collisions == 0, "%llu collisions", (unsigned long long)e.collisions);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < CHURN_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < CHURN_SLOTS; i++) {
        void *p = atomic_exchange(&slots[i], NULL);
        free(p);
    }
    live_of(0, CHURN_THREADS, &bytes, &count);
    CHECK(bytes == 0 && count == 0, "after freeing everything: %lld bytes, %lld blocks", (long long)bytes,
          (long long)count);
    char name[200];
    snprintf(name, sizeof name,
             "exact: %d threads x %ld random malloc/calloc/realloc/free (cross-thread): live bytes and entries "
             "equal an independent count (%.1f s, %lld live at the end)",
             CHURN_THREADS, churn_ops, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, (long long)oc);
    report(name);
}

/* ---- fork: 1000 forks while 4 threads allocate ---------------------------------------------------- */

static _Atomic int stop;

static void *alloc_loop(void *arg)
{
    uint64_t s = (uintptr_t)arg * 7919 + 1;
    void *keep[64] = {0};
    at((int)(intptr_t)arg);
    while (!atomic_load(&stop)) {
        uint64_t r = rnd(&s);
        int i = (int)(r % 64);
        free(keep[i]);
        keep[i] = malloc((r >> 20) % 4000 + 1);
        if ((r & 255) == 0) {
            void *m = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            munmap(m, 3 * P);
        }
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    return NULL;
}

static void group_fork(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 20) == 0, "install");
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, alloc_loop, (void *)(intptr_t)(i + 1));
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int bad = 0, n = 0;
    for (n = 0; n < 1000; n++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10);
            at(50);
            void *p = malloc(1 << 20);
            api.cell_begin();
            free(p);
            struct heapscope_cell c;
            long r = api.cell_end(&c, sites, SITES);
            _exit(r >= 0 ? 0 : 3);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    CHECK(bad == 0, "%d of %d children failed or hung", bad, n);
    CHECK(secs < 60, "took %.1f s", secs);
    int64_t bytes, count;
    live_of(1, 5, &bytes, &count);
    CHECK(bytes == 0 && count == 0, "parent's threads left %lld bytes attributed", (long long)bytes);
    char name[160];
    snprintf(name, sizeof name, "1000 forks while 4 threads allocate (exact, sampler on): no deadlock, children "
             "use the engine, parent exact (%.1f s)", secs);
    report(name);
}

/* ---- big: 10 M live tracked allocations ------------------------------------------------------------ */

static void group_big(void)
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
    live_of(7, 8, &bytes, &count);
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
    live_of(7, 8, &bytes, &count);
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
    snprintf(name, sizeof name, "%ld live tracked allocations: all in the table, <= 24 bytes each (%.1f), shrinks "
             "after free", N, per_all);
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

static void group_exhaust(void)
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
    live_of(3, 4, &bytes, &count);
    CHECK(count == (int64_t)(e.tracked_blocks - t0), "site blocks %lld, table +%llu", (long long)count,
          (unsigned long long)(e.tracked_blocks - t0));
    for (long i = 0; i < n; i++)
        free(v[i]);
    live_of(3, 4, &bytes, &count);
    api.get_stats(&s1);
    CHECK(bytes == 0 && count == 0, "after free: %lld bytes attributed", (long long)bytes);
    CHECK(s1.current_bytes == s0.current_bytes, "totals not back: %llu vs %llu", (unsigned long long)s1.current_bytes,
          (unsigned long long)s0.current_bytes);
    char name[200];
    snprintf(name, sizeof name, "table memory exhausted (RLIMIT_AS) after %ld blocks: degraded with a reason, no "
             "crash, totals exact, table and sites consistent (%llu untracked)", n,
             (unsigned long long)e.untracked);
    report(name);
}

/* ---- realloc and mmap edge cases keep the table right ------------------------------------------- */

static void expect_site(const char *what, int k, int64_t bytes, int64_t count)
{
    int64_t b, c;
    live_of(k, k + 1, &b, &c);
    CHECK(b == bytes && c == count, "%s: stack %d holds %lld bytes in %lld blocks, expected %lld in %lld", what, k,
          (long long)b, (long long)c, (long long)bytes, (long long)count);
}

static volatile size_t huge = (size_t)-4096;

static void group_realloc(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    uint64_t t0 = estats().tracked_blocks;
    at(10);
    void *p = malloc(100);
    int64_t u = (int64_t)malloc_usable_size(p);
    expect_site("malloc", 10, u, 1);
    at(11);
    void *q = realloc(p, 5000);
    expect_site("realloc grow: old stack", 10, 0, 0);
    expect_site("realloc grow: new stack", 11, (int64_t)malloc_usable_size(q), 1);
    void *r = realloc(q, 50);
    expect_site("realloc shrink", 11, (int64_t)malloc_usable_size(r), 1);
    q = realloc(r, malloc_usable_size(r));
    CHECK(q == r, "in-place realloc moved");
    expect_site("realloc in place", 11, (int64_t)malloc_usable_size(q), 1);
    at(12);
    errno = 0;
    r = realloc(q, huge);
    CHECK(r == NULL, "huge realloc succeeded");
    expect_site("failed realloc keeps the old entry", 11, (int64_t)malloc_usable_size(q), 1);
    expect_site("failed realloc adds nothing", 12, 0, 0);
    CHECK(estats().tracked_blocks == t0 + 1, "tracked %llu", (unsigned long long)(estats().tracked_blocks - t0));
    r = realloc(q, 0);
    CHECK(r == NULL, "glibc realloc(p, 0)");
    expect_site("realloc(p, 0) frees", 11, 0, 0);
    p = realloc(NULL, 64);
    expect_site("realloc(NULL, n)", 12, (int64_t)malloc_usable_size(p), 1);
    q = calloc(huge, 16);
    CHECK(q == NULL, "calloc overflow");
    q = reallocarray(p, 100, 100);
    expect_site("reallocarray", 12, (int64_t)malloc_usable_size(q), 1);
    free(q);
    expect_site("free", 12, 0, 0);
    CHECK(estats().tracked_blocks == t0, "tracked %lld", (long long)(estats().tracked_blocks - t0));
    report("exact: realloc grow/shrink/in place/failure/size 0/NULL, reallocarray, calloc overflow keep the "
           "table and sites right");

    int64_t pp = (int64_t)P;
    at(13);
    char *m = mmap(NULL, 10 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect_site("mmap 10 pages", 13, 10 * pp, 1);
    at(14);
    munmap(m + 5 * P, P);
    expect_site("munmap middle page", 13, 9 * pp, 1);
    munmap(m, P);
    expect_site("munmap head page", 13, 8 * pp, 1);
    char *g = mremap(m + 6 * P, 4 * P, 8 * P, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED, "mremap");
    expect_site("mremap grow keeps the mapping's stack", 13, 12 * pp, 1);
    expect_site("mremap grow: nothing for the caller", 14, 0, 0);
    munmap(m + P, 4 * P);
    munmap(g, 8 * P);
    expect_site("everything unmapped", 13, 0, 0);
    report("exact: mmap, partial munmap (middle, head), mremap grow attribute pages to the mapping's stack");
}

/* ---- sampling: the estimator is unbiased -------------------------------------------------------- */

static void group_sampling(void)
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
            live_of(20 + k, 21 + k, &b, &c);
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
    live_of(20, 23, &b, &c);
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
    live_of(23, 24, &b, &c);
    CHECK(b == (int64_t)malloc_usable_size(x) && c == 1, "large block attributed %lld", (long long)b);
    free(x);
    report("default mode: Poisson estimate unbiased (|z| < 4.5 over 400 rounds) with the predicted variance, for "
           "40 B, 1000 B, 30000 B blocks; blocks >= threshold exact");
}

/* ---- hwm: attribution at the peak is exact ------------------------------------------------------- */

#define HK 5
struct ref {
    int64_t cur[HK], at_peak[HK], heap, best;
};

static void ref_event(struct ref *r, int k, int64_t d)
{
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

static void begin_ref(struct ref *r)
{
    api.cell_begin();
    r->heap = r->best = 0;
    memcpy(r->at_peak, r->cur, sizeof r->cur);
}

static void group_hwm(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    static void *blk[HK][4096];
    static int nb[HK];
    struct ref r;
    memset(&r, 0, sizeof r);
#define ALLOC(k, n)                                                                                \
    do {                                                                                           \
        at(30 + (k));                                                                              \
        void *p_ = malloc(n);                                                                      \
        blk[k][nb[k]++] = p_;                                                                      \
        ref_event(&r, k, (int64_t)malloc_usable_size(p_));                                         \
    } while (0)
#define FREE(k)                                                                                    \
    do {                                                                                           \
        void *p_ = blk[k][--nb[k]];                                                                \
        ref_event(&r, k, -(int64_t)malloc_usable_size(p_));                                        \
        free(p_);                                                                                  \
    } while (0)
    /* cell 1, scripted: peaks at 150, 180, then 230 */
    begin_ref(&r);
    ALLOC(0, 100000); ALLOC(1, 50000); FREE(0); ALLOC(2, 120000); ALLOC(1, 10000); FREE(2);
    ALLOC(0, 170000); FREE(0); FREE(1); ALLOC(3, 1000);
    check_cell("scripted cell", &r);
    /* cell 2: starts by freeing, never exceeds its start: the peak is the start state */
    begin_ref(&r);
    FREE(3); ALLOC(4, 500); FREE(1);
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
    report("high-water mark: per-stack bytes at each cell's peak equal a brute-force reference (scripted peaks, "
           "peak at start, 3000 random events)");
}

/* ---- sampler: >= 10 Hz while the main thread is busy -------------------------------------------- */

static void group_sampler(void)
{
    CHECK(install(HEAPSCOPE_MODE_DEFAULT, 65536, 65536, 20) == 0, "install");
    static struct heapscope_sample out[4096];
    (void)api.samples(out, 4096);
    struct timespec a, now;
    clock_gettime(CLOCK_MONOTONIC, &a);
    void *x = NULL;
    volatile uint64_t spin = 0;
    do { /* busy, no syscalls: the sampler must not depend on this thread */
        for (int i = 0; i < 100000; i++)
            spin += (uint64_t)i;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!x && now.tv_sec - a.tv_sec >= 1)
            x = malloc(50 << 20);
    } while ((now.tv_sec - a.tv_sec) * 1000000000L + (now.tv_nsec - a.tv_nsec) < 2000000000L);
    size_t n = api.samples(out, 4096);
    int mono = 1;
    for (size_t i = 1; i < n; i++)
        mono &= out[i].time > out[i - 1].time;
    CHECK(n >= 36 && n <= 44, "%zu samples in 2 s at 20 Hz", n);
    CHECK(mono, "times not increasing");
    CHECK(n > 2 && out[n - 1].bytes >= out[0].bytes + (50 << 20), "the 50 MiB allocation is not visible: %llu -> %llu",
          (unsigned long long)out[0].bytes, (unsigned long long)out[n - 1].bytes);
    CHECK(api.samples(out, 4096) <= 1, "samples returned twice");
    free(x);
    report("native sampler: 20 Hz while the main thread spins, increasing times, sees current bytes");
}

/* ---- inherit: threads without Python get their creator's stack ----------------------------------- */

static void *native_child(void *arg)
{
    (void)arg;
    at(-1);
    return malloc(12345);
}

static void group_inherit(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    at(40);
    pthread_t th;
    void *p = NULL, *q = NULL;
    pthread_create(&th, NULL, native_child, NULL);
    pthread_join(th, &p);
    int64_t b1, c1, b2, c2; /* the stack may also hold pthread_create's own blocks (the new thread's dtv) */
    int64_t up = (int64_t)malloc_usable_size(p);
    live_of(40, 41, &b1, &c1);
    free(p);
    live_of(40, 41, &b2, &c2);
    CHECK(b1 - b2 == up && c1 - c2 == 1, "child of a Python thread: its block moved stack 40 by %lld bytes, %lld "
          "blocks (expected %lld, 1)", (long long)(b1 - b2), (long long)(c1 - c2), (long long)up);
    p = NULL;
    at(-1);
    pthread_create(&th, NULL, native_child, NULL);
    pthread_join(th, &q);
    long n = api.live(-1, sites, SITES);
    int found = 0;
    for (long i = 0; i < n; i++)
        found |= leaf(sites[i].stack) == HEAPSCOPE_FRAME_NATIVE && sites[i].bytes >= (int64_t)malloc_usable_size(q);
    CHECK(found, "child of a native thread not under <native thread>");
    free(p);
    free(q);
    report("pthread_create: a thread without Python frames is attributed to its creator's stack, else "
           "<native thread>");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    P = (size_t)sysconf(_SC_PAGESIZE);
    if (argc != 2) {
        fprintf(stderr, "usage: %s churn|fork|big|exhaust|realloc|sampling|hwm|sampler|inherit\n", argv[0]);
        return 2;
    }
    if (!bind()) {
        printf("not ok - %s: libheapscope.so with the engine is not preloaded\n# end\n", argv[1]);
        return 1;
    }
    const char *g = argv[1];
    if (!strcmp(g, "churn"))
        group_churn();
    else if (!strcmp(g, "fork"))
        group_fork();
    else if (!strcmp(g, "big"))
        group_big();
    else if (!strcmp(g, "exhaust"))
        group_exhaust();
    else if (!strcmp(g, "realloc"))
        group_realloc();
    else if (!strcmp(g, "sampling"))
        group_sampling();
    else if (!strcmp(g, "hwm"))
        group_hwm();
    else if (!strcmp(g, "sampler"))
        group_sampler();
    else if (!strcmp(g, "inherit"))
        group_inherit();
    else {
        printf("not ok - unknown group %s\n", g);
        check_total_failed++;
    }
    printf("# end\n");
    return check_total_failed ? 1 : 0;
}
