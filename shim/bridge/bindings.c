/*
 * bindings.c — which user names a cell bound or rebound (agent/holders.py Bindings), in C: one pass
 *              over the namespace per cell without a Python step per name (the Python pass cost
 *              ~0.4 ms a cell once IPython's history names had made the namespace ~1,000 names).
 *
 * Contract
 *   bindings_changed(ns, ids) -> (changed, removed)
 *     ns: the user namespace; ids: {name: id(value)}, owned by the caller and left by the previous call
 *     (start with {}). ids is updated in place to ns's names now; changed lists the names that are
 *     new or whose value has another id, removed those no longer in ns. Keys of ns that are not
 *     exactly str are skipped. holders.py's _changed_py is the same function in Python (the fallback
 *     without a bridge) and tests/test_holders_bindings.py holds the two to the same answers.
 *   No user code runs for ns's str keys: values are only compared by address, and str keys hash and
 *   compare in C (a lookup of a str in ns could meet a non-str key of the same hash and call its
 *   __eq__, as any lookup in the namespace can).
 *
 * Thread-safety
 *   Called with the GIL held. An allocation here may run the cyclic GC and a finalizer that changes
 *   ns: PyDict_Next stays in bounds, and the key being handled is held.
 */
#include "bridge.h"

PyObject *py_bindings_changed(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ns, *ids;
    if (!PyArg_ParseTuple(args, "O!O!:bindings_changed", &PyDict_Type, &ns, &PyDict_Type, &ids))
        return NULL;
    PyObject *changed = PyList_New(0), *removed = PyList_New(0);
    if (!changed || !removed)
        goto fail;
    Py_ssize_t pos = 0, names = 0;
    PyObject *key, *value;
    while (PyDict_Next(ns, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key))
            continue;
        names++;
        PyObject *old = PyDict_GetItemWithError(ids, key); /* borrowed; ids holds only str keys */
        if (!old && PyErr_Occurred())
            goto fail;
        if (old && PyLong_AsVoidPtr(old) == (void *)value)
            continue;
        Py_INCREF(key);
        PyObject *ident = PyLong_FromVoidPtr(value);
        int bad = !ident || PyDict_SetItem(ids, key, ident) < 0 || PyList_Append(changed, key) < 0;
        Py_XDECREF(ident);
        Py_DECREF(key);
        if (bad)
            goto fail;
    }
    if (PyDict_GET_SIZE(ids) > names) { /* some names of the last pass are gone */
        pos = 0;
        while (PyDict_Next(ids, &pos, &key, &value)) {
            int in = PyDict_Contains(ns, key);
            if (in < 0 || (!in && PyList_Append(removed, key) < 0))
                goto fail;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(removed); i++)
            if (PyDict_DelItem(ids, PyList_GET_ITEM(removed, i)) < 0)
                goto fail;
    }
    return Py_BuildValue("(NN)", changed, removed);
fail:
    Py_XDECREF(changed);
    Py_XDECREF(removed);
    return NULL;
}
