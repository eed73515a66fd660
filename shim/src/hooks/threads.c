/*
 * threads.c — the interposed pthread_create: a new thread inherits its creator's stack.
 *
 * Contract
 *   When the engine is on, pthread_create computes the calling thread's stack id (hs_stack_here,
 *   the same path an allocation takes) and starts the new thread through a trampoline that stores
 *   it in the new thread's hs_tls.inherit before calling the user's function. Allocations by that
 *   thread while it has no Python thread state (OpenMP/BLAS workers, C++ std::thread pools) are then
 *   attributed to the Python line that created it instead of "<native thread>"; that stack is pinned
 *   (data/stacks.h: never reclaimed). Otherwise (engine
 *   off, nested inside a hook, trampoline allocation failure) it only forwards. Return value, errno
 *   and the thread's result are those of libc's pthread_create and of the user's function.
 *
 * Thread-safety
 *   The trampoline block comes from libc's malloc under the guard (never counted) and is freed by
 *   the new thread before it runs user code.
 */
#include "core/counting.h"
#include "core/libc.h"
#include "core/state.h"
#include "data/stacks.h"
#include "engine/guard.h"

#include <pthread.h>

struct tramp {
    void *(*fn)(void *);
    void *arg;
    uint32_t stack;
    int guard; /* engine/guard.h: the creator runs cell code in an open run */
};

static void *tramp_main(void *a)
{
    struct tramp t = *(struct tramp *)a;
    hs_tls_depth++;
    hs_libc.free(a);
    hs_tls_depth--;
    hs_tls.inherit = t.stack;
    hs_guard_adopt(t.guard);
    return t.fn(t.arg);
}

HS_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (hs_path() != HS_PATH_COUNT || !hs_engine_on())
        return hs_libc.pthread_create(th, attr, fn, arg);
    hs_enter();
    struct tramp *t = hs_libc.malloc(sizeof *t);
    if (t) {
        t->fn = fn;
        t->arg = arg;
        t->stack = hs_stack_here();
        hs_stack_pin(t->stack); /* the thread may allocate with it long after its run is history */
        t->guard = hs_guard_inherit();
    }
    hs_leave();
    if (!t)
        return hs_libc.pthread_create(th, attr, fn, arg);
    int r = hs_libc.pthread_create(th, attr, tramp_main, t);
    if (r != 0) {
        hs_enter();
        hs_libc.free(t);
        hs_leave();
    }
    return r;
}
