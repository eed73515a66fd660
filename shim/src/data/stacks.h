/*
 * stacks.h — stack interning: a trie of (parent id, frame) -> id whose first level is the run.
 *
 * Contract
 *   A stack id (uint32, 0 = none) names one node; a node is (parent, frame) and its path up to the
 *   root is the stack, outermost frame next to the root. The root of each stack is the node of the
 *   run (cell) that was current when the allocation was made (code HEAPSCOPE_FRAME_ROOT, lasti =
 *   run), so an id also says which cell allocated. Frames are (code pointer, byte offset) words
 *   from the bridge's locator, or pseudo frames (code < HEAPSCOPE_PSEUDO_MAX).
 *   Nodes are append-only, in 1 MiB chunks mapped with hs_own_map; a node never moves, so readers
 *   find it by id without a lock (hs_node). Each node also carries the per-stack counters of
 *   sites.h (64 bytes per node in all).
 *   hs_stack_here() returns the stack of the calling thread, via the locator:
 *     - frames found: the trie path for them (at most max_depth frames, innermost kept);
 *     - no Python thread state: the stack inherited from the creating thread (threads.c), else
 *       "<native thread>" under the current run;
 *     - a Python thread with no frame: "<no Python frame>".
 *   A per-thread cache keeps the previous stack's frames and the node id of every prefix, so a new
 *   stack only interns the frames that changed (usually the innermost one or two).
 *   Before a node that refers to a real code object is created, the code is passed to the pin
 *   callback (outside the trie lock); if it refuses (returns 0), no node is created and the stack is
 *   cut at the deepest node reached ("<truncated>" when none), without degrading. When the chunks or the index cannot grow, interning returns the deepest
 *   node it reached (or "<truncated>") and the engine is degraded.
 *
 * Thread-safety
 *   Interning takes one spinlock (the cache avoids it in the common case); reading a node by id is
 *   lock-free (ids are published after the node is written, with release ordering).
 */
#ifndef HS_STACKS_H
#define HS_STACKS_H

#include "core/hs.h"

#include "heapscope.h"

#include <stdatomic.h>
#include <stdint.h>

struct hs_node {
    uint64_t code;
    uint32_t lasti, parent, run;
    /* sites.h, under its lock */
    uint32_t last_peak;
    int64_t cur_b, cur_c, pk_b, pk_c;
} __attribute__((aligned(64)));

#define HS_NODE_CHUNK_BITS 14
#define HS_NODE_CHUNKS     (1u << 16)
extern HS_HIDDEN struct hs_node *_Atomic hs_node_chunks[HS_NODE_CHUNKS];
extern HS_HIDDEN _Atomic uint32_t hs_node_count; /* ids are 1..count-1 */

static inline struct hs_node *hs_node(uint32_t id)
{
    struct hs_node *c = atomic_load_explicit(&hs_node_chunks[id >> HS_NODE_CHUNK_BITS], memory_order_acquire);
    return &c[id & ((1u << HS_NODE_CHUNK_BITS) - 1)];
}

HS_HIDDEN uint32_t hs_stack_intern(uint32_t parent, uintptr_t code, uint32_t lasti, uint32_t run);
HS_HIDDEN uint32_t hs_stack_root(uint32_t run);
HS_HIDDEN uint32_t hs_stack_pseudo(uint32_t code, uint32_t run); /* pseudo frame under a run root */
HS_HIDDEN uint32_t hs_stack_here(void);
/* Nodes of these (dead, never pinned) codes become HEAPSCOPE_FRAME_FREED; sorts codes[]. Their index
   slots stay (probe chains are not broken) but no longer match, and thread caches are invalidated. */
HS_HIDDEN void hs_stacks_forget(uintptr_t *codes, size_t n);
/* A new run begins: remembers the first node id it can have (call before hs_eng.run changes). */
HS_HIDDEN void hs_stacks_run_begin(uint32_t run);
/* The first node id of `run` (nodes of a run never have smaller ids), 1 when no longer known. */
HS_HIDDEN uint32_t hs_stacks_first_of(uint32_t run);
HS_HIDDEN uint64_t hs_stack_bytes(void);

HS_HIDDEN void hs_stacks_atfork_prepare(void);
HS_HIDDEN void hs_stacks_atfork_parent(void);
HS_HIDDEN void hs_stacks_atfork_child(void);

#endif
