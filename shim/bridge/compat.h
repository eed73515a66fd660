/*
 * compat.h — the per-CPython-version part of heapscope._bridge: how a thread's frame chain is read
 *            (3.9-3.10 PyFrameObject, 3.11-3.12 _PyInterpreterFrame via cframe, 3.13 current_frame).
 *
 * Contract
 *   hs_frame_top(ts)        the innermost frame of thread state ts (NULL: none);
 *   hs_frame_back(f)        the next outer frame;
 *   hs_frame_read(f, &code, &lasti)  1 and the frame's code object and the byte offset of its
 *                           instruction when f is a complete Python frame; 0 when f must be skipped
 *                           (an incomplete frame, a C-stack shim frame, a non-code executable).
 *   hs_gil_held_here()      1 when the calling thread holds the GIL (its thread state is current).
 *   None of them allocates, locks, or calls the Python API that may: they run inside allocation
 *   hooks, also on threads that do not hold the GIL (a thread reads only its own chain then).
 *
 * Thread-safety
 *   Reading a chain is safe for its own thread at any time, and for any thread with the GIL held.
 */
#ifndef HS_BRIDGE_COMPAT_H
#define HS_BRIDGE_COMPAT_H

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

#include <stdint.h>

#if PY_VERSION_HEX < 0x03090000 || PY_VERSION_HEX >= 0x030E0000
#error "heapscope._bridge supports CPython 3.9 to 3.13"
#endif

#if PY_VERSION_HEX < 0x030B0000
typedef PyFrameObject hs_pyframe;

static inline hs_pyframe *hs_frame_top(PyThreadState *ts) { return ts->frame; }
static inline hs_pyframe *hs_frame_back(hs_pyframe *f) { return f->f_back; }
static inline int hs_frame_read(hs_pyframe *f, uintptr_t *code, uint32_t *lasti)
{
    int l = f->f_lasti;
#if PY_VERSION_HEX >= 0x030A0000
    l *= (int)sizeof(_Py_CODEUNIT); /* 3.10 counts code units */
#endif
    *code = (uintptr_t)f->f_code;
    *lasti = l < 0 ? 0u : (uint32_t)l;
    return 1;
}
#else
typedef _PyInterpreterFrame hs_pyframe;

static inline hs_pyframe *hs_frame_top(PyThreadState *ts)
{
#if PY_VERSION_HEX < 0x030D0000
    return ts->cframe ? ts->cframe->current_frame : NULL;
#else
    return ts->current_frame;
#endif
}
static inline hs_pyframe *hs_frame_back(hs_pyframe *f) { return f->previous; }
static inline int hs_frame_read(hs_pyframe *f, uintptr_t *code, uint32_t *lasti)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return 0;
#endif
#if PY_VERSION_HEX >= 0x030D0000
    if (!f->f_executable || !PyCode_Check(f->f_executable))
        return 0;
#endif
    if (_PyFrame_IsIncomplete(f))
        return 0;
#if PY_VERSION_HEX >= 0x030D0000
    PyCodeObject *co = (PyCodeObject *)f->f_executable;
#else
    PyCodeObject *co = f->f_code;
#endif
    int l = _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
    *code = (uintptr_t)co;
    *lasti = l < 0 ? 0u : (uint32_t)l;
    return 1;
}
#endif

static inline int hs_gil_held_here(void)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    return ts && ts == _PyThreadState_UncheckedGet();
}

#endif
