/*
 * stacks.h — stack interning: a trie of (parent id, frame) -> id whose first level is the run.
 *
 * Contract
 *   A stack id (uint32, 0 = none) names one node; a node is (parent, frame) and its path up to the
 *   root is the stack, outermost frame next to the root. The root of each stack is the node of the
 *   run (cell) that was current when the allocation was made (code HEAPSCOPE_FRAME_ROOT, lasti =
 *   run), so an id also says which cell allocated. Frames are (code pointer, byte offset) words
 *   from the bridge's locator, or pseudo frames (code < HEAPSCOPE_PSEUDO_MAX).
 *   Nodes sit in slots of 1 MiB chunks mapped with hs_own_map; a node never moves, so readers find
 *   it by id without a lock (hs_node); a slot is reused once its node is reclaimed (below). Each node also carries the per-stack counters of
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
 *   Reclaiming (hs_stacks_reclaim, called when a run begins, engine/runs.c): the nodes of old runs
 *   that hold nothing are reclaimed and their slots reused. A node is kept while it holds alive bytes
 *   or blocks (cur_b/cur_c: its pointer-table, page-map and region entries), is pinned (a thread
 *   inherited it, hs_stack_pin), belongs to a protected run (run 0's pseudo-sites, the runs the agent
 *   resumes between cells) or has a kept descendant (a stack needs its whole path: kept paths are
 *   marked upwards first, HS_NODE_MARK, so no order of ids is assumed). A reclaimed node leaves the
 *   index and reads as unknown (HS_NODE_LIVE clear: collections skip it).
 *   Slots: a stack id is a slot; every slot has a generation (the high bits of `flags`), bumped when
 *   its node is reclaimed. The key (generation << 32 | slot, hs_stack_key) is what leaves the engine
 *   for a reader that keeps ids (the bridge hands keys to Python): hs_stack_at_key refuses a key whose
 *   generation is not the slot's now, so a key never names another stack than the one it was given
 *   to. A slot whose generation would wrap (2^24 reuses) is retired, never reused. Reclaimed slots are
 *   quarantined until the next reclaim, then reused fullest page first (so the pages that keep
 *   survivors fill up again); a 4 KiB page whose 64 slots are all free is given back (hs_own_release,
 *   profiler_bytes drops) and taken again, last, when the fuller pages are used up. So the node pages
 *   hold about (nodes that exist) / 64 pages, whatever the session's length.
 *   Runs: each run links its nodes in a list (`next`, newest first) whose head hs_stacks_run_head
 *   returns, so a collection of one run costs O(its nodes) wherever its slots are. Once a run has
 *   been swept by a reclaim, its list may lead through reused slots: it is no longer known (the
 *   caller scans every slot, as for runs older than the ring of RUN_RING runs).
 *   Address space is not given back: slots stay below 2^30 (64 GiB of address space at most, almost
 *   none of it resident; with reuse the slots in use stay near the nodes that exist).
 *
 * Thread-safety
 *   Interning takes one spinlock (the cache avoids it in the common case); reading a node by id is
 *   lock-free (ids are published after the node is written, with release ordering).
 *   hs_stacks_reclaim runs under the trie lock (called under the runs' lock, with the GIL); the hot
 *   allocation path is unchanged. It reads the counters of old nodes with relaxed atomic loads,
 *   without the sites lock: only frees write those, and a free racing with the reclaim keeps the
 *   node one reclaim longer. Ticker thread: it never reads nodes. GIL-released allocating threads:
 *   the reclaim bumps the per-thread cache generation, so no cached path names a reclaimed node
 *   afterwards; a thread's inherited stack is pinned. The one race left: a thread that read the run
 *   number, then stalls until HEAPSCOPE_HISTORY_RUNS more runs and one more reclaim have begun
 *   (the quarantine) before it interns or records, may charge that one allocation to a slot reused
 *   meanwhile (another stack's counters; the totals stay exact). The same holds for a realloc by a
 *   thread without the GIL that spans two reclaims. Readers by key never see another stack.
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
    /* HS_NODE_* and the generation (bits 8..31), under the trie lock; the run's list, newest first */
    uint32_t flags, next;
} __attribute__((aligned(64)));

#define HS_NODE_LIVE      1u /* created and not reclaimed */
#define HS_NODE_PINNED    2u /* a thread inherited it: never reclaimed */
#define HS_NODE_MARK      4u /* during a reclaim: it or a descendant holds memory */
#define HS_NODE_GEN_SHIFT 8

#define HS_NODE_CHUNK_BITS 14
#define HS_NODE_CHUNKS     (1u << 16)
extern HS_HIDDEN struct hs_node *_Atomic hs_node_chunks[HS_NODE_CHUNKS];
extern HS_HIDDEN _Atomic uint32_t hs_node_count; /* slots are 1..count-1 (the highest handed out + 1) */

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
/* A new run begins: starts its list of nodes (call before hs_eng.run changes). */
HS_HIDDEN void hs_stacks_run_begin(uint32_t run);
/* The newest node of `run` (its list goes on through `next`, 0 ends it) and *known = 1; or *known = 0
   when the list is not known (the run was swept by a reclaim, or is older than the ring): then every
   slot must be looked at. */
HS_HIDDEN uint32_t hs_stacks_run_head(uint32_t run, int *known);
HS_HIDDEN uint64_t hs_stack_bytes(void);
/* 1 when slot id holds a node (created, not reclaimed). */
static inline int hs_stack_live(uint32_t id)
{
    return id && id < atomic_load_explicit(&hs_node_count, memory_order_acquire) &&
           (__atomic_load_n(&hs_node(id)->flags, __ATOMIC_ACQUIRE) & HS_NODE_LIVE);
}
/* The stack (and its path) is never reclaimed (a thread inherits it). */
HS_HIDDEN void hs_stack_pin(uint32_t id);
/* Reclaims the nodes of runs before `before` that hold nothing, except those of the protected runs
   (run 0 always); returns the nodes reclaimed. */
HS_HIDDEN uint32_t hs_stacks_reclaim(uint32_t before, const uint32_t *protect, int nprotect);
/* Nodes that exist (created and not reclaimed). */
HS_HIDDEN uint64_t hs_stack_live_nodes(void);
/* The key of the stack in slot id now (generation << 32 | id), 0 when the slot holds none. */
static inline uint64_t hs_stack_key(uint32_t id)
{
    if (!hs_stack_live(id))
        return 0;
    uint32_t f = __atomic_load_n(&hs_node(id)->flags, __ATOMIC_ACQUIRE);
    return (uint64_t)(f >> HS_NODE_GEN_SHIFT) << 32 | id;
}
/* The slot of key when it still names the stack it was given to, else 0. */
static inline uint32_t hs_stack_at_key(uint64_t key)
{
    uint32_t id = (uint32_t)key;
    return key >> 56 == 0 && hs_stack_key(id) == key ? id : 0;
}

HS_HIDDEN void hs_stacks_atfork_prepare(void);
HS_HIDDEN void hs_stacks_atfork_parent(void);
HS_HIDDEN void hs_stacks_atfork_child(void);

#endif
