/*
 * pins.c — code pinning and the PEP 445 wrappers of heapscope._bridge (contract in bridge.h, "pinning"
 *          and "PEP 445 wrappers").
 *
 * Thread-safety
 *   hs_pin runs in any thread inside allocation hooks (no allocation, no lock, no Python API but
 *   Py_INCREF with the GIL held); the queue is a lock-free append-only array. Everything else runs
 *   with the GIL: the pinned set, the drain, the allocator chain check and the wrapping.
 */
#include "bridge.h"

#include <stdatomic.h>
#include <string.h>

#define PEND_CAP 65536u
static _Atomic uintptr_t pending[PEND_CAP];
static _Atomic unsigned pend_head;
static unsigned pend_done;
static _Atomic uint64_t pend_dropped; /* codes seen without the GIL that could not be pinned */

/* The set of pinned codes: open addressing over an anonymous mapping (no allocator call: pin() runs
   inside allocation hooks), grown at half load. With the GIL only. */
static uintptr_t *pin_slots;
static size_t pin_cap; /* a power of two, or 0 */
static uint64_t pinned;

static size_t pin_slot(const uintptr_t *slots, size_t cap, uintptr_t code)
{
    size_t i = (size_t)((code >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
    while (slots[i] && slots[i] != code)
        i = (i + 1) & (cap - 1);
    return i;
}

int hs_is_pinned(uintptr_t code) { return pin_cap && pin_slots[pin_slot(pin_slots, pin_cap, code)] == code; }

/* Pins a code known to be alive; 0 on success, -1 when the set cannot grow (not pinned). */
static int pin_alive(uintptr_t code)
{
    if ((pinned + 1) * 2 > pin_cap) {
        size_t cap = pin_cap ? pin_cap * 2 : 4096;
        /* the profiler's own memory: not the program's heap (an API call from the live thread may
           grow it while a cell runs) */
        uintptr_t *slots = hs_api.profiler_map(cap * sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < pin_cap; i++)
            if (pin_slots[i])
                slots[pin_slot(slots, cap, pin_slots[i])] = pin_slots[i];
        if (pin_slots)
            hs_api.profiler_unmap(pin_slots, pin_cap * sizeof *pin_slots);
        pin_slots = slots;
        pin_cap = cap;
    }
    size_t i = pin_slot(pin_slots, pin_cap, code);
    if (pin_slots[i])
        return 0; /* already pinned */
    Py_INCREF((PyObject *)code);
    pin_slots[i] = code;
    pinned++;
    return 0;
}

/* Set when our OBJ-domain wrapper may have been out of the allocator chain: frees may have gone
   unseen, so the next drain pins only codes on a frame. */
static int frees_unseen;
static PyMemAllocatorEx chain_seen; /* the outermost OBJ allocator at the last check */

static int wrapped(PyMemAllocatorDomain domain);

/* With the GIL: a change of the outermost OBJ allocator after which ours is no longer reached
   means frees went past us. (A tool installed on top that chains to us changes nothing.) */
static void check_chain(void)
{
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cur);
    if (memcmp(&cur, &chain_seen, sizeof cur) == 0)
        return;
    if (!wrapped(PYMEM_DOMAIN_OBJ))
        frees_unseen = 1;
    chain_seen = cur;
}

/* With the GIL, a code queued since the last drain: alive unless it is `freeing` (its block is being
   freed now) or its deallocation has begun (reference count 0: code_dealloc frees its members
   first, and each free drains); its memory has not been freed, since every free drains first. When
   frees may have gone unseen, only a code on some frame counts as alive (nothing else is read). */
static int queued_alive(uintptr_t c, uintptr_t freeing)
{
    if (frees_unseen)
        return hs_on_some_frame(c);
    return c != freeing && Py_REFCNT((PyObject *)c) > 0;
}

/* With the GIL: pin what was queued without it, except `freeing` (being freed now). A code proven
   alive is pinned; one that may be gone is never touched: a Py_INCREF would write into a freed block
   (pymalloc's free-list link), heap corruption. It counts in stats()["unpinned_codes"] and the shim
   forgets it: its nodes read as "<freed code>", and a new code at its address gets new nodes. */
void hs_drain(uintptr_t freeing)
{
    uintptr_t dead[64];
    size_t ndead = 0;
    unsigned head = atomic_load_explicit(&pend_head, memory_order_acquire);
    if (head > PEND_CAP)
        head = PEND_CAP;
    if (pend_done < head)
        check_chain();
    while (pend_done < head) {
        uintptr_t c = atomic_load_explicit(&pending[pend_done], memory_order_acquire);
        if (!c)
            break; /* reserved, not yet written */
        if (!hs_is_pinned(c) && !(queued_alive(c, freeing) && pin_alive(c) == 0)) {
            atomic_fetch_add_explicit(&pend_dropped, 1, memory_order_relaxed);
            dead[ndead++] = c;
            if (ndead == sizeof dead / sizeof *dead) {
                hs_api.forget_codes(dead, ndead);
                ndead = 0;
            }
        }
        pend_done++;
    }
    if (ndead)
        hs_api.forget_codes(dead, ndead);
    if (pend_done == head)
        frees_unseen = 0;
}

/* heapscope_drain_fn: called by the shim's PEP 445 wrappers while pins are queued. */
void hs_drain_now(uintptr_t freeing)
{
    if (hs_gil_held_here())
        hs_drain(freeing);
}

/* heapscope_pin_fn: 1 pinned now (GIL held); 2 queued (the calling thread's own frame keeps the code
   alive until it re-takes the GIL, and the shim drains at its next PEP 445 call); 0 when neither
   (queue or set full). */
int hs_pin(uintptr_t code)
{
    if (hs_gil_held_here()) {
        /* (no drain here: this may run inside pymalloc's own call to malloc, where the test
           allocation of check_chain would re-enter pymalloc mid-operation) */
        return pin_alive(code) == 0 ? 1 : 0;
    }
    unsigned i = atomic_fetch_add_explicit(&pend_head, 1, memory_order_relaxed);
    if (i < PEND_CAP) {
        atomic_store_explicit(&pending[i], code, memory_order_release);
        return 2;
    }
    atomic_fetch_add_explicit(&pend_dropped, 1, memory_order_relaxed);
    return 0;
}

/* ---- PEP 445 wrappers ---------------------------------------------------------------------------- */

static int installed;

/* 1 when a test allocation in `domain` goes through one of our wrappers. */
static int wrapped(PyMemAllocatorDomain domain)
{
    uint64_t before = hs_api.pymem_calls();
    void *p = domain == PYMEM_DOMAIN_OBJ ? PyObject_Malloc(8) : PyMem_Malloc(8);
    if (domain == PYMEM_DOMAIN_OBJ)
        PyObject_Free(p);
    else
        PyMem_Free(p);
    return hs_api.pymem_calls() != before;
}

static int wrap(PyMemAllocatorDomain domain)
{
    PyMemAllocatorEx cur;
    struct heapscope_allocator orig, hook;
    PyMem_GetAllocator(domain, &cur);
    memcpy(&orig, &cur, sizeof orig);
    if (hs_api.pymem_wrap(&orig, &hook) != 0)
        return -1;
    memcpy(&cur, &hook, sizeof cur);
    PyMem_SetAllocator(domain, &cur);
    return 0;
}

void hs_ensure_wrapped(void)
{
    if (!installed)
        return;
    if (!wrapped(PYMEM_DOMAIN_MEM))
        (void)wrap(PYMEM_DOMAIN_MEM);
    if (!wrapped(PYMEM_DOMAIN_OBJ)) {
        frees_unseen = 1;
        (void)wrap(PYMEM_DOMAIN_OBJ);
    }
}

int hs_wrap_all(void)
{
    /* wrappers first (they forward while the engine is off): every free of a code object that a
       queued pin may name is then seen */
    if (installed)
        return 0;
    if (wrap(PYMEM_DOMAIN_MEM) != 0 || wrap(PYMEM_DOMAIN_OBJ) != 0)
        return -1;
    installed = 1;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &chain_seen);
    return 0;
}

uint64_t hs_unpinned_codes(void) { return atomic_load(&pend_dropped); }
