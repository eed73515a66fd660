/*
 * history.c — group history: with HEAPSCOPE_HISTORY_RUNS=8 (run.sh), 400 runs of 200 fresh stacks each,
 *             every run but the first keeping one block alive (as IPython's history does): the slots of
 *             reclaimed stacks are reused, so the slots handed out and the stack table's memory follow
 *             the nodes that exist (the window plus the kept paths), not the session's length; a key
 *             never names another stack than its own, though its slot is reused; a run's close finds
 *             its stacks in reused slots; the kept paths (and the between-cells run) survive whole.
 */
#include "engine_test.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HISTORY    8 /* run.sh: HEAPSCOPE_HISTORY_RUNS=8 */
#define RUNS       400
#define PER_RUN    200
#define NODES_RUN  (PER_RUN + 2) /* root, the outer frame, one leaf per stack */
#define KEEP_CODE  900000
#define BETWEEN_AT 800000
#define MID_CODE   600000 /* the kept blocks' middle frame */
#define SURV(r)    (700000 + (r))
#define NODE_BYTES 64u

static uint64_t keys[RUNS][PER_RUN]; /* the stack of (run, j): leaf CODE(run * PER_RUN + j) */
static void *kept_by[RUNS];          /* run r's kept block, at [SURV(r), MID_CODE, 999] */
static uint64_t (*live_nodes)(void);
static uint64_t (*stack_key)(uint32_t);
static int (*stack_at)(uint64_t, uint32_t *, struct heapscope_frame *, int);
static uint64_t (*stack_bytes)(void);

/* The key of each of this run's stacks, from its close (all were alive at its peak); how many of them
   sit in reused slots (generation > 0). */
static int close_run(int r, int *reused)
{
    struct heapscope_cell c;
    long n = api.cell_end(&c, sites, SITES);
    int found = 0;
    for (long i = 0; i < n; i++) {
        uintptr_t code = leaf(sites[i].stack);
        if (code < CODE(r * PER_RUN) || code >= CODE((r + 1) * PER_RUN))
            continue;
        uint64_t key = stack_key(sites[i].stack);
        keys[r][(code - CODE(r * PER_RUN)) / 16] = key;
        found++;
        *reused += key >> 32 != 0;
    }
    return found;
}

static int bind_keys(void)
{
    *(void **)&live_nodes = dlsym(RTLD_DEFAULT, "heapscope_stack_live_nodes");
    *(void **)&stack_key = dlsym(RTLD_DEFAULT, "heapscope_stack_key");
    *(void **)&stack_at = dlsym(RTLD_DEFAULT, "heapscope_stack_at");
    *(void **)&stack_bytes = dlsym(RTLD_DEFAULT, "heapscope_stack_bytes");
    CHECK(live_nodes && stack_key && stack_at && stack_bytes, "heapscope_stack_{live_nodes,key,at,bytes} not exported");
    return live_nodes && stack_key && stack_at && stack_bytes;
}

/* The smallest power of two >= n. */
static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

void group_history(void)
{
    int (*resume)(uint32_t) = (int (*)(uint32_t))dlsym(RTLD_DEFAULT, "heapscope_run_resume");
    CHECK(resume != NULL, "heapscope_run_resume is not exported");
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install failed");
    if (!resume || !bind_keys()) {
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
    uint64_t live100 = 0, live400 = 0, bytes100 = 0, bytes400 = 0, over = 0;
    int missing = 0, reused_later = 0;
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
        if (r > 0) {
            at3(SURV(r), MID_CODE);
            kept_by[r] = malloc(32);
        }
        for (int j = 0; j < PER_RUN; j++)
            free(blocks[j]);
        at(-1);
        int reused = 0;
        if (close_run(r, &reused) != PER_RUN)
            missing++;
        if (r >= 4 * HISTORY)
            reused_later += reused;
        CHECK(resume(between) == 0, "resume(%u) failed", between);
        at(BETWEEN_AT); /* the between-cells run's stack is interned once, never reclaimed */
        free(malloc(100));
        at(-1);
        if (r == 99) {
            at100 = estats();
            live100 = live_nodes();
            bytes100 = stack_bytes();
        }
        if (r >= 2 * HISTORY) {
            /* the window (N runs, reclaimed every N/8 runs, here 1, one run quarantined), the
               between-cells run, the block kept since run 3 and the kept paths: 2 nodes per run plus
               each run's root and outer frame */
            uint64_t bound = (uint64_t)(HISTORY + HISTORY / 8 + 1) * (NODES_RUN + 2) + 3 + 3 + 4 * (uint64_t)r;
            uint64_t nodes = live_nodes();
            if (nodes > bound && nodes - bound > over)
                over = nodes - bound;
        }
    }
    at400 = estats();
    live400 = live_nodes();
    bytes400 = stack_bytes();
    CHECK(missing == 0, "%d runs' closes did not list all their %d stacks", missing, PER_RUN);
    CHECK(reused_later >= (RUNS - 4 * HISTORY) * PER_RUN / 2,
          "only %d stacks of the later runs sit in reused slots (their closes must find them there)", reused_later);
    CHECK(over == 0, "up to %llu stack nodes more than the window and the kept paths after the window",
          (unsigned long long)over);
    /* slots: without reuse 300 runs hand out 300 * NODES_RUN more; with it, about what the kept paths add
       (the slack: one run's nodes in quarantine, one page) */
    uint64_t grew = live400 > live100 ? live400 - live100 : 0;
    uint64_t slot_bound = at100.stack_nodes + 2 * grew + NODES_RUN + 64;
    CHECK(at400.stack_nodes <= slot_bound,
          "%llu slots handed out after 400 runs, %llu after 100 (%llu nodes more exist): bound %llu",
          (unsigned long long)at400.stack_nodes, (unsigned long long)at100.stack_nodes, (unsigned long long)grew,
          (unsigned long long)slot_bound);
    /* memory: the node pages grow with the kept nodes (64 bytes each, twice for pages that the kept
       paths share with free slots), plus the index at most doubling (4-byte slots, 70 % full) and one
       page */
    uint64_t mem_bound = bytes100 + 2 * NODE_BYTES * grew + 4 * pow2_at_least(live400 * 10 / 7 + 1) + 4096;
    CHECK(bytes400 <= mem_bound,
          "stack table %llu bytes after 400 runs, %llu after 100 (%llu nodes more exist): bound %llu",
          (unsigned long long)bytes400, (unsigned long long)bytes100, (unsigned long long)grew,
          (unsigned long long)mem_bound);
    printf("# history: live nodes %llu -> %llu, slots %llu -> %llu, stack table %llu -> %llu bytes (runs 100 -> "
           "400)\n",
           (unsigned long long)live100, (unsigned long long)live400, (unsigned long long)at100.stack_nodes,
           (unsigned long long)at400.stack_nodes, (unsigned long long)bytes100, (unsigned long long)bytes400);

    /* every key resolves to its own stack, or (reclaimed) to nothing, though its slot holds another
       stack now; the last N runs all resolve */
    int stale = 0, unknown_recent = 0, reclaimed = 0, slot_taken = 0;
    for (int r = 0; r < RUNS; r++)
        for (int j = 0; j < PER_RUN; j++) {
            if (!keys[r][j])
                continue;
            struct heapscope_frame f[4];
            uint32_t run = 0;
            int n = stack_at(keys[r][j], &run, f, 4);
            if (n < 0) {
                reclaimed++;
                if (r >= RUNS - HISTORY)
                    unknown_recent++;
                slot_taken += stack_key((uint32_t)keys[r][j]) != 0; /* the slot holds another stack now */
            } else if (n != 2 || f[0].code != CODE(r * PER_RUN + j) || f[1].code != CODE(999) ||
                       run != first_run + (uint32_t)r) {
                stale++;
            }
        }
    CHECK(stale == 0, "%d keys named another stack than their own", stale);
    CHECK(unknown_recent == 0, "%d stacks of the last %d runs were reclaimed", unknown_recent, HISTORY);
    CHECK(reclaimed >= (RUNS - 2 * HISTORY) * PER_RUN, "only %d of %d stacks reclaimed", reclaimed, RUNS * PER_RUN);
    CHECK(slot_taken >= (RUNS - 4 * HISTORY) * PER_RUN / 2,
          "only %d slots of reclaimed stacks were reused (the key check above is then too weak)", slot_taken);

    /* the kept blocks keep their stacks, whole (paths marked upwards, wherever their slots are) */
    long n = api.alive(-1, sites, SITES);
    int found = 0, kept_ok = 0;
    for (long i = 0; i < n; i++) {
        uintptr_t code = leaf(sites[i].stack);
        if (code == CODE(KEEP_CODE)) {
            found = 1;
            CHECK(sites[i].bytes >= 12345 && sites[i].run == first_run + 3, "kept site: %lld bytes, run %u",
                  (long long)sites[i].bytes, sites[i].run);
        }
        if (code >= CODE(SURV(1)) && code < CODE(SURV(RUNS))) {
            int r = (int)((code - CODE(SURV(0))) / 16);
            struct heapscope_frame f[4];
            uint32_t run = 0;
            int k = stack_at(stack_key(sites[i].stack), &run, f, 4);
            kept_ok += k == 3 && f[1].code == CODE(MID_CODE) && f[2].code == CODE(999) &&
                       run == first_run + (uint32_t)r && sites[i].run == run && sites[i].count == 1;
        }
    }
    CHECK(found, "the stack of the block kept since run 3 is gone");
    CHECK(kept_ok == RUNS - 1, "%d of %d kept paths resolve whole to their own run", kept_ok, RUNS - 1);
    /* a recent run's alive() finds its kept block (its own list of nodes) */
    n = api.alive((long)first_run + RUNS - 1, sites, SITES);
    found = 0;
    for (long i = 0; i < n; i++)
        found += leaf(sites[i].stack) == CODE(SURV(RUNS - 1));
    CHECK(found == 1, "alive(last run) lists its kept block %d times", found);

    free(kept);
    uint64_t survivor_keys[RUNS] = {0};
    n = api.alive(-1, sites, SITES);
    for (long i = 0; i < n; i++) {
        uintptr_t code = leaf(sites[i].stack);
        if (code >= CODE(SURV(1)) && code < CODE(SURV(RUNS)))
            survivor_keys[(code - CODE(SURV(0))) / 16] = stack_key(sites[i].stack);
    }
    for (int r = 1; r < RUNS; r++)
        free(kept_by[r]);
    /* freed: the next reclaims drop them (they were survivors), and their pages go back */
    uint64_t before = live_nodes(), bytes_before = stack_bytes();
    for (int r = 0; r < HISTORY + 2; r++) {
        api.cell_begin();
        api.cell_end(NULL, sites, SITES);
    }
    uint64_t after = live_nodes();
    CHECK(after + 2 * (RUNS - 1) <= before, "freeing the kept blocks reclaimed too little (%llu -> %llu nodes)",
          (unsigned long long)before, (unsigned long long)after);
    CHECK(stack_bytes() < bytes_before, "no page of the stack table was given back (%llu -> %llu bytes)",
          (unsigned long long)bytes_before, (unsigned long long)stack_bytes());
    int still = 0;
    for (int r = 1; r < RUNS; r++) {
        struct heapscope_frame f[4];
        uint32_t run;
        still += survivor_keys[r] && stack_at(survivor_keys[r], &run, f, 4) >= 0;
    }
    CHECK(still == 0, "%d freed kept stacks still resolve", still);
    /* the between-cells run was protected: allocating there again interns nothing new */
    CHECK(resume(between) == 0, "resume failed");
    before = live_nodes();
    at(BETWEEN_AT);
    free(malloc(100));
    at(-1);
    CHECK(live_nodes() == before, "the between-cells run's stack was reclaimed (%llu -> %llu nodes)",
          (unsigned long long)before, (unsigned long long)live_nodes());
    report("history: 400 runs keep the slots and the stack table's memory bounded by the window and the kept "
           "paths; keys never name another stack; closes find stacks in reused slots; kept paths survive whole");
}

/* ---- group reuse: four threads allocate and free at 5,000 x 7 stacks without the GIL while the main
   thread begins and closes runs (HEAPSCOPE_HISTORY_RUNS=64, run.sh): the slots their old runs' stacks
   leave are reused under them. At the end nothing of theirs is alive and no stack's counters went
   below zero (a free charged to a reused slot's new stack would). -------------------------------- */

#define REUSE_RUNS    400
#define REUSE_THREADS 4
#define REUSE_HELD    64

static _Atomic int reuse_stop;

static void *reuse_worker(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 2654435761u + 1;
    void *held[REUSE_HELD] = {0};
    while (!atomic_load(&reuse_stop)) {
        int k = (int)(rnd(&s) % 5000), slot = (int)(rnd(&s) % REUSE_HELD);
        at3(100000 + k, 200000 + k % 7);
        free(held[slot]);
        held[slot] = malloc(32 + (size_t)(k % 100));
        at(-1);
    }
    for (int i = 0; i < REUSE_HELD; i++)
        free(held[i]);
    return NULL;
}

void group_reuse(void)
{
    CHECK(install(HEAPSCOPE_MODE_EXACT, 65536, 65536, 0) == 0, "install failed");
    if (!bind_keys()) {
        report("reuse");
        return;
    }
    pthread_t th[REUSE_THREADS];
    api.cell_begin(); /* (run 0 holds the pseudo-sites: it is never reclaimed) */
    for (int i = 0; i < REUSE_THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, reuse_worker, (void *)(uintptr_t)(i + 1)) == 0, "pthread_create");
    uint64_t most_slots = 0;
    for (int r = 0; r < REUSE_RUNS; r++) {
        api.cell_begin();
        struct timespec ts = {0, 3000000}; /* a stall would have to span 64 + 8 runs: > 200 ms */
        nanosleep(&ts, NULL);
        api.cell_end(NULL, sites, SITES);
        if (r % 50 == 49)
            (void)api.alive(-1, sites, SITES); /* a full scan while slots are reused */
    }
    atomic_store(&reuse_stop, 1);
    for (int i = 0; i < REUSE_THREADS; i++)
        pthread_join(th[i], NULL);
    most_slots = estats().stack_nodes;
    for (int r = 0; r < 80; r++) { /* the window passes: the workers' runs are swept */
        api.cell_begin();
        api.cell_end(NULL, sites, SITES);
    }
    long n = api.alive(-1, sites, SITES);
    int negative = 0;
    int64_t theirs = 0;
    for (long i = 0; i < n; i++) {
        negative += sites[i].bytes < 0 || sites[i].count < 0;
        uintptr_t c = leaf(sites[i].stack);
        if (c >= CODE(100000) && c < CODE(105000))
            theirs += sites[i].bytes;
    }
    CHECK(negative == 0, "%d stacks' counters went below zero (a free charged to a reused slot)", negative);
    CHECK(theirs == 0, "%lld bytes still attributed to the workers' stacks after they freed everything",
          (long long)theirs);
    CHECK(!api.degraded(), "degraded: %s", api.reason() ? api.reason() : "?");
    /* reuse happened: far fewer slots than the nodes the runs made (5,000 x 8 + roots each) */
    CHECK(live_nodes() < 1000, "%llu nodes exist after the workers' runs were swept", (unsigned long long)live_nodes());
    printf("# reuse: %llu slots handed out for %d runs of 4 threads\n", (unsigned long long)most_slots, REUSE_RUNS);
    report("reuse: threads intern and free without the GIL while reclaims reuse their old runs' slots: no "
           "counter below zero, nothing left attributed");
}
