/*
 * reads.c — the reading functions of heapscope._bridge's Python API (docs/engine.md): the sites of a
 *           run and of the live heap, stacks with their lines, the ticks, the pointer table's blocks.
 *           module.c holds the rest of the API and the method table that names these.
 *
 * Contract
 *   cell_end() -> dict (the run's counters and at_peak [(stack, bytes, count)]),
 *   alive(run=None) -> [(stack, run, bytes, count)]: site lists sorted by bytes, descending.
 *   stack(id) -> (run, [(filename, function, line)]): lines resolved here, never in a hook
 *     (PyCode_Addr2Line on pinned code only, anything else reads "<freed code>"), cached by
 *     (code, offset) in a dict made by hs_reads_init() at import.
 *   ticks() -> [(unix_time, current_bytes)], blocks([address, ...]) -> [(stack_id, bytes) or None].
 *   Each raises RuntimeError when the shim is not preloaded and counting (hs_require, module.c).
 *
 * Thread-safety
 *   Every function runs with the GIL held (the resolve cache is read and written with it only).
 */
#include "bridge.h"

#include <stdlib.h>

static PyObject *resolve_cache; /* (code, lasti) -> (filename, function, line) */

int hs_reads_init(void)
{
    resolve_cache = PyDict_New();
    return resolve_cache ? 0 : -1;
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
    return hs_api.cell_end(ctx, buf, cap);
}

static long alive_fn(long arg, struct heapscope_site *buf, size_t cap, void *ctx)
{
    (void)ctx;
    return hs_api.alive(arg, buf, cap);
}

/* [(stack, [run,] bytes, count)] from sites sorted by bytes, descending; frees s. */
static PyObject *site_list(struct heapscope_site *s, size_t n, int with_run)
{
    qsort(s, n, sizeof *s, by_bytes_desc);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        unsigned long long key = hs_key_of(s[i].stack);
        PyObject *t = with_run ? Py_BuildValue("(KILL)", key, s[i].run, (long long)s[i].bytes, (long long)s[i].count)
                               : Py_BuildValue("(KLL)", key, (long long)s[i].bytes, (long long)s[i].count);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    PyMem_RawFree(s);
    return list;
}

PyObject *py_cell_end(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_enter())
        return NULL;
    struct heapscope_cell c;
    size_t n;
    struct heapscope_site *s = collect(cell_end_fn, 0, &c, &n);
    if (!s)
        return NULL;
    PyObject *list = site_list(s, n, 0);
    if (!list)
        return NULL;
    return Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsN}", "run", (unsigned long long)c.run, "start_bytes", (unsigned long long)c.start_bytes,
        "peak_bytes", (unsigned long long)c.peak_bytes, "end_bytes", (unsigned long long)c.end_bytes, "allocated_bytes",
        (unsigned long long)c.allocated_bytes, "freed_bytes", (unsigned long long)c.freed_bytes, "alloc_count",
        (unsigned long long)c.alloc_count, "free_count", (unsigned long long)c.free_count, "at_peak", list);
}

PyObject *py_alive(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"run", NULL};
    PyObject *r = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", names, &r))
        return NULL;
    if (hs_require())
        return NULL;
    long run = -1;
    if (r != Py_None) {
        run = PyLong_AsLong(r);
        if (run == -1 && PyErr_Occurred())
            return NULL;
        if (run < 0) {
            PyErr_SetString(PyExc_ValueError, "run must be >= 0");
            return NULL;
        }
    }
    hs_drain(0);
    size_t n;
    struct heapscope_site *s = collect(alive_fn, run, NULL, &n);
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
    case HEAPSCOPE_FRAME_GAP:
        return "<frames omitted>";
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
    if (!hs_is_pinned(f->code) || !PyCode_Check(o)) { /* never dereference a code we do not own */
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

PyObject *py_stack(PyObject *self, PyObject *arg)
{
    (void)self;
    if (hs_enter())
        return NULL;
    unsigned long long id = PyLong_AsUnsignedLongLong(arg);
    if (id == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    struct heapscope_frame fr[HEAPSCOPE_MAX_DEPTH];
    uint32_t run = 0;
    int n = hs_api.stack_at   ? hs_api.stack_at(id, &run, fr, HEAPSCOPE_MAX_DEPTH) /* a key: never another stack */
            : id > UINT32_MAX ? -1
                              : hs_api.stack((uint32_t)id, &run, fr, HEAPSCOPE_MAX_DEPTH);
    if (n < 0) {
        PyErr_Format(PyExc_KeyError, "unknown stack id %llu", id);
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
    return Py_BuildValue("(IN)", run, list);
}

PyObject *py_ticks(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (hs_require())
        return NULL;
    enum { CAP = 8192 };
    struct heapscope_tick *buf = PyMem_RawMalloc(CAP * sizeof *buf);
    if (!buf)
        return PyErr_NoMemory();
    size_t n = hs_api.ticks(buf, CAP);
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

/* blocks(addresses) -> [(stack_id, bytes) or None]: the pointer table's blocks at these addresses (the
   holders scan: the allocating stack and usable size of a buffer it holds; the caller keeps them alive). */
PyObject *py_blocks(PyObject *self, PyObject *arg)
{
    (void)self;
    if (hs_require())
        return NULL;
    if (!hs_api.block) {
        PyErr_SetString(PyExc_RuntimeError, "this libheapscope.so has no heapscope_block");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(arg, "blocks() takes a sequence of addresses");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        unsigned long long p = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
        uint32_t stack = 0;
        uint64_t bytes = 0;
        PyObject *item;
        if (p == (unsigned long long)-1 && PyErr_Occurred()) {
            Py_CLEAR(out);
            break;
        }
        if (hs_api.block((uintptr_t)p, &stack, &bytes) == 1)
            item = Py_BuildValue("(KK)", stack ? hs_key_of(stack) : 0ull, (unsigned long long)bytes);
        else {
            Py_INCREF(Py_None);
            item = Py_None;
        }
        if (!item) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, item);
    }
    Py_DECREF(seq);
    return out;
}
