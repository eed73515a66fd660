/*
 * sampler.h — the native sampler thread: (unix time, current_bytes) at a fixed rate.
 *
 * Contract
 *   Started on demand by heapscope_sampler_start(hz) (the bridge's install), never otherwise, so a
 *   process that does not ask has no extra thread. The thread sleeps with clock_nanosleep on an
 *   absolute CLOCK_MONOTONIC schedule and writes each sample into a ring of 8192 entries (at 20 Hz:
 *   ~7 minutes); it reads only the atomic counters (stats.h), so it samples while the Python thread
 *   holds the GIL in C code, or is blocked. It never allocates after start, and its own thread is
 *   excluded from counting. heapscope_samples() returns what was written since the previous call;
 *   if the reader fell more than 8192 samples behind, the oldest are lost.
 *   Fork: the thread does not exist in the child; the child starts a new one if asked.
 *
 * Thread-safety
 *   Single producer (the thread) publishes with a release store of the write index; readers are
 *   serialised by a spinlock and re-check the index after copying to drop overwritten slots.
 */
#ifndef HS_SAMPLER_H
#define HS_SAMPLER_H

#include <stdint.h>

__attribute__((visibility("hidden"))) uint64_t hs_sampler_taken(void);
__attribute__((visibility("hidden"))) int hs_sampler_running(void);
__attribute__((visibility("hidden"))) void hs_sampler_atfork_prepare(void);
__attribute__((visibility("hidden"))) void hs_sampler_atfork_parent(void);
__attribute__((visibility("hidden"))) void hs_sampler_atfork_child(void);

#endif
