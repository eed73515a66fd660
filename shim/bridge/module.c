/*
 * module.c — the Python API of heapscope._bridge (docs/engine.md), over the shim's C API.
 *
 * Contract
 *   install(mode=None, exact_threshold=None, sample_interval=None, max_depth=None, tick_hz=20):
 *     arguments left out (or None) come from the shim's validated settings (heapscope_settings: the
 *     defaults, or the HEAPSCOPE_* environment at load); a negative or out-of-range argument is a
 *     ValueError, never wrapped around. Wraps the PEP 445 domains first (pins.c).
 *   settings() -> dict, settings_errors() -> [str]: the shim's settings and the rejected ones.
 *   stats(), cell_begin(), cell_end(), resume(run), alive(run=None), stack(id), ticks(), reconcile(),
 *   blocks(addresses) (cell_end, alive, stack, ticks and blocks are in reads.c), agent_begin()/agent_end() (the calling thread's allocations are profiler memory in between),
 *   set_cell_anchors([code, ...]) (frames.c).
 *   Every function but settings*() raises RuntimeError when the shim is not preloaded and counting.
 *
 * Thread-safety
 *   Every function runs with the GIL held (the shim's own locks are short).
 */
#include "bridge.h"

#include <stdatomic.h>
#include <string.h>

int hs_require(void)
{
    if (!hs_api_ok) {
        PyErr_SetString(PyExc_RuntimeError, "libheapscope.so is not preloaded and counting in this process");
        return -1;
    }
    return 0;
}

/* Common entry of the reading functions: the shim must be there; pin what was queued. */
int hs_enter(void)
{
    if (hs_require())
        return -1;
    hs_drain(0);
    return 0;
}

/* An optional unsigned argument: None keeps *out; else lo <= value <= hi or ValueError. */
static int unsigned_arg(PyObject *o, const char *name, unsigned long long lo, unsigned long long hi,
                        unsigned long long *out)
{
    if (!o || o == Py_None)
        return 0;
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an integer", name);
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < 0 || (unsigned long long)v < lo || (unsigned long long)v > hi) {
        PyErr_Format(PyExc_ValueError, "%s must be in %llu..%llu, not %R", name, lo, hi, o);
        return -1;
    }
    *out = (unsigned long long)v;
    return 0;
}

static PyObject *py_install(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"mode", "exact_threshold", "sample_interval", "max_depth", "tick_hz", NULL};
    PyObject *mode = Py_None, *threshold = Py_None, *interval = Py_None, *depth = Py_None, *hz = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOOOO", names, &mode, &threshold, &interval, &depth, &hz))
        return NULL;
    if (hs_require())
        return NULL;
    struct heapscope_config cfg;
    hs_api.settings(&cfg);
    unsigned long long t = cfg.exact_threshold, i = cfg.sample_interval, d = (unsigned long long)cfg.max_depth, h = 20;
    if (unsigned_arg(threshold, "exact_threshold", 1, 1ull << 40, &t) ||
        unsigned_arg(interval, "sample_interval", 1, 1ull << 30, &i) ||
        unsigned_arg(depth, "max_depth", 1, HEAPSCOPE_MAX_DEPTH, &d) || unsigned_arg(hz, "tick_hz", 0, 1000, &h))
        return NULL;
    cfg.exact_threshold = t;
    cfg.sample_interval = i;
    cfg.max_depth = (int)d;
    cfg.tick_hz = (unsigned)h;
    if (mode != Py_None) {
        if (PyUnicode_Check(mode) && PyUnicode_CompareWithASCIIString(mode, "default") == 0)
            cfg.mode = HEAPSCOPE_MODE_DEFAULT;
        else if (PyUnicode_Check(mode) && PyUnicode_CompareWithASCIIString(mode, "exact") == 0)
            cfg.mode = HEAPSCOPE_MODE_EXACT;
        else {
            PyErr_Format(PyExc_ValueError, "mode must be 'default' or 'exact', not %R", mode);
            return NULL;
        }
    }
    if (hs_wrap_all() != 0) {
        PyErr_SetString(PyExc_RuntimeError, "heapscope: no PEP 445 wrapper slot left");
        return NULL;
    }
    hs_api.set_locator(hs_locator, hs_pin, hs_drain_now);
    if (hs_api.install(&cfg) != 0) {
        PyErr_SetString(PyExc_ValueError, "heapscope: the engine refused the settings (sample_interval differs "
                                          "from the first install)");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_settings(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_require())
        return NULL;
    struct heapscope_config c;
    hs_api.settings(&c);
    return Py_BuildValue("{sssKsKsi}", "mode", c.mode == HEAPSCOPE_MODE_EXACT ? "exact" : "default", "exact_threshold",
                         (unsigned long long)c.exact_threshold, "sample_interval",
                         (unsigned long long)c.sample_interval, "max_depth", c.max_depth);
}

static PyObject *py_settings_errors(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_require())
        return NULL;
    const char *e = hs_api.settings_errors();
    PyObject *text = PyUnicode_DecodeUTF8(e, (Py_ssize_t)strlen(e), "replace");
    if (!text)
        return NULL;
    PyObject *lines = PyUnicode_Splitlines(text, 0);
    Py_DECREF(text);
    return lines;
}

static PyObject *py_stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_enter())
        return NULL;
    hs_ensure_wrapped();
    struct heapscope_stats s;
    struct heapscope_engine_stats e;
    hs_api.get_stats(&s);
    hs_api.engine_stats(&e);
    const char *reason = hs_api.degraded_reason();
    if (!reason && hs_api.degraded())
        reason = "anonymous-mapping map exhausted: new mappings are not counted";
    PyObject *d = Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsLsKsKsKsKsssssIsIsKsKsKsKsO}", "current_bytes", (unsigned long long)s.current_bytes,
        "peak_bytes", (unsigned long long)s.peak_bytes, "allocated_bytes", (unsigned long long)s.allocated_bytes,
        "freed_bytes", (unsigned long long)s.freed_bytes, "alloc_count", (unsigned long long)s.alloc_count,
        "free_count", (unsigned long long)s.free_count, "tracked_blocks", (unsigned long long)e.tracked_blocks,
        "profiler_bytes", (unsigned long long)e.profiler_bytes, "attributed_bytes", (long long)e.attributed_bytes,
        "table_bytes", (unsigned long long)e.table_bytes, "stack_nodes", (unsigned long long)e.stack_nodes,
        "collisions", (unsigned long long)e.collisions, "untracked", (unsigned long long)e.untracked, "degraded",
        reason, "mode", e.mode ? "exact" : "default", "run", e.run, "max_depth", e.max_depth, "exact_threshold",
        (unsigned long long)e.exact_threshold, "sample_interval", (unsigned long long)e.sample_interval, "ticks_taken",
        (unsigned long long)e.ticks_taken, "unpinned_codes", (unsigned long long)hs_unpinned_codes(), "installed",
        e.installed ? Py_True : Py_False);
    if (!d)
        return NULL;
    PyObject *agent = PyLong_FromUnsignedLongLong(e.agent_bytes);
    PyObject *unmapped = PyLong_FromUnsignedLongLong(e.unmapped_bytes);
    PyObject *live = PyLong_FromUnsignedLongLong(hs_api.live_nodes ? hs_api.live_nodes() : e.stack_nodes);
    PyObject *sbytes = Py_None;
    if (hs_api.stack_bytes)
        sbytes = PyLong_FromUnsignedLongLong(hs_api.stack_bytes());
    else
        Py_INCREF(Py_None);
    if (!agent || !unmapped || !live || !sbytes || PyDict_SetItemString(d, "agent_bytes", agent) < 0 ||
        PyDict_SetItemString(d, "unmapped_bytes", unmapped) < 0 || PyDict_SetItemString(d, "live_nodes", live) < 0 ||
        PyDict_SetItemString(d, "stack_bytes", sbytes) < 0)
        Py_CLEAR(d);
    Py_XDECREF(agent);
    Py_XDECREF(unmapped);
    Py_XDECREF(live);
    Py_XDECREF(sbytes);
    return d;
}

static PyObject *py_cell_begin(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_enter())
        return NULL;
    hs_ensure_wrapped();
    return PyLong_FromUnsignedLong(hs_api.cell_begin());
}

static PyObject *py_resume(PyObject *self, PyObject *arg)
{
    (void)self;
    if (hs_enter())
        return NULL;
    unsigned long run = PyLong_AsUnsignedLong(arg);
    if (run == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    if (run > UINT32_MAX || hs_api.run_resume((uint32_t)run) != 0) {
        PyErr_Format(PyExc_ValueError, "run %lu was never begun", run);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_reconcile(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_require())
        return NULL;
    return PyLong_FromUnsignedLongLong(hs_api.reconcile());
}

static PyObject *py_agent_begin(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_require())
        return NULL;
    hs_api.agent_begin();
    Py_RETURN_NONE;
}

static PyObject *py_agent_end(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_require())
        return NULL;
    hs_api.agent_end();
    Py_RETURN_NONE;
}

static PyObject *py_set_cell_anchors(PyObject *self, PyObject *codes)
{
    (void)self;
    if (hs_require() || hs_set_anchors(codes) != 0)
        return NULL;
    Py_RETURN_NONE;
}

#define FN(f) ((PyCFunction)(void (*)(void))(f))
static PyMethodDef methods[] = {
    {"install", FN(py_install), METH_VARARGS | METH_KEYWORDS,
     "install(mode=None, exact_threshold=None, sample_interval=None, max_depth=None, tick_hz=20); None: the "
     "shim's settings"},
    {"settings", py_settings, METH_NOARGS, "settings() -> dict: the shim's validated HEAPSCOPE_* settings"},
    {"settings_errors", py_settings_errors, METH_NOARGS, "settings_errors() -> [str]: the rejected settings"},
    {"stats", py_stats, METH_NOARGS, "stats() -> dict"},
    {"cell_begin", py_cell_begin, METH_NOARGS, "cell_begin() -> run id"},
    {"cell_end", py_cell_end, METH_NOARGS, "cell_end() -> dict"},
    {"alive", FN(py_alive), METH_VARARGS | METH_KEYWORDS, "alive(run=None) -> [(stack_id, run, bytes, count)]"},
    {"stack", py_stack, METH_O, "stack(stack_id) -> (run, [(filename, function, line)])"},
    {"ticks", py_ticks, METH_NOARGS, "ticks() -> [(unix_time, current_bytes)]"},
    {"resume", py_resume, METH_O, "resume(run): make an earlier run current again (not a cell: no peak reset)"},
    {"reconcile", py_reconcile, METH_NOARGS, "reconcile() -> bytes of mappings found gone"},
    {"blocks", py_blocks, METH_O, "blocks([address, ...]) -> [(stack_id, bytes) or None]: the table's blocks there"},
    {"agent_begin", py_agent_begin, METH_NOARGS, "agent_begin(): this thread's allocations are profiler memory"},
    {"agent_end", py_agent_end, METH_NOARGS, "agent_end(): ... until here (nestable)"},
    {"set_cell_anchors", py_set_cell_anchors, METH_O,
     "set_cell_anchors([code, ...]): the frame just inside the innermost of these is a cell frame"},
    {"holders_walk", py_holders_walk, METH_VARARGS,
     "holders_walk(roots, slots, skip, kind_of, getsizeof, own_size, extra, exact, progress) -> dict (walk.c)"},
    {"bindings_changed", py_bindings_changed, METH_VARARGS,
     "bindings_changed(ns, ids) -> (changed, removed); ids updated in place (bindings.c)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT,
                                    "heapscope._bridge",
                                    "heapscope engine bridge (see docs/engine.md)",
                                    -1,
                                    methods,
                                    NULL,
                                    NULL,
                                    NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__bridge(void); /* (declared for -Wmissing-prototypes) */
PyMODINIT_FUNC PyInit__bridge(void)
{
    PyObject *m = PyModule_Create(&moddef);
    if (!m)
        return NULL;
    hs_api_ok = hs_bind_api();
    if (hs_reads_init() < 0 || PyModule_AddObject(m, "ACTIVE", PyBool_FromLong(hs_api_ok)) < 0 ||
        PyModule_AddIntConstant(m, "MAX_DEPTH", HEAPSCOPE_MAX_DEPTH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
