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

/* The locator's per-thread memo (heapscope_locator_fn's memo, zeroed by the shim at each new run):
   the last truncated walk's first omitted frame (address, code, offset) and the cell frame it found. */
struct memo {
    uintptr_t cut, cut_code;
    uint32_t cut_lasti, pad;
    uintptr_t cell, cell_code;
};
_Static_assert(sizeof(struct memo) <= HEAPSCOPE_LOCATOR_MEMO, "the memo fits the shim's per-thread area");

/* The frames of ts into out (at most max, innermost first); a deeper chain gets the gap and its cell
   frame. The walk past the kept frames (down to the cell, possibly hundreds of frames of recursion) is
   skipped when the first omitted frame is the one of the previous truncated walk in this run (same
   address, code and instruction: the frames outward of it have not been popped since), and the cell
   frame's current line is read from the remembered cell frame. */
static int walk(PyThreadState *ts, struct heapscope_frame *out, int max, struct memo *m)
{
    int n = 0;
    hs_pyframe *f = hs_frame_top(ts), *cut = NULL;
    for (; f && n < max; f = hs_frame_back(f)) {
        uintptr_t code;
        uint32_t lasti;
        if (hs_frame_read(f, &code, &lasti)) {
            if (n == max - 2)
                cut = f; /* the first frame a gap would leave out */
            out[n++] = (struct heapscope_frame){.code = code, .lasti = lasti};
        }
    }
    if (max < 3)
        return n;
    /* f: the frame after the max kept ones; is there a readable one (the chain is deeper than max)? */
    for (; f; f = hs_frame_back(f)) {
        uintptr_t code;
        uint32_t lasti;
        if (hs_frame_read(f, &code, &lasti))
            break;
    }
    if (!f)
        return n;
    if (m && m->cell && m->cut == (uintptr_t)cut && m->cut_code == out[max - 2].code &&
        m->cut_lasti == out[max - 2].lasti) {
        uintptr_t code;
        uint32_t lasti;
        if (hs_frame_read((hs_pyframe *)m->cell, &code, &lasti) && code == m->cell_code) {
            out[max - 2] = (struct heapscope_frame){.code = HEAPSCOPE_FRAME_GAP, .lasti = 0};
            out[max - 1] = (struct heapscope_frame){.code = code, .lasti = lasti};
            return max;
        }
    }
    /* the whole chain: the cell frame is the one just inside the innermost anchor, else the outermost */
    int total = 0, cell_i = -1;
    hs_pyframe *prev = NULL, *cell = NULL;
    struct heapscope_frame prev_fr = {0, 0, 0}, cell_fr = {0, 0, 0};
    for (hs_pyframe *g = hs_frame_top(ts); g && total < WALK_MAX; g = hs_frame_back(g)) {
        uintptr_t code;
        uint32_t lasti;
        if (!hs_frame_read(g, &code, &lasti))
            continue;
        if (cell_i < 0 && total > 0 && is_anchor(code)) {
            cell = prev;
            cell_fr = prev_fr;
            cell_i = total - 1;
        }
        prev = g;
        prev_fr = (struct heapscope_frame){.code = code, .lasti = lasti};
        total++;
    }
    if (cell_i < 0) {
        cell = prev;
        cell_fr = prev_fr;
        cell_i = total - 1;
    }
    if (cell_i < max)
        return max; /* the cell frame is kept anyway: only machinery outside it is left out */
    if (m && cut)
        *m = (struct memo){.cut = (uintptr_t)cut,
                           .cut_code = out[max - 2].code,
                           .cut_lasti = out[max - 2].lasti,
                           .cell = (uintptr_t)cell,
                           .cell_code = cell_fr.code};
    out[max - 2] = (struct heapscope_frame){.code = HEAPSCOPE_FRAME_GAP, .lasti = 0};
    out[max - 1] = cell_fr;
    return max;
}

int hs_locator(struct heapscope_frame *out, int max, void *memo)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    if (!ts)
        return -1;
    return walk(ts, out, max, memo);
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
