/*
 * threads.c — test_engine groups (engine_test.h).
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

/* ---- churn: 16 threads x 1M random ops, cross-thread frees, exact mode ---------------------------- */

#define CHURN_THREADS 16
#define CHURN_SLOTS   8192
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

void group_churn(void)
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
    alive_of(0, CHURN_THREADS, &b0, &c0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct heapscope_engine_stats e = estats();
    int64_t bytes, count;
    alive_of(0, CHURN_THREADS, &bytes, &count);
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
    alive_of(0, CHURN_THREADS, &bytes, &count);
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

void group_fork(void)
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
    alive_of(1, 5, &bytes, &count);
    CHECK(bytes == 0 && count == 0, "parent's threads left %lld bytes attributed", (long long)bytes);
    char name[160];
    snprintf(name, sizeof name,
             "1000 forks while 4 threads allocate (exact, sampler on): no deadlock, children "
             "use the engine, parent exact (%.1f s)",
             secs);
    report(name);
}
