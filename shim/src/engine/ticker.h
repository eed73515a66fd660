/*
 * ticker.h — the ticker: a native thread that reads the heap total (one reading: a tick) at a fixed rate.
 *
 * Contract
 *   Started on demand by heapscope_ticker_start(hz) (the bridge's install), never otherwise, so a
 *   process that does not ask has no extra thread. The thread sleeps with clock_nanosleep on an
 *   absolute CLOCK_MONOTONIC schedule and writes each tick into a ring of 8192 entries (at 20 Hz:
 *   ~7 minutes); it reads only the atomic counters (core/stats.h), so it ticks while the Python thread
 *   holds the GIL in C code, or is blocked. It never allocates after start, and its own thread is
 *   excluded from counting. heapscope_ticks() returns what was written since the previous call;
 *   if the reader fell more than 8192 ticks behind, the oldest are lost.
 *   Once a second it also reconciles the tracked mappings (engine/reconcile.h).
 *   Fork: the thread does not exist in the child; the child starts a new one if asked.
 *
 * Thread-safety
 *   Single producer (the thread) publishes with a release store of the write index; readers are
 *   serialised by a spinlock and re-check the index after copying to drop overwritten slots.
 */
#ifndef HS_TICKER_H
#define HS_TICKER_H

#include "core/hs.h"

#include <stdint.h>

HS_HIDDEN uint64_t hs_ticker_taken(void);
HS_HIDDEN int hs_ticker_running(void);
HS_HIDDEN void hs_ticker_atfork_prepare(void);
HS_HIDDEN void hs_ticker_atfork_parent(void);
HS_HIDDEN void hs_ticker_atfork_child(void);

#endif
