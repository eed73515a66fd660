/*
 * guard.h — the memory guard: an allocation by cell code that would push the process's memory usage
 *           over the hard threshold fails (NULL / ENOMEM), so Python raises MemoryError in the cell.
 *
 * Contract
 *   heapscope_guard_configure() gives the limit, the hard and soft thresholds (bytes of usage) and
 *   how usage is read (a file holding a byte count: the cgroup's memory.current or
 *   memory.usage_in_bytes; or /proc/self/statm resident or total pages). The ticker (ticker.c) calls
 *   hs_guard_tick() at each tick: it reads the usage and the RSS, stores offset = max(0, usage - heap)
 *   (what the shim's exact heap total does not see: code, stacks, page cache charged to the cgroup),
 *   keeps the run's peaks, notes the soft threshold, and when usage is over the hard threshold while a
 *   guarded run is open, sends SIGINT to the process once per run (growth that cannot fail: page
 *   faults in memory the shim counted earlier, mappings it does not track).
 *   heapscope_guard_run(1), called by the agent on the thread that runs a cell, opens a run: that
 *   thread is cell code from now on (hs_guard_cell); threads it creates while a run is open inherit
 *   it (hooks/threads.c), no other thread has it (the kernel's I/O threads start before any run).
 *   While a run is open and the guard is on, hs_guard_refuse(n) is true for an allocation of n bytes
 *   by cell code (not inside heapscope_agent_begin/end) when heap + offset + n > hard. The hooks
 *   call it before libc's call and fail the allocation. heapscope_guard_run(0) closes the run;
 *   heapscope_guard_read() returns what happened in the last (or current) run. A run that starts with
 *   heap + offset over the hard threshold is not guarded (over_at_start): otherwise even a cell that
 *   frees memory could not run.
 *   Fork: the child starts with the guard off (hs_guard_atfork_child, from the ticker's).
 *
 * Cost
 *   Off or no run open: one relaxed atomic load per allocation. Armed: a TLS read and three relaxed
 *   loads. The ticker reads two small files per tick (20 Hz) once configured.
 *
 * Thread-safety
 *   Atomics only; configure/run/enable come from the agent (one thread at a time), refuse from any
 *   thread, tick from the ticker thread. Never allocates.
 */
#ifndef HS_GUARD_H
#define HS_GUARD_H

#include "core/hs.h"
#include "core/state.h"
#include "core/stats.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* How usage is read (heapscope_guard_configure's `kind`). */
#define HEAPSCOPE_GUARD_USAGE_FILE 0 /* a file holding a byte count */
#define HEAPSCOPE_GUARD_USAGE_RSS  1 /* /proc/self/statm, resident pages */
#define HEAPSCOPE_GUARD_USAGE_VM   2 /* /proc/self/statm, total pages */

/* What the guard saw in the last (or current) run. Bytes; 0 when unknown. */
struct heapscope_guard_info {
    uint64_t limit, hard, soft;    /* as configured */
    uint64_t usage, rss;           /* at the last tick */
    uint64_t usage_peak, rss_peak; /* highest seen by the ticker while the run was open */
    uint64_t refused;              /* allocations refused in the run */
    uint64_t refused_request;      /* the size asked for by the first refused allocation */
    uint64_t refused_usage;        /* the estimated usage it would have reached */
    uint64_t interrupted;          /* 1 when the ticker interrupted the run */
    uint64_t interrupted_usage;    /* usage when it did */
    uint64_t soft_usage;           /* usage when the run first crossed the soft threshold (0: never) */
    uint64_t ticks;                /* ticks that read the usage (0: the ticker never ran) */
    uint64_t enabled, run_open;
    uint64_t over_at_start; /* the run started over the hard threshold: not guarded */
};

HS_EXPORT int heapscope_guard_configure(const char *usage_path, int kind, uint64_t limit, uint64_t hard, uint64_t soft);
HS_EXPORT void heapscope_guard_enable(int on);
HS_EXPORT void heapscope_guard_run(int open);
HS_EXPORT void heapscope_guard_read(struct heapscope_guard_info *out);

struct hs_guard {
    _Atomic int armed; /* enabled, configured and a run open: the hooks check */
    _Atomic int64_t hard;
    _Atomic int64_t offset;
};
extern HS_HIDDEN struct hs_guard hs_guard;
extern HS_HIDDEN HS_TLS int hs_guard_cell;

/* Notes a refused allocation of n bytes that would have brought usage to est + n (out of line: rare). */
HS_HIDDEN void hs_guard_refused(size_t n, int64_t est);

/* 1 when an allocation of n bytes by this thread must fail (set errno = ENOMEM and return NULL). */
static inline int hs_guard_refuse(size_t n)
{
    if (HS_LIKELY(!atomic_load_explicit(&hs_guard.armed, memory_order_relaxed)))
        return 0;
    if (!hs_guard_cell || hs_tls.agent)
        return 0;
    int64_t est = atomic_load_explicit(&hs_counters.current, memory_order_relaxed) +
                  atomic_load_explicit(&hs_guard.offset, memory_order_relaxed);
    if (HS_LIKELY(n <= (size_t)INT64_MAX / 2 &&
                  est + (int64_t)n <= atomic_load_explicit(&hs_guard.hard, memory_order_relaxed)))
        return 0;
    hs_guard_refused(n, est);
    return 1;
}

/* For hooks/threads.c: the value a thread created now by this thread starts with, and adopting it. */
HS_HIDDEN int hs_guard_inherit(void);
HS_HIDDEN void hs_guard_adopt(int cell);
/* The ticker's: once per tick with the heap total; fork child. */
HS_HIDDEN void hs_guard_tick(int64_t heap);
HS_HIDDEN void hs_guard_atfork_child(void);

#endif
