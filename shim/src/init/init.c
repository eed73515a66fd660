/*
 * init.c — life cycle of the shim: constructor, destructor, and the one fork table.
 *
 * Contract
 *   - The libc functions are resolved on the first hook call or in the constructor, whichever comes
 *     first (other libraries' constructors, and ld.so itself, allocate before ours runs); activation
 *     is decided once, as soon as the environment is readable (core/counting.h). Counting from the
 *     first possible call keeps "freed but never counted" blocks rare.
 *   - The constructor reads and validates the HEAPSCOPE_* settings (core/settings.h), consumes the
 *     environment (core/env.h) and, when counting, registers the fork table below with
 *     pthread_atfork.
 *   - Fork: prepare takes the lock of every part, in the table's order; parent releases them in the
 *     reverse order; child re-initialises them (the ticker thread does not exist in the child),
 *     clears the forking thread's guard and per-thread engine state, and resets the peak to the
 *     current heap (the child keeps counting: it is its own process). This file is the only owner of
 *     fork handling: a part with a lock adds one row here.
 *   - The destructor turns counting off: hooks that run after it (exit-time frees, TLS teardown)
 *     only forward.
 *
 * Thread-safety
 *   The constructor and destructor run single-threaded in practice; the fork handlers run in the
 *   forking thread, with pthread_atfork's guarantees.
 */
#include "core/counting.h"
#include "core/env.h"
#include "core/libc.h"
#include "core/settings.h"
#include "core/state.h"
#include "core/stats.h"
#include "data/pages.h"
#include "data/regions.h"
#include "data/sites.h"
#include "data/stacks.h"
#include "data/table.h"
#include "engine/ticker.h"

#include <pthread.h>

struct fork_row {
    void (*prepare)(void);
    void (*parent)(void);
    void (*child)(void);
};

/* Prepare order = lock order: a lock taken while another is held comes after it here. The only nesting
   is the region map's lock held while the per-stack counters change (hs_regions_prune's callback). */
static const struct fork_row fork_table[] = {
    {hs_regions_atfork_prepare, hs_regions_atfork_parent, hs_regions_atfork_child},
    {hs_stacks_atfork_prepare, hs_stacks_atfork_parent, hs_stacks_atfork_child},
    {hs_table_atfork_prepare, hs_table_atfork_parent, hs_table_atfork_child},
    {hs_pages_atfork_prepare, hs_pages_atfork_parent, hs_pages_atfork_child},
    {hs_sites_atfork_prepare, hs_sites_atfork_parent, hs_sites_atfork_child},
    {hs_ticker_atfork_prepare, hs_ticker_atfork_parent, hs_ticker_atfork_child},
};
#define FORK_ROWS (sizeof fork_table / sizeof fork_table[0])

static void atfork_prepare(void)
{
    for (size_t i = 0; i < FORK_ROWS; i++)
        fork_table[i].prepare();
}

static void atfork_parent(void)
{
    for (size_t i = FORK_ROWS; i-- > 0;)
        fork_table[i].parent();
}

static void atfork_child(void)
{
    for (size_t i = FORK_ROWS; i-- > 0;)
        fork_table[i].child();
    hs_tls.pm_depth = 0;
    hs_tls.rel_found = 0;
    hs_tls.agent = 0;
    hs_tls_depth = 0;
    hs_stats_atfork_child();
}

__attribute__((constructor)) static void hs_constructor(void)
{
    (void)hs_counting_decide(1);
    (void)hs_page_size();
    hs_settings_load();
    hs_env_consume();
    if (hs_counting_on())
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

__attribute__((destructor)) static void hs_destructor(void)
{
    atomic_store_explicit(&hs_counting, HS_COUNTING_OFF, memory_order_release);
}
