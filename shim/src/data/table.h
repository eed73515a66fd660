/*
 * table.h — the pointer table: address -> (stack id, how the block was recorded).
 *
 * Contract
 *   128 shards (chosen by the high bits of a multiplicative hash of the address), each an
 *   open-addressing array with linear probing and backward-shift deletion (no tombstones), in memory
 *   mapped with libc's mmap (hs_own_map), never malloc. An entry is 12 bytes: 48 address bits,
 *   16 bits of `meta` (kind, rule, pymalloc size class) and a 32-bit stack id. A shard grows by 1.5x
 *   when 75 % full and shrinks when below 12 % (to 50 %), so the table costs 16-24 bytes per entry
 *   while growing or steady, and up to 100 after a wave of frees (until it shrinks). Growth rehashes one shard under
 *   its own lock only (the other 127 shards keep working). Maps of 4 MiB and more ask for huge pages.
 *   Addresses at or above 2^48 are not tracked (counted in `untracked`).
 *     hs_table_insert  returns 1 (inserted), 2 (the address was present: replaced, *old filled, a
 *                      free we never saw), 0 (no memory: not inserted; the engine is degraded).
 *     hs_table_remove  removes and returns the entry if present and (kind < 0 or its kind matches).
 *     hs_table_maybe   a counting filter (2^18 one-byte counters): 0 means "certainly not in the
 *                      table", so default mode's frees of unsampled blocks take no lock. Kept only
 *                      while hs_table_use_filter(1) (default mode; exact mode checks every free
 *                      anyway and saves the filter's cache miss); turning it on recounts it.
 *     hs_table_prefetch  a hint: starts loading p's home slot (call it before other work).
 *   Failure policy: a shard that cannot grow keeps accepting entries until 97 % full, then refuses
 *   them; the engine is marked degraded ("pointer table memory exhausted").
 *
 * Thread-safety
 *   One spinlock per shard around each operation (never held across anything but the shard's own
 *   mmap/munmap during growth). The filter is updated under the entry's shard lock with relaxed
 *   atomics; a block is inserted before its allocation returns, so any thread that can free it sees
 *   its filter count. hs_table_use_filter takes every shard lock (in index order) to switch.
 *   Fork: prepare takes every shard lock, parent releases, child re-initialises them.
 */
#ifndef HS_TABLE_H
#define HS_TABLE_H

#include "core/hs.h"

#include <stddef.h>
#include <stdint.h>

#define HS_KIND_LIBC                  0u
#define HS_KIND_PYMALLOC              1u
#define HS_META_KIND(m)               ((m)&3u)
#define HS_META_EXACT                 4u                 /* weight = size (else the sampling weight of the size) */
#define HS_META_AGENT                 512u               /* profiler memory (heapscope_agent_begin): no stack */
#define HS_META_SC(m)                 (((m) >> 3) & 63u) /* pymalloc: size class / 16 */
#define HS_META_MAKE(kind, exact, sc) ((uint16_t)((kind) | ((exact) ? HS_META_EXACT : 0u) | ((unsigned)(sc) << 3)))

struct hs_tentry {
    uint32_t stack;
    uint16_t meta;
};

HS_HIDDEN int hs_table_init(void); /* maps the filter; 0 or -1 */
HS_HIDDEN int hs_table_insert(uintptr_t p, uint32_t stack, uint16_t meta, struct hs_tentry *old);
HS_HIDDEN int hs_table_remove(uintptr_t p, int kind, struct hs_tentry *out);
/* The entry of p without removing it: 1 and *out when present, else 0 (a read under the shard's lock). */
HS_HIDDEN int hs_table_find(uintptr_t p, struct hs_tentry *out);
HS_HIDDEN int hs_table_maybe(uintptr_t p);
HS_HIDDEN void hs_table_use_filter(int on);
HS_HIDDEN void hs_table_prefetch(uintptr_t p);
HS_HIDDEN uint64_t hs_table_count(void);
HS_HIDDEN uint64_t hs_table_bytes(void);

HS_HIDDEN void hs_table_atfork_prepare(void);
HS_HIDDEN void hs_table_atfork_parent(void);
HS_HIDDEN void hs_table_atfork_child(void);

#endif
