/*
 * boot.c — the static bootstrap arena (contract in boot.h).
 *
 * Layout: each block is preceded by a 16-byte header holding its size; the arena is in .bss, so it
 * is zero-filled and, as it is never reused, every block stays zero until its owner writes it.
 * Thread-safety: a CAS loop on the bump offset; blocks never move or get released.
 */
#include "core/boot.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#define HS_BOOT_HEADER 16u

static _Alignas(4096) unsigned char arena[HS_BOOT_ARENA_SIZE];
static _Atomic size_t arena_used;

HS_HIDDEN void *hs_boot_alloc(size_t size, size_t align)
{
    if (align & (align - 1)) {
        errno = EINVAL;
        return NULL;
    }
    if (align < HS_BOOT_HEADER)
        align = HS_BOOT_HEADER;
    if (align > HS_BOOT_ARENA_SIZE || size > HS_BOOT_ARENA_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t used = atomic_load_explicit(&arena_used, memory_order_relaxed);
    for (;;) {
        uintptr_t base = (uintptr_t)arena;
        uintptr_t user = (base + used + HS_BOOT_HEADER + align - 1) & ~(uintptr_t)(align - 1);
        size_t end = (size_t)(user - base) + ((size + 15u) & ~(size_t)15u);
        if (end > HS_BOOT_ARENA_SIZE) {
            errno = ENOMEM;
            return NULL;
        }
        if (atomic_compare_exchange_weak_explicit(&arena_used, &used, end, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *(size_t *)(user - HS_BOOT_HEADER) = size;
            return (void *)user;
        }
    }
}

HS_HIDDEN int hs_boot_owns(const void *p)
{
    uintptr_t a = (uintptr_t)p, base = (uintptr_t)arena;
    return a >= base && a < base + HS_BOOT_ARENA_SIZE;
}

HS_HIDDEN size_t hs_boot_usable(const void *p)
{
    return hs_boot_owns(p) ? *(const size_t *)((uintptr_t)p - HS_BOOT_HEADER) : 0;
}
