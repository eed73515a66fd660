/*
 * mmap.c — test_shim groups (shim_test.h).
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

/* ---- mmap ---------------------------------------------------------------------------------------- */

void group_mmap(void)
{
    stats_t a, b, start = snap();
    int64_t p = (int64_t)P;

    a = snap();
    char *m = anon(NULL, 10 * P + 1, 0);
    b = snap();
    CHECK(m != MAP_FAILED, "mmap failed");
    expect_delta("mmap 10 pages + 1 byte", &a, &b, 11 * p, 1, 0, 11 * p, 0);
    a = snap();
    munmap(m + 5 * P, P);
    b = snap();
    expect_delta("munmap middle page", &a, &b, -p, 0, 1, 0, p);
    a = snap();
    munmap(m, P);
    b = snap();
    expect_delta("munmap first page", &a, &b, -p, 0, 1, 0, p);
    a = snap();
    int rc = munmap(m + 5 * P, P);
    b = snap();
    CHECK(rc == 0, "munmap of a hole failed");
    expect_delta("munmap of an already unmapped page", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    errno = 0;
    rc = munmap(m + 6 * P + 1, P);
    b = snap();
    CHECK(rc == -1 && errno == EINVAL, "unaligned munmap: rc %d errno %d", rc, errno);
    expect_delta("unaligned munmap", &a, &b, 0, 0, 0, 0, 0);
    report("anonymous mmap page-rounded, partial munmap (middle, head), hole, EINVAL");

    /* [m+6P, m+11P) is 5 pages: grow to 8 (may move), shrink to 2 */
    a = snap();
    char *g = mremap(m + 6 * P, 5 * P, 8 * P, MREMAP_MAYMOVE);
    b = snap();
    CHECK(g != MAP_FAILED, "mremap grow failed");
    expect_delta("mremap grow 5 -> 8 pages", &a, &b, 3 * p, 1, 1, 8 * p, 5 * p);
    a = snap();
    char *s = mremap(g, 8 * P, 2 * P, 0);
    b = snap();
    CHECK(s == g, "mremap shrink moved");
    expect_delta("mremap shrink 8 -> 2 pages", &a, &b, -6 * p, 1, 1, 2 * p, 8 * p);
    /* move onto part of a reserved anonymous range with MREMAP_FIXED: the pages it replaces go */
    a = snap();
    char *c = anon(NULL, 4 * P, 0);
    b = snap();
    expect_delta("mmap 4-page target", &a, &b, 4 * p, 1, 0, 4 * p, 0);
    a = snap();
    char *mv = mremap(s, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, c + P);
    b = snap();
    CHECK(mv == c + P, "mremap fixed returned %p, wanted %p", (void *)mv, (void *)(c + P));
    /* old 2 pages freed, new 2 pages allocated, 2 target pages replaced (freed) */
    expect_delta("mremap move onto tracked pages", &a, &b, -2 * p, 1, 2, 2 * p, 4 * p);
    a = snap();
    void *fx = anon(c, 2 * P, MAP_FIXED);
    b = snap();
    CHECK(fx == c, "MAP_FIXED anonymous failed");
    expect_delta("MAP_FIXED anonymous over tracked pages", &a, &b, 0, 1, 1, 2 * p, 2 * p);
    report("mremap grow/shrink/move (MREMAP_FIXED), MAP_FIXED replacement");

    char path[] = "/tmp/heapscope-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)(4 * P)) == 0, "temp file");
    unlink(path);
    a = snap();
    void *f = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    b = snap();
    CHECK(f != MAP_FAILED, "file mmap failed");
    expect_delta("file-backed mmap", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    void *f2 = mremap(f, 3 * P, 4 * P, MREMAP_MAYMOVE);
    b = snap();
    CHECK(f2 != MAP_FAILED, "file mremap failed");
    expect_delta("file-backed mremap", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    munmap(f2, 4 * P);
    b = snap();
    expect_delta("file-backed munmap", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    void *ff = mmap(c + 3 * P, P, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    b = snap();
    CHECK(ff == c + 3 * P, "MAP_FIXED file mapping failed");
    expect_delta("MAP_FIXED file mapping over a tracked page", &a, &b, -p, 0, 1, 0, p);
    close(fd);
    report("file-backed mmap/mremap/munmap not counted; MAP_FIXED file over anonymous frees it");

    a = snap();
    void *m64 = mmap64(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    b = snap();
    expect_delta("mmap64 anonymous", &a, &b, 2 * p, 1, 0, 2 * p, 0);
    a = snap();
    munmap(m64, 2 * P);
    b = snap();
    expect_delta("munmap mmap64", &a, &b, -2 * p, 0, 1, 0, 2 * p);
    a = snap();
    void *sh = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    b = snap();
    expect_delta("shared anonymous mmap", &a, &b, 3 * p, 1, 0, 3 * p, 0);
    a = snap();
    munmap(sh, 3 * P);
    b = snap();
    expect_delta("munmap shared anonymous", &a, &b, -3 * p, 0, 1, 0, 3 * p);
    a = snap();
    void *big = anon(NULL, vsize_max & ~(P - 1), 0);
    b = snap();
    CHECK(big == MAP_FAILED, "absurd mmap succeeded");
    expect_delta("failed mmap", &a, &b, 0, 0, 0, 0, 0);
    a = snap();
    void *dn = anon(NULL, 3 * P, 0);
    void *dm = mremap(dn, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    b = snap();
    if (dm == MAP_FAILED) { /* kernel < 5.7: only the mmap happened */
        expect_delta("mmap (no MREMAP_DONTUNMAP)", &a, &b, 3 * p, 1, 0, 3 * p, 0);
    } else {
        expect_delta("mremap MREMAP_DONTUNMAP keeps the old range", &a, &b, 6 * p, 2, 0, 6 * p, 0);
        munmap(dm, 3 * P);
    }
    munmap(dn, 3 * P);
    report("mmap64, shared anonymous, failed mmap, MREMAP_DONTUNMAP");

    /* what is left: m+P..m+5P (4 pages), c..c+3P (3 pages) */
    a = snap();
    munmap(c, 4 * P);
    b = snap();
    expect_delta("munmap across tracked and file pages", &a, &b, -3 * p, 0, 1, 0, 3 * p);
    a = snap();
    munmap(m + P, 4 * P);
    b = snap();
    expect_delta("munmap rest", &a, &b, -4 * p, 0, 1, 0, 4 * p);
    b = snap();
    CHECK(b.current_bytes == start.current_bytes, "current %llu at the end, %llu at the start",
          (unsigned long long)b.current_bytes, (unsigned long long)start.current_bytes);
    CHECK(b.allocated_bytes - start.allocated_bytes == b.freed_bytes - start.freed_bytes, "allocated != freed");
    CHECK(api_degraded() == 0, "degraded");
    report("mmap sequence returns to the starting totals");
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

void group_degraded(void)
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
    snprintf(name, sizeof name,
             "region map cannot grow (RLIMIT_AS): degraded flag after %d splits, no crash, consistent", mapped);
    report(name);
}
