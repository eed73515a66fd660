/*
 * ticker.c — test_engine groups (engine_test.h).
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

/* ---- sampler: >= 10 Hz while the main thread is busy -------------------------------------------- */

void group_ticker(void)
{
    CHECK(install(HEAPSCOPE_MODE_DEFAULT, 65536, 65536, 20) == 0, "install");
    static struct heapscope_tick out[4096];
    (void)api.ticks(out, 4096);
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
    size_t n = api.ticks(out, 4096);
    int mono = 1;
    for (size_t i = 1; i < n; i++)
        mono &= out[i].time > out[i - 1].time;
    CHECK(n >= 36 && n <= 44, "%zu samples in 2 s at 20 Hz", n);
    CHECK(mono, "times not increasing");
    CHECK(n > 2 && out[n - 1].bytes >= out[0].bytes + (50 << 20), "the 50 MiB allocation is not visible: %llu -> %llu",
          (unsigned long long)out[0].bytes, (unsigned long long)out[n - 1].bytes);
    CHECK(api.ticks(out, 4096) <= 1, "samples returned twice");
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

void group_inherit(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install");
    at(40);
    pthread_t th;
    void *p = NULL, *q = NULL;
    pthread_create(&th, NULL, native_child, NULL);
    pthread_join(th, &p);
    int64_t b1, c1, b2, c2; /* the stack may also hold pthread_create's own blocks (the new thread's dtv) */
    int64_t up = (int64_t)malloc_usable_size(p);
    alive_of(40, 41, &b1, &c1);
    free(p);
    alive_of(40, 41, &b2, &c2);
    CHECK(b1 - b2 == up && c1 - c2 == 1,
          "child of a Python thread: its block moved stack 40 by %lld bytes, %lld "
          "blocks (expected %lld, 1)",
          (long long)(b1 - b2), (long long)(c1 - c2), (long long)up);
    p = NULL;
    at(-1);
    pthread_create(&th, NULL, native_child, NULL);
    pthread_join(th, &q);
    long n = api.alive(-1, sites, SITES);
    int found = 0;
    for (long i = 0; i < n; i++)
        found |= leaf(sites[i].stack) == HEAPSCOPE_FRAME_NATIVE && sites[i].bytes >= (int64_t)malloc_usable_size(q);
    CHECK(found, "child of a native thread not under <native thread>");
    free(p);
    free(q);
    report("pthread_create: a thread without Python frames is attributed to its creator's stack, else "
           "<native thread>");
}
