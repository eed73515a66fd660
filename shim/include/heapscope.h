/*
 * heapscope.h — the public C API of libheapscope.so, the preloaded allocation shim.
 *
 * Contract
 *   libheapscope.so is loaded with LD_PRELOAD by the heapscope kernel launcher. It interposes the
 *   libc allocation family (malloc, calloc, realloc, reallocarray, free, posix_memalign,
 *   aligned_alloc, memalign, valloc, pvalloc) and anonymous mmap/mmap64/munmap/mremap, and keeps
 *   exact counters of the bytes currently allocated through them ("tracked heap").
 *   Sizes are the usable size of each block (malloc_usable_size) and the page-rounded length of
 *   each anonymous mapping, so a free always subtracts exactly what its allocation added.
 *   The in-kernel agent finds these functions with dlsym(RTLD_DEFAULT, ...) (Python: ctypes.CDLL(None))
 *   and must check heapscope_abi_version() first. Nothing here is a Python symbol: the library links
 *   no libpython and works in any process.
 *
 * Thread-safety
 *   Every function below may be called from any thread at any time, including while other threads
 *   allocate. Counters are updated with atomics; a read of heapscope_get_stats() is a consistent
 *   snapshot of each field but the fields are read one after another (current <= peak always holds).
 */
#ifndef HEAPSCOPE_H
#define HEAPSCOPE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version of this header; bump on any incompatible change to the structs or functions. */
#define HEAPSCOPE_ABI_VERSION 1

/** Counters of the tracked heap. All sizes in bytes. */
struct heapscope_stats {
    uint64_t current_bytes;   /* bytes live now */
    uint64_t peak_bytes;      /* highest current_bytes since the last heapscope_reset_peak() */
    uint64_t allocated_bytes; /* bytes allocated since load (monotonic) */
    uint64_t freed_bytes;     /* bytes freed since load (monotonic) */
    uint64_t alloc_count;     /* allocations since load (monotonic) */
    uint64_t free_count;      /* frees since load (monotonic) */
};

/** Returns HEAPSCOPE_ABI_VERSION of the loaded library. */
int heapscope_abi_version(void);

/** Returns the library's version string (the package version it was built with). */
const char *heapscope_version(void);

/** Returns 1 when the library is counting in this process, 0 when it only forwards calls. */
int heapscope_active(void);

/** Fills *out with the current counters. */
void heapscope_get_stats(struct heapscope_stats *out);

/** Sets peak_bytes to current_bytes; returns the new peak. Used at the start of each cell. */
uint64_t heapscope_reset_peak(void);

/** Returns 1 once the shim could not grow its own bookkeeping (its map of anonymous mappings):
 *  from then on new anonymous mappings are not counted, so the totals may be low. The process is
 *  never harmed. Added in ABI 1 (additive; check with dlsym before calling). */
int heapscope_degraded(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPSCOPE_H */
