/*
 * runs.c — test_engine groups (engine_test.h): what a run's close lists, reconciliation of
 *          mappings unmapped behind the hooks, the agent's own memory, settings validation.
 */
#include "engine_test.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *sym(const char *name) { return dlsym(RTLD_DEFAULT, name); }

/* ---- runs: a run's close lists its own stacks only --------------------------------------------- */

void group_runs(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install failed");
    struct heapscope_cell c;
    void *keep[64];
    api.cell_begin();
    at(1);
    for (int i = 0; i < 64; i++)
        keep[i] = malloc(1000);
    at(-1);
    long n = api.cell_end(&c, sites, SITES);
    int64_t first = 0;
    for (long i = 0; i < n; i++)
        if (leaf(sites[i].stack) == CODE(1))
            first += sites[i].bytes;
    CHECK(first >= 64 * 1000, "run 1 lists %lld bytes at CODE(1), expected >= 64000", (long long)first);
    uint32_t run2 = api.cell_begin();
    at(2);
    void *other = malloc(5000);
    at(-1);
    n = api.cell_end(&c, sites, SITES);
    int own = 0, foreign = 0;
    for (long i = 0; i < n; i++) {
        if (sites[i].run == run2)
            own++;
        else
            foreign++;
    }
    CHECK(c.run == run2, "cell_end says run %llu, expected %u", (unsigned long long)c.run, run2);
    CHECK(own >= 1 && foreign == 0,
          "run 2's close lists %d stacks of its own and %d of other runs (run 1's blocks are alive at its peak)", own,
          foreign);
    free(other);
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    report("cell_end lists only the closing run's stacks (its cost does not grow with the session)");
}

/* ---- resume: one run for the time between cells interns its stacks once --------------------------- */

void group_resume(void)
{
    int (*resume)(uint32_t) = (int (*)(uint32_t))sym("heapscope_run_resume");
    CHECK(resume != NULL, "heapscope_run_resume is not exported");
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install failed");
    struct heapscope_cell c;
    uint32_t between = 0;
    uint64_t nodes_after_first = 0;
    for (int cell = 0; cell < 50 && resume; cell++) {
        uint32_t run = api.cell_begin();
        at(40);
        free(malloc(100));
        at(-1);
        api.cell_end(&c, sites, SITES);
        if (!between)
            between = api.cell_begin(); /* the first time: a new run for the time between cells */
        else
            CHECK(resume(between) == 0, "resume(%u) failed", between);
        for (int k = 0; k < 20; k++) { /* the kernel's machinery between cells: 20 distinct stacks */
            at(50 + k);
            free(malloc(100));
        }
        at(-1);
        if (cell == 0)
            nodes_after_first = estats().stack_nodes;
        CHECK(estats().run == between, "the current run is %u, not the resumed %u", estats().run, between);
        CHECK(run != between, "cell_begin handed out the resumed run's id %u", run);
    }
    uint64_t nodes = estats().stack_nodes;
    /* 49 more cells: each adds its own run root and cell stack (a few nodes), the between-cells stacks
       are not interned again (20 stacks x 3 nodes each would be ~60 per cell) */
    CHECK(nodes - nodes_after_first <= 49 * 5, "%llu stack nodes added over 49 cells",
          (unsigned long long)(nodes - nodes_after_first));
    CHECK(resume && resume(between + 1000) == -1, "resume of a run never begun succeeded");
    report("heapscope_run_resume: the time between cells is one run, its stacks interned once per session");
}

/* ---- reconcile: a raw munmap leaves no phantom heap ---------------------------------------------- */

void group_reconcile(void)
{
    uint64_t (*reconcile)(void) = (uint64_t(*)(void))sym("heapscope_reconcile");
    int (*heapscope_ticker_start_fn)(unsigned) = (int (*)(unsigned))sym("heapscope_ticker_start");
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install failed");
    size_t len = 64u << 20;
    struct heapscope_stats a, b, c;
    at(3);
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    at(-1);
    api.get_stats(&a);
    syscall(SYS_munmap, m, len); /* behind the hooks' back */
    api.cell_begin();
    api.cell_end(NULL, sites, SITES); /* reconciles */
    api.get_stats(&b);
    int64_t drop = (int64_t)a.current_bytes - (int64_t)b.current_bytes;
    CHECK(drop >= (int64_t)len && drop < (int64_t)len + (4 << 20),
          "after a raw munmap of 64 MiB and cell_end, current fell by %lld bytes", (long long)drop);
    int64_t bytes, count;
    alive_of(3, 4, &bytes, &count);
    CHECK(bytes == 0, "the mapping's stack still holds %lld bytes", (long long)bytes);
    /* part of a mapping, found by heapscope_reconcile directly */
    at(4);
    m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    at(-1);
    syscall(SYS_munmap, m + len / 2, len / 4);
    uint64_t got = reconcile ? reconcile() : 0;
    CHECK(reconcile != NULL, "heapscope_reconcile is not exported");
    CHECK(got == len / 4, "heapscope_reconcile dropped %llu bytes, expected %zu", (unsigned long long)got, len / 4);
    alive_of(4, 5, &bytes, &count);
    CHECK(bytes == (int64_t)(len - len / 4), "the mapping's stack holds %lld bytes, expected %zu", (long long)bytes,
          len - len / 4);
    munmap(m, len / 2);
    munmap(m + len / 2 + len / 4, len / 4);
    api.get_stats(&c);
    CHECK(c.current_bytes <= b.current_bytes + (4u << 20), "current %llu after unmapping the rest, %llu before",
          (unsigned long long)c.current_bytes, (unsigned long long)b.current_bytes);
    /* the ticker finds one too, within a second or two, with no API call. It is started first: its thread's
       stack, mapped by glibc behind the hooks, could otherwise land in the hole the raw munmap leaves, and
       the part it covers would read as still mapped */
    if (heapscope_ticker_start_fn)
        heapscope_ticker_start_fn(50);
    at(5);
    m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    at(-1);
    api.get_stats(&a);
    syscall(SYS_munmap, m, len);
    int ticker = 0;
    if (heapscope_ticker_start_fn) {
        for (int i = 0; i < 40 && !ticker; i++) {
            usleep(100000);
            api.get_stats(&b);
            ticker = a.current_bytes - b.current_bytes >= len;
        }
    }
    CHECK(ticker, "the ticker did not drop a mapping unmapped by a raw syscall within 4 s");
    report("an anonymous mapping unmapped by a raw syscall is dropped at the next cell end, or by the ticker "
           "(no phantom heap)");
}

/* ---- agent: the agent's blocks are profiler memory --------------------------------------------- */

static void *freer(void *p)
{
    free(p);
    return NULL;
}

void group_agent(void)
{
    void (*begin)(void) = (void (*)(void))sym("heapscope_agent_begin");
    void (*end)(void) = (void (*)(void))sym("heapscope_agent_end");
    CHECK(begin && end, "heapscope_agent_begin/end are not exported");
    if (!begin || !end) {
        report("blocks allocated between heapscope_agent_begin and end are profiler memory, not the heap");
        return;
    }
    for (int mode = 0; mode < 2; mode++) {
        CHECK(install(mode, 65536, 65536, 0) == 0, "install failed");
        struct heapscope_stats a, b, c;
        struct heapscope_engine_stats ea = estats(), eb, ec;
        api.get_stats(&a);
        begin();
        void *small[100];
        for (int i = 0; i < 100; i++)
            small[i] = malloc(100);
        void *big = malloc(1 << 20);
        big = realloc(big, 2 << 20);
        end();
        size_t agent = malloc_usable_size(big);
        for (int i = 0; i < 100; i++)
            agent += malloc_usable_size(small[i]);
        api.get_stats(&b);
        eb = estats();
        CHECK(b.current_bytes == a.current_bytes, "mode %d: current moved by %lld while the agent allocated", mode,
              (long long)(b.current_bytes - a.current_bytes));
        CHECK(eb.agent_bytes - ea.agent_bytes == agent, "mode %d: agent_bytes +%llu, expected +%zu", mode,
              (unsigned long long)(eb.agent_bytes - ea.agent_bytes), agent);
        CHECK(eb.profiler_bytes >= ea.profiler_bytes + agent, "mode %d: profiler_bytes does not include them", mode);
        pthread_t t;
        pthread_create(&t, NULL, freer, big); /* freed by another thread, outside the flag */
        pthread_join(t, NULL);
        for (int i = 0; i < 100; i++)
            free(small[i]);
        api.get_stats(&c);
        ec = estats();
        CHECK(c.current_bytes <= a.current_bytes + 4096, "mode %d: freeing the agent's blocks moved current by %lld",
              mode, (long long)(c.current_bytes - a.current_bytes));
        CHECK(ec.agent_bytes == ea.agent_bytes, "mode %d: agent_bytes %llu after the frees, expected %llu", mode,
              (unsigned long long)ec.agent_bytes, (unsigned long long)ea.agent_bytes);
    }
    report("blocks allocated between heapscope_agent_begin and end are profiler memory, not the heap");
}

/* ---- settings: bad HEAPSCOPE_* values are rejected with a message --------------------------------- */

void group_settings(void)
{
    void (*settings)(struct heapscope_config *) = (void (*)(struct heapscope_config *))sym("heapscope_settings");
    const char *(*errors)(void) = (const char *(*)(void))sym("heapscope_settings_errors");
    CHECK(settings && errors, "heapscope_settings/heapscope_settings_errors are not exported");
    if (settings && errors) {
        struct heapscope_config c;
        settings(&c);
        const char *e = errors();
        /* run.sh sets SAMPLE_INTERVAL=-1, EXACT_THRESHOLD=-1, MAX_DEPTH=0, MODE=fast, HISTORY_RUNS=0; a good
           one must stay */
        CHECK(c.sample_interval == 65536 && c.exact_threshold == 65536 && c.max_depth == 32 &&
                  c.mode == HEAPSCOPE_MODE_DEFAULT,
              "settings interval %llu threshold %llu depth %d mode %d: expected the defaults",
              (unsigned long long)c.sample_interval, (unsigned long long)c.exact_threshold, c.max_depth, c.mode);
        CHECK(strstr(e, "HEAPSCOPE_SAMPLE_INTERVAL='-1'") && strstr(e, "HEAPSCOPE_EXACT_THRESHOLD='-1'") &&
                  strstr(e, "HEAPSCOPE_MAX_DEPTH='0'") && strstr(e, "HEAPSCOPE_MODE='fast'") &&
                  strstr(e, "HEAPSCOPE_HISTORY_RUNS='0' is not an integer in 1..1000; using 100") &&
                  strstr(e, "using 65536"),
              "errors: %s", e);
    }
    report("bad HEAPSCOPE_* settings: the default is used and a message says which and why");
}
