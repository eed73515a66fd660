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
 *   - pinning: the shim reports each code object a new stack node refers to; it is Py_INCREF'ed at
 *     once when this thread holds the GIL (its tstate is the current one), otherwise queued and
 *     pinned at the next GIL-holding moment (any API call, any later pin). Residual risk: a code
 *     object seen *only* by allocations made with the GIL released, and destroyed before the queue is
 *     drained, leaves a dangling pointer in the trie; reading its stack then checks the type
 *     (PyCode_Check) before use, which catches most but not all such cases. In practice the frame
 *     that was executing keeps its code alive until the thread re-takes the GIL, and that thread's
 *     next pin or any API call drains the queue. The queue holds 65536 entries over the process
 *     lifetime; beyond that codes seen without the GIL are not pinned (counted in stats()).
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
 *   allocation hooks. The pin queue is a lock-free append-only array.
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
    void (*set_locator)(heapscope_locator_fn, heapscope_pin_fn);
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

static int locator(struct heapscope_frame *out, int max)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (!ts)
        return -1;
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

/* ---- pinning ------------------------------------------------------------------------------------ */

#define PEND_CAP 65536u
static _Atomic uintptr_t pending[PEND_CAP];
static _Atomic unsigned pend_head;
static unsigned pend_done;
static _Atomic uint64_t pend_dropped;
static uint64_t pinned;

static int gil_held_here(void)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    return ts && ts == _PyThreadState_UncheckedGet();
}

/* With the GIL: pin what other threads queued. */
static void drain(void)
{
    unsigned head = atomic_load_explicit(&pend_head, memory_order_acquire);
    if (head > PEND_CAP)
        head = PEND_CAP;
    while (pend_done < head) {
        uintptr_t c = atomic_load_explicit(&pending[pend_done], memory_order_acquire);
        if (!c)
            break; /* reserved, not yet written */
        PyObject *o = (PyObject *)c;
        if (PyCode_Check(o)) {
            Py_INCREF(o);
            pinned++;
        }
        pend_done++;
    }
}

static void pin(uintptr_t code)
{
    if (gil_held_here()) {
        Py_INCREF((PyObject *)code);
        pinned++;
        if (pend_done != atomic_load_explicit(&pend_head, memory_order_relaxed))
            drain();
        return;
    }
    unsigned i = atomic_fetch_add_explicit(&pend_head, 1, memory_order_relaxed);
    if (i < PEND_CAP)
        atomic_store_explicit(&pending[i], code, memory_order_release);
    else
        atomic_fetch_add_explicit(&pend_dropped, 1, memory_order_relaxed);
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
    if (!wrapped(PYMEM_DOMAIN_OBJ))
        (void)wrap(PYMEM_DOMAIN_OBJ);
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
    drain();
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
    api.set_locator(locator, pin);
    if (api.install(&cfg) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "heapscope: bad settings (max_depth 1..64, sampler_hz 0..1000), or sample_interval "
                        "differs from the first install");
        return NULL;
    }
    if (!installed) {
        if (wrap(PYMEM_DOMAIN_MEM) != 0 || wrap(PYMEM_DOMAIN_OBJ) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "heapscope: no PEP 445 wrapper slot left");
            return NULL;
        }
        installed = 1;
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
    PyObject *list = site_list(s, n, 0);
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
    drain();
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
    if (!PyCode_Check(o)) {
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
