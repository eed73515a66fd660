/*
 * walk.c — the holders scan's graph walk (issue 13) in C: the same algorithm as the Python walk in
 *          kernel-launcher/heapscope/agent/holders_walk.py (which stays as the fallback and documents
 *          it), without a Python step per object or per reference.
 *
 * Contract
 *   holders_walk(roots, slots, skip, kind_of, getsizeof, own_size, extra, exact, progress) -> dict
 *     roots[h], slots[h]: per holder, the objects it refers to (deduplicated) and its references
 *       (one item per reference); both lists are cleared as they are read (their references would
 *       count as references from outside), in holder order, as the Python walk does.
 *     skip: objects that are never nodes (barriers, module dicts).
 *     kind_of(type) -> 0..4 (holders_walk.Scan.kind_of; called once per type); getsizeof: sys.getsizeof,
 *       for kind 0 (an exception gives 0; read per type, see getsizeof_of); own_size(o, kind) for kinds
 *       1-3; extra(o) -> list, the references of a kind-2 object (ndarray) that tp_traverse does
 *       not show; exact(items) -> list,
 *       items [(node, object, kind, size)] of the nodes inside of at least EXACT_MIN bytes, answered
 *       [(node, size, site row or None)] (None: no shim to ask); progress(phase, done, total) or None.
 *     Returns {"reach": [bytes per holder], "own": [...], "groups": {(h, ...): bytes}, "held": bytes,
 *       "site_rows": [[row, ...] per holder], "nodes": objects walked (nodes and folded leaves)}.
 *   The walk: tp_traverse of every GC object reached (what gc.get_referents returns), each visit only
 *   appends the pointer to a buffer (no Python object is made or looked at inside a visit); then each
 *   reference is looked up in an open-addressing id -> node table and appended to CSR arrays; a new
 *   leaf (not a GC type, not an ndarray) whose only reference is its parent's and whose size is under
 *   EXACT_MIN is folded into the parent's size instead of getting a node (the Python walk's rule). Every
 *   node is Py_INCREF'ed until the end, so Py_REFCNT(o) - 1 - references found - holder slots > 0
 *   says o is kept alive from outside the holders. No attribute is read and no user code runs: the
 *   callbacks are the scan's own (kind_of, own_size, extra read C getters of the types).
 *
 * Thread-safety
 *   Runs with the GIL held, but its Python callbacks (kind_of for a new type, own_size, extra,
 *   progress) may let another thread run, which may change or free what the walked object refers to.
 *   So: every node is held; the references a tp_traverse gave are borrowed only until the first
 *   callback, which first takes a reference to those not looked at yet (hold_pending); tp_traverse
 *   and the visits run no Python code. Numbers may then be off for what the other thread changed, but
 *   nothing freed is read. The caller disables the cyclic GC around the walk, so no finalizer runs
 *   when a callback allocates.
 *
 * Memory
 *   About 70 bytes per node plus 4 per reference (the table at most 3/4 full, 16 bytes a slot; the
 *   node arrays; the passes' arrays), malloc'ed and freed before returning.
 */
#include "bridge.h"

#include <stdlib.h>
#include <string.h>

#define NONE_NODE      UINT32_MAX /* table value: never a node (skip, kind 4) */
#define EXACT_MIN      4096
#define PROGRESS_EVERY (1u << 16)

/* One slot: key and value side by side (one cache miss per probe). */
typedef struct {
    uintptr_t key; /* 0: empty */
    uint32_t val;
} hs_slot;

typedef struct {
    hs_slot *slots;
    size_t cap; /* power of two */
    size_t used;
} hs_table;

static size_t slot_of(uintptr_t k, size_t cap)
{
    uint64_t h = (uint64_t)(k >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static int table_init(hs_table *t, size_t cap)
{
    t->cap = cap;
    t->used = 0;
    t->slots = calloc(cap, sizeof *t->slots);
    return t->slots ? 0 : -1;
}

static void table_free(hs_table *t)
{
    free(t->slots);
    t->slots = NULL;
}

/* The value of k, or -1 (as int64) when absent. */
static int64_t table_get(const hs_table *t, uintptr_t k)
{
    size_t m = t->cap - 1;
    for (size_t i = slot_of(k, t->cap);; i = (i + 1) & m) {
        uintptr_t x = t->slots[i].key;
        if (x == k)
            return t->slots[i].val;
        if (!x)
            return -1;
    }
}

static int table_put(hs_table *t, uintptr_t k, uint32_t v);

static int table_grow(hs_table *t)
{
    hs_table n;
    if (table_init(&n, t->cap * 2) < 0) {
        table_free(&n);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key)
            table_put(&n, t->slots[i].key, t->slots[i].val);
    table_free(t);
    *t = n;
    return 0;
}

/* Sets k (absent) to v. */
static int table_put(hs_table *t, uintptr_t k, uint32_t v)
{
    if ((t->used + 1) * 4 > t->cap * 3 && table_grow(t) < 0)
        return -1;
    size_t m = t->cap - 1;
    size_t i = slot_of(k, t->cap);
    while (t->slots[i].key && t->slots[i].key != k)
        i = (i + 1) & m;
    if (!t->slots[i].key)
        t->used++;
    t->slots[i].key = k;
    t->slots[i].val = v;
    return 0;
}

/* A growable array of fixed-size items. */
typedef struct {
    char *p;
    size_t n, cap, item;
} hs_vec;

static void *vec_push(hs_vec *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        char *p = realloc(v->p, cap * v->item);
        if (!p)
            return NULL;
        v->p = p;
        v->cap = cap;
    }
    return v->p + v->item * v->n++;
}

#define VEC(type)                \
    {                            \
        NULL, 0, 0, sizeof(type) \
    }
#define AT(v, type, i) (((type *)(v).p)[i])

/* How sys.getsizeof is read for the objects of one type: its __sizeof__ method descriptor (held) and the
   constant getsizeof adds (the GC header, or 3.12+'s pre-header: a function of the type only); descr NULL:
   call sys.getsizeof itself. */
typedef struct {
    PyObject *descr;
    int64_t head;
} hs_sizer;

typedef struct {
    hs_table index;
    hs_table kinds;  /* type -> kind */
    hs_vec obj;      /* PyObject *, one reference each */
    hs_vec kind;     /* uint8_t */
    hs_vec slots;    /* uint32_t: references from holders' slots */
    hs_vec starts;   /* uint64_t: node j's references are dst[starts[j] .. starts[j + 1]] */
    hs_vec dst;      /* uint32_t */
    hs_vec pending;  /* PyObject *: one object's references, borrowed */
    hs_vec held;     /* PyObject *, one reference each: the types in `kinds`, the objects of kind 4 */
    hs_table sizers; /* type -> index in `sizer` (kind 0 types met in a size) */
    hs_vec sizer;    /* hs_sizer */
    PyObject *sizeof_name;
    hs_vec folded; /* int64_t: bytes of the leaves folded into the node */
    size_t n_folded;
    /* pending[cur] is being looked at; pending[held_from..] hold a reference (SIZE_MAX: none do) */
    size_t cur, held_from;
    PyObject *kind_of, *getsizeof, *own_size;
} hs_walk;

static int visit(PyObject *r, void *arg)
{
    if (!r)
        return 0;
    PyObject **p = vec_push((hs_vec *)arg);
    if (!p)
        return -1;
    *p = r;
    return 0;
}

/* Before Python code runs during the walk of one object (it may switch threads, and another thread may
   drop what the object referred to): the references not looked at yet are held from here on. */
static void hold_pending(hs_walk *w)
{
    if (w->held_from != SIZE_MAX || w->cur >= w->pending.n)
        return;
    w->held_from = w->cur;
    for (size_t i = w->cur; i < w->pending.n; i++)
        Py_INCREF(AT(w->pending, PyObject *, i));
}

static void release_pending(hs_walk *w)
{
    if (w->held_from == SIZE_MAX)
        return;
    for (size_t i = w->held_from; i < w->pending.n; i++)
        Py_DECREF(AT(w->pending, PyObject *, i));
    w->held_from = SIZE_MAX;
}

static int kind_of(hs_walk *w, PyTypeObject *t)
{
    int64_t k = table_get(&w->kinds, (uintptr_t)t);
    if (k >= 0)
        return (int)k;
    hold_pending(w);
    PyObject *r = PyObject_CallOneArg(w->kind_of, (PyObject *)t);
    if (!r)
        return -1;
    long v = PyLong_AsLong(r);
    Py_DECREF(r);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0 || v > 4) {
        PyErr_SetString(PyExc_ValueError, "kind_of returned a kind outside 0..4");
        return -1;
    }
    PyObject **held = vec_push(&w->held);
    if (!held || table_put(&w->kinds, (uintptr_t)t, (uint32_t)v) < 0) {
        if (held)
            w->held.n--;
        PyErr_NoMemory();
        return -1;
    }
    *held = (PyObject *)t; /* held: its address stays its own while the table knows it */
    Py_INCREF(t);
    return (int)v;
}

static uint64_t block_size(uint64_t n)
{
    if (n == 0)
        return 0;
    if (n <= 512)
        return (n + 15) & ~(uint64_t)15;
    uint64_t b = ((n + 8 + 15) & ~(uint64_t)15) - 8;
    return b < 24 ? 24 : b;
}

/* A call's result (a new reference, or NULL) as an integer in *v, the result released; -1 with an
   exception set. */
static int as_integer(PyObject *r, long long *v)
{
    if (!r)
        return -1;
    *v = PyLong_AsLongLong(r);
    Py_DECREF(r);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

/* A size callback's answer as bytes (>= 0); -1 on error. */
static int64_t as_bytes(PyObject *r)
{
    long long v;
    if (as_integer(r, &v) < 0)
        return -1;
    return v < 0 ? 0 : v;
}

/* sys.getsizeof(o) (>= 0), or -1 with an exception set. The first object of a type is sized by
   getsizeof itself and by the type's __sizeof__ when that is a method descriptor (C code, kind 0): the
   difference is the type's constant, and its later objects call the descriptor only (no bound method, no
   argument parsing). */
static int64_t getsizeof_of(hs_walk *w, PyObject *o)
{
    PyTypeObject *t = Py_TYPE(o);
    int64_t s = table_get(&w->sizers, (uintptr_t)t);
    if (s >= 0) {
        hs_sizer *z = &AT(w->sizer, hs_sizer, s);
        if (!z->descr)
            return as_bytes(PyObject_CallOneArg(w->getsizeof, o));
        long long v;
        if (as_integer(PyObject_CallOneArg(z->descr, o), &v) < 0)
            return -1;
        if (v < 0) { /* (getsizeof's own check) */
            PyErr_SetString(PyExc_ValueError, "__sizeof__() should return >= 0");
            return -1;
        }
        return v + z->head;
    }
    int64_t g = as_bytes(PyObject_CallOneArg(w->getsizeof, o));
    if (g < 0)
        return -1;
    hs_sizer z = {NULL, 0};
    PyObject *d = _PyType_Lookup(t, w->sizeof_name); /* (borrowed; a dict look-up along the MRO) */
    if (d && Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        long long v;
        if (as_integer(PyObject_CallOneArg(d, o), &v) == 0 && v >= 0 && v <= g) {
            z.descr = d;
            z.head = g - v;
            Py_INCREF(d);
        } else {
            PyErr_Clear();
        }
    }
    hs_sizer *pz = vec_push(&w->sizer);
    if (!pz || table_put(&w->sizers, (uintptr_t)t, (uint32_t)(w->sizer.n - 1)) < 0) {
        if (pz)
            w->sizer.n--;
        Py_XDECREF(z.descr);
        PyErr_NoMemory();
        return -1;
    }
    *pz = z;
    return g;
}

/* The bytes of o of kind k (0-3), rounded to the allocator's block; -1 with an exception set. */
static int64_t size_of(hs_walk *w, PyObject *o, int k)
{
    if (k == 0) {
        int64_t x = getsizeof_of(w, o);
        return x < 0 ? -1 : (int64_t)block_size((uint64_t)x);
    }
    hold_pending(w);
    PyObject *kk = PyLong_FromLong(k);
    int64_t x = kk ? as_bytes(PyObject_CallFunctionObjArgs(w->own_size, o, kk, NULL)) : -1;
    Py_XDECREF(kk);
    return x;
}

/* The node of o (added, with a reference, when new), or NONE_NODE (never a node, or a leaf folded into
   node `parent`: an object the GC does not track that only `parent` refers to, under EXACT_MIN bytes, as the
   Python walk folds them; parent -1: never fold); -1 (as int64) on error. */
static int64_t node_of(hs_walk *w, PyObject *o, int64_t parent)
{
    int64_t j = table_get(&w->index, (uintptr_t)o);
    if (j >= 0)
        return j;
    int k = kind_of(w, Py_TYPE(o));
    if (k < 0)
        return -1;
    if (k == 4) {
        PyObject **held = vec_push(&w->held);
        if (!held)
            goto nomem;
        *held = o; /* (as the types) */
        Py_INCREF(o);
        if (table_put(&w->index, (uintptr_t)o, NONE_NODE) < 0)
            goto nomem;
        return NONE_NODE;
    }
    /* only the parent refers to it (and the walk, when it holds the pending references) */
    if (parent >= 0 && k != 2 && !PyType_IS_GC(Py_TYPE(o)) && Py_REFCNT(o) == 1 + (w->held_from <= w->cur)) {
        int64_t x = size_of(w, o, k);
        if (x < 0) {
            if (!PyErr_ExceptionMatches(PyExc_Exception))
                return -1;
            PyErr_Clear(); /* (the Python walk: a leaf whose size cannot be read stays a node) */
        } else if (x < EXACT_MIN) {
            AT(w->folded, int64_t, parent) += x;
            w->n_folded++;
            return NONE_NODE;
        }
    }
    if (w->obj.n >= NONE_NODE - 1) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**32 objects");
        return -1;
    }
    uint32_t n = (uint32_t)w->obj.n;
    PyObject **po = vec_push(&w->obj);
    if (!po)
        goto nomem;
    *po = o;
    Py_INCREF(o);
    uint8_t *pk = vec_push(&w->kind);
    uint32_t *ps = vec_push(&w->slots);
    int64_t *pf = vec_push(&w->folded);
    if (!pk || !ps || !pf || table_put(&w->index, (uintptr_t)o, n) < 0)
        goto nomem;
    *pk = (uint8_t)k;
    *ps = 0;
    *pf = 0;
    return n;
nomem:
    PyErr_NoMemory();
    return -1;
}

static int call_progress(PyObject *progress, const char *phase, size_t done, size_t total)
{
    if (progress == Py_None)
        return 0;
    PyObject *r = PyObject_CallFunction(progress, "snn", phase, (Py_ssize_t)done, (Py_ssize_t)total);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* The walk: every node's references into the CSR arrays (nodes are added as they are found). */
static int walk_all(hs_walk *w, PyObject *extra, PyObject *progress)
{
    uint64_t *s0 = vec_push(&w->starts);
    if (!s0)
        return (PyErr_NoMemory(), -1);
    *s0 = 0;
    for (size_t j = 0; j < w->obj.n; j++) {
        PyObject *o = AT(w->obj, PyObject *, j);
        PyObject *more = NULL; /* an ndarray's hidden references (Python code: asked before the traverse) */
        if (AT(w->kind, uint8_t, j) == 2) {
            more = PyObject_CallOneArg(extra, o);
            if (!more)
                return -1;
            if (!PyList_Check(more)) {
                Py_DECREF(more);
                PyErr_SetString(PyExc_TypeError, "extra() must return a list");
                return -1;
            }
        }
        /* tp_traverse calls no Python code: the references it gives stay valid until Python code runs
           (hold_pending) */
        w->pending.n = 0;
        w->cur = 0;
        traverseproc trav = Py_TYPE(o)->tp_traverse;
        int rc = PyObject_IS_GC(o) && trav ? trav(o, visit, &w->pending) : 0;
        for (Py_ssize_t i = 0; !rc && more && i < PyList_GET_SIZE(more); i++)
            rc = visit(PyList_GET_ITEM(more, i), &w->pending);
        if (rc) {
            Py_XDECREF(more);
            if (!PyErr_Occurred())
                PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < w->pending.n; i++) {
            if (i + 16 < w->pending.n) { /* the table is far bigger than the caches: ask for memory early */
                PyObject *ahead = AT(w->pending, PyObject *, i + 16);
                __builtin_prefetch(&w->index.slots[slot_of((uintptr_t)ahead, w->index.cap)]);
                __builtin_prefetch(ahead);
            }
            w->cur = i;
            int64_t d = node_of(w, AT(w->pending, PyObject *, i), (int64_t)j);
            uint32_t *pd = d >= 0 && d != NONE_NODE ? vec_push(&w->dst) : NULL;
            if (d < 0 || (d != NONE_NODE && !pd)) {
                if (d >= 0)
                    PyErr_NoMemory();
                release_pending(w);
                Py_XDECREF(more);
                return -1;
            }
            if (pd)
                *pd = (uint32_t)d;
        }
        release_pending(w);
        w->pending.n = 0;
        Py_XDECREF(more);
        uint64_t *ps = vec_push(&w->starts);
        if (!ps)
            return (PyErr_NoMemory(), -1);
        *ps = w->dst.n;
        if (!((j + 1) % PROGRESS_EVERY) && call_progress(progress, "walk", j + 1, w->obj.n) < 0)
            return -1;
    }
    return 0;
}

/* (node, holder) pairs of the nodes more than one holder reaches, sorted by node then holder. */
typedef struct {
    uint32_t node, holder;
} hs_pair;

static int pair_cmp(const void *a, const void *b)
{
    const hs_pair *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return x->holder < y->holder ? -1 : (x->holder > y->holder);
}

static int dict_add(PyObject *d, PyObject *key, int64_t add)
{
    PyObject *old = PyDict_GetItemWithError(d, key);
    if (!old && PyErr_Occurred())
        return -1;
    long long v = old ? PyLong_AsLongLong(old) : 0;
    PyObject *nv = PyLong_FromLongLong(v + add);
    int rc = nv ? PyDict_SetItem(d, key, nv) : -1;
    Py_XDECREF(nv);
    return rc;
}

static PyObject *list_of_i64(const int64_t *v, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++) {
        PyObject *x = PyLong_FromLongLong(v[i]);
        if (!x) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, x);
    }
    return l;
}

PyObject *py_holders_walk(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *roots, *slots, *skip, *kind_of_fn, *getsizeof, *own_size, *extra, *exact, *progress;
    if (!PyArg_ParseTuple(args, "O!O!O!OOOOOO:holders_walk", &PyList_Type, &roots, &PyList_Type, &slots, &PyList_Type,
                          &skip, &kind_of_fn, &getsizeof, &own_size, &extra, &exact, &progress))
        return NULL;
    Py_ssize_t nh = PyList_GET_SIZE(roots);
    if (PyList_GET_SIZE(slots) != nh) {
        PyErr_SetString(PyExc_ValueError, "roots and slots differ in length");
        return NULL;
    }
    hs_walk w = {.obj = VEC(PyObject *),
                 .kind = VEC(uint8_t),
                 .slots = VEC(uint32_t),
                 .starts = VEC(uint64_t),
                 .dst = VEC(uint32_t),
                 .pending = VEC(PyObject *),
                 .folded = VEC(int64_t),
                 .held_from = SIZE_MAX,
                 .held = VEC(PyObject *),
                 .sizer = VEC(hs_sizer),
                 .kind_of = kind_of_fn,
                 .getsizeof = getsizeof,
                 .own_size = own_size};
    PyObject *result = NULL, *roots_of = NULL, *exact_rows = NULL;
    uint32_t *indeg = NULL, *stack = NULL;
    uint8_t *outside = NULL, *has_row = NULL;
    int64_t *size = NULL, *reach = NULL, *own = NULL;
    int32_t *owner = NULL, *seen = NULL;
    hs_vec pairs = VEC(hs_pair);
    w.sizeof_name = PyUnicode_InternFromString("__sizeof__");
    if (!w.sizeof_name || table_init(&w.index, 1u << 16) < 0 || table_init(&w.kinds, 1u << 10) < 0 ||
        table_init(&w.sizers, 1u << 10) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(skip); i++) {
        uintptr_t k = (uintptr_t)PyList_GET_ITEM(skip, i);
        if (table_get(&w.index, k) < 0 && table_put(&w.index, k, NONE_NODE) < 0) {
            PyErr_NoMemory();
            goto done;
        }
    }
    /* the holders' roots (as nodes) and slots, holder by holder; their lists are emptied */
    roots_of = PyList_New(nh);
    if (!roots_of)
        goto done;
    for (Py_ssize_t h = 0; h < nh; h++) {
        PyObject *rl = PyList_GET_ITEM(roots, h), *sl = PyList_GET_ITEM(slots, h);
        if (!PyList_Check(rl) || !PyList_Check(sl)) {
            PyErr_SetString(PyExc_TypeError, "roots and slots must be lists of lists");
            goto done;
        }
        PyObject *rj = PyList_New(0);
        if (!rj)
            goto done;
        PyList_SET_ITEM(roots_of, h, rj);
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rl); i++) {
            int64_t j = node_of(&w, PyList_GET_ITEM(rl, i), -1);
            if (j < 0)
                goto done;
            if (j == NONE_NODE)
                continue;
            PyObject *x = PyLong_FromLongLong(j);
            int rc = x ? PyList_Append(rj, x) : -1;
            Py_XDECREF(x);
            if (rc < 0)
                goto done;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(sl); i++) {
            int64_t j = table_get(&w.index, (uintptr_t)PyList_GET_ITEM(sl, i));
            if (j >= 0 && j != NONE_NODE)
                AT(w.slots, uint32_t, j)++;
        }
        if (PyList_SetSlice(rl, 0, PyList_GET_SIZE(rl), NULL) < 0 ||
            PyList_SetSlice(sl, 0, PyList_GET_SIZE(sl), NULL) < 0)
            goto done;
    }
    if (walk_all(&w, extra, progress) < 0)
        goto done;
    table_free(&w.index); /* (not needed any more: its memory for the passes' arrays) */
    size_t n = w.obj.n;
    const uint64_t *starts = (const uint64_t *)w.starts.p;
    const uint32_t *dst = (const uint32_t *)w.dst.p;
    /* kept alive from outside: more references than found (ours: 1), and all it reaches */
    indeg = calloc(n + 1, sizeof *indeg);
    outside = calloc(n + 1, 1);
    stack = malloc((n + 1) * sizeof *stack);
    size = calloc(n + 1, sizeof *size);
    has_row = calloc(n + 1, 1);
    owner = malloc((n + 1) * sizeof *owner);
    seen = malloc((n + 1) * sizeof *seen);
    reach = calloc((size_t)nh + 1, sizeof *reach);
    own = calloc((size_t)nh + 1, sizeof *own);
    if (!indeg || !outside || !stack || !size || !has_row || !owner || !seen || !reach || !own) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t e = 0; e < w.dst.n; e++)
        indeg[dst[e]]++;
    size_t top = 0;
    for (size_t i = 0; i < n; i++) {
        PyObject *o = AT(w.obj, PyObject *, i);
        if ((int64_t)Py_REFCNT(o) - 1 - (int64_t)indeg[i] - (int64_t)AT(w.slots, uint32_t, i) > 0) {
            outside[i] = 1;
            stack[top++] = (uint32_t)i;
        }
    }
    free(indeg);
    indeg = NULL;
    while (top) {
        uint32_t i = stack[--top];
        for (uint64_t e = starts[i]; e < starts[i + 1]; e++)
            if (!outside[dst[e]]) {
                outside[dst[e]] = 1;
                stack[top++] = dst[e];
            }
    }
    /* sizes */
    if (call_progress(progress, "sizes", 0, n) < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (outside[i])
            continue;
        int k = AT(w.kind, uint8_t, i);
        int64_t x = size_of(&w, AT(w.obj, PyObject *, i), k);
        if (x < 0) {
            if (k)
                goto done;
            PyErr_Clear(); /* as the Python walk: a size that cannot be read is 0 */
            continue;
        }
        size[i] = x;
    }
    /* the shim's exact blocks for the big buffers */
    if (exact != Py_None) {
        PyObject *items = PyList_New(0);
        if (!items)
            goto done;
        for (size_t i = 0; i < n; i++) {
            if (outside[i] || size[i] < EXACT_MIN)
                continue;
            PyObject *it = Py_BuildValue("nOin", (Py_ssize_t)i, AT(w.obj, PyObject *, i), AT(w.kind, uint8_t, i),
                                         (Py_ssize_t)size[i]);
            int rc = it ? PyList_Append(items, it) : -1;
            Py_XDECREF(it);
            if (rc < 0) {
                Py_DECREF(items);
                goto done;
            }
        }
        PyObject *ans = PyList_GET_SIZE(items) ? PyObject_CallOneArg(exact, items) : PyList_New(0);
        Py_DECREF(items);
        if (!ans)
            goto done;
        exact_rows = PyDict_New();
        PyObject *seq = PySequence_Fast(ans, "exact() must return a list");
        Py_DECREF(ans);
        if (!exact_rows || !seq) {
            Py_XDECREF(seq);
            goto done;
        }
        for (Py_ssize_t a = 0; a < PySequence_Fast_GET_SIZE(seq); a++) {
            Py_ssize_t i, bytes;
            PyObject *row;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, a), "nnO:exact", &i, &bytes, &row)) {
                Py_DECREF(seq);
                goto done;
            }
            if (i < 0 || (size_t)i >= n) {
                Py_DECREF(seq);
                PyErr_SetString(PyExc_IndexError, "exact(): node out of range");
                goto done;
            }
            size[i] = bytes;
            if (row != Py_None) {
                PyObject *key = PyLong_FromSsize_t(i);
                int rc = key ? PyDict_SetItem(exact_rows, key, row) : -1;
                Py_XDECREF(key);
                if (rc < 0) {
                    Py_DECREF(seq);
                    goto done;
                }
                has_row[i] = 1;
            }
        }
        Py_DECREF(seq);
    }
    for (size_t i = 0; i < n; i++)
        if (!outside[i])
            size[i] += AT(w.folded, int64_t, i);
    /* per holder: what it reaches (not outside); owner: -1 nobody, h, -2 several (then in pairs) */
    for (size_t i = 0; i < n; i++)
        owner[i] = seen[i] = -1;
    PyObject *site_rows = PyList_New(nh);
    if (!site_rows)
        goto done;
    result = PyDict_New();
    if (!result || PyDict_SetItemString(result, "site_rows", site_rows) < 0) {
        Py_DECREF(site_rows);
        goto done;
    }
    Py_DECREF(site_rows);
    for (Py_ssize_t h = 0; h < nh; h++) {
        PyObject *rows = PyList_New(0);
        if (!rows)
            goto done;
        PyList_SET_ITEM(site_rows, h, rows);
        PyObject *rj = PyList_GET_ITEM(roots_of, h);
        int64_t total = 0;
        top = 0;
        for (Py_ssize_t a = 0; a < PyList_GET_SIZE(rj); a++) {
            size_t i = PyLong_AsSize_t(PyList_GET_ITEM(rj, a));
            if (!outside[i]) {
                stack[top++] = (uint32_t)i;
                seen[i] = (int32_t)h;
            }
        }
        while (top) {
            uint32_t i = stack[--top];
            total += size[i];
            if (has_row[i]) {
                PyObject *key = PyLong_FromLong((long)i);
                PyObject *row = key ? PyDict_GetItemWithError(exact_rows, key) : NULL;
                Py_XDECREF(key);
                if (!row || PyList_Append(rows, row) < 0) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_KeyError, "site row");
                    goto done;
                }
            }
            int32_t o = owner[i];
            if (o == -1) {
                owner[i] = (int32_t)h;
            } else if (o != h) {
                hs_pair *p = vec_push(&pairs);
                if (!p)
                    goto nomem;
                if (o >= 0) {
                    *p = (hs_pair){i, (uint32_t)o};
                    p = vec_push(&pairs);
                    if (!p)
                        goto nomem;
                    owner[i] = -2;
                }
                *p = (hs_pair){i, (uint32_t)h};
            }
            for (uint64_t e = starts[i]; e < starts[i + 1]; e++) {
                uint32_t d = dst[e];
                if (seen[d] != h && !outside[d]) {
                    seen[d] = (int32_t)h;
                    stack[top++] = d;
                }
            }
        }
        reach[h] = total;
        if (call_progress(progress, "holders", (size_t)h + 1, (size_t)nh) < 0)
            goto done;
    }
    int64_t held = 0;
    for (size_t i = 0; i < n; i++)
        if (owner[i] >= 0) {
            own[owner[i]] += size[i];
            held += size[i];
        } else if (owner[i] == -2) {
            held += size[i];
        }
    /* shared groups: the sorted holders of each node reached by several, summed per set of holders */
    PyObject *groups = PyDict_New();
    if (!groups || PyDict_SetItemString(result, "groups", groups) < 0) {
        Py_XDECREF(groups);
        goto done;
    }
    Py_DECREF(groups);
    if (pairs.n)
        qsort(pairs.p, pairs.n, sizeof(hs_pair), pair_cmp);
    const hs_pair *pp = (const hs_pair *)pairs.p;
    PyObject *last = NULL; /* the previous node's key, reused while the set is the same */
    int64_t acc = 0;
    for (size_t a = 0; a < pairs.n;) {
        size_t b = a;
        while (b < pairs.n && pp[b].node == pp[a].node)
            b++;
        size_t m = 0; /* distinct holders in pp[a..b) */
        for (size_t c = a; c < b; c++)
            m += c == a || pp[c].holder != pp[c - 1].holder;
        int same = last && (size_t)PyTuple_GET_SIZE(last) == m;
        for (size_t c = a, t = 0; same && c < b; c++)
            if (c == a || pp[c].holder != pp[c - 1].holder)
                same = PyLong_AsLong(PyTuple_GET_ITEM(last, (Py_ssize_t)t++)) == (long)pp[c].holder;
        if (!same) {
            if (last) {
                int rc = dict_add(groups, last, acc);
                Py_CLEAR(last);
                if (rc < 0)
                    goto done;
            }
            acc = 0;
            last = PyTuple_New((Py_ssize_t)m);
            if (!last)
                goto done;
            for (size_t c = a, t = 0; c < b; c++)
                if (c == a || pp[c].holder != pp[c - 1].holder) {
                    PyObject *x = PyLong_FromLong((long)pp[c].holder);
                    if (!x) {
                        Py_CLEAR(last);
                        goto done;
                    }
                    PyTuple_SET_ITEM(last, (Py_ssize_t)t++, x);
                }
        }
        acc += size[pp[a].node];
        a = b;
    }
    if (last) {
        int rc = dict_add(groups, last, acc);
        Py_CLEAR(last);
        if (rc < 0)
            goto done;
    }
    PyObject *lr = list_of_i64(reach, (size_t)nh), *lo = list_of_i64(own, (size_t)nh);
    PyObject *hv = PyLong_FromLongLong(held), *nv = PyLong_FromSize_t(n + w.n_folded);
    int rc = lr && lo && hv && nv && PyDict_SetItemString(result, "reach", lr) == 0 &&
                     PyDict_SetItemString(result, "own", lo) == 0 && PyDict_SetItemString(result, "held", hv) == 0 &&
                     PyDict_SetItemString(result, "nodes", nv) == 0
                 ? 0
                 : -1;
    Py_XDECREF(lr);
    Py_XDECREF(lo);
    Py_XDECREF(hv);
    Py_XDECREF(nv);
    if (rc < 0)
        goto done;
    goto finish;
nomem:
    PyErr_NoMemory();
done:
    Py_CLEAR(result);
finish:
    /* the scan's references end here */
    for (size_t i = 0; i < w.obj.n; i++)
        Py_DECREF(AT(w.obj, PyObject *, i));
    free(w.obj.p);
    free(w.kind.p);
    free(w.slots.p);
    free(w.folded.p);
    free(w.starts.p);
    free(w.dst.p);
    free(w.pending.p);
    free(pairs.p);
    table_free(&w.index);
    table_free(&w.kinds);
    for (size_t i = 0; i < w.held.n; i++)
        Py_DECREF(AT(w.held, PyObject *, i));
    free(w.held.p);
    table_free(&w.sizers);
    for (size_t i = 0; i < w.sizer.n; i++)
        Py_XDECREF(AT(w.sizer, hs_sizer, i).descr);
    free(w.sizer.p);
    Py_XDECREF(w.sizeof_name);
    free(indeg);
    free(outside);
    free(stack);
    free(size);
    free(has_row);
    free(owner);
    free(seen);
    free(reach);
    free(own);
    Py_XDECREF(roots_of);
    Py_XDECREF(exact_rows);
    return result;
}
