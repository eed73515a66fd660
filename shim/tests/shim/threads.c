/*
 * threads.c — test_shim groups (shim_test.h).
 */
#include "shim_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- threads: cross-thread frees, exact sum ---------------------------------------------------- */

#define N_THREADS 8
#define N_OPS     200000
#define N_SLOTS   4096

static _Atomic(uintptr_t) slots[N_SLOTS]; /* malloc'd block, or mapping | 1 (length in its first word) */
static pthread_barrier_t bar;

struct worker {
    int id;
    uint64_t seed;
    uint64_t allocated, freed, n_alloc, n_free, failures;
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Releases what a slot held, adding its bytes to w->freed. */
static void release_block(struct worker *w, uintptr_t v)
{
    if (v & 1) {
        char *m = (char *)(v & ~(uintptr_t)1);
        size_t len = *(size_t *)m;
        if (len > P && (w->seed & 1)) { /* two partial munmaps: tail first, then the head */
            munmap(m + len - P, P);
            munmap(m, len - P);
            w->n_free += 2;
        } else {
            munmap(m, len);
            w->n_free += 1;
        }
        w->freed += len;
    } else {
        w->freed += malloc_usable_size((void *)v);
        w->n_free++;
        free((void *)v);
    }
}

static void *new_block(struct worker *w)
{
    uint64_t k = rnd(&w->seed) % 100;
    size_t n = 1 + rnd(&w->seed) % 2048;
    void *p = NULL;
    if (k < 40) {
        p = malloc(n);
    } else if (k < 50) {
        p = malloc(64 * 1024 + rnd(&w->seed) % (256 * 1024));
    } else if (k < 70) {
        p = calloc(1 + n % 16, 1 + n / 16);
    } else if (k < 85) {
        if (posix_memalign(&p, (size_t)16 << (n % 6), n))
            p = NULL;
    } else if (k < 97) {
        p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    } else {
        size_t len = P * (1 + n % 4);
        char *m = anon(NULL, len, 0);
        if (m == MAP_FAILED) {
            w->failures++;
            return NULL;
        }
        *(size_t *)m = len;
        w->allocated += len;
        w->n_alloc++;
        return (void *)((uintptr_t)m | 1);
    }
    if (!p) {
        w->failures++;
        return NULL;
    }
    w->allocated += malloc_usable_size(p);
    w->n_alloc++;
    return p;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&bar); /* 1: created */
    pthread_barrier_wait(&bar); /* 2: baseline taken */
    for (int i = 0; i < N_OPS; i++) {
        size_t k = rnd(&w->seed) % N_SLOTS;
        uintptr_t v = atomic_exchange(&slots[k], 0);
        if (v && !(v & 1) && rnd(&w->seed) % 4 == 0) { /* realloc a block (maybe another thread's) */
            size_t old = malloc_usable_size((void *)v);
            void *q = realloc((void *)v, 1 + rnd(&w->seed) % 8192);
            if (!q) {
                w->failures++;
                release_block(w, v);
                continue;
            }
            w->freed += old;
            w->n_free++;
            w->allocated += malloc_usable_size(q);
            w->n_alloc++;
            v = (uintptr_t)q;
        } else if (v) {
            release_block(w, v);
            continue;
        } else {
            v = (uintptr_t)new_block(w);
            if (!v)
                continue;
        }
        uintptr_t old = atomic_exchange(&slots[k], v);
        if (old)
            release_block(w, old);
    }
    pthread_barrier_wait(&bar); /* 3: work done */
    pthread_barrier_wait(&bar); /* 4: checked; exit */
    return NULL;
}

void group_threads(void)
{
    pthread_t th[N_THREADS];
    static struct worker ws[N_THREADS + 1];
    pthread_barrier_init(&bar, NULL, N_THREADS + 1);
    for (int i = 0; i < N_THREADS; i++) {
        ws[i] = (struct worker){.id = i, .seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)};
        pthread_create(&th[i], NULL, worker_main, &ws[i]);
    }
    pthread_barrier_wait(&bar);
    stats_t base = snap();
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    stats_t end = snap();
    uint64_t al = 0, fr = 0, na = 0, nf = 0, fails = 0;
    for (int i = 0; i < N_THREADS; i++) {
        al += ws[i].allocated;
        fr += ws[i].freed;
        na += ws[i].n_alloc;
        nf += ws[i].n_free;
        fails += ws[i].failures;
    }
    expect_delta("8 threads x 200k ops", &base, &end, (int64_t)(al - fr), (int64_t)na, (int64_t)nf, (int64_t)al,
                 (int64_t)fr);
    CHECK(fails == 0, "%llu allocations failed", (unsigned long long)fails);
    /* free what is left in the slots, from this thread */
    struct worker *mw = &ws[N_THREADS];
    mw->seed = 12345;
    for (int k = 0; k < N_SLOTS; k++) {
        uintptr_t v = atomic_exchange(&slots[k], 0);
        if (v)
            release_block(mw, v);
    }
    stats_t fin = snap();
    CHECK(fin.current_bytes == base.current_bytes, "after freeing everything: current %llu, baseline %llu (diff %lld)",
          (unsigned long long)fin.current_bytes, (unsigned long long)base.current_bytes,
          (long long)(fin.current_bytes - base.current_bytes));
    CHECK(api_degraded() == 0, "degraded");
    pthread_barrier_wait(&bar);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    char name[160];
    snprintf(name, sizeof name,
             "threads: %d x %d random ops, cross-thread free/realloc/munmap, exact sum (%llu allocs)", N_THREADS, N_OPS,
             (unsigned long long)na);
    report(name);
}

/* ---- fork while other threads allocate --------------------------------------------------------- */

static _Atomic int stop_hammer;

static void *hammer(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 7919 + 1;
    void *keep[64] = {0};
    if ((uintptr_t)arg == 1) { /* keeps ~2000 mappings alive and churns them: the map's lock is busy */
        enum { N = 2048 };
        static char *maps[N];
        while (!atomic_load(&stop_hammer)) {
            size_t k = rnd(&seed) % N;
            if (maps[k])
                munmap(maps[k], P);
            maps[k] = anon(NULL, P, 0);
            if (maps[k] == MAP_FAILED)
                maps[k] = NULL;
        }
        for (int k = 0; k < N; k++)
            if (maps[k])
                munmap(maps[k], P);
        return NULL;
    }
    while (!atomic_load(&stop_hammer)) {
        size_t k = rnd(&seed) % 64;
        free(keep[k]);
        keep[k] = malloc(1 + rnd(&seed) % 100000);
        if (rnd(&seed) % 16 == 0) {
            char *m = anon(NULL, 3 * P, 0);
            if (m != MAP_FAILED) { /* exact pieces: unmapping across the hole could hit another
                                      thread's new mapping there */
                munmap(m + P, P);
                munmap(m, P);
                munmap(m + 2 * P, P);
            }
        }
    }
    for (int k = 0; k < 64; k++)
        free(keep[k]);
    return NULL;
}

void group_fork(void)
{
    enum { N_FORKS = 200, N_HAMMERS = 3 };
    pthread_t th[N_HAMMERS];
    for (int i = 0; i < N_HAMMERS; i++)
        pthread_create(&th[i], NULL, hammer, (void *)(uintptr_t)(i + 1));
    int bad_exit = 0, hung = 0, forked = 0;
    for (int i = 0; i < N_FORKS; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int code = 0;
            stats_t s0 = snap();
            if (!api_active())
                code |= 1;
            if (s0.peak_bytes != s0.current_bytes) /* the child starts with peak = current */
                code |= 2;
            void *p = malloc(1 << 20);
            size_t u = malloc_usable_size(p);
            stats_t s1 = snap();
            if (!p || s1.current_bytes != s0.current_bytes + u)
                code |= 4;
            free(p);
            char *m = anon(NULL, 2 * P, 0);
            if (m == MAP_FAILED || munmap(m, 2 * P) != 0)
                code |= 8;
            if (snap().current_bytes != s0.current_bytes)
                code |= 16;
            _exit(code);
        }
        if (pid < 0) {
            bad_exit++;
            continue;
        }
        forked++;
        int status = 0, done = 0;
        for (int t = 0; t < 1000 && !done; t++) { /* up to 5 s */
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                done = 1;
            else
                nanosleep(&(struct timespec){0, 5000000}, NULL);
        }
        if (!done) {
            hung++;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            continue;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (!bad_exit)
                check_fail("child %d: %s %d", i, WIFEXITED(status) ? "exit code" : "signal",
                           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            bad_exit++;
        }
    }
    atomic_store(&stop_hammer, 1);
    for (int i = 0; i < N_HAMMERS; i++)
        pthread_join(th[i], NULL);
    CHECK(hung == 0, "%d of %d children deadlocked", hung, forked);
    CHECK(bad_exit == 0, "%d children failed", bad_exit);
    report("fork x200 while 3 threads malloc/mmap: no deadlock, child counts from peak = current");
}
