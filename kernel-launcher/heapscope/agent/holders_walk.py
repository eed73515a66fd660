"""The holders scan's walk (issue 13): from the holders' references through the objects they reach, what each
holder alone keeps alive and how big it is. Which references are holders is :mod:`.holders`' job.

Sizes. Because every holder hangs directly under one virtual root, the memory a holder *dominates* is exactly the
memory reachable from it and from nothing else: ``bytes`` (what deleting that holder alone frees). Memory
reachable from several holders and nothing else is reported once, as a shared group (``shared``: "a and b share
N bytes; deleting both frees it"). ``reachable_bytes`` is all memory reachable from the holder that nothing
outside the holders keeps alive (shared groups included).

"Kept alive from outside" is found without walking the whole heap: the scan walks only what the holders reach
(``gc.get_referents``; never ``getattr``), counts for each object the references it found (from other reached
objects and from the holders' own slots), and compares with the object's reference count: an object with more
references than found is kept alive by something else (a module, a library cache, a running frame, C code) and
so is everything reachable from it. An edge the scan cannot see therefore makes it *under*-report (never claim
that deleting a name frees memory that stays).

Object sizes: ``sys.getsizeof`` (only where ``__sizeof__`` is built-in C code; a Python ``__sizeof__`` is never
called) rounded to the allocator's block: pymalloc's 16-byte classes up to 512 bytes, glibc's chunk above; numpy
arrays count their header and, for the array that owns the buffer, its data (a view reaches its base through
``ndarray.base``, read with numpy's own C getter); object arrays reach their elements; bytearrays count their
buffer. pandas objects are reached through their blocks' numpy arrays.

Two walks, same answers. The C walk (``heapscope._bridge.holders_walk``, shim/bridge/walk.c; the default when the
bridge is built for this Python) does the walk and the passes over C arrays: ``tp_traverse`` (what
``gc.get_referents`` returns) into an open-addressing id -> node table and CSR edges, reference counts read with
``Py_REFCNT``, the per-holder walks and shared groups; it calls back here only for what is Python's: a type's kind
(once per type), sizes (``sys.getsizeof`` for built-in sizes — for the first object of a type; later ones
by that type's C ``__sizeof__`` plus the type's constant header —, :meth:`Scan.own_size` for arrays and bytearrays),
an ndarray's hidden references and the shim's exact blocks for the big buffers. It holds the GIL throughout and
runs with the cyclic GC off (its callbacks allocate: no finalizer may run meanwhile). The Python walk below is the
fallback (a Python without a bridge build): one node per object (an id -> index dict, edges in ``array`` CSR
form), except for leaves — objects the GC does not track, which refer to nothing — that exactly one reached object
refers to (the floats, ints and strings inside containers): their size is folded into that object's (leaves of
4 KiB and more stay nodes, so that the shim's table is asked about them). The C walk keeps those leaves as nodes:
the same bytes, the same object count. tests/test_holders_scan.py runs every scan test with both walks and
compares them on the same real objects; ``bench/holders/run.py`` measures them (``--python``: the fallback).

Read-only: no attribute access that can run Python code (descriptors are taken from the C types themselves), no
imports (numpy is used only when the user's process already imported it), no ``__del__`` (nothing is freed: the
scan's only references live in one list dropped at the end). The scan's memory is profiler memory when the
engine is installed (``Engine.agent_work``).
"""

from __future__ import annotations

import gc
import sys
import types
from array import array
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar, cast, overload

if TYPE_CHECKING:
    from typing import TypeGuard  # Python 3.10: never imported at run time (the annotations are strings)

Progress = Callable[[str, int, int], None]

#: How many holders a report/message lists (largest first); the rest are summed into ``other``.
MAX_HOLDERS = 1000
MAX_SHARED = 100
PROGRESS_EVERY = 1 << 16

_T = TypeVar("_T")
_ModuleType = types.ModuleType
#: A module's ``__dict__``, read with the C getter of ``ModuleType`` (typeshed declares ``ModuleType.__dict__``
#: as the instance property, hence the cast to read the class's own mapping).
_module_dict: Callable[[Any], Dict[str, Any]] = cast(Any, types.ModuleType).__dict__["__dict__"].__get__


@overload
def _is(o: object, types_: Type[_T]) -> TypeGuard[_T]: ...
@overload
def _is(o: object, types_: Tuple[type, ...]) -> bool: ...
def _is(o: Any, types_: Any) -> bool:
    """``isinstance`` by the object's real type: ``isinstance`` falls back to ``o.__class__``, which a class
    may define as a property (user code). Narrows ``o`` for the type checker as ``isinstance`` does."""
    return issubclass(type(o), types_)


def block_size(n: int) -> int:
    """Bytes of the allocator block serving a request of ``n`` bytes (pymalloc up to 512, glibc above)."""
    if n <= 0:
        return 0
    if n <= 512:
        return (n + 15) & ~15
    return max(24, ((n + 8 + 15) & ~15) - 8)


class _Numpy:
    """numpy's C getters, taken from the type itself (no subclass property can run)."""

    def __init__(self, np: Any) -> None:
        nd = np.ndarray
        self.ndarray = nd
        self.base = nd.__dict__["base"].__get__
        self.flags = nd.__dict__["flags"].__get__
        self.nbytes = nd.__dict__["nbytes"].__get__
        self.dtype = nd.__dict__["dtype"].__get__
        self.sizeof = nd.__dict__["__sizeof__"]
        self.ravel = nd.__dict__["ravel"]
        self.tolist = nd.__dict__["tolist"]
        self.interface = nd.__dict__["__array_interface__"].__get__


def _builtin_sizeof(t: type) -> bool:
    for k in type.__dict__["__mro__"].__get__(t):
        d = type.__dict__["__dict__"].__get__(k)
        if "__sizeof__" in d:
            m = d["__sizeof__"]
            return _is(m, (types.MethodDescriptorType, types.WrapperDescriptorType, types.BuiltinFunctionType))
    return True


class Scan:
    """One scan's graph: ``objs`` (the only references it keeps), ``succ`` edges in CSR arrays."""

    def __init__(self, progress: Optional[Progress] = None) -> None:
        self.progress = progress
        np = sys.modules.get("numpy")
        self.np = _Numpy(np) if _is(np, _ModuleType) and _is(_module_dict(np).get("ndarray"), type) else None
        self._type_kind: Dict[type, int] = {}

    # --- types --------------------------------------------------------------------------------
    # kind: 0 ordinary (getsizeof), 1 ordinary with a Python __sizeof__, 2 ndarray, 3 bytearray, 4 skip (module,
    # type, module dict: shared infrastructure, never a node)

    def kind_of(self, t: type) -> int:
        k = self._type_kind.get(t)
        if k is None:
            if issubclass(t, (type, _ModuleType)):
                k = 4
            elif self.np is not None and issubclass(t, self.np.ndarray):
                k = 2
            elif issubclass(t, bytearray):
                k = 3
            else:
                k = 0 if _builtin_sizeof(t) else 1
            self._type_kind[t] = k
        return k

    def own_size(self, o: Any, k: int) -> int:
        if k == 0:
            try:
                return block_size(sys.getsizeof(o))
            except Exception:
                return 0
        if k == 1:
            n = object.__sizeof__(o) + (16 if gc.is_tracked(o) else 0)
            return block_size(n)
        if k == 2:
            np = cast(_Numpy, self.np)  # kind 2 only when numpy is there (kind_of)
            total = np.sizeof(o)
            flags = np.flags(o)
            if flags.owndata:
                data = np.nbytes(o)
                return block_size(total - data) + block_size(data)
            return block_size(total)
        if k == 3:
            total = sys.getsizeof(o)
            base = type(o).__basicsize__
            return block_size(base) + block_size(total - base)
        return 0

    def extra_referents(self, o: Any, k: int) -> List[Any]:
        """References tp_traverse does not show: an ndarray's base, an object array's elements."""
        if k != 2:
            return []
        np = cast(_Numpy, self.np)  # kind 2 only when numpy is there (kind_of)
        out = []
        base = np.base(o)
        if base is not None:
            out.append(base)
        elif np.flags(o).owndata and np.dtype(o).hasobject:
            out.extend(np.tolist(np.ravel(o, "K")))
        return out


def _calibrate() -> int:
    """References the scan adds to what ``map(sys.getrefcount, objs)`` reads (the list's, the iterator's),
    measured the same way on an object with one other reference."""
    probe = object()
    objs = [probe]
    return next(map(sys.getrefcount, objs)) - 1  # 1: the local `probe`


_HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC


def _calibrate_leaf() -> int:
    """What ``sys.getrefcount(r)`` reads in the walk's loop (``for r in refs``, ``refs`` from
    ``gc.get_referents``) for an object that exactly one other object refers to: measured the same way."""
    parent = [object()]
    refs = list(parent)
    c = 0
    for r in refs:
        c = sys.getrefcount(r)
    return c


def bridge_function(name: str) -> Optional[Callable[..., Any]]:
    """``heapscope._bridge.<name>``, or None when the bridge is not built for this Python or fails to import
    (the callers then use their Python twin)."""
    try:
        # (absolute: mypy would type `from .. import _bridge` by heapscope's module __getattr__, a str)
        import heapscope._bridge as bridge
    except Exception:
        return None
    return getattr(bridge, name, None)


#: The C walk (shim/bridge/walk.c); without a bridge, the walk below.
_c_walk: Optional[Callable[..., dict]] = bridge_function("holders_walk")

#: Which walk :func:`walk_holders` uses when not told: "c" when the bridge has it, else "python".
DEFAULT_ENGINE = "c" if _c_walk is not None else "python"


def walk_holders(
    holders: List[Tuple[str, str, List[Any], List[Any]]],
    barriers: List[Any],
    progress: Optional[Progress],
    heap_bytes: Optional[int],
    blocks: Optional[Callable[[List[int]], list]] = None,
    engine: Optional[str] = None,
) -> dict:
    """What each holder keeps alive. ``engine``: "c" (``heapscope._bridge.holders_walk``) or "python" (this
    module's walk, the fallback); both give the same answers (tests/test_holders_scan.py)."""
    engine = engine or DEFAULT_ENGINE
    if engine not in ("c", "python"):
        raise ValueError(f"engine must be 'c' or 'python', not {engine!r}")
    if engine == "c" and _c_walk is None:
        raise RuntimeError("heapscope._bridge has no holders_walk for this Python")
    sc = Scan(progress)
    skip: Dict[int, Any] = {id(b): b for b in barriers}
    d: Any = None
    for m in list(_module_dict(sys).get("modules", {}).values()):
        if _is(m, _ModuleType):
            d = _module_dict(m)
            skip[id(d)] = d
    skip[id(sc.__dict__)] = sc.__dict__
    m = d = None
    type_names = [_type_name(roots[0]) if roots else "" for _name, _kind, roots, _slots in holders]
    if engine == "c":
        walked = _walk_c(sc, holders, list(skip.values()), progress, blocks)
    else:
        walked = _walk_python(sc, holders, set(skip), progress, blocks)
    skip.clear()
    own, reach, groups, held, site_rows, objects = walked
    out: List[Dict[str, Any]] = []
    for h, (name, kind, _roots, _slots) in enumerate(holders):
        out.append(
            {
                "name": name,
                "kind": kind,
                "type": type_names[h],
                "bytes": own[h],
                "reachable_bytes": reach[h],
                "sites": [],
                "site_rows": site_rows[h],
            }
        )
    if heap_bytes is not None:
        rest = max(0, int(heap_bytes) - held)
        out.append(
            {
                "name": "not reachable from your names",
                "kind": "other",
                "type": "",
                "bytes": rest,
                "reachable_bytes": rest,
                "sites": [],
            }
        )
    out.sort(key=lambda d: (-d["bytes"], -d["reachable_bytes"], d["name"]))
    shared: List[Dict[str, Any]] = [
        {"names": [holders[h][0] for h in key], "bytes": b} for key, b in groups.items() if b > 0
    ]
    shared.sort(key=lambda d: (-d["bytes"], d["names"]))
    return {"holders": out[:MAX_HOLDERS], "shared": shared[:MAX_SHARED], "objects": objects}


_Walked = Tuple[List[int], List[int], Dict[Tuple[int, ...], int], int, List[List[Tuple[int, int, int]]], int]


def _walk_c(
    sc: Scan,
    holders: List[Tuple[str, str, List[Any], List[Any]]],
    skip: List[Any],
    progress: Optional[Progress],
    blocks: Optional[Callable[[List[int]], list]],
) -> _Walked:
    """The walk in C (shim/bridge/walk.c), with this module's sizing per type: the same algorithm as
    :func:`_walk_python` without leaf folding (a leaf only one object refers to is a node of its own there:
    the same bytes). The cyclic GC is off meanwhile (the callbacks allocate: no finalizer may run)."""
    roots = [r for _n, _k, r, _s in holders]
    slots = [s for _n, _k, _r, s in holders]

    def exact(items: List[Tuple[int, Any, int, int]]) -> List[Tuple[int, int, Any]]:
        assert blocks is not None
        return _exact_items(sc, items, blocks)

    def extra(o: Any) -> List[Any]:
        return sc.extra_referents(o, 2)

    enabled = gc.isenabled()
    gc.disable()
    try:
        r = cast(Callable[..., dict], _c_walk)(
            roots,
            slots,
            skip,
            sc.kind_of,
            sys.getsizeof,
            sc.own_size,
            extra,
            exact if blocks is not None else None,
            progress,
        )
    finally:
        roots.clear()
        slots.clear()
        skip.clear()
        if enabled:
            gc.enable()
    return r["own"], r["reach"], r["groups"], r["held"], r["site_rows"], r["nodes"]


def _walk_python(
    sc: Scan,
    holders: List[Tuple[str, str, List[Any], List[Any]]],
    skip: set,
    progress: Optional[Progress],
    blocks: Optional[Callable[[List[int]], list]],
) -> _Walked:
    objs: List[Any] = []
    # id -> node index; -1: never a node (a barrier, a module dict, a module, a class)
    index: Dict[int, int] = dict.fromkeys(skip, -1)
    kinds = array("b")
    # edges in CSR form: starts[j] .. starts[j+1] in `dst`
    starts = array("q", [0])
    dst = array("q")
    slots_in = array("q")  # references from holders' slots, per node
    folded = array("q")  # bytes of the leaves only this node refers to (not nodes of their own), per node

    def add(o: Any) -> int:
        j = index.get(id(o))
        if j is None:
            k = sc.kind_of(type(o))
            if k == 4:
                index[id(o)] = -1
                return -1
            j = len(objs)
            index[id(o)] = j
            objs.append(o)
            kinds.append(k)
            slots_in.append(0)
            folded.append(0)
        return j

    roots_of: List[List[int]] = []
    for _name, _kind, roots, slots in holders:
        rj = []
        for o in roots:
            j = add(o)
            if j >= 0:
                rj.append(j)
        for o in slots:
            j = index.get(id(o), -1)
            if j >= 0:
                slots_in[j] += 1
        roots_of.append(rj)
        # the holders' lists would count as references from outside: keep only the graph's own list
        roots.clear()
        slots.clear()
    o = None
    # walk (the hot loop: everything it calls is bound to a local)
    get_referents = gc.get_referents
    extra = sc.extra_referents
    index_get = index.get
    kind_get = sc._type_kind.get
    kind_of = sc.kind_of
    objs_append, kinds_append, slots_append, dst_append, starts_append, folded_append = (
        objs.append,
        kinds.append,
        slots_in.append,
        dst.append,
        starts.append,
        folded.append,
    )
    # A leaf (an object the GC does not track: it refers to nothing) that only its parent refers to is owned by
    # that parent: its size is folded into the parent's and it gets no node (most objects of big data structures:
    # floats, ints, strings inside containers). Big ones stay nodes (the shim's table is asked about them).
    leaf_rc = _calibrate_leaf()
    leaf_of: Dict[type, bool] = {}
    leaf_get = leaf_of.get
    getrefcount = sys.getrefcount
    getsizeof = sys.getsizeof
    own_size = sc.own_size
    rounded, round_max = _ROUND, _ROUND_MAX
    n_folded = 0
    j = 0
    r = None
    refs: Optional[List[Any]] = None
    while j < len(objs):
        o = objs[j]
        refs = get_referents(o)
        if kinds[j] == 2:
            refs.extend(extra(o, 2))
        for r in refs:
            a = id(r)
            i = index_get(a)
            if i is None:
                t = type(r)
                k = kind_get(t)
                if k is None:
                    k = kind_of(t)
                if k == 4:
                    index[a] = -1
                    continue
                leaf = leaf_get(t)
                if leaf is None:
                    leaf = leaf_of[t] = k != 2 and not (type.__dict__["__flags__"].__get__(t) & _HAVE_GC)
                if leaf and getrefcount(r) == leaf_rc:
                    try:
                        if k == 0:
                            x = getsizeof(r)
                            x = rounded[x] if x < round_max else block_size(x)
                        else:
                            x = own_size(r, k)
                    except Exception:
                        x = EXACT_MIN
                    if x < EXACT_MIN:
                        folded[j] += x
                        n_folded += 1
                        continue
                i = index[a] = len(objs)
                objs_append(r)
                kinds_append(k)
                slots_append(0)
                folded_append(0)
            elif i < 0:
                continue
            dst_append(i)
        starts_append(len(dst))
        refs = o = r = None
        j += 1
        if progress is not None and not j % PROGRESS_EVERY:
            progress("walk", j, len(objs))
    n = len(objs)
    # references found per node
    indeg = array("q", bytes(8 * n))
    for i in dst:
        indeg[i] += 1
    ours = _calibrate()
    outside = bytearray(n)  # 1: kept alive from outside the holders
    stack = [i for i, c in enumerate(map(sys.getrefcount, objs)) if c - ours - indeg[i] - slots_in[i] > 0]
    for i in stack:
        outside[i] = 1
    while stack:
        i = stack.pop()
        for e in range(starts[i], starts[i + 1]):
            d = dst[e]
            if not outside[d]:
                outside[d] = 1
                stack.append(d)
    if progress is not None:
        progress("sizes", 0, n)
    size = array("q", bytes(8 * n))
    for i in range(n):
        if not outside[i]:
            if kinds[i] == 0:
                try:
                    x = getsizeof(objs[i])
                except Exception:
                    continue
                size[i] = rounded[x] if x < round_max else block_size(x)
            else:
                size[i] = own_size(objs[i], kinds[i])
    # the shim's own record of the big buffers: their exact size and the stack that allocated them
    exact = _exact_blocks(sc, objs, kinds, outside, size, blocks) if blocks is not None else {}
    for i in range(n):
        if folded[i] and not outside[i]:
            size[i] += folded[i]
    site_rows: List[List[Tuple[int, int, int]]] = []
    # per holder: which nodes it reaches (not outside); owner: -1 nobody, h, -2 several (then in `groups`)
    owner = array("q", [-1]) * n
    seen = array("q", [-1]) * n
    several: Dict[int, List[int]] = {}
    reach = []
    for h, rj in enumerate(roots_of):
        total = 0
        rows: List[Tuple[int, int, int]] = []
        stack = [i for i in rj if not outside[i]]
        for i in stack:
            seen[i] = h
        while stack:
            i = stack.pop()
            total += size[i]
            if i in exact:
                rows.append(exact[i])
            w = owner[i]
            if w == -1:
                owner[i] = h
            elif w != h:
                if w >= 0:
                    several[i] = [w, h]
                    owner[i] = -2
                else:
                    several[i].append(h)
            for d in dst[starts[i] : starts[i + 1]]:
                if seen[d] != h and not outside[d]:
                    seen[d] = h
                    stack.append(d)
        reach.append(total)
        site_rows.append(rows)
        if progress is not None:
            progress("holders", h + 1, len(roots_of))
    own = [0] * len(roots_of)
    groups: Dict[Tuple[int, ...], int] = {}
    held = 0
    for i in range(n):
        w = owner[i]
        if w >= 0:
            own[w] += size[i]
            held += size[i]
        elif w == -2:
            key = tuple(sorted(set(several[i])))
            groups[key] = groups.get(key, 0) + size[i]
            held += size[i]
    objs.clear()  # the scan's references end here
    index.clear()
    return own, reach, dict(groups), held, site_rows, n + n_folded


_ROUND_MAX = 4096
_ROUND = [0] * _ROUND_MAX


#: Buffers looked up in the shim's table: at least this big (smaller ones are too many to matter).
EXACT_MIN = 4096


def _exact_items(
    sc: Scan, items: List[Tuple[int, Any, int, int]], blocks: Callable[[List[int]], list]
) -> List[Tuple[int, int, Any]]:
    """For the big buffers inside (an owning ndarray's data, a bytes object, a bytearray's buffer), given as
    ``(node, object, kind, estimated size)``: the shim's block at that address. Answers ``(node, size, site
    row or None)`` for the nodes the shim knows: the size with the block's exact bytes, the row
    ``(stack, bytes, 1)``."""
    nodes: List[int] = []
    addresses: List[int] = []
    heads: List[int] = []
    np = sc.np
    ctypes = sys.modules.get("ctypes")
    o = None
    for i, o, k, est in items:
        try:
            if k == 2 and np is not None and np.flags(o).owndata:
                data = np.nbytes(o)
                addresses.append(np.interface(o)["data"][0])
                heads.append(est - block_size(data))
            elif k == 3 and ctypes is not None and len(o):
                buf = (ctypes.c_char * 0).from_buffer(o)  # bytearray's C buffer export, released below
                addresses.append(ctypes.addressof(buf))
                buf = None
                heads.append(block_size(type(o).__basicsize__))
            elif k == 0 and type(o) is bytes:
                addresses.append(id(o))  # a bytes object is one block (no GC header)
                heads.append(0)
            else:
                continue
        except Exception:
            continue
        nodes.append(i)
    o = None
    found = blocks(addresses) if addresses else []
    out: List[Tuple[int, int, Any]] = []
    for i, head, hit in zip(nodes, heads, found):
        if hit is not None:
            stack_id, nbytes = hit
            out.append((i, head + int(nbytes), (int(stack_id), int(nbytes), 1) if stack_id else None))
    return out


def _exact_blocks(
    sc: Scan, objs: List[Any], kinds: Any, outside: bytearray, size: Any, blocks: Callable[[List[int]], list]
) -> Dict[int, Tuple[int, int, int]]:
    """:func:`_exact_items` over the Python walk's nodes: replaces the estimates by the blocks' exact sizes;
    returns node -> (stack, bytes, 1)."""
    items = [(i, objs[i], kinds[i], size[i]) for i in range(len(objs)) if not outside[i] and size[i] >= EXACT_MIN]
    found = _exact_items(sc, items, blocks)
    items.clear()
    out: Dict[int, Tuple[int, int, int]] = {}
    for i, nbytes, row in found:
        size[i] = nbytes
        if row is not None:
            out[i] = row
    return out


def _type_name(o: Any) -> str:
    t = type(o)
    mod = type.__dict__["__module__"].__get__(t)
    qual = type.__dict__["__qualname__"].__get__(t)
    if type(qual) is not str:  # (a class may set anything there: never format it)
        qual = "?"
    return qual if type(mod) is not str or mod == "builtins" else mod + "." + qual


_ROUND[:] = [block_size(x) for x in range(_ROUND_MAX)]
