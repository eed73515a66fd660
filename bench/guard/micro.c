/*
 * micro.c — the memory guard's cost per allocation (docs/guard.md), under the preloaded shim:
 *   cc -O2 -o /tmp/guard_micro bench/guard/micro.c -ldl
 *   LD_PRELOAD=shim/build/libheapscope.so HEAPSCOPE_ENABLE=1 /tmp/guard_micro [N]
 * Times N malloc(64)+free pairs with the guard off, then armed (a limit far away, a run open on this
 * thread), interleaved over 7 rounds; prints the median ns per pair of each and their ratio.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*configure_fn)(const char *, int, uint64_t, uint64_t, uint64_t);
typedef void (*flag_fn)(int);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double pairs(long n)
{
    double t0 = now();
    for (long i = 0; i < n; i++) {
        void *volatile p = malloc(64 + (i & 63));
        free(p);
    }
    return (now() - t0) / n * 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    configure_fn configure = (configure_fn)dlsym(RTLD_DEFAULT, "heapscope_guard_configure");
    flag_fn enable = (flag_fn)dlsym(RTLD_DEFAULT, "heapscope_guard_enable");
    flag_fn run = (flag_fn)dlsym(RTLD_DEFAULT, "heapscope_guard_run");
    if (!configure || !enable || !run) {
        fprintf(stderr, "the heapscope shim with a guard is not preloaded\n");
        return 2;
    }
    configure(NULL, 1 /* RSS */, 1ull << 40, 1ull << 39, 1ull << 38);
    enum { ROUNDS = 7 };
    double off[ROUNDS], on[ROUNDS];
    pairs(n / 4); /* warm-up */
    for (int r = 0; r < ROUNDS; r++) {
        enable(0);
        run(0);
        off[r] = pairs(n);
        enable(1);
        run(1);
        on[r] = pairs(n);
        run(0);
    }
    qsort(off, ROUNDS, sizeof off[0], cmp);
    qsort(on, ROUNDS, sizeof on[0], cmp);
    printf("malloc+free pairs: %ld x %d rounds; guard off %.2f ns, armed %.2f ns (median), ratio %.3f\n", n, ROUNDS,
           off[ROUNDS / 2], on[ROUNDS / 2], on[ROUNDS / 2] / off[ROUNDS / 2]);
    return 0;
}
