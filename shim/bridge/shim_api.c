/*
 * shim_api.c — the shim's C API (include/heapscope.h), bound with dlsym(RTLD_DEFAULT) at import.
 *
 * Contract
 *   hs_bind_api() fills hs_api and returns 1 when every function exists and the shim counts in this
 *   process; else 0 (the module still imports, ACTIVE is False). Nothing links against the shim.
 *
 * Thread-safety
 *   Called once, at import (with the GIL); hs_api is read-only afterwards.
 */
#include "bridge.h"

#include <dlfcn.h>
#include <string.h>

struct hs_shim_api hs_api;
int hs_api_ok;

#define BIND(field, name)                      \
    do {                                       \
        void *s_ = dlsym(RTLD_DEFAULT, name);  \
        if (!s_)                               \
            return 0;                          \
        memcpy(&hs_api.field, &s_, sizeof s_); \
    } while (0)

int hs_bind_api(void)
{
    BIND(active, "heapscope_active");
    BIND(get_stats, "heapscope_get_stats");
    BIND(degraded, "heapscope_degraded");
    BIND(install, "heapscope_engine_install");
    BIND(settings, "heapscope_settings");
    BIND(settings_errors, "heapscope_settings_errors");
    BIND(set_locator, "heapscope_set_locator");
    BIND(forget_codes, "heapscope_forget_codes");
    BIND(profiler_map, "heapscope_profiler_map");
    BIND(profiler_unmap, "heapscope_profiler_unmap");
    BIND(agent_begin, "heapscope_agent_begin");
    BIND(agent_end, "heapscope_agent_end");
    BIND(pymem_wrap, "heapscope_pymem_wrap");
    BIND(pymem_calls, "heapscope_pymem_calls");
    BIND(cell_begin, "heapscope_cell_begin");
    BIND(cell_end, "heapscope_cell_end");
    BIND(alive, "heapscope_alive");
    BIND(stack, "heapscope_stack");
    BIND(reconcile, "heapscope_reconcile");
    BIND(run_resume, "heapscope_run_resume");
    BIND(ticks, "heapscope_ticks");
    BIND(engine_stats, "heapscope_engine_stats");
    BIND(degraded_reason, "heapscope_degraded_reason");
    void *live = dlsym(RTLD_DEFAULT, "heapscope_stack_live_nodes"); /* optional */
    memcpy(&hs_api.live_nodes, &live, sizeof live);
    void *block = dlsym(RTLD_DEFAULT, "heapscope_block"); /* optional: the holders scan's lookup */
    memcpy(&hs_api.block, &block, sizeof block);
    void *key = dlsym(RTLD_DEFAULT, "heapscope_stack_key"); /* optional: stack keys (slots are reused) */
    void *at = dlsym(RTLD_DEFAULT, "heapscope_stack_at");
    void *sbytes = dlsym(RTLD_DEFAULT, "heapscope_stack_bytes");
    if (key && at) {
        memcpy(&hs_api.stack_key, &key, sizeof key);
        memcpy(&hs_api.stack_at, &at, sizeof at);
    }
    memcpy(&hs_api.stack_bytes, &sbytes, sizeof sbytes);
    return hs_api.active() == 1;
}
