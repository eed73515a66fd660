/*
 * history.c — group history: with HEAPSCOPE_HISTORY_RUNS=8 (run.sh), 400 runs of 200 fresh stacks each
 *             leave the stack nodes and profiler memory bounded by the window, stacks that hold alive
 *             memory and the between-cells run survive, and an id of a reclaimed stack never names
 *             another stack (it is unknown, and every id handed out resolves to its own frames).
 */
#include "engine_test.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY    8 /* run.sh: HEAPSCOPE_HISTORY_RUNS=8 */
#define RUNS       400
#define PER_RUN    200
#define NODES_RUN  (PER_RUN + 2) /* root, the outer frame, one leaf per stack */
#define KEEP_CODE  900000
#define BETWEEN_AT 800000

static uint32_t ids[RUNS][PER_RUN];
static uint64_t (*live_nodes)(void); /* the stack of (run, j): leaf CODE(run * PER_RUN + j) */

/* The stack id of each of this run's allocations, from its close (all were alive at its peak). */
static void close_run(int r)
{
    struct heapscope_cell c;
    long n = api.cell_end(&c, sites, SITES);
    CHECK(n >= PER_RUN, "run %d: %ld sites at its close, expected >= %d", r, n, PER_RUN);
    for (long i = 0; i < n; i++) {
        uintptr_t code = leaf(sites[i].stack);
        if (code < CODE(r * PER_RUN) || code >= CODE((r + 1) * PER_RUN))
            continue;
        ids[r][(code - CODE(r * PER_RUN)) / 16] = sites[i].stack;
    }
}

void group_history(void)
{
    int (*resume)(uint32_t) = (int (*)(uint32_t))dlsym(RTLD_DEFAULT, "heapscope_run_resume");
    CHECK(resume != NULL, "heapscope_run_resume is not exported");
    *(void **)&live_nodes = dlsym(RTLD_DEFAULT, "heapscope_stack_live_nodes");
    CHECK(live_nodes != NULL, "heapscope_stack_live_nodes is not exported");
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install failed");
    if (!resume || !live_nodes) {
        report("history");
        return;
    }
    uint32_t between = api.cell_begin(); /* the agent's between-cells run */
    at(BETWEEN_AT);
    free(malloc(100));
    at(-1);
    void *kept = NULL;
    uint32_t first_run = 0;
    struct heapscope_engine_stats at100 = {0}, at400 = {0};
    uint64_t most_nodes_after = 0;
    for (int r = 0; r < RUNS; r++) {
        uint32_t run = api.cell_begin();
        if (!first_run)
            first_run = run;
        void *blocks[PER_RUN];
        for (int j = 0; j < PER_RUN; j++) {
            at(r * PER_RUN + j);
            blocks[j] = malloc(64 + (size_t)j);
        }
        if (r == 3) {
            at(KEEP_CODE);
            kept = malloc(12345);
        }
        for (int j = 0; j < PER_RUN; j++)
            free(blocks[j]);
        at(-1);
        close_run(r);
        CHECK(resume(between) == 0, "resume(%u) failed", between);
        at(BETWEEN_AT); /* the between-cells run's stack is interned once, never reclaimed */
        free(malloc(100));
        at(-1);
        if (r == 99)
            at100 = estats();
        if (r >= 2 * HISTORY) {
            uint64_t nodes = live_nodes();
            if (nodes > most_nodes_after)
                most_nodes_after = nodes;
        }
    }
    at400 = estats();
    /* the window (N runs, reclaimed every N/8 runs, here 1), the between-cells run and the kept stack */
    uint64_t bound = (uint64_t)(HISTORY + HISTORY / 8 + 1) * NODES_RUN + 3 + 3;
    CHECK(most_nodes_after <= bound, "up to %llu stack nodes after the window, expected <= %llu",
          (unsigned long long)most_nodes_after, (unsigned long long)bound);
    /* ids go on increasing: 400 runs made ~80,000 nodes (5 MiB); the node chunks are 1 MiB */
    CHECK(at400.profiler_bytes <= at100.profiler_bytes + (1u << 20) + (64u << 10),
          "profiler memory %llu bytes after 400 runs, %llu after 100: it grew by more than one node chunk",
          (unsigned long long)at400.profiler_bytes, (unsigned long long)at100.profiler_bytes);

    /* every id resolves to its own stack, or (reclaimed) to nothing; the last N runs all resolve */
    int stale = 0, unknown_recent = 0, reclaimed = 0;
    for (int r = 0; r < RUNS; r++)
        for (int j = 0; j < PER_RUN; j++) {
            if (!ids[r][j])
                continue;
            struct heapscope_frame f[4];
            uint32_t run = 0;
            int n = api.stack(ids[r][j], &run, f, 4);
            if (n < 0) {
                reclaimed++;
                if (r >= RUNS - HISTORY)
                    unknown_recent++;
            } else if (n != 2 || f[0].code != CODE(r * PER_RUN + j) || f[1].code != CODE(999) ||
                       run != first_run + (uint32_t)r) {
                stale++;
            }
        }
    CHECK(stale == 0, "%d ids named another stack than their own", stale);
    CHECK(unknown_recent == 0, "%d stacks of the last %d runs were reclaimed", unknown_recent, HISTORY);
    CHECK(reclaimed >= (RUNS - 2 * HISTORY) * PER_RUN, "only %d of %d stacks reclaimed", reclaimed, RUNS * PER_RUN);

    /* the block kept since run 3 keeps its stack (and its path) */
    long n = api.alive(-1, sites, SITES);
    int found = 0;
    for (long i = 0; i < n; i++)
        if (leaf(sites[i].stack) == CODE(KEEP_CODE)) {
            found = 1;
            CHECK(sites[i].bytes >= 12345 && sites[i].run == first_run + 3, "kept site: %lld bytes, run %u",
                  (long long)sites[i].bytes, sites[i].run);
        }
    CHECK(found, "the stack of the block kept since run 3 is gone");
    free(kept);
    /* freed: the next reclaims drop it (it was a survivor) */
    uint64_t before = live_nodes();
    for (int r = 0; r < HISTORY + 2; r++) {
        api.cell_begin();
        api.cell_end(NULL, sites, SITES);
    }
    uint64_t after = live_nodes();
    CHECK(after + 2 <= before, "freeing the old block reclaimed nothing (%llu -> %llu nodes)",
          (unsigned long long)before, (unsigned long long)after);
    /* the between-cells run was protected: allocating there again interns nothing new */
    CHECK(resume(between) == 0, "resume failed");
    before = live_nodes();
    at(BETWEEN_AT);
    free(malloc(100));
    at(-1);
    CHECK(live_nodes() == before, "the between-cells run's stack was reclaimed (%llu -> %llu nodes)",
          (unsigned long long)before, (unsigned long long)live_nodes());
    report("history: 400 runs keep the stack nodes and profiler memory bounded by HEAPSCOPE_HISTORY_RUNS; ids "
           "never name another stack");
}
