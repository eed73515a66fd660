/*
 * counters.c — test_shim groups (shim_test.h).
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

/* ---- counters: the malloc family ----------------------------------------------------------------- */

void group_counters(void)
{
    stats_t a, b, start = snap();
    size_t u, u2;
    void *p, *q, *r, *blocker;

    CHECK(api_abi() == HEAPSCOPE_ABI_VERSION, "abi %d", api_abi());
    CHECK(api_active() == 1, "heapscope_active() = %d", api_active());
    CHECK(api_version() && api_version()[0], "empty version");
    CHECK(api_degraded() == 0, "degraded at start");
    report("api: abi version, active, version string");

    a = snap();
    p = malloc(100);
    b = snap();
    u = malloc_usable_size(p);
    CHECK(u >= 100, "usable %zu", u);
    expect_delta("malloc(100)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    a = snap();
    free(p);
    b = snap();
    expect_delta("free", &a, &b, -(int64_t)u, 0, 1, 0, (int64_t)u);
    a = snap();
    p = malloc(0);
    b = snap();
    u = malloc_usable_size(p);
    expect_delta("malloc(0)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    free(p);
    a = snap();
    free(NULL);
    b = snap();
    expect_delta("free(NULL)", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    p = malloc(10 << 20);
    b = snap();
    u = malloc_usable_size(p);
    /* glibc serves this with an internal mmap: it must be counted once, as the block */
    expect_delta("malloc(10 MiB), mmapped by glibc", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    CHECK(u < (10 << 20) + 2 * P, "usable %zu", u);
    free(p);
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");
    report("malloc/free exact, malloc(0), free(NULL), large block counted once");

    /* realloc: NULL, grow with a move, shrink, grow in place, to an mmapped chunk, 0, failure */
    a = snap();
    p = realloc(NULL, 300);
    b = snap();
    u = malloc_usable_size(p);
    expect_delta("realloc(NULL, 300)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    /* a block whose next chunk is in use cannot grow in place: find such a pair (glibc layout:
       the next chunk's user pointer is usable size + 8 bytes further) */
    void *spare[64];
    int n_spare = 0;
    blocker = malloc(300);
    while ((char *)blocker != (char *)p + u + 8 && n_spare < 64) {
        spare[n_spare++] = p;
        p = blocker;
        u = malloc_usable_size(p);
        blocker = malloc(300);
    }
    for (int i = 0; i < n_spare; i++)
        free(spare[i]);
    u = malloc_usable_size(p);
    a = snap();
    q = realloc(p, 5000);
    b = snap();
    u2 = malloc_usable_size(q);
    CHECK(n_spare < 64 || under_valgrind, "found no block followed by a block in use");
    CHECK(q != NULL && (q != p || n_spare == 64), "realloc grow did not move although the next chunk is in use");
    expect_delta("realloc grow+move", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap();
    r = realloc(q, 50);
    b = snap();
    u2 = malloc_usable_size(r);
    expect_delta("realloc shrink", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap();
    q = realloc(r, u);
    b = snap();
    u2 = malloc_usable_size(q);
    CHECK(q == r || under_valgrind, "realloc within the usable size moved"); /* valgrind always moves */
    expect_delta("realloc in place", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap();
    r = realloc(q, 4 << 20);
    b = snap();
    u2 = malloc_usable_size(r);
    expect_delta("realloc to 4 MiB", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap();
    q = realloc(r, 8 << 20);
    b = snap();
    u2 = malloc_usable_size(q);
    expect_delta("realloc 4 -> 8 MiB (glibc mremap)", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    if (!under_valgrind) { /* valgrind reports the size as an error */
        a = snap();
        errno = 0;
        r = realloc(q, vsize_max - 4096);
        b = snap();
        CHECK(r == NULL && errno == ENOMEM, "realloc(SIZE_MAX-4096) = %p errno %d", r, errno);
        expect_delta("failed realloc (huge)", &a, &b, 0, 0, 0, 0, 0);
    }
    a = snap();
    r = realloc(q, (size_t)1 << 46);
    b = snap();
    if (r) { /* overcommit allowed 64 TiB: then it is a regular move, free it */
        u2 = malloc_usable_size(r);
        expect_delta("realloc 64 TiB", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
        q = r;
        u = u2;
    } else {
        expect_delta("failed realloc (64 TiB)", &a, &b, 0, 0, 0, 0, 0);
    }
    memset(q, 7, 100); /* still valid */
    a = snap();
    r = realloc(q, 0);
    b = snap();
    CHECK(r == NULL, "glibc realloc(p, 0) returned %p", r);
    expect_delta("realloc(p, 0)", &a, &b, -(int64_t)u, 0, 1, 0, (int64_t)u);
    free(blocker);
    report("realloc: NULL, grow+move, shrink, in place, 4 and 8 MiB, failure restores, size 0");

    /* calloc and reallocarray */
    a = snap();
    p = calloc(10, 100);
    b = snap();
    u = malloc_usable_size(p);
    expect_delta("calloc(10, 100)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    int zero = 1;
    for (int i = 0; i < 1000; i++)
        zero &= ((unsigned char *)p)[i] == 0;
    CHECK(zero, "calloc memory not zeroed");
    free(p);
    a = snap();
    errno = 0;
    p = calloc(vsize_max / 2, 4);
    b = snap();
    CHECK(p == NULL && errno == ENOMEM, "calloc overflow = %p errno %d", p, errno);
    expect_delta("calloc overflow", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    p = calloc(0, 5);
    b = snap();
    u = malloc_usable_size(p);
    expect_delta("calloc(0, 5)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    free(p);
    a = snap();
    p = reallocarray(NULL, 10, 10);
    b = snap();
    u = malloc_usable_size(p);
    expect_delta("reallocarray(NULL, 10, 10)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    a = snap();
    q = reallocarray(p, 200, 100);
    b = snap();
    u2 = malloc_usable_size(q);
    expect_delta("reallocarray grow", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    sink = q; /* reloaded below: the block stays valid after a failed reallocarray */
    a = snap();
    errno = 0;
    p = reallocarray(q, vsize_max, 2);
    b = snap();
    CHECK(p == NULL && errno == ENOMEM, "reallocarray overflow = %p errno %d", p, errno);
    expect_delta("reallocarray overflow", &a, &b, 0, 0, 0, 0, 0);
    q = sink;
    a = snap();
    free(q);
    b = snap();
    expect_delta("free after failed reallocarray", &a, &b, -(int64_t)u2, 0, 1, 0, (int64_t)u2);
    report("calloc zeroed + overflow, reallocarray grow + overflow");

    /* the aligned family */
    struct {
        const char *name;
        size_t align;
        void *p;
    } al[6];
    int r0;
    a = snap();
    r0 = posix_memalign(&al[0].p, 64, 1000);
    b = snap();
    CHECK(r0 == 0, "posix_memalign: %d", r0);
    u = malloc_usable_size(al[0].p);
    expect_delta("posix_memalign(64, 1000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[0].name = "posix_memalign 64";
    al[0].align = 64;
    a = snap();
    r0 = posix_memalign(&al[1].p, 4096, 10000);
    b = snap();
    CHECK(r0 == 0, "posix_memalign 4096: %d", r0);
    u = malloc_usable_size(al[1].p);
    expect_delta("posix_memalign(4096, 10000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[1].name = "posix_memalign 4096";
    al[1].align = 4096;
    void *bad = NULL;
    a = snap();
    r0 = posix_memalign(&bad, 3, 10);
    b = snap();
    CHECK(r0 == EINVAL && bad == NULL, "posix_memalign(3) = %d", r0);
    expect_delta("posix_memalign bad alignment", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    al[2].p = aligned_alloc(256, 512);
    b = snap();
    u = malloc_usable_size(al[2].p);
    expect_delta("aligned_alloc(256, 512)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[2].name = "aligned_alloc";
    al[2].align = 256;
    a = snap();
    al[3].p = memalign(128, 300);
    b = snap();
    u = malloc_usable_size(al[3].p);
    expect_delta("memalign(128, 300)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[3].name = "memalign";
    al[3].align = 128;
    a = snap();
    al[4].p = valloc(5000);
    b = snap();
    u = malloc_usable_size(al[4].p);
    expect_delta("valloc(5000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[4].name = "valloc";
    al[4].align = P;
    /* valgrind aborts on pvalloc: use valloc there (same accounting path) */
    a = snap();
    al[5].p = under_valgrind ? valloc(pr(5000)) : pvalloc(5000);
    b = snap();
    u = malloc_usable_size(al[5].p);
    expect_delta("pvalloc(5000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    CHECK(u >= pr(5000), "pvalloc usable %zu below the rounded size", u);
    al[5].name = "pvalloc";
    al[5].align = P;
    for (int i = 0; i < 6; i++) {
        CHECK(al[i].p && ((uintptr_t)al[i].p % al[i].align) == 0, "%s misaligned %p", al[i].name, al[i].p);
        u = malloc_usable_size(al[i].p);
        a = snap();
        free(al[i].p);
        b = snap();
        expect_delta(al[i].name, &a, &b, -(int64_t)u, 0, 1, 0, (int64_t)u);
    }
    report("posix_memalign/aligned_alloc/memalign/valloc/pvalloc exact, aligned, bad alignment");

    b = snap();
    CHECK(b.current_bytes == start.current_bytes, "current %llu at the end, %llu at the start",
          (unsigned long long)b.current_bytes, (unsigned long long)start.current_bytes);
    CHECK(b.allocated_bytes - start.allocated_bytes == b.freed_bytes - start.freed_bytes,
          "allocated +%llu but freed +%llu", (unsigned long long)(b.allocated_bytes - start.allocated_bytes),
          (unsigned long long)(b.freed_bytes - start.freed_bytes));
    CHECK(b.alloc_count - start.alloc_count == b.free_count - start.free_count, "alloc_count/free_count unbalanced");
    report("whole sequence returns to the starting totals");
}

/* ---- peak ---------------------------------------------------------------------------------------- */

void group_peak(void)
{
    stats_t s;
    uint64_t cur0 = snap().current_bytes;
    uint64_t r = api_reset_peak();
    s = snap();
    CHECK(r == cur0 && s.peak_bytes == s.current_bytes, "reset returned %llu, peak %llu, current %llu",
          (unsigned long long)r, (unsigned long long)s.peak_bytes, (unsigned long long)s.current_bytes);
    void *p = malloc(8 << 20);
    size_t u = malloc_usable_size(p);
    s = snap();
    CHECK(s.peak_bytes == cur0 + u && s.current_bytes == cur0 + u, "after malloc: peak %llu current %llu",
          (unsigned long long)s.peak_bytes, (unsigned long long)s.current_bytes);
    free(p);
    s = snap();
    CHECK(s.current_bytes == cur0 && s.peak_bytes == cur0 + u, "after free: peak %llu current %llu",
          (unsigned long long)s.peak_bytes, (unsigned long long)s.current_bytes);
    void *q = malloc(1 << 20);
    size_t u1 = malloc_usable_size(q);
    s = snap();
    CHECK(s.peak_bytes == cur0 + u, "a smaller block moved the peak to %llu", (unsigned long long)s.peak_bytes);
    r = api_reset_peak();
    s = snap();
    CHECK(r == cur0 + u1 && s.peak_bytes == cur0 + u1, "second reset: %llu, peak %llu", (unsigned long long)r,
          (unsigned long long)s.peak_bytes);
    free(q);
    void *m = anon(NULL, 2 * u1 + P, 0);
    munmap(m, 2 * u1 + P);
    s = snap();
    CHECK(s.current_bytes == cur0 && s.peak_bytes == cur0 + pr(2 * u1 + P), "mmap peak %llu, expected %llu",
          (unsigned long long)s.peak_bytes, (unsigned long long)(cur0 + pr(2 * u1 + P)));
    report("peak follows the high-water mark; reset_peak sets it to current");
}
