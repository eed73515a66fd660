/*
 * common.c — test_engine's shared helpers (engine_test.h).
 */
#include "engine_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
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

struct engine_api api;

size_t P;
static __thread struct heapscope_frame tframes[4];
static __thread int tn = -1;

int fake_locator(struct heapscope_frame *out, int max, void *memo)
{
    (void)memo;
    if (tn < 0)
        return -1;
    int n = tn < max ? tn : max;
    memcpy(out, tframes, (size_t)n * sizeof *out);
    return n;
}

int fake_pin(uintptr_t code)
{
    (void)code;
    return 1;
}

void at(int k)
{
    if (k < 0) {
        tn = -1;
        return;
    }
    tframes[0] = (struct heapscope_frame){.code = CODE(k), .lasti = 2};
    tframes[1] = (struct heapscope_frame){.code = CODE(999), .lasti = 4};
    tn = 2;
}

void at3(int k, int mid)
{
    tframes[0] = (struct heapscope_frame){.code = CODE(k), .lasti = 2};
    tframes[1] = (struct heapscope_frame){.code = CODE(mid), .lasti = 6};
    tframes[2] = (struct heapscope_frame){.code = CODE(999), .lasti = 4};
    tn = 3;
}

int bind(void)
{
#define B(f, n) *(void **)&api.f = dlsym(RTLD_DEFAULT, n)
    B(install, "heapscope_engine_install");
    B(set_locator, "heapscope_set_locator");
    B(cell_begin, "heapscope_cell_begin");
    B(cell_end, "heapscope_cell_end");
    B(alive, "heapscope_alive");
    B(stack, "heapscope_stack");
    B(ticks, "heapscope_ticks");
    B(estats, "heapscope_engine_stats");
    B(reason, "heapscope_degraded_reason");
    B(degraded, "heapscope_degraded");
    B(get_stats, "heapscope_get_stats");
#undef B
    /* the names before the glossary renames (ABI 1): the tests can then run against an older build */
    if (!api.alive)
        *(void **)&api.alive = dlsym(RTLD_DEFAULT, "heapscope_live");
    if (!api.ticks)
        *(void **)&api.ticks = dlsym(RTLD_DEFAULT, "heapscope_samples");
    return api.install && api.set_locator && api.cell_begin && api.cell_end && api.alive && api.stack && api.ticks &&
           api.estats && api.reason && api.degraded && api.get_stats;
}

int install(int mode, uint64_t threshold, uint64_t interval, unsigned hz)
{
    struct heapscope_config c = {
        .mode = mode, .max_depth = 32, .exact_threshold = threshold, .sample_interval = interval, .tick_hz = hz};
    api.set_locator(fake_locator, fake_pin, NULL);
    return api.install(&c);
}

struct heapscope_engine_stats estats(void)
{
    struct heapscope_engine_stats e;
    api.estats(&e);
    return e;
}

struct heapscope_site sites[SITES];

uintptr_t leaf(uint32_t id)
{
    struct heapscope_frame f[4];
    uint32_t ep;
    int n = api.stack(id, &ep, f, 4);
    return n > 0 ? f[0].code : 0;
}

void alive_of(int k0, int k1, int64_t *bytes, int64_t *count)
{
    long n = api.alive(-1, sites, SITES);
    *bytes = *count = 0;
    for (long i = 0; i < n; i++) {
        uintptr_t c = leaf(sites[i].stack);
        if (c >= CODE(k0) && c < CODE(k1)) {
            *bytes += sites[i].bytes;
            *count += sites[i].count;
        }
    }
}

uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
