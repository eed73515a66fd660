/*
 * record.h — the engine's record paths for libc-family blocks and anonymous mappings (the hooks
 *            reach them through hooks/account.h and hooks/mmap.c, always inside hs_enter/hs_leave).
 *
 * Contract
 *   hs_record_alloc(p, n)      a block of n bytes now exists at p: recorded in the pointer table
 *                              (exact, or sampled in default mode) with the caller's stack, and the
 *                              stack's counters move (data/sites.h). Inside a PEP 445 wrapper it also
 *                              tells the wrapper that libc served p (hs_tls.pm_libc).
 *   hs_record_agent_alloc(p, n)  the same block made while the agent flag is set
 *                              (heapscope_agent_begin): recorded as profiler memory (HS_META_AGENT,
 *                              no stack, agent_bytes += n). Returns 1, or 0 when it could not be
 *                              recorded (then it is an ordinary block).
 *   hs_record_free(p, n)       the block goes: its entry is removed and its stack's counters move
 *                              back; returns HS_FREED_AGENT when it was profiler memory (agent_bytes
 *                              -= n: the caller must not count it in the totals), else 0.
 *   hs_record_release(p, n)    as free, before libc's realloc; remembers the entry in hs_tls ...
 *   hs_record_unrelease(p)     ... to put it back when the realloc failed.
 *   hs_record_map_stack()      the stack to tag a new anonymous mapping with (0 when the engine is
 *                              off; "<pymalloc arenas>" inside a PEP 445 wrapper).
 *   hs_record_arenas_stack()   the "<pymalloc arenas>" pseudo-site (run 0).
 *   hs_record_weight(meta, n)  the bytes/blocks an entry with that meta stands for.
 *
 * Thread-safety
 *   The paths take the table shard lock and the sites lock in turn, never both at once, and never
 *   across a libc allocator call.
 */
#ifndef HS_RECORD_H
#define HS_RECORD_H

#include "core/hs.h"

#include <stddef.h>
#include <stdint.h>

#define HS_FREED_AGENT 2

HS_HIDDEN void hs_record_alloc(const void *p, size_t n);
HS_HIDDEN int hs_record_agent_alloc(const void *p, size_t n);
HS_HIDDEN int hs_record_free(const void *p, size_t n);
HS_HIDDEN void hs_record_release(const void *p, size_t n);
HS_HIDDEN void hs_record_unrelease(const void *p);
HS_HIDDEN uint32_t hs_record_map_stack(void);
HS_HIDDEN uint32_t hs_record_arenas_stack(void);
HS_HIDDEN void hs_record_weight(uint16_t meta, size_t n, int64_t *bytes, int64_t *count);

#endif
