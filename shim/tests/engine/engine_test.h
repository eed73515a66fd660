/*
 * engine_test.h — shared part of test_engine, the tests of the attribution engine of libheapscope.so,
 *                 preloaded, through dlsym.
 *
 *   test_engine GROUP    churn | fork | big | exhaust | realloc | sampling | hwm | ticker | inherit |
 *                        runs | resume | reconcile | agent | settings | history | reuse
 *
 * Each group installs the engine itself with a fake locator: every thread says which "Python
 * stack" it is in by setting its thread-local frames (codes >= 0x100000, never dereferenced), or -1
 * for a thread without Python. Expected values are computed independently (usable sizes from
 * malloc_usable_size, a brute-force reference for the peaks), and compared with heapscope_alive /
 * heapscope_cell_end. Output as check.h (ok / not ok lines, "# end"). One file per subject:
 * threads.c (churn, fork), big.c (big, exhaust), edges.c (realloc), estimates.c (sampling, hwm),
 * ticker.c (ticker, inherit), runs.c (runs, reconcile, agent, settings), history.c (history, reuse).
 */
#ifndef HS_ENGINE_TEST_H
#define HS_ENGINE_TEST_H

#include "heapscope.h"

#include "check.h"

#include <stddef.h>
#include <stdint.h>

#define CODE(k) ((uintptr_t)0x100000 + (uintptr_t)(k)*16)

struct engine_api {
    int (*install)(const struct heapscope_config *);
    void (*set_locator)(heapscope_locator_fn, heapscope_pin_fn, heapscope_drain_fn);
    uint32_t (*cell_begin)(void);
    long (*cell_end)(struct heapscope_cell *, struct heapscope_site *, size_t);
    long (*alive)(long, struct heapscope_site *, size_t);
    int (*stack)(uint32_t, uint32_t *, struct heapscope_frame *, int);
    size_t (*ticks)(struct heapscope_tick *, size_t);
    void (*estats)(struct heapscope_engine_stats *);
    const char *(*reason)(void);
    int (*degraded)(void);
    void (*get_stats)(struct heapscope_stats *);
};
extern struct engine_api api;
extern size_t P;

/* Sites buffer: static, so reading does not allocate. */
#define SITES (1 << 16)
extern struct heapscope_site sites[SITES];

int bind(void);
int fake_locator(struct heapscope_frame *out, int max, void *memo);
int fake_pin(uintptr_t code);
/* this thread is now in a one-frame stack at code CODE(k) (k < 0: no Python) */
void at(int k);
/* ... in a three-frame stack: CODE(k) inside CODE(mid) inside CODE(999) */
void at3(int k, int mid);
int install(int mode, uint64_t threshold, uint64_t interval, unsigned hz);
struct heapscope_engine_stats estats(void);
/* Leaf code of a stack (0 if unknown). */
uintptr_t leaf(uint32_t id);
/* Alive bytes and blocks of every stack whose leaf is CODE(k), k in [k0, k1). */
void alive_of(int k0, int k1, int64_t *bytes, int64_t *count);
uint64_t rnd(uint64_t *s);

void group_churn(void);
void group_fork(void);
void group_big(void);
void group_exhaust(void);
void group_realloc(void);
void group_sampling(void);
void group_hwm(void);
void group_ticker(void);
void group_inherit(void);
void group_runs(void);
void group_resume(void);
void group_reconcile(void);
void group_agent(void);
void group_settings(void);
void group_history(void);
void group_reuse(void);

#endif
