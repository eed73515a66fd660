/*
 * procmaps.h — the process's mappings, read from /proc/self/maps without allocating.
 *
 * Contract
 *   hs_maps_open() opens /proc/self/maps with raw syscalls (no malloc, no stdio: usable while a shim
 *   lock is held); hs_maps_next() returns the next mapping's [start, end) in address order: 1, or 0
 *   at the end, or -1 when reading failed (the caller must then not draw conclusions); hs_maps_close()
 *   closes it. Lines of any length are handled (the rest of a line is skipped).
 *
 * Thread-safety
 *   The reader is the caller's (on its stack); the kernel gives each read() a consistent chunk.
 */
#ifndef HS_PROCMAPS_H
#define HS_PROCMAPS_H

#include "core/hs.h"

#include <stddef.h>
#include <stdint.h>

struct hs_maps {
    int fd, error;
    size_t pos, len;
    char buf[4096];
};

HS_HIDDEN int hs_maps_open(struct hs_maps *m);
HS_HIDDEN int hs_maps_next(struct hs_maps *m, uintptr_t *start, uintptr_t *end);
HS_HIDDEN void hs_maps_close(struct hs_maps *m);

#endif
