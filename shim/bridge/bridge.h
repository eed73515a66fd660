/*
 * bridge.h — heapscope._bridge, the per-Python-version half of the engine (docs/engine.md): what
 *            its files share. Files by job: compat.h (per-version frame access), shim_api.c (the
 *            shim's C API, bound at import), frames.c (the locator), pins.c (code pinning and the
 *            PEP 445 wrappers), module.c (the Python API), reads.c (its reading functions: sites,
 *            stacks, ticks, blocks).
 *
 * Contract
 *   Built once per CPython minor version (3.9-3.13) from that version's own headers with
 *   Py_BUILD_CORE_MODULE, named with its EXT_SUFFIX, so one wheel carries all of them. It links no
 *   shim symbol: the shim's API is found with dlsym(RTLD_DEFAULT) at import; when the shim is not
 *   preloaded (or not counting) the module still imports, ACTIVE is False and install() raises.
 *   It provides:
 *   - the locator: reads the *allocating thread's own* frame chain (tstate->frame <= 3.10,
 *     tstate->cframe->current_frame 3.11-3.12, tstate->current_frame 3.13), skipping incomplete and
 *     C-stack shim frames, up to max_depth frames, as (code pointer, byte offset of the
 *     instruction). A deeper chain keeps its innermost max_depth - 2 frames, a "<frames omitted>"
 *     frame and the cell frame (the frame just inside the innermost cell anchor, see
 *     set_cell_anchors(), or else the outermost frame), so a deep stack never loses its cell. It takes no lock, needs no GIL (only the owning thread changes its frame chain),
 *     allocates nothing and calls no Python API; the thread state comes from
 *     PyGILState_GetThisThreadState() (a pthread TLS read), which also works with the GIL released.
 *   - pinning: the shim reports each code object before a new stack node refers to it; it is
 *     Py_INCREF'ed at once when this thread holds the GIL (its tstate is the current one), otherwise
 *     queued (the thread's own executing frame keeps it alive meanwhile) and pinned by the next
 *     drain. The shim drains from every PEP 445 call while pins wait (at hook depth 0, before the
 *     call is forwarded), naming the block a free is about to release; API calls drain too. Code
 *     objects are freed through PyObject_Free, which passes our wrapper (installed before the engine
 *     is on), so a queued code that is not that block and whose deallocation has not begun
 *     (reference count > 0) is alive and is pinned. When our wrapper may have been out of the chain
 *     (another tool swapped the OBJ allocator; check_chain), frees may have gone unseen and that
 *     drain pins only codes still on some thread's frame chain. A code that cannot be proven alive
 *     is never touched (Py_INCREF on it would write into a freed block): it is counted in
 *     stats()["unpinned_codes"] and the shim forgets it (heapscope_forget_codes). Every pinned code
 *     is entered in a set; reading a stack dereferences a code pointer *only if it is in that set*
 *     (a pinned code is immortal, so its address is never reused); any other reads "<freed code>".
 *     The queue holds 65536 entries over the process lifetime; beyond that the pin is refused and
 *     the shim cuts such stacks at the deepest frame already known.
 *   - PEP 445 wrappers on the MEM and OBJ domains (the shim's heapscope_pymem_wrap), installed with
 *     the GIL, and re-checked at every API call with a test allocation: if another tool replaced the
 *     allocator and ours is no longer reached (tracemalloc.start() before us, then stop()), the
 *     current allocator is wrapped again; if ours is still in the chain (tracemalloc started after
 *     us), nothing changes: both coexist.
 *   - line resolution when read (stack()), never in a hook: PyCode_Addr2Line with the GIL, on pinned
 *     code, cached by (code, offset).
 *   - the Python API of docs/engine.md.
 *
 * Thread-safety
 *   Python functions run with the GIL; the locator and pin callbacks run in any thread inside
 *   allocation hooks. The pin queue is a lock-free append-only array; the pinned set is written and
 *   read with the GIL only.
 */
#ifndef HS_BRIDGE_H
#define HS_BRIDGE_H

#include "compat.h"
#include "heapscope.h"

#include <stddef.h>
#include <stdint.h>

/* The shim's API (shim_api.c), found with dlsym(RTLD_DEFAULT) at import: the bridge links no shim
   symbol. hs_api_ok is 1 when every function was found and the shim counts. */
struct hs_shim_api {
    int (*active)(void);
    void (*get_stats)(struct heapscope_stats *);
    int (*degraded)(void);
    int (*install)(const struct heapscope_config *);
    void (*settings)(struct heapscope_config *);
    const char *(*settings_errors)(void);
    void (*set_locator)(heapscope_locator_fn, heapscope_pin_fn, heapscope_drain_fn);
    void (*forget_codes)(const uintptr_t *, size_t);
    void *(*profiler_map)(size_t);
    void (*profiler_unmap)(void *, size_t);
    void (*agent_begin)(void);
    void (*agent_end)(void);
    int (*pymem_wrap)(const struct heapscope_allocator *, struct heapscope_allocator *);
    uint64_t (*pymem_calls)(void);
    uint32_t (*cell_begin)(void);
    long (*cell_end)(struct heapscope_cell *, struct heapscope_site *, size_t);
    long (*alive)(long, struct heapscope_site *, size_t);
    int (*stack)(uint32_t, uint32_t *, struct heapscope_frame *, int);
    uint64_t (*reconcile)(void);
    int (*run_resume)(uint32_t);
    size_t (*ticks)(struct heapscope_tick *, size_t);
    void (*engine_stats)(struct heapscope_engine_stats *);
    const char *(*degraded_reason)(void);
    uint64_t (*live_nodes)(void);                    /* optional (NULL when the shim is older) */
    int (*block)(uintptr_t, uint32_t *, uint64_t *); /* optional (NULL with an older shim) */
    /* optional (NULL with an older shim, whose ids are never reused): stack keys, see heapscope.h */
    uint64_t (*stack_key)(uint32_t);
    int (*stack_at)(uint64_t, uint32_t *, struct heapscope_frame *, int);
    uint64_t (*stack_bytes)(void);
};
extern struct hs_shim_api hs_api;
extern int hs_api_ok;
/* The key Python sees for stack id `id` (generation << 32 | id; the id itself with an older shim). */
static inline unsigned long long hs_key_of(uint32_t id)
{
    return hs_api.stack_key ? (unsigned long long)hs_api.stack_key(id) : id;
}
int hs_bind_api(void);

/* frames.c: the locator (heapscope_locator_fn), the cell anchors, and a plain walk. */
int hs_locator(struct heapscope_frame *out, int max, void *memo);
/* Code objects whose frames run a cell: the frame just inside the innermost of them is the cell
   frame a stack deeper than max_depth keeps (at most HS_ANCHORS; the bridge holds a reference). */
#define HS_ANCHORS 8
int hs_set_anchors(PyObject *codes);
/* With the GIL: 1 when code is executing in some thread's frame chain. */
int hs_on_some_frame(uintptr_t code);

/* pins.c: pinning (heapscope_pin_fn / heapscope_drain_fn) and the PEP 445 wrappers. */
int hs_pin(uintptr_t code);
void hs_drain_now(uintptr_t freeing);
void hs_drain(uintptr_t freeing);
int hs_is_pinned(uintptr_t code);
uint64_t hs_unpinned_codes(void);
/* Wraps both domains the first time (-1: no slot left); later calls re-wrap a domain whose wrapper
   is no longer reached. */
int hs_wrap_all(void);
void hs_ensure_wrapped(void);

/* module.c: the entry checks of the Python API. hs_require: -1 with RuntimeError set when the shim is
   not preloaded and counting; hs_enter: the same, then drains the pin queue (the reading functions). */
int hs_require(void);
int hs_enter(void);

/* reads.c: the reading functions of the Python API (module.c's method table names them). */
int hs_reads_init(void); /* at import: the resolve cache (-1 with an exception set) */
PyObject *py_cell_end(PyObject *self, PyObject *unused);
PyObject *py_alive(PyObject *self, PyObject *args, PyObject *kw);
PyObject *py_stack(PyObject *self, PyObject *arg);
PyObject *py_ticks(PyObject *self, PyObject *unused);
PyObject *py_blocks(PyObject *self, PyObject *arg);

/* walk.c: the holders scan's graph walk (issue 13); needs no shim. */
PyObject *py_holders_walk(PyObject *self, PyObject *args);

/* bindings.c: the names a cell bound or rebound (holders' Bindings); needs no shim. */
PyObject *py_bindings_changed(PyObject *self, PyObject *args);

#endif
