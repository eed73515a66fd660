/*
 * pages.h — the pymalloc block map: where exact mode records the small blocks pymalloc serves.
 *
 * Contract
 *   pymalloc carves each pool (4 KiB on CPython 3.9, 16 KiB from 3.10, always aligned to its size)
 *   into blocks of one size class at 16-byte-aligned addresses, and hands them out mostly in address
 *   order. So a 4 KiB page holds at most 256 blocks, and consecutive allocations and frees touch the
 *   same page. The map keeps, per page that holds a recorded block, a 1 KiB record of 256 slots (one
 *   per 16-byte offset) — each slot 4 bytes: (stack id << 7) | (size class / 16) << 1 | 1, 0 = empty —
 *   found through an open-addressing index keyed by the page number and a one-entry cache of the
 *   last page. Compared with the pointer table (table.h: a random slot per block, a cache miss per
 *   insert and remove), allocation waves stay in a few cache lines.
 *   Memory: 1 KiB per page holding recorded blocks (a quarter of the pymalloc memory they sit in,
 *   i.e. 4-16 bytes per block for the 16-64 byte objects churn is made of) plus 16 bytes of index per
 *   page; a record whose last block is removed is recycled at once.
 *     hs_pages_insert  1 recorded, 2 replaced a stale entry (*old filled: a free never seen), 0 not
 *                      here (stack id >= 2^25, misaligned address, or no memory): use the table.
 *     hs_pages_remove  1 and *out when p was recorded here, else 0.
 *   Only pymalloc blocks (PEP 445 MEM/OBJ domains) go here; the libc family uses the table.
 *
 * Thread-safety
 *   One spinlock around every operation. Its callers are the PEP 445 wrappers, which CPython calls
 *   with the GIL held, so the lock is uncontended in practice; it is there so a misbehaving
 *   extension calling PyMem_* without the GIL cannot corrupt the map. Fork: prepare/parent/child.
 */
#ifndef HS_PAGES_H
#define HS_PAGES_H

#include "core/hs.h"

#include "data/table.h"

#include <stdint.h>

HS_HIDDEN int hs_pages_insert(uintptr_t p, uint32_t stack, uint16_t meta, struct hs_tentry *old);
HS_HIDDEN int hs_pages_remove(uintptr_t p, struct hs_tentry *out);
HS_HIDDEN uint64_t hs_pages_count(void); /* blocks recorded */
HS_HIDDEN uint64_t hs_pages_bytes(void); /* memory of records and index */

HS_HIDDEN void hs_pages_atfork_prepare(void);
HS_HIDDEN void hs_pages_atfork_parent(void);
HS_HIDDEN void hs_pages_atfork_child(void);

#endif
