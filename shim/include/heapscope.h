/*
 * heapscope.h — the public C API of libheapscope.so, the preloaded allocation shim.
 *
 * Contract
 *   libheapscope.so is loaded with LD_PRELOAD by the heapscope kernel launcher. It interposes the
 *   libc allocation family (malloc, calloc, realloc, reallocarray, free, posix_memalign,
 *   aligned_alloc, memalign, valloc, pvalloc) and anonymous mmap/mmap64/munmap/mremap, and keeps
 *   exact counters of the bytes currently allocated through them ("tracked heap").
 *   Sizes are the usable size of each block (malloc_usable_size) and the page-rounded length of
 *   each anonymous mapping, so a free always subtracts exactly what its allocation added.
 *   The in-kernel agent finds these functions with dlsym(RTLD_DEFAULT, ...) (Python: ctypes.CDLL(None))
 *   and must check heapscope_abi_version() first. Nothing here is a Python symbol: the library links
 *   no libpython and works in any process.
 *
 * Thread-safety
 *   Every function below may be called from any thread at any time, including while other threads
 *   allocate. Counters are updated with atomics; a read of heapscope_get_stats() is a consistent
 *   snapshot of each field but the fields are read one after another (current <= peak always holds).
 */
#ifndef HEAPSCOPE_H
#define HEAPSCOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version of this header; bump on any incompatible change to the structs or functions.
 *  2: the glossary renames (run, ticker, alive), settings, agent memory, reconcile. */
#define HEAPSCOPE_ABI_VERSION 2

/** Counters of the tracked heap. All sizes in bytes. */
struct heapscope_stats {
    uint64_t current_bytes;   /* bytes alive now */
    uint64_t peak_bytes;      /* highest current_bytes since the last heapscope_reset_peak() */
    uint64_t allocated_bytes; /* bytes allocated since load (monotonic) */
    uint64_t freed_bytes;     /* bytes freed since load (monotonic) */
    uint64_t alloc_count;     /* allocations since load (monotonic) */
    uint64_t free_count;      /* frees since load (monotonic) */
};

/** Returns HEAPSCOPE_ABI_VERSION of the loaded library. */
int heapscope_abi_version(void);

/** Returns the library's version string (the package version it was built with). */
const char *heapscope_version(void);

/** Returns 1 when the library is counting in this process, 0 when it only forwards calls. */
int heapscope_active(void);

/** Fills *out with the current counters. */
void heapscope_get_stats(struct heapscope_stats *out);

/** Sets peak_bytes to current_bytes; returns the new peak. Used at the start of each cell. */
uint64_t heapscope_reset_peak(void);

/** Returns 1 once the shim could not grow its own bookkeeping (its map of anonymous mappings, or
 *  the engine's pointer/stack tables): from then on new anonymous mappings are not counted (totals
 *  may be low), or new allocations are not attributed (heapscope_degraded_reason() says which).
 *  The process is never harmed. Added in ABI 1 (additive; check with dlsym before calling). */
int heapscope_degraded(void);

/* ==== The engine: attribution of allocations to Python stacks ==================================
 *
 * Used by the per-Python-version bridge extension heapscope._bridge (shim/bridge/), and by the C
 * tests. Design: docs/engine.md. Words: a *run* is one execution of one cell (or a whole script);
 * the *ticker* is the native thread that reads the heap total N times a second (one reading: a
 * *tick*); *alive* means allocated and not freed yet.
 *
 * Thread-safety: every function may be called from any thread. heapscope_engine_install,
 * heapscope_cell_begin/end and heapscope_set_locator are meant for one controlling thread (the
 * bridge calls them with the GIL held); the others only read or take short internal locks.
 */

/** One frame of a stack: a code object pointer and the byte offset of the instruction in it.
 *  code < HEAPSCOPE_PSEUDO_MAX is not a pointer but a pseudo frame (HEAPSCOPE_FRAME_*). */
struct heapscope_frame {
    uintptr_t code;
    uint32_t lasti;
    uint32_t pad;
};

#define HEAPSCOPE_FRAME_ROOT      0u /* the run root: lasti = run (never returned by heapscope_stack) */
#define HEAPSCOPE_FRAME_ARENAS    1u /* "<pymalloc arenas>": arena bytes minus attributed small objects */
#define HEAPSCOPE_FRAME_NATIVE    2u /* "<native thread>": a thread without Python frames, spawner unknown */
#define HEAPSCOPE_FRAME_NOPYTHON  3u /* "<no Python frame>": a Python thread outside any frame */
#define HEAPSCOPE_FRAME_TRUNCATED 4u /* "<truncated>": the stack table could not grow (degraded) */
#define HEAPSCOPE_FRAME_FREED     5u /* "<freed code>": a code object that died before it could be pinned */
#define HEAPSCOPE_FRAME_GAP       6u /* "<frames omitted>": frames of a too deep stack were left out here */
#define HEAPSCOPE_PSEUDO_MAX      4096u

/** Locator: fills out[0..] with the calling thread's Python frames, innermost first, at most max;
 *  returns how many (0: a Python thread with no frame), or -1 when the thread has no Python thread
 *  state. A chain deeper than max keeps its innermost max - 2 frames, then a HEAPSCOPE_FRAME_GAP
 *  frame, then the cell frame (the bridge's set_cell_anchors; so the cell that allocated is never lost).
 *  memo: HEAPSCOPE_LOCATOR_MEMO bytes of per-thread memory the locator may keep between its calls (the
 *  bridge has no TLS of its own); the shim zeroes it when a new run begins.
 *  Called inside allocation hooks: it must not allocate, lock, or call the Python API. */
#define HEAPSCOPE_LOCATOR_MEMO 64
typedef int (*heapscope_locator_fn)(struct heapscope_frame *out, int max, void *memo);
/** Pin: called with a code pointer (>= HEAPSCOPE_PSEUDO_MAX) before the engine creates a stack node
 *  that refers to it, so that the object stays alive. Returns 1 when the object is pinned; 2 when it
 *  is queued to be pinned by the next drain (the calling thread does not hold the GIL, and its own
 *  frame keeps the object alive until it takes the GIL back); 0 when it can be neither: then no node
 *  is created and the stack is cut at the deepest frame already known ("<truncated>" when none is).
 *  May be called more than once for one code object. Same restrictions as the locator. */
typedef int (*heapscope_pin_fn)(uintptr_t code);
/** Drain: pins what was queued, if the calling thread holds the GIL (else does nothing). The shim
 *  calls it from every PEP 445 call (which holds the GIL) while pins are queued, with `freeing` the
 *  block about to be freed (0 for an allocation): a code object is freed through PyObject_Free, so a
 *  queued object that is not `freeing` has not been freed since it was queued and is alive. */
typedef void (*heapscope_drain_fn)(uintptr_t freeing);

#define HEAPSCOPE_MODE_DEFAULT 0 /* >= exact_threshold exact, smaller sampled (Poisson, byte-weighted) */
#define HEAPSCOPE_MODE_EXACT   1 /* every allocation in the table */

struct heapscope_config {
    int mode;                 /* HEAPSCOPE_MODE_* */
    int max_depth;            /* frames per stack, 1..HEAPSCOPE_MAX_DEPTH */
    uint64_t exact_threshold; /* default mode: allocations of at least this many bytes are exact */
    uint64_t sample_interval; /* default mode: mean bytes between samples (fixed by the first install) */
    unsigned tick_hz;         /* ticker frequency (0: do not start it) */
};
#define HEAPSCOPE_MAX_DEPTH 64

/** The settings of this process: the defaults, overridden by the environment at load time
 *  (HEAPSCOPE_MODE default|exact, HEAPSCOPE_EXACT_THRESHOLD 1..2^40, HEAPSCOPE_SAMPLE_INTERVAL
 *  1..2^30, HEAPSCOPE_MAX_DEPTH 1..64: decimal integers). A value that is not valid is ignored (the
 *  default is used) and described in heapscope_settings_errors(). */
void heapscope_settings(struct heapscope_config *out);
/** One line per rejected setting ("HEAPSCOPE_X='v' is not ...; using D"), "" when there is none. */
const char *heapscope_settings_errors(void);

/** Turns attribution on (or changes mode/threshold/depth). Returns 0, or -1 (bad arguments, or a
 *  different sample_interval than the first install: it cannot change while sampled blocks are alive). */
int heapscope_engine_install(const struct heapscope_config *cfg);
/** Memory for the bridge's own bookkeeping (its set of pinned code objects): mapped with libc's
 *  mmap, so it is not counted in the program's heap but in the engine's profiler_bytes. */
void *heapscope_profiler_map(size_t bytes);
void heapscope_profiler_unmap(void *p, size_t bytes);
/** The calling thread does the profiler's own work between begin and end (nestable): the heap blocks
 *  it allocates meanwhile are profiler memory (agent_bytes, in profiler_bytes), not the program's heap,
 *  until they are freed (by any thread). Needs the engine installed (before: no effect). */
void heapscope_agent_begin(void);
void heapscope_agent_end(void);
/** Code objects that died before they could be pinned (the drain found them freed): the nodes that
 *  refer to them read as HEAPSCOPE_FRAME_FREED from now on, and a new code object at one of those
 *  addresses gets nodes of its own. Scans every node once (called rarely, with the GIL). */
void heapscope_forget_codes(const uintptr_t *codes, size_t n);
/** Registers the locator, pin and drain callbacks (NULLs: allocations get "<no Python frame>"). */
void heapscope_set_locator(heapscope_locator_fn locator, heapscope_pin_fn pin, heapscope_drain_fn drain);

/** PEP 445: the layout of CPython's PyMemAllocatorEx (identical in 3.9-3.13). */
struct heapscope_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
};
/** Fills *hook with an allocator that records pymalloc-served blocks and forwards to *orig (copied).
 *  Returns 0, or -1 when no wrapper slot is left (64). Install *hook with PyMem_SetAllocator.
 *  While a wrapper is installed, alloc_count/free_count include the blocks pymalloc serves. */
int heapscope_pymem_wrap(const struct heapscope_allocator *orig, struct heapscope_allocator *hook);
/** Number of calls that went through any wrapper so far (to check a wrapper is still in the chain). */
uint64_t heapscope_pymem_calls(void);

/** A stack's counters. bytes/count are estimates in default mode for sampled allocations. */
struct heapscope_site {
    uint32_t stack;
    uint32_t run;
    int64_t bytes;
    int64_t count;
};

struct heapscope_cell {
    uint64_t run, start_bytes, peak_bytes, end_bytes;
    uint64_t allocated_bytes, freed_bytes, alloc_count, free_count;
};

/** Opens a new run (cell): resets the peak, returns the run id (1, 2, ...). */
uint32_t heapscope_cell_begin(void);
/** Closes the current run: fills *out and sites[] with the contribution of each of *this run's*
 *  stacks at the run's high-water mark (nonzero ones, unsorted). Costs O(stacks of this run), not of
 *  the session. Returns the number of sites, or -(needed) when cap is too small (then nothing is
 *  closed: call again with a bigger buffer). The ticker reconciles the anonymous mappings once a
 *  second (heapscope_reconcile); without a ticker, cell_end does it first. */
long heapscope_cell_end(struct heapscope_cell *out, struct heapscope_site *sites, size_t cap);
/** Makes an earlier run current again (1 <= run <= the newest): new allocations get stacks rooted at
 *  it, so the stacks it already has are reused instead of interned anew (the agent resumes one run for
 *  all the time between cells). No peak reset, no high-water-mark period: it is not a cell.
 *  Returns 0, or -1 for a run that was never begun. */
int heapscope_run_resume(uint32_t run);
/** Alive attributed memory per stack (nonzero ones); run < 0: all runs. Same return convention. */
long heapscope_alive(long run, struct heapscope_site *sites, size_t cap);
/** The heap block that starts at p, if the engine's pointer table has it (exact mode: every libc block;
 *  default mode: blocks of at least exact_threshold bytes and sampled ones): returns 1 and fills *stack
 *  (the allocating stack, 0 for profiler memory) and *bytes (its usable size, what the totals count), else
 *  0. The caller must keep the block alive meanwhile (e.g. hold the object that owns it). pymalloc blocks
 *  (exact mode's page map) are not looked up. Added for the holders scan (additive; check with dlsym). */
int heapscope_block(uintptr_t p, uint32_t *stack, uint64_t *bytes);
/** Frames of a stack, innermost first (at most cap); returns the depth or -1 for an unknown id. A stack
 *  id (heapscope_site.stack, heapscope_block) is a slot of the stack table: once the stack is reclaimed
 *  (HEAPSCOPE_HISTORY_RUNS) the slot may hold another stack. Keep keys, not ids, beyond the next
 *  cell_begin: heapscope_stack_key / heapscope_stack_at below. */
int heapscope_stack(uint32_t stack, uint32_t *run, struct heapscope_frame *out, int cap);
/** The key of the stack in slot `stack` now: generation << 32 | stack (the generation is bumped when the
 *  slot's stack is reclaimed; keys stay below 2^56), 0 when the slot holds none. A key never names another
 *  stack than the one it was read for. Added in ABI 2 (additive; check with dlsym before calling). */
uint64_t heapscope_stack_key(uint32_t stack);
/** heapscope_stack by key: -1 when the key's stack was reclaimed (its slot empty or holding another). */
int heapscope_stack_at(uint64_t key, uint32_t *run, struct heapscope_frame *out, int cap);
/** Memory of the stack table (its node pages, index and bookkeeping), part of profiler_bytes. */
uint64_t heapscope_stack_bytes(void);
/** Drops the tracked anonymous mappings that no longer exist (unmapped behind the shim's back, e.g. by
 *  a raw syscall(SYS_munmap)), found by reading /proc/self/maps; returns the bytes dropped (a free). */
uint64_t heapscope_reconcile(void);

struct heapscope_tick {
    double time;    /* unix time, seconds */
    uint64_t bytes; /* current_bytes */
};
/** Starts the ticker thread if not running (hz 1..1000). Returns 0 or -1. */
int heapscope_ticker_start(unsigned hz);
/** Copies the ticks taken since the previous call (oldest first, at most cap). */
size_t heapscope_ticks(struct heapscope_tick *out, size_t cap);

struct heapscope_engine_stats {
    int32_t installed, mode;
    uint32_t run, max_depth;
    uint64_t exact_threshold, sample_interval;
    uint64_t tracked_blocks;  /* entries in the pointer table */
    uint64_t table_bytes;     /* memory of the pointer table */
    uint64_t profiler_bytes;  /* all memory the engine mapped for itself, plus agent_bytes */
    uint64_t stack_nodes;     /* stack slots handed out (heapscope_stack_live_nodes: nodes that exist) */
    int64_t attributed_bytes; /* sum of the alive per-stack bytes */
    uint64_t collisions;      /* allocations at an address still in the table (a missed free) */
    uint64_t untracked;       /* allocations not recorded because the table could not grow */
    uint64_t ticks_taken;     /* ticker */
    int32_t ticker_running, pad;
    uint64_t agent_bytes;    /* heap blocks the agent allocated (heapscope_agent_begin), alive */
    uint64_t unmapped_bytes; /* anonymous mappings found gone by heapscope_reconcile, in total */
};
void heapscope_engine_stats(struct heapscope_engine_stats *out);
/** Stack nodes that exist now (stack_nodes above counts the slots handed out: the nodes of old runs that
 *  hold nothing are reclaimed beyond HEAPSCOPE_HISTORY_RUNS runs and their slots reused). Added in
 *  ABI 2 (additive; check with dlsym before calling). */
uint64_t heapscope_stack_live_nodes(void);
/** Why the engine is degraded (NULL when it is not). heapscope_degraded() covers it too. */
const char *heapscope_degraded_reason(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPSCOPE_H */
