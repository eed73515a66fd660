/*
 * test_units.c — unit tests of pure parts, compiled straight from their sources (not preloaded):
 *   core/boot.c      the bootstrap arena (alignment, zero fill, ownership, usable size, exhaustion);
 *   core/env.c       the LD_PRELOAD editing (only our own entry goes, by name or by inode);
 *   core/settings.c  the validation of HEAPSCOPE_* integers (signs, units, overflow, ranges).
 *   test_units SELF_LIB    SELF_LIB: path of the built libheapscope.so (for the inode case)
 */
#include "core/boot.h"
#include "core/env.h"
#include "core/settings.h"

#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_boot(void)
{
    unsigned char *a = hs_boot_alloc(100, 0), *b = hs_boot_alloc(1, 4096), *c = hs_boot_alloc(33, 64);
    CHECK(a && b && c, "allocation failed");
    CHECK(((uintptr_t)a % 16) == 0 && ((uintptr_t)b % 4096) == 0 && ((uintptr_t)c % 64) == 0, "misaligned");
    CHECK(hs_boot_owns(a) && hs_boot_owns(b) && hs_boot_owns(c + 32), "not owned");
    CHECK(hs_boot_usable(a) == 100 && hs_boot_usable(b) == 1 && hs_boot_usable(c) == 33, "usable sizes");
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= a[i] == 0;
    CHECK(zero, "not zero-filled");
    memset(a, 0xAB, 100);
    CHECK(b[0] == 0 && c[0] == 0, "blocks overlap");
    int on_stack = 0;
    void *heap = malloc(16);
    CHECK(!hs_boot_owns(&on_stack) && !hs_boot_owns(heap) && !hs_boot_owns(NULL), "foreign pointer owned");
    CHECK(hs_boot_usable(heap) == 0, "usable of a foreign pointer");
    free(heap);
    CHECK(hs_boot_alloc(8, 3) == NULL, "alignment 3 accepted");
    size_t got = 0;
    void *p;
    while ((p = hs_boot_alloc(1000, 0)) != NULL)
        got += 1000;
    CHECK(got > 50000 && got < HS_BOOT_ARENA_SIZE, "arena gave %zu bytes", got);
    CHECK(hs_boot_alloc(HS_BOOT_ARENA_SIZE + 1, 0) == NULL, "oversized request served");
    report("boot arena: aligned, zero-filled, owned, usable size, exhaustion returns NULL");
}

static void strip_case(const char *in, const char *self, const char *want, int want_removed)
{
    char out[1024];
    int removed;
    size_t n = hs_env_strip_preload(in, self, out, sizeof out, &removed);
    CHECK(strcmp(out, want) == 0 && n == strlen(want) && removed == want_removed,
          "'%s' -> '%s' (removed %d), expected '%s' (removed %d)", in, out, removed, want, want_removed);
}

static void test_env(const char *self)
{
    strip_case("/opt/x/libheapscope.so", "/opt/x/libheapscope.so", "", 1);
    strip_case("/usr/lib/libjemalloc.so.2:/opt/x/libheapscope.so", "/opt/x/libheapscope.so",
               "/usr/lib/libjemalloc.so.2", 1);
    strip_case("/opt/x/libheapscope.so /usr/lib/a.so  /usr/lib/b.so", "/opt/x/libheapscope.so",
               "/usr/lib/a.so:/usr/lib/b.so", 1);
    strip_case("libheapscope.so", "/somewhere/else/libheapscope.so", "", 1);
    strip_case("::/a.so::/y/libheapscope.so::", "/x/libheapscope.so", "/a.so", 1);
    strip_case("/x/libheapscope.so.bak:/x/mylibheapscope.so", "/x/libheapscope.so",
               "/x/libheapscope.so.bak:/x/mylibheapscope.so", 0);
    strip_case("", "/x/libheapscope.so", "", 0);
    /* a differently named link to the same file is ours too (matched by inode) */
    char link[] = "/tmp/hs-units-XXXXXX";
    int fd = mkstemp(link);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    unlink(link);
    CHECK(symlink(self, link) == 0, "symlink %s", self);
    char in[512];
    snprintf(in, sizeof in, "/usr/lib/a.so:%s", link);
    strip_case(in, self, "/usr/lib/a.so", 1);
    unlink(link);
    report("LD_PRELOAD editing: own entry removed by name or inode, others kept in order");
}

static void test_settings(void)
{
    char err[512] = "";
    uint64_t v = 7;
    CHECK(hs_settings_parse_u64("X", NULL, 1, 100, &v, err, sizeof err) && v == 7, "unset changed the value");
    CHECK(hs_settings_parse_u64("X", "  ", 1, 100, &v, err, sizeof err) && v == 7, "blank changed the value");
    CHECK(hs_settings_parse_u64("X", " 42 ", 1, 100, &v, err, sizeof err) && v == 42, "' 42 ' gave %llu",
          (unsigned long long)v);
    CHECK(!err[0], "a good value wrote an error: %s", err);
    const char *bad[] = {"-1", "+5", "0", "101", "4k", "1e3", "18446744073709551615", "99999999999999999999999", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 42;
        err[0] = '\0';
        CHECK(!hs_settings_parse_u64("HEAPSCOPE_X", bad[i], 1, 100, &v, err, sizeof err) && v == 42,
              "%s accepted (value %llu)", bad[i], (unsigned long long)v);
        CHECK(strstr(err, "HEAPSCOPE_X='") && strstr(err, "is not an integer in 1..100; using 42"), "%s: message %s",
              bad[i], err);
    }
    report("settings: a bad integer (sign, unit, overflow, out of range) is rejected, the default kept, one line says "
           "why");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_boot();
    test_env(argc > 1 ? argv[1] : "build/libheapscope.so");
    test_settings();
    printf("# end\n");
    return check_total_failed ? 1 : 0;
}
