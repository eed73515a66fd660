/*
 * hs.h — the shim's few macros, defined once: every source file of shim/src includes this first.
 *
 * Contract
 *   HS_HIDDEN   a symbol shared between the shim's own files, never exported (the version script in
 *               heapscope.map exports only the hooks and heapscope_*; this keeps the compiler from
 *               emitting PLT calls for internal functions too).
 *   HS_EXPORT   a symbol of the public API (include/heapscope.h) or an interposed libc function.
 *   HS_TLS      initial-exec thread-local storage: no allocation, no __tls_get_addr, usable inside
 *               allocation hooks (the library is preloaded, so its TLS is in the static block).
 *   HS_LIKELY / HS_UNLIKELY  branch hints.
 *
 * Layers (docs/engine.md, checked by tests/check_layers.py): core < data < engine < hooks < init.
 * A file may include and call only files of its own layer or below, and nothing forms a cycle.
 *
 * Thread-safety: nothing here has state.
 */
#ifndef HS_HS_H
#define HS_HS_H

#define HS_HIDDEN      __attribute__((visibility("hidden")))
#define HS_EXPORT      __attribute__((visibility("default")))
#define HS_TLS         __thread __attribute__((tls_model("initial-exec")))
#define HS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HS_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
