/*
 * boot.h — the static bootstrap arena used while libc's allocator is being resolved.
 *
 * Contract
 *   dlsym() may allocate (glibc's dlerror buffer; other allocators' initialisation). Allocations made
 *   by the resolving thread before libc's functions are known are served from a 64 KiB static
 *   bump arena: zero-filled (so calloc is satisfied), never reused, never released. free() and
 *   realloc() must test hs_boot_owns() first and never hand such a pointer to libc's allocator;
 *   malloc_usable_size() answers hs_boot_usable(). Such blocks are never counted.
 *   hs_boot_alloc returns NULL (errno ENOMEM) when the arena is exhausted or the request is invalid.
 *
 * Thread-safety
 *   Lock-free (atomic bump pointer); hs_boot_owns/hs_boot_usable only read.
 */
#ifndef HS_BOOT_H
#define HS_BOOT_H

#include "core/hs.h"

#include <stddef.h>

#define HS_BOOT_ARENA_SIZE (64u * 1024u)

/* align: 0 or a power of two (requests below 16 get 16). */
void *hs_boot_alloc(size_t size, size_t align);
int hs_boot_owns(const void *p);
size_t hs_boot_usable(const void *p);

#endif
