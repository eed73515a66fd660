/*
 * edges.c — test_engine groups (engine_test.h).
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

/* ---- realloc and mmap edge cases keep the table right ------------------------------------------- */

static void expect_site(const char *what, int k, int64_t bytes, int64_t count)
{
    int64_t b, c;
    alive_of(k, k + 1, &b, &c);
    CHECK(b == bytes && c == count, "%s: stack %d holds %lld bytes in %lld blocks, expected %lld in %lld", what, k,
          (long long)b, (long long)c, (long long)bytes, (long long)count);
}

static volatile size_t huge = (size_t)-4096;

void group_realloc(void)
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
