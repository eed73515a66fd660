/*
 * settings.h — the HEAPSCOPE_* settings the shim reads, validated once at load.
 *
 * Contract
 *   hs_settings_load() (the constructor) reads HEAPSCOPE_MODE (default|exact), HEAPSCOPE_EXACT_THRESHOLD
 *   (1..2^40), HEAPSCOPE_SAMPLE_INTERVAL (1..2^30), HEAPSCOPE_MAX_DEPTH (1..64) and
 *   HEAPSCOPE_HISTORY_RUNS (1..1000, default 100: the runs whose stack nodes are all kept, see
 *   engine/runs.c; hs_settings_history_runs, not in struct heapscope_config), decimal integers
 *   with optional surrounding blanks. An unset or empty variable means the default; any other value
 *   that is not valid (a sign, a unit, an overflow, out of range) is rejected: the default is used and
 *   one line is added to the errors ("HEAPSCOPE_SAMPLE_INTERVAL='-1' is not an integer in
 *   1..1073741824; using 65536"). heapscope_settings() / heapscope_settings_errors() give them out.
 *   hs_settings_parse() is the pure part (tests).
 *
 * Thread-safety
 *   Written once by the constructor (single-threaded), read-only afterwards.
 */
#ifndef HS_SETTINGS_H
#define HS_SETTINGS_H

#include "core/hs.h"
#include "heapscope.h"

#include <stddef.h>

#define HS_HISTORY_RUNS_DEFAULT 100
#define HS_HISTORY_RUNS_MAX     1000 /* <= the run ring of data/stacks.c (1024 runs) */

HS_HIDDEN void hs_settings_load(void);
HS_HIDDEN uint32_t hs_settings_history_runs(void);
/* Parses a value of `name` (NULL: unset) into *out, or writes an error line to err (cap bytes) and
   leaves *out alone. Returns 1 when valid (or unset), 0 when rejected. */
HS_HIDDEN int hs_settings_parse_u64(const char *name, const char *value, uint64_t lo, uint64_t hi, uint64_t *out,
                                    char *err, size_t cap);

#endif
