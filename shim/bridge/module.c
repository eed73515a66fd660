/*
 * _bridge.c — heapscope._bridge, the per-Python-version half of the engine (docs/engine.md).
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
 *     instruction). It takes no lock, needs no GIL (only the owning thread changes its frame chain),
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
#define PY_SSIZE_T_CLEAN
#ifndef Py_BUILD_CORE_MODULE
#define Py_BUILD_CORE_MODULE
#endif
#include <Python.h>
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#else
#include <frameobject.h>
#endif
#include "heapscope.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if PY_VERSION_HEX < 0x03090000 || PY_VERSION_HEX >= 0x030E0000
#error "heapscope._bridge supports CPython 3.9 to 3.13"
#endif

/* ---- the shim's API, found at import ----------------------------------------------------------- */

static struct {
    int (*active)(void);
    void (*get_stats)(struct heapscope_stats *);
    int (*degraded)(void);
    int (*install)(const struct heapscope_config *);
    void (*set_locator)(heapscope_locator_fn, heapscope_pin_fn, heapscope_drain_fn);
    void (*forget_codes)(const uintptr_t *, size_t);
    void *(*profiler_map)(size_t);
    void (*profiler_unmap)(void *, size_t);
    int (*pymem_wrap)(const struct heapscope_allocator *, struct heapscope_allocator *);
    uint64_t (*pymem_calls)(void);
    uint32_t (*cell_begin)(void);
    long (*cell_end)(struct heapscope_cell *, struct heapscope_site *, size_t);
    long (*live)(long, struct heapscope_site *, size_t);
    int (*stack)(uint32_t, uint32_t *, struct heapscope_frame *, int);
    size_t (*samples)(struct heapscope_sample *, size_t);
    void (*engine_stats)(struct heapscope_engine_stats *);
    const char *(*degraded_reason)(void);
} api;
static int api_ok;

#define BIND(field, name)                                                                          \
    do {                                                                                           \
        void *s_ = dlsym(RTLD_DEFAULT, name);                                                      \
        if (!s_)                                                                                   \
            return 0;                                                                              \
        memcpy(&api.field, &s_, sizeof s_);                                                        \
    } while (0)

static int bind_api(void)
{
    BIND(active, "heapscope_active");
    BIND(get_stats, "heapscope_get_stats");
    BIND(degraded, "heapscope_degraded");
    BIND(install, "heapscope_engine_install");
    BIND(set_locator, "heapscope_set_locator");
    BIND(forget_codes, "heapscope_forget_codes");
    BIND(profiler_map, "heapscope_profiler_map");
    BIND(profiler_unmap, "heapscope_profiler_unmap");
    BIND(pymem_wrap, "heapscope_pymem_wrap");
    BIND(pymem_calls, "heapscope_pymem_calls");
    BIND(cell_begin, "heapscope_cell_begin");
    BIND(cell_end, "heapscope_cell_end");
    BIND(live, "heapscope_live");
    BIND(stack, "heapscope_stack");
    BIND(samples, "heapscope_samples");
    BIND(engine_stats, "heapscope_engine_stats");
    BIND(degraded_reason, "heapscope_degraded_reason");
    return api.active() == 1;
}

/* ---- locator ------------------------------------------------------------------------------------ */

/* The frames of ts, innermost first (at most max). */
static int frames_of(PyThreadState *ts, struct heapscope_frame *out, int max)
{
    int n = 0;
#if PY_VERSION_HEX < 0x030B0000
    for (PyFrameObject *f = ts->frame; f && n < max; f = f->f_back) {
        int lasti = f->f_lasti;
#if PY_VERSION_HEX >= 0x030A0000
        lasti *= (int)sizeof(_Py_CODEUNIT); /* 3.10 counts code units */
#endif
        out[n].code = (uintptr_t)f->f_code;
        out[n].lasti = lasti < 0 ? 0u : (uint32_t)lasti;
        n++;
    }
#else
#if PY_VERSION_HEX < 0x030D0000
    _PyInterpreterFrame *f = ts->cframe ? ts->cframe->current_frame : NULL;
#else
    _PyInterpreterFrame *f = ts->current_frame;
#endif
    for (; f && n < max; f = f->previous) {
#if PY_VERSION_HEX >= 0x030C0000
        if (f->owner == FRAME_OWNED_BY_CSTACK)
            continue;
#endif
#if PY_VERSION_HEX >= 0x030D0000
        if (!f->f_executable || !PyCode_Check(f->f_executable))
            continue;
#endif
        if (_PyFrame_IsIncomplete(f))
            continue;
#if PY_VERSION_HEX >= 0x030D0000
        PyCodeObject *co = (PyCodeObject *)f->f_executable;
#else
        PyCodeObject *co = f->f_code;
#endif
        int lasti = _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
        out[n].code = (uintptr_t)co;
        out[n].lasti = lasti < 0 ? 0u : (uint32_t)lasti;
        n++;
    }
#endif
    return n;
}

static int locator(struct heapscope_frame *out, int max)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (!ts)
        return -1;
    return frames_of(ts, out, max);
}

/* ---- pinning ------------------------------------------------------------------------------------ */

#define PEND_CAP 65536u
static _Atomic uintptr_t pending[PEND_CAP];
static _Atomic unsigned pend_head;
static unsigned pend_done;
static _Atomic uint64_t pend_dropped; /* codes seen without the GIL that could not be pinned */

static int gil_held_here(void)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    return ts && ts == _PyThreadState_UncheckedGet();
}

/* The set of pinned codes: open addressing over an anonymous mapping (no allocator call: pin() runs
   inside allocation hooks), grown at half load. With the GIL only. */
static uintptr_t *pin_slots;
static size_t pin_cap; /* a power of two, or 0 */
static uint64_t pinned;

static size_t pin_slot(const uintptr_t *slots, size_t cap, uintptr_t code)
{
    size_t i = (size_t)((code >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
    while (slots[i] && slots[i] != code)
        i = (i + 1) & (cap - 1);
    return i;
}

static int is_pinned(uintptr_t code)
{
    return pin_cap && pin_slots[pin_slot(pin_slots, pin_cap, code)] == code;
}

/* Pins a code known to be alive; 0 on success, -1 when the set cannot grow (not pinned). */
static int pin_alive(uintptr_t code)
{
    if ((pinned + 1) * 2 > pin_cap) {
        size_t cap = pin_cap ? pin_cap * 2 : 4096;
        /* the profiler's own memory: not the program's heap (an API call from the live thread may
           grow it while a cell runs) */
        uintptr_t *slots = api.profiler_map(cap * sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < pin_cap; i++)
            if (pin_slots[i])
                slots[pin_slot(slots, cap, pin_slots[i])] = pin_slots[i];
        if (pin_slots)
            api.profiler_unmap(pin_slots, pin_cap * sizeof *pin_slots);
        pin_slots = slots;
        pin_cap = cap;
    }
    size_t i = pin_slot(pin_slots, pin_cap, code);
    if (pin_slots[i])
        return 0; /* already pinned */
    Py_INCREF((PyObject *)code);
    pin_slots[i] = code;
    pinned++;
    return 0;
}

#define SCAN_MAX 4096
static struct heapscope_frame scan_buf[SCAN_MAX]; /* used with the GIL only */

/* With the GIL: 1 when code is executing in some thread's frame chain, i.e. certainly alive (the
   frame holds a strong reference, and no frame can be popped while we hold the GIL). */
static int on_some_frame(uintptr_t code)
{
    PyThreadState *me = PyGILState_GetThisThreadState();
    PyInterpreterState *interp = me ? me->interp : NULL;
    if (!interp)
        return 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        int n = frames_of(ts, scan_buf, SCAN_MAX);
        for (int i = 0; i < n; i++)
            if (scan_buf[i].code == code)
                return 1;
    }
    return 0;
}

/* Set when our OBJ-domain wrapper may have been out of the allocator chain: frees may have gone
   unseen, so the next drain pins only codes on a frame. */
static int frees_unseen;
static PyMemAllocatorEx chain_seen; /* the outermost OBJ allocator at the last check */

static int wrapped(PyMemAllocatorDomain domain);

/* With the GIL: a change of the outermost OBJ allocator after which ours is no longer reached
   means frees went past us. (A tool installed on top that chains to us changes nothing.) */
static void check_chain(void)
{
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cur);
    if (memcmp(&cur, &chain_seen, sizeof cur) == 0)
        return;
    if (!wrapped(PYMEM_DOMAIN_OBJ))
        frees_unseen = 1;
    chain_seen = cur;
}

/* With the GIL, a code queued since the last drain: alive unless it is `freeing` (its block is being
   freed now) or its deallocation has begun (reference count 0: code_dealloc frees its members
   first, and each free drains); its memory has not been freed, since every free drains first. When
   frees may have gone unseen, only a code on some frame counts as alive (nothing else is read). */
static int queued_alive(uintptr_t c, uintptr_t freeing)
{
    if (frees_unseen)
        return on_some_frame(c);
    return c != freeing && Py_REFCNT((PyObject *)c) > 0;
}

/* With the GIL: pin what was queued without it, except `freeing` (being freed now). A code proven
   alive is pinned; one that may be gone is never touched: a Py_INCREF would write into a freed block
   (pymalloc's free-list link), heap corruption. It counts in stats()["unpinned_codes"] and the shim
   forgets it: its nodes read as "<freed code>", and a new code at its address gets new nodes. */
static void drain(uintptr_t freeing)
{
    uintptr_t dead[64];
    size_t ndead = 0;
    unsigned head = atomic_load_explicit(&pend_head, memory_order_acquire);
    if (head > PEND_CAP)
        head = PEND_CAP;
    if (pend_done < head)
        check_chain();
    while (pend_done < head) {
        uintptr_t c = atomic_load_explicit(&pending[pend_done], memory_order_acquire);
        if (!c)
            break; /* reserved, not yet written */
        if (!is_pinned(c) && !(queued_alive(c, freeing) && pin_alive(c) == 0)) {
            atomic_fetch_add_explicit(&pend_dropped, 1, memory_order_relaxed);
            dead[ndead++] = c;
            if (ndead == sizeof dead / sizeof *dead) {
                api.forget_codes(dead, ndead);
                ndead = 0;
            }
        }
        pend_done++;
    }
    if (ndead)
        api.forget_codes(dead, ndead);
    if (pend_done == head)
        frees_unseen = 0;
}

/* heapscope_drain_fn: called by the shim's PEP 445 wrappers while pins are queued. */
static void drain_now(uintptr_t freeing)
{
    if (gil_held_here())
        drain(freeing);
}

/* heapscope_pin_fn: 1 pinned now (GIL held); 2 queued (the calling thread's own frame keeps the code
   alive until it re-takes the GIL, and the shim drains at its next PEP 445 call); 0 when neither
   (queue or set full). */
static int pin(uintptr_t code)
{
    if (gil_held_here()) {
        /* (no drain here: this may run inside pymalloc's own call to malloc, where the test
           allocation of check_chain would re-enter pymalloc mid-operation) */
        return pin_alive(code) == 0 ? 1 : 0;
    }
    unsigned i = atomic_fetch_add_explicit(&pend_head, 1, memory_order_relaxed);
    if (i < PEND_CAP) {
        atomic_store_explicit(&pending[i], code, memory_order_release);
        return 2;
    }
    atomic_fetch_add_explicit(&pend_dropped, 1, memory_order_relaxed);
    return 0;
}

/* ---- PEP 445 wrappers --------------------------------------------------------------------------- */

static int installed;

/* 1 when a test allocation in `domain` goes through one of our wrappers. */
static int wrapped(PyMemAllocatorDomain domain)
{
    uint64_t before = api.pymem_calls();
    void *p = domain == PYMEM_DOMAIN_OBJ ? PyObject_Malloc(8) : PyMem_Malloc(8);
    if (domain == PYMEM_DOMAIN_OBJ)
        PyObject_Free(p);
    else
        PyMem_Free(p);
    return api.pymem_calls() != before;
}

static int wrap(PyMemAllocatorDomain domain)
{
    PyMemAllocatorEx cur;
    struct heapscope_allocator orig, hook;
    PyMem_GetAllocator(domain, &cur);
    memcpy(&orig, &cur, sizeof orig);
    if (api.pymem_wrap(&orig, &hook) != 0)
        return -1;
    memcpy(&cur, &hook, sizeof cur);
    PyMem_SetAllocator(domain, &cur);
    return 0;
}

static void ensure_wrapped(void)
{
    if (!installed)
        return;
    if (!wrapped(PYMEM_DOMAIN_MEM))
        (void)wrap(PYMEM_DOMAIN_MEM);
    if (!wrapped(PYMEM_DOMAIN_OBJ)) {
        frees_unseen = 1;
        (void)wrap(PYMEM_DOMAIN_OBJ);
    }
}

/* ---- Python API --------------------------------------------------------------------------------- */

static PyObject *resolve_cache; /* (code, lasti) -> (filename, function, line) */

static int require(void)
{
    if (!api_ok) {
        PyErr_SetString(PyExc_RuntimeError, "libheapscope.so is not preloaded and counting in this process");
        return -1;
    }
    return 0;
}

/* Common entry of the reading functions: the shim must be there; pin what was queued. */
static int enter(void)
{
    if (require())
        return -1;
    drain(0);
    return 0;
}

/* [(stack, [epoch,] bytes, count)] from sites sorted by bytes, descending; frees s. */
static int by_bytes_desc(const void *a, const void *b);
static PyObject *site_list(struct heapscope_site *s, size_t n, int with_epoch)
{
    qsort(s, n, sizeof *s, by_bytes_desc);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = with_epoch ? Py_BuildValue("(IILL)", s[i].stack, s[i].epoch, (long long)s[i].bytes,
                                                 (long long)s[i].count)
                                 : Py_BuildValue("(ILL)", s[i].stack, (long long)s[i].bytes, (long long)s[i].count);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    PyMem_RawFree(s);
    return list;
}

static PyObject *py_install(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"mode", "exact_threshold", "sample_interval", "max_depth", "sampler_hz", NULL};
    const char *mode = "default";
    unsigned long long threshold = 65536, interval = 65536;
    int depth = 32;
    unsigned hz = 20;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|sKKiI", names, &mode, &threshold, &interval, &depth, &hz))
        return NULL;
    if (require())
        return NULL;
    struct heapscope_config cfg = {.max_depth = depth, .exact_threshold = threshold,
                                   .sample_interval = interval, .sampler_hz = hz};
    if (!strcmp(mode, "default"))
        cfg.mode = HEAPSCOPE_MODE_DEFAULT;
    else if (!strcmp(mode, "exact"))
        cfg.mode = HEAPSCOPE_MODE_EXACT;
    else {
        PyErr_Format(PyExc_ValueError, "mode must be 'default' or 'exact', not %R", PyUnicode_FromString(mode));
        return NULL;
    }
    /* wrappers first (they forward while the engine is off): every free of a code object that a
       queued pin may name is then seen */
    if (!installed) {
        if (wrap(PYMEM_DOMAIN_MEM) != 0 || wrap(PYMEM_DOMAIN_OBJ) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "heapscope: no PEP 445 wrapper slot left");
            return NULL;
        }
        installed = 1;
        PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &chain_seen);
    }
    api.set_locator(locator, pin, drain_now);
    if (api.install(&cfg) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "heapscope: bad settings (max_depth 1..64, sampler_hz 0..1000), or sample_interval "
                        "differs from the first install");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (enter())
        return NULL;
    ensure_wrapped();
    struct heapscope_stats s;
    struct heapscope_engine_stats e;
    api.get_stats(&s);
    api.engine_stats(&e);
    const char *reason = api.degraded_reason();
    if (!reason && api.degraded())
        reason = "anonymous-mapping map exhausted: new mappings are not counted";
    return Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsLsKsKsKsKsssssIsIsKsKsKsKsO}", "current_bytes", (unsigned long long)s.current_bytes,
        "peak_bytes", (unsigned long long)s.peak_bytes, "allocated_bytes", (unsigned long long)s.allocated_bytes,
        "freed_bytes", (unsigned long long)s.freed_bytes, "alloc_count", (unsigned long long)s.alloc_count,
        "free_count", (unsigned long long)s.free_count, "tracked_blocks", (unsigned long long)e.tracked_blocks,
        "profiler_bytes", (unsigned long long)e.profiler_bytes, "attributed_bytes", (long long)e.attributed_bytes,
        "table_bytes", (unsigned long long)e.table_bytes, "stack_nodes", (unsigned long long)e.stack_nodes,
        "collisions", (unsigned long long)e.collisions, "untracked", (unsigned long long)e.untracked,
        "degraded", reason, "mode", e.mode ? "exact" : "default", "epoch", e.epoch, "max_depth", e.max_depth,
        "exact_threshold", (unsigned long long)e.exact_threshold, "sample_interval",
        (unsigned long long)e.sample_interval, "samples_taken", (unsigned long long)e.samples_taken,
        "unpinned_codes", (unsigned long long)atomic_load(&pend_dropped), "installed",
        e.installed ? Py_True : Py_False);
}

static PyObject *py_cell_begin(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (enter())
        return NULL;
    ensure_wrapped();
    return PyLong_FromUnsignedLong(api.cell_begin());
}

static int by_bytes_desc(const void *a, const void *b)
{
    const struct heapscope_site *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : (x->stack > y->stack) - (x->stack < y->stack);
}

/* Calls fn until the buffer is big enough; returns a malloc'ed array (PyMem_Raw) and *n. */
static struct heapscope_site *collect(long (*fn)(long, struct heapscope_site *, size_t, void *), long arg, void *ctx,
                                      size_t *n)
{
    size_t cap = 1024;
    for (;;) {
        struct heapscope_site *buf = PyMem_RawMalloc(cap * sizeof *buf);
        if (!buf) {
            PyErr_NoMemory();
            return NULL;
        }
        long r = fn(arg, buf, cap, ctx);
        if (r >= 0) {
            *n = (size_t)r;
            return buf;
        }
        PyMem_RawFree(buf);
        cap = (size_t)(-r) + (size_t)(-r) / 4 + 64;
    }
}

static long cell_end_fn(long arg, struct heapscope_site *buf, size_t cap, void *ctx)
{
    (void)arg;
    return api.cell_end(ctx, buf, cap);
}

static long live_fn(long arg, struct heapscope_site *buf, size_t cap, void *ctx)
{
    (void)ctx;
    return api.live(arg, buf, cap);
}

static PyObject *py_cell_end(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (enter())
        return NULL;
    struct heapscope_cell c;
    size_t n;
    struct heapscope_site *s = collect(cell_end_fn, 0, &c, &n);
    if (!s)
        return NULL;
    /* Only the stacks allocated during this epoch: in exact mode the engine reports every stack alive
       at the peak (earlier cells' too), and turning tens of thousands of those into tuples the agent
       then drops cost 100 ms per cell in long sessions. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].epoch == c.epoch)
            s[k++] = s[i];
    PyObject *list = site_list(s, k, 0);
    if (!list)
        return NULL;
    PyObject *d = Py_BuildValue("{sKsKsKsKsKsKsKsKsN}", "epoch", (unsigned long long)c.epoch, "start_bytes",
                                (unsigned long long)c.start_bytes, "peak_bytes", (unsigned long long)c.peak_bytes,
                                "end_bytes", (unsigned long long)c.end_bytes, "allocated_bytes",
                                (unsigned long long)c.allocated_bytes, "freed_bytes", (unsigned long long)c.freed_bytes,
                                "alloc_count", (unsigned long long)c.alloc_count, "free_count",
                                (unsigned long long)c.free_count, "at_peak", list);
    return d;
}

static PyObject *py_live(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"epoch", NULL};
    PyObject *ep = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", names, &ep))
        return NULL;
    if (require())
        return NULL;
    long epoch = -1;
    if (ep != Py_None) {
        epoch = PyLong_AsLong(ep);
        if (epoch == -1 && PyErr_Occurred())
            return NULL;
        if (epoch < 0) {
            PyErr_SetString(PyExc_ValueError, "epoch must be >= 0");
            return NULL;
        }
    }
    drain(0);
    size_t n;
    struct heapscope_site *s = collect(live_fn, epoch, NULL, &n);
    return s ? site_list(s, n, 1) : NULL;
}

static const char *pseudo_name(uintptr_t code)
{
    switch (code) {
    case HEAPSCOPE_FRAME_ARENAS:
        return "<pymalloc arenas>";
    case HEAPSCOPE_FRAME_NATIVE:
        return "<native thread>";
    case HEAPSCOPE_FRAME_NOPYTHON:
        return "<no Python frame>";
    case HEAPSCOPE_FRAME_TRUNCATED:
        return "<truncated>";
    case HEAPSCOPE_FRAME_FREED:
        return "<freed code>";
    default:
        return "<unknown>";
    }
}

static PyObject *resolve(const struct heapscope_frame *f)
{
    if (f->code < HEAPSCOPE_PSEUDO_MAX) {
        const char *n = pseudo_name(f->code);
        return Py_BuildValue("(ssi)", n, n, 0);
    }
    PyObject *key = Py_BuildValue("(KI)", (unsigned long long)f->code, f->lasti);
    if (!key)
        return NULL;
    PyObject *hit = PyDict_GetItemWithError(resolve_cache, key);
    if (hit) {
        Py_DECREF(key);
        Py_INCREF(hit);
        return hit;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *o = (PyObject *)f->code, *val;
    if (!is_pinned(f->code) || !PyCode_Check(o)) { /* never dereference a code we do not own */
        val = Py_BuildValue("(ssi)", "<freed code>", "<freed code>", 0);
    } else {
        PyCodeObject *co = (PyCodeObject *)o;
        int line = PyCode_Addr2Line(co, (int)f->lasti);
#if PY_VERSION_HEX >= 0x030B0000
        PyObject *name = co->co_qualname;
#else
        PyObject *name = co->co_name;
#endif
        val = Py_BuildValue("(OOi)", co->co_filename, name, line);
    }
    if (val && PyDict_SetItem(resolve_cache, key, val) < 0)
        Py_CLEAR(val);
    Py_DECREF(key);
    return val;
}

static PyObject *py_stack(PyObject *self, PyObject *arg)
{
    (void)self;
    if (enter())
        return NULL;
    unsigned long id = PyLong_AsUnsignedLong(arg);
    if (id == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    struct heapscope_frame fr[HEAPSCOPE_MAX_DEPTH];
    uint32_t epoch = 0;
    int n = id > UINT32_MAX ? -1 : api.stack((uint32_t)id, &epoch, fr, HEAPSCOPE_MAX_DEPTH);
    if (n < 0) {
        PyErr_Format(PyExc_KeyError, "unknown stack id %lu", id);
        return NULL;
    }
    PyObject *list = PyList_New(n);
    for (int i = 0; list && i < n; i++) {
        PyObject *t = resolve(&fr[i]);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, t);
    }
    if (!list)
        return NULL;
    return Py_BuildValue("(IN)", epoch, list);
}

static PyObject *py_samples(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (require())
        return NULL;
    enum { CAP = 8192 };
    struct heapscope_sample *buf = PyMem_RawMalloc(CAP * sizeof *buf);
    if (!buf)
        return PyErr_NoMemory();
    size_t n = api.samples(buf, CAP);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("(dK)", buf[i].time, (unsigned long long)buf[i].bytes);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    PyMem_RawFree(buf);
    return list;
}

static PyMethodDef methods[] = {
    {"install", (PyCFunction)(void (*)(void))py_install, METH_VARARGS | METH_KEYWORDS,
     "install(mode='default', exact_threshold=65536, sample_interval=65536, max_depth=32, sampler_hz=20)"},
    {"stats", py_stats, METH_NOARGS, "stats() -> dict"},
    {"cell_begin", py_cell_begin, METH_NOARGS, "cell_begin() -> epoch id"},
    {"cell_end", py_cell_end, METH_NOARGS, "cell_end() -> dict"},
    {"live", (PyCFunction)(void (*)(void))py_live, METH_VARARGS | METH_KEYWORDS,
     "live(epoch=None) -> [(stack_id, epoch, bytes, count)]"},
    {"stack", py_stack, METH_O, "stack(stack_id) -> (epoch, [(filename, function, line)])"},
    {"samples", py_samples, METH_NOARGS, "samples() -> [(unix_time, current_bytes)]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "heapscope._bridge",
                                    "heapscope engine bridge (see docs/engine.md)", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__bridge(void)
{
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    api_ok = bind_api();
    resolve_cache = PyDict_New();
    if (!resolve_cache || PyModule_AddObject(m, "ACTIVE", PyBool_FromLong(api_ok)) < 0 ||
        PyModule_AddIntConstant(m, "MAX_DEPTH", HEAPSCOPE_MAX_DEPTH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
