/*
 * frames.c — the locator: the calling thread's Python frames, for the shim's allocation hooks.
 *
 * Contract
 *   hs_locator(out, max) (heapscope_locator_fn): the thread's frames innermost first, at most max.
 *   When the chain is deeper than max (and max >= 3), the innermost max - 2 frames are kept, then a
 *   HEAPSCOPE_FRAME_GAP frame ("<frames omitted>", lasti 0: stacks that differ only in what was left
 *   out stay one site), then the cell frame: the frame just inside the innermost frame running a
 *   cell anchor (hs_set_anchors: the agent names IPython's run_code and runpy's _run_code), or the
 *   outermost frame when no anchor is on the chain. When the cell frame is among the kept ones, nothing is added. The walk
 *   stops after WALK_MAX frames. No allocation, no lock, no Python API (it runs inside hooks).
 *   hs_on_some_frame(code): with the GIL, whether code is executing in any thread.
 *
 * Thread-safety
 *   A thread reads only its own chain without the GIL; the anchors are written with the GIL, before
 *   they are used (each slot is an atomic word; a reader may see an old set for one allocation).
 */
#include "bridge.h"

#include <stdatomic.h>

#define WALK_MAX 100000
#define SCAN_MAX 4096

static _Atomic uintptr_t anchors[HS_ANCHORS];

static inline int is_anchor(uintptr_t code)
{
    for (int i = 0; i < HS_ANCHORS; i++) {
        uintptr_t a = atomic_load_explicit(&anchors[i], memory_order_relaxed);
        if (!a)
            return 0;
        if (a == code)
            return 1;
    }
    return 0;
}

int hs_set_anchors(PyObject *codes)
{
    PyObject *seq = PySequence_Fast(codes, "set_cell_anchors() takes a sequence of code objects");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > HS_ANCHORS) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "at most %d cell anchors", HS_ANCHORS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyCode_Check(PySequence_Fast_GET_ITEM(seq, i))) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_TypeError, "set_cell_anchors() takes code objects");
            return -1;
        }
    for (int i = 0; i < HS_ANCHORS; i++) {
        PyObject *o = i < n ? PySequence_Fast_GET_ITEM(seq, i) : NULL;
        Py_XINCREF(o); /* kept for good: a hook may still compare against an old anchor's address */
        atomic_store_explicit(&anchors[i], (uintptr_t)o, memory_order_release);
    }
    Py_DECREF(seq);
    return 0;
}

static int walk(PyThreadState *ts, struct heapscope_frame *out, int max)
{
    int n = 0, total = 0, cell_i = -1;
    struct heapscope_frame prev = {0, 0, 0}, cell = {0, 0, 0};
    for (hs_pyframe *f = hs_frame_top(ts); f && total < WALK_MAX; f = hs_frame_back(f)) {
        uintptr_t code;
        uint32_t lasti;
        if (!hs_frame_read(f, &code, &lasti))
            continue;
        if (cell_i < 0 && total > 0 && is_anchor(code)) {
            cell = prev;
            cell_i = total - 1;
        }
        if (n < max)
            out[n++] = (struct heapscope_frame){.code = code, .lasti = lasti};
        prev = (struct heapscope_frame){.code = code, .lasti = lasti};
        total++;
    }
    if (total <= max || max < 3)
        return n;
    if (cell_i < 0) {
        cell = prev;
        cell_i = total - 1;
    }
    if (cell_i < max)
        return max; /* the cell frame is kept anyway: only machinery outside it is left out */
    out[max - 2] = (struct heapscope_frame){.code = HEAPSCOPE_FRAME_GAP, .lasti = 0};
    out[max - 1] = cell;
    return max;
}

int hs_locator(struct heapscope_frame *out, int max)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (!ts)
        return -1;
    return walk(ts, out, max);
}

int hs_on_some_frame(uintptr_t code)
{
    PyThreadState *me = PyGILState_GetThisThreadState();
    PyInterpreterState *interp = me ? me->interp : NULL;
    if (!interp)
        return 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts; ts = PyThreadState_Next(ts)) {
        int n = 0;
        for (hs_pyframe *f = hs_frame_top(ts); f && n < SCAN_MAX; f = hs_frame_back(f)) {
            uintptr_t c;
            uint32_t lasti;
            if (hs_frame_read(f, &c, &lasti) && n++ >= 0 && c == code)
                return 1;
        }
    }
    return 0;
}
