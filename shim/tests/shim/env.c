/*
 * env.c — test_shim groups (shim_test.h).
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

void group_env(void)
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

void group_inactive(void)
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
