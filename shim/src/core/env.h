/*
 * env.h — the shim's environment variables.
 *
 * Contract
 *   HEAPSCOPE_ENABLE=1 at load makes the library count (hs_env_enabled()). The constructor then
 *   calls hs_env_consume(): it unsets HEAPSCOPE_ENABLE and removes this library's own entry from
 *   LD_PRELOAD (matched by file name or by inode; every other entry, e.g. jemalloc, is kept, in
 *   order, joined with ':'; LD_PRELOAD is unset if nothing is left). It does so whether or not the
 *   library is counting, so that `!ls`, subprocess and multiprocessing children never load it.
 *   hs_env_strip_preload() is the pure string part, exposed for the tests.
 *
 * Thread-safety
 *   hs_env_consume() uses setenv/unsetenv: call it only from the constructor (before other threads
 *   exist). hs_env_enabled() only reads (getenv) and is safe inside a hook: no allocation.
 */
#ifndef HS_ENV_H
#define HS_ENV_H

#include "core/hs.h"

#include <stddef.h>

#define HS_ENV_ENABLE "HEAPSCOPE_ENABLE"

HS_HIDDEN int hs_env_enabled(void);
HS_HIDDEN void hs_env_consume(void);

/* Writes `value` without the entries that designate `self_path` into out (capacity cap, which must
   be > strlen(value)); returns the length written and sets *removed to the number of entries dropped. */
HS_HIDDEN size_t hs_env_strip_preload(const char *value, const char *self_path, char *out, size_t cap, int *removed);

#endif
