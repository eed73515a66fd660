/*
 * test_shim.c — tests of libheapscope.so as the kernel uses it: preloaded, read through dlsym.
 *
 *   test_shim GROUP      GROUP: counters | mmap | peak | threads | fork | env | inactive | degraded
 *
 * tests/run.sh runs each group in its own process with the environment it needs (LD_PRELOAD and
 * HEAPSCOPE_ENABLE=1, except `inactive`). Expected values are computed independently of the shim:
 * usable sizes from malloc_usable_size, page-rounded lengths from the page size. Nothing else
 * allocates between two snapshots (stdout is unbuffered, messages go to a static buffer).
 */
#include "heapscope.h"

#include "check.h"

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

typedef struct heapscope_stats stats_t;

static int (*api_abi)(void);
static const char *(*api_version)(void);
static int (*api_active)(void);
static void (*api_get)(stats_t *);
static uint64_t (*api_reset_peak)(void);
static int (*api_degraded)(void);

static size_t P; /* page size */
static int under_valgrind; /* HS_TEST_VALGRIND=1 (make valgrind): its allocator has another layout, no pvalloc */
static void *volatile sink;
/* Through a volatile, so that the compiler does not reject the absurd sizes at compile time. */
static volatile size_t vsize_max = SIZE_MAX;

static int bind_api(void)
{
    *(void **)&api_abi = dlsym(RTLD_DEFAULT, "heapscope_abi_version");
    *(void **)&api_version = dlsym(RTLD_DEFAULT, "heapscope_version");
    *(void **)&api_active = dlsym(RTLD_DEFAULT, "heapscope_active");
    *(void **)&api_get = dlsym(RTLD_DEFAULT, "heapscope_get_stats");
    *(void **)&api_reset_peak = dlsym(RTLD_DEFAULT, "heapscope_reset_peak");
    *(void **)&api_degraded = dlsym(RTLD_DEFAULT, "heapscope_degraded");
    return api_abi && api_version && api_active && api_get && api_reset_peak && api_degraded;
}

static stats_t snap(void)
{
    stats_t s;
    api_get(&s);
    return s;
}

static size_t pr(size_t n) { return (n + P - 1) / P * P; }

/* Checks the change of every counter between a and b. */
static void expect_delta(const char *what, const stats_t *a, const stats_t *b, int64_t cur, int64_t n_alloc,
                         int64_t n_free, int64_t allocated, int64_t freed)
{
    int64_t dc = (int64_t)(b->current_bytes - a->current_bytes);
    CHECK(dc == cur, "%s: current changed by %lld, expected %lld", what, (long long)dc, (long long)cur);
    CHECK((int64_t)(b->alloc_count - a->alloc_count) == n_alloc, "%s: alloc_count +%lld, expected +%lld", what,
          (long long)(b->alloc_count - a->alloc_count), (long long)n_alloc);
    CHECK((int64_t)(b->free_count - a->free_count) == n_free, "%s: free_count +%lld, expected +%lld", what,
          (long long)(b->free_count - a->free_count), (long long)n_free);
    CHECK((int64_t)(b->allocated_bytes - a->allocated_bytes) == allocated, "%s: allocated +%lld, expected +%lld",
          what, (long long)(b->allocated_bytes - a->allocated_bytes), (long long)allocated);
    CHECK((int64_t)(b->freed_bytes - a->freed_bytes) == freed, "%s: freed +%lld, expected +%lld", what,
          (long long)(b->freed_bytes - a->freed_bytes), (long long)freed);
    CHECK(b->peak_bytes >= b->current_bytes, "%s: peak %llu below current %llu", what,
          (unsigned long long)b->peak_bytes, (unsigned long long)b->current_bytes);
}

/* ---- counters: the malloc family ----------------------------------------------------------------- */

static void group_counters(void)
{
    stats_t a, b, start = snap();
    size_t u, u2;
    void *p, *q, *r, *blocker;

    CHECK(api_abi() == HEAPSCOPE_ABI_VERSION, "abi %d", api_abi());
    CHECK(api_active() == 1, "heapscope_active() = %d", api_active());
    CHECK(api_version() && api_version()[0], "empty version");
    CHECK(api_degraded() == 0, "degraded at start");
    report("api: abi version, active, version string");

    a = snap(); p = malloc(100); b = snap(); u = malloc_usable_size(p);
    CHECK(u >= 100, "usable %zu", u);
    expect_delta("malloc(100)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    a = snap(); free(p); b = snap();
    expect_delta("free", &a, &b, -(int64_t)u, 0, 1, 0, (int64_t)u);
    a = snap(); p = malloc(0); b = snap(); u = malloc_usable_size(p);
    expect_delta("malloc(0)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    free(p);
    a = snap(); free(NULL); b = snap();
    expect_delta("free(NULL)", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); p = malloc(10 << 20); b = snap(); u = malloc_usable_size(p);
    /* glibc serves this with an internal mmap: it must be counted once, as the block */
    expect_delta("malloc(10 MiB), mmapped by glibc", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    CHECK(u < (10 << 20) + 2 * P, "usable %zu", u);
    free(p);
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");
    report("malloc/free exact, malloc(0), free(NULL), large block counted once");

    /* realloc: NULL, grow with a move, shrink, grow in place, to an mmapped chunk, 0, failure */
    a = snap(); p = realloc(NULL, 300); b = snap(); u = malloc_usable_size(p);
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
    a = snap(); q = realloc(p, 5000); b = snap(); u2 = malloc_usable_size(q);
    CHECK(n_spare < 64 || under_valgrind, "found no block followed by a block in use");
    CHECK(q != NULL && (q != p || n_spare == 64), "realloc grow did not move although the next chunk is in use");
    expect_delta("realloc grow+move", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap(); r = realloc(q, 50); b = snap(); u2 = malloc_usable_size(r);
    expect_delta("realloc shrink", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap(); q = realloc(r, u); b = snap(); u2 = malloc_usable_size(q);
    CHECK(q == r || under_valgrind, "realloc within the usable size moved"); /* valgrind always moves */
    expect_delta("realloc in place", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap(); r = realloc(q, 4 << 20); b = snap(); u2 = malloc_usable_size(r);
    expect_delta("realloc to 4 MiB", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    u = u2;
    a = snap(); q = realloc(r, 8 << 20); b = snap(); u2 = malloc_usable_size(q);
    expect_delta("realloc 4 -> 8 MiB (glibc mremap)", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2,
                 (int64_t)u);
    u = u2;
    if (!under_valgrind) { /* valgrind reports the size as an error */
        a = snap(); errno = 0; r = realloc(q, vsize_max - 4096); b = snap();
        CHECK(r == NULL && errno == ENOMEM, "realloc(SIZE_MAX-4096) = %p errno %d", r, errno);
        expect_delta("failed realloc (huge)", &a, &b, 0, 0, 0, 0, 0);
    }
    a = snap(); r = realloc(q, (size_t)1 << 46); b = snap();
    if (r) { /* overcommit allowed 64 TiB: then it is a regular move, free it */
        u2 = malloc_usable_size(r);
        expect_delta("realloc 64 TiB", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
        q = r;
        u = u2;
    } else {
        expect_delta("failed realloc (64 TiB)", &a, &b, 0, 0, 0, 0, 0);
    }
    memset(q, 7, 100); /* still valid */
    a = snap(); r = realloc(q, 0); b = snap();
    CHECK(r == NULL, "glibc realloc(p, 0) returned %p", r);
    expect_delta("realloc(p, 0)", &a, &b, -(int64_t)u, 0, 1, 0, (int64_t)u);
    free(blocker);
    report("realloc: NULL, grow+move, shrink, in place, 4 and 8 MiB, failure restores, size 0");

    /* calloc and reallocarray */
    a = snap(); p = calloc(10, 100); b = snap(); u = malloc_usable_size(p);
    expect_delta("calloc(10, 100)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    int zero = 1;
    for (int i = 0; i < 1000; i++)
        zero &= ((unsigned char *)p)[i] == 0;
    CHECK(zero, "calloc memory not zeroed");
    free(p);
    a = snap(); errno = 0; p = calloc(vsize_max / 2, 4); b = snap();
    CHECK(p == NULL && errno == ENOMEM, "calloc overflow = %p errno %d", p, errno);
    expect_delta("calloc overflow", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); p = calloc(0, 5); b = snap(); u = malloc_usable_size(p);
    expect_delta("calloc(0, 5)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    free(p);
    a = snap(); p = reallocarray(NULL, 10, 10); b = snap(); u = malloc_usable_size(p);
    expect_delta("reallocarray(NULL, 10, 10)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    a = snap(); q = reallocarray(p, 200, 100); b = snap(); u2 = malloc_usable_size(q);
    expect_delta("reallocarray grow", &a, &b, (int64_t)u2 - (int64_t)u, 1, 1, (int64_t)u2, (int64_t)u);
    sink = q; /* reloaded below: the block stays valid after a failed reallocarray */
    a = snap(); errno = 0; p = reallocarray(q, vsize_max, 2); b = snap();
    CHECK(p == NULL && errno == ENOMEM, "reallocarray overflow = %p errno %d", p, errno);
    expect_delta("reallocarray overflow", &a, &b, 0, 0, 0, 0, 0);
    q = sink;
    a = snap(); free(q); b = snap();
    expect_delta("free after failed reallocarray", &a, &b, -(int64_t)u2, 0, 1, 0, (int64_t)u2);
    report("calloc zeroed + overflow, reallocarray grow + overflow");

    /* the aligned family */
    struct { const char *name; size_t align; void *p; } al[6];
    int r0;
    a = snap(); r0 = posix_memalign(&al[0].p, 64, 1000); b = snap();
    CHECK(r0 == 0, "posix_memalign: %d", r0);
    u = malloc_usable_size(al[0].p);
    expect_delta("posix_memalign(64, 1000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[0].name = "posix_memalign 64"; al[0].align = 64;
    a = snap(); r0 = posix_memalign(&al[1].p, 4096, 10000); b = snap();
    CHECK(r0 == 0, "posix_memalign 4096: %d", r0);
    u = malloc_usable_size(al[1].p);
    expect_delta("posix_memalign(4096, 10000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[1].name = "posix_memalign 4096"; al[1].align = 4096;
    void *bad = NULL;
    a = snap(); r0 = posix_memalign(&bad, 3, 10); b = snap();
    CHECK(r0 == EINVAL && bad == NULL, "posix_memalign(3) = %d", r0);
    expect_delta("posix_memalign bad alignment", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); al[2].p = aligned_alloc(256, 512); b = snap(); u = malloc_usable_size(al[2].p);
    expect_delta("aligned_alloc(256, 512)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[2].name = "aligned_alloc"; al[2].align = 256;
    a = snap(); al[3].p = memalign(128, 300); b = snap(); u = malloc_usable_size(al[3].p);
    expect_delta("memalign(128, 300)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[3].name = "memalign"; al[3].align = 128;
    a = snap(); al[4].p = valloc(5000); b = snap(); u = malloc_usable_size(al[4].p);
    expect_delta("valloc(5000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    al[4].name = "valloc"; al[4].align = P;
    /* valgrind aborts on pvalloc: use valloc there (same accounting path) */
    a = snap(); al[5].p = under_valgrind ? valloc(pr(5000)) : pvalloc(5000); b = snap(); u = malloc_usable_size(al[5].p);
    expect_delta("pvalloc(5000)", &a, &b, (int64_t)u, 1, 0, (int64_t)u, 0);
    CHECK(u >= pr(5000), "pvalloc usable %zu below the rounded size", u);
    al[5].name = "pvalloc"; al[5].align = P;
    for (int i = 0; i < 6; i++) {
        CHECK(al[i].p && ((uintptr_t)al[i].p % al[i].align) == 0, "%s misaligned %p", al[i].name, al[i].p);
        u = malloc_usable_size(al[i].p);
        a = snap(); free(al[i].p); b = snap();
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

/* ---- mmap ---------------------------------------------------------------------------------------- */

static void *anon(void *addr, size_t len, int extra)
{
    return mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
}

static void group_mmap(void)
{
    stats_t a, b, start = snap();
    int64_t p = (int64_t)P;

    a = snap(); char *m = anon(NULL, 10 * P + 1, 0); b = snap();
    CHECK(m != MAP_FAILED, "mmap failed");
    expect_delta("mmap 10 pages + 1 byte", &a, &b, 11 * p, 1, 0, 11 * p, 0);
    a = snap(); munmap(m + 5 * P, P); b = snap();
    expect_delta("munmap middle page", &a, &b, -p, 0, 1, 0, p);
    a = snap(); munmap(m, P); b = snap();
    expect_delta("munmap first page", &a, &b, -p, 0, 1, 0, p);
    a = snap(); int rc = munmap(m + 5 * P, P); b = snap();
    CHECK(rc == 0, "munmap of a hole failed");
    expect_delta("munmap of an already unmapped page", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); errno = 0; rc = munmap(m + 6 * P + 1, P); b = snap();
    CHECK(rc == -1 && errno == EINVAL, "unaligned munmap: rc %d errno %d", rc, errno);
    expect_delta("unaligned munmap", &a, &b, 0, 0, 0, 0, 0);
    report("anonymous mmap page-rounded, partial munmap (middle, head), hole, EINVAL");

    /* [m+6P, m+11P) is 5 pages: grow to 8 (may move), shrink to 2 */
    a = snap(); char *g = mremap(m + 6 * P, 5 * P, 8 * P, MREMAP_MAYMOVE); b = snap();
    CHECK(g != MAP_FAILED, "mremap grow failed");
    expect_delta("mremap grow 5 -> 8 pages", &a, &b, 3 * p, 1, 1, 8 * p, 5 * p);
    a = snap(); char *s = mremap(g, 8 * P, 2 * P, 0); b = snap();
    CHECK(s == g, "mremap shrink moved");
    expect_delta("mremap shrink 8 -> 2 pages", &a, &b, -6 * p, 1, 1, 2 * p, 8 * p);
    /* move onto part of a reserved anonymous range with MREMAP_FIXED: the pages it replaces go */
    a = snap(); char *c = anon(NULL, 4 * P, 0); b = snap();
    expect_delta("mmap 4-page target", &a, &b, 4 * p, 1, 0, 4 * p, 0);
    a = snap(); char *mv = mremap(s, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, c + P); b = snap();
    CHECK(mv == c + P, "mremap fixed returned %p, wanted %p", (void *)mv, (void *)(c + P));
    /* old 2 pages freed, new 2 pages allocated, 2 target pages replaced (freed) */
    expect_delta("mremap move onto tracked pages", &a, &b, -2 * p, 1, 2, 2 * p, 4 * p);
    a = snap(); void *fx = anon(c, 2 * P, MAP_FIXED); b = snap();
    CHECK(fx == c, "MAP_FIXED anonymous failed");
    expect_delta("MAP_FIXED anonymous over tracked pages", &a, &b, 0, 1, 1, 2 * p, 2 * p);
    report("mremap grow/shrink/move (MREMAP_FIXED), MAP_FIXED replacement");

    char path[] = "/tmp/heapscope-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)(4 * P)) == 0, "temp file");
    unlink(path);
    a = snap(); void *f = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); b = snap();
    CHECK(f != MAP_FAILED, "file mmap failed");
    expect_delta("file-backed mmap", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); void *f2 = mremap(f, 3 * P, 4 * P, MREMAP_MAYMOVE); b = snap();
    CHECK(f2 != MAP_FAILED, "file mremap failed");
    expect_delta("file-backed mremap", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); munmap(f2, 4 * P); b = snap();
    expect_delta("file-backed munmap", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); void *ff = mmap(c + 3 * P, P, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0); b = snap();
    CHECK(ff == c + 3 * P, "MAP_FIXED file mapping failed");
    expect_delta("MAP_FIXED file mapping over a tracked page", &a, &b, -p, 0, 1, 0, p);
    close(fd);
    report("file-backed mmap/mremap/munmap not counted; MAP_FIXED file over anonymous frees it");

    a = snap(); void *m64 = mmap64(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); b = snap();
    expect_delta("mmap64 anonymous", &a, &b, 2 * p, 1, 0, 2 * p, 0);
    a = snap(); munmap(m64, 2 * P); b = snap();
    expect_delta("munmap mmap64", &a, &b, -2 * p, 0, 1, 0, 2 * p);
    a = snap(); void *sh = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0); b = snap();
    expect_delta("shared anonymous mmap", &a, &b, 3 * p, 1, 0, 3 * p, 0);
    a = snap(); munmap(sh, 3 * P); b = snap();
    expect_delta("munmap shared anonymous", &a, &b, -3 * p, 0, 1, 0, 3 * p);
    a = snap(); void *big = anon(NULL, vsize_max & ~(P - 1), 0); b = snap();
    CHECK(big == MAP_FAILED, "absurd mmap succeeded");
    expect_delta("failed mmap", &a, &b, 0, 0, 0, 0, 0);
    a = snap(); void *dn = anon(NULL, 3 * P, 0); void *dm = mremap(dn, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP); b = snap();
    if (dm == MAP_FAILED) { /* kernel < 5.7: only the mmap happened */
        expect_delta("mmap (no MREMAP_DONTUNMAP)", &a, &b, 3 * p, 1, 0, 3 * p, 0);
    } else {
        expect_delta("mremap MREMAP_DONTUNMAP keeps the old range", &a, &b, 6 * p, 2, 0, 6 * p, 0);
        munmap(dm, 3 * P);
    }
    munmap(dn, 3 * P);
    report("mmap64, shared anonymous, failed mmap, MREMAP_DONTUNMAP");

    /* what is left: m+P..m+5P (4 pages), c..c+3P (3 pages) */
    a = snap(); munmap(c, 4 * P); b = snap();
    expect_delta("munmap across tracked and file pages", &a, &b, -3 * p, 0, 1, 0, 3 * p);
    a = snap(); munmap(m + P, 4 * P); b = snap();
    expect_delta("munmap rest", &a, &b, -4 * p, 0, 1, 0, 4 * p);
    b = snap();
    CHECK(b.current_bytes == start.current_bytes, "current %llu at the end, %llu at the start",
          (unsigned long long)b.current_bytes, (unsigned long long)start.current_bytes);
    CHECK(b.allocated_bytes - start.allocated_bytes == b.freed_bytes - start.freed_bytes, "allocated != freed");
    CHECK(api_degraded() == 0, "degraded");
    report("mmap sequence returns to the starting totals");
}

/* ---- peak ---------------------------------------------------------------------------------------- */

static void group_peak(void)
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

/* ---- threads: cross-thread frees, exact sum ---------------------------------------------------- */

#define N_THREADS 8
#define N_OPS 200000
#define N_SLOTS 4096

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

static void group_threads(void)
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
    snprintf(name, sizeof name, "threads: %d x %d random ops, cross-thread free/realloc/munmap, exact sum (%llu allocs)",
             N_THREADS, N_OPS, (unsigned long long)na);
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

static void group_fork(void)
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

/* ---- environment --------------------------------------------------------------------------------- */

static int run_capture(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    return pclose(f);
}

static void group_env(void)
{
    /* HS_EXPECT_PRELOAD: what LD_PRELOAD must be now ("" = unset) */
    const char *expect = getenv("HS_EXPECT_PRELOAD");
    const char *now = getenv("LD_PRELOAD");
    CHECK(api_active() == 1, "not active");
    CHECK(getenv("HEAPSCOPE_ENABLE") == NULL, "HEAPSCOPE_ENABLE still set: %s", getenv("HEAPSCOPE_ENABLE"));
    CHECK(expect != NULL, "HS_EXPECT_PRELOAD not given");
    if (expect && !*expect)
        CHECK(now == NULL, "LD_PRELOAD still set: '%s'", now);
    else if (expect)
        CHECK(now && strcmp(now, expect) == 0, "LD_PRELOAD is '%s', expected '%s'", now ? now : "(unset)", expect);
    report("constructor removed HEAPSCOPE_ENABLE and only its own LD_PRELOAD entry");

    char out[4096];
    int rc = run_capture("sh -c 'echo \"[$LD_PRELOAD] [${HEAPSCOPE_ENABLE-unset}]\"'", out, sizeof out);
    CHECK(rc == 0, "sh failed: %d", rc);
    CHECK(strstr(out, "libheapscope") == NULL, "child sees the shim: %s", out);
    CHECK(strstr(out, "[unset]") != NULL, "child sees HEAPSCOPE_ENABLE: %s", out);
    if (expect && *expect)
        CHECK(strstr(out, expect) != NULL, "child lost the other preload: %s", out);
    rc = run_capture("grep -c libheapscope /proc/self/maps", out, sizeof out);
    CHECK(strcmp(out, "0") == 0, "a child process mapped libheapscope (%s)", out);
    report("child processes do not inherit the shim (sh -c 'echo $LD_PRELOAD', /proc/self/maps)");
}

/* ---- inactive: preloaded without HEAPSCOPE_ENABLE -------------------------------------------------- */

static void group_inactive(void)
{
    stats_t a = snap();
    void *p = malloc(1 << 20), *q = calloc(10, 10);
    p = realloc(p, 2 << 20);
    char *m = anon(NULL, 4 * P, 0);
    stats_t b = snap();
    free(p);
    free(q);
    munmap(m, 4 * P);
    stats_t c = snap();
    CHECK(api_active() == 0, "heapscope_active() = %d", api_active());
    CHECK(a.current_bytes == 0 && a.alloc_count == 0 && a.allocated_bytes == 0, "counted before: %llu",
          (unsigned long long)a.alloc_count);
    CHECK(b.alloc_count == 0 && b.current_bytes == 0 && c.free_count == 0 && c.peak_bytes == 0, "counted");
    CHECK(getenv("LD_PRELOAD") == NULL || strstr(getenv("LD_PRELOAD"), "libheapscope") == NULL,
          "LD_PRELOAD still names the shim");
    report("without HEAPSCOPE_ENABLE=1: inactive, counts nothing, still leaves LD_PRELOAD");
}

/* ---- degraded: the region map cannot grow --------------------------------------------------------- */

static long vm_pages(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static void group_degraded(void)
{
    enum { RESERVE = 1 << 16 }; /* pages */
    stats_t base = snap();
    char *r = mmap(NULL, RESERVE * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED, "reservation failed");
    stats_t s = snap();
    CHECK(s.current_bytes == base.current_bytes + RESERVE * P, "reservation not counted");
    /* no room left for anything but tiny mappings: the map's next growth fails */
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_pages() * P + 2 * P;
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit");
    int i, mapped = 0;
    for (i = 1; i < RESERVE - 1 && !api_degraded(); i += 2) {
        /* replacing one page in the middle splits a tracked range without using address space */
        void *x = mmap(r + (size_t)i * P, P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (x == MAP_FAILED)
            break;
        mapped++;
    }
    int deg = api_degraded();
    setrlimit(RLIMIT_AS, &old);
    CHECK(deg == 1, "not degraded after %d replacements", mapped);
    void *p = malloc(100);
    CHECK(p != NULL, "malloc after degradation");
    free(p);
    stats_t a = snap();
    char *m = anon(NULL, 4 * P, 0);
    stats_t b = snap();
    CHECK(m != MAP_FAILED && b.current_bytes == a.current_bytes, "a new mapping was counted while degraded");
    munmap(m, 4 * P);
    munmap(r, RESERVE * P);
    s = snap();
    CHECK(s.current_bytes == base.current_bytes, "after unmapping everything: current %llu, baseline %llu",
          (unsigned long long)s.current_bytes, (unsigned long long)base.current_bytes);
    char name[160];
    snprintf(name, sizeof name, "region map cannot grow (RLIMIT_AS): degraded flag after %d splits, no crash, consistent",
             mapped);
    report(name);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    P = (size_t)sysconf(_SC_PAGESIZE);
    under_valgrind = getenv("HS_TEST_VALGRIND") != NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: %s counters|mmap|peak|threads|fork|env|inactive|degraded\n", argv[0]);
        return 2;
    }
    if (!bind_api()) {
        printf("not ok - %s: libheapscope.so is not preloaded (heapscope_* not found)\n", argv[1]);
        printf("# end\n");
        return 1;
    }
    const char *g = argv[1];
    if (!strcmp(g, "counters"))
        group_counters();
    else if (!strcmp(g, "mmap"))
        group_mmap();
    else if (!strcmp(g, "peak"))
        group_peak();
    else if (!strcmp(g, "threads"))
        group_threads();
    else if (!strcmp(g, "fork"))
        group_fork();
    else if (!strcmp(g, "env"))
        group_env();
    else if (!strcmp(g, "inactive"))
        group_inactive();
    else if (!strcmp(g, "degraded"))
        group_degraded();
    else {
        printf("not ok - unknown group %s\n", g);
        check_total_failed++;
    }
    printf("# end\n");
    return check_total_failed ? 1 : 0;
}
