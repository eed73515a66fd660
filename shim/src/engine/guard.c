/*
 * guard.c — the memory guard (contract in guard.h).
 * Thread-safety: see guard.h.
 */
#include "engine/guard.h"

#include "core/state.h"
#include "core/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

HS_HIDDEN struct hs_guard hs_guard;
HS_HIDDEN HS_TLS int hs_guard_cell;

#define PATH_CAP 512

static char usage_path[PATH_CAP];
static _Atomic int usage_kind = -1; /* -1: not configured */
static _Atomic int enabled, run_open, fired, over_at_start;
static _Atomic uint64_t limit_b, soft_b;
static _Atomic uint64_t last_usage, last_rss, usage_peak, rss_peak, ticks;
static _Atomic uint64_t refused, refused_request, refused_usage, interrupted_usage, soft_usage;

static void rearm(void)
{
    int on = atomic_load(&enabled) && atomic_load(&run_open) && !atomic_load(&over_at_start) &&
             atomic_load(&usage_kind) >= 0 && atomic_load(&hs_guard.hard) > 0;
    atomic_store(&hs_guard.armed, on);
}

HS_EXPORT int heapscope_guard_configure(const char *path, int kind, uint64_t limit, uint64_t hard, uint64_t soft)
{
    if (kind < HEAPSCOPE_GUARD_USAGE_FILE || kind > HEAPSCOPE_GUARD_USAGE_VM || hard > INT64_MAX)
        return -1;
    if (kind == HEAPSCOPE_GUARD_USAGE_FILE && (!path || strlen(path) >= PATH_CAP))
        return -1;
    atomic_store(&usage_kind, -1); /* the ticker stops reading the old path while it changes */
    if (kind == HEAPSCOPE_GUARD_USAGE_FILE)
        memcpy(usage_path, path, strlen(path) + 1);
    atomic_store(&limit_b, limit);
    atomic_store(&soft_b, soft);
    atomic_store(&hs_guard.hard, (int64_t)hard);
    atomic_store(&usage_kind, kind);
    rearm();
    return 0;
}

HS_EXPORT void heapscope_guard_enable(int on)
{
    atomic_store(&enabled, on != 0);
    rearm();
}

HS_EXPORT void heapscope_guard_run(int open)
{
    if (open) {
        hs_guard_cell = 1;
        atomic_store(&refused, 0);
        atomic_store(&refused_request, 0);
        atomic_store(&refused_usage, 0);
        atomic_store(&interrupted_usage, 0);
        atomic_store(&soft_usage, 0);
        atomic_store(&usage_peak, atomic_load(&last_usage));
        atomic_store(&rss_peak, atomic_load(&last_rss));
        atomic_store(&fired, 0);
        /* A run that starts over the hard threshold is not guarded: every allocation it makes would fail,
           even those of a cell that frees memory. */
        int64_t heap = atomic_load(&hs_counters.current);
        int over = heap + atomic_load(&hs_guard.offset) > atomic_load(&hs_guard.hard);
        atomic_store(&over_at_start, over);
    }
    atomic_store(&run_open, open != 0);
    rearm();
}

HS_EXPORT void heapscope_guard_read(struct heapscope_guard_info *out)
{
    int64_t hard = atomic_load(&hs_guard.hard);
    *out = (struct heapscope_guard_info){
        .limit = atomic_load(&limit_b),
        .hard = hard > 0 ? (uint64_t)hard : 0,
        .soft = atomic_load(&soft_b),
        .usage = atomic_load(&last_usage),
        .rss = atomic_load(&last_rss),
        .usage_peak = atomic_load(&usage_peak),
        .rss_peak = atomic_load(&rss_peak),
        .refused = atomic_load(&refused),
        .refused_request = atomic_load(&refused_request),
        .refused_usage = atomic_load(&refused_usage),
        .interrupted = atomic_load(&fired),
        .interrupted_usage = atomic_load(&interrupted_usage),
        .soft_usage = atomic_load(&soft_usage),
        .ticks = atomic_load(&ticks),
        .enabled = (uint64_t)atomic_load(&enabled),
        .run_open = (uint64_t)atomic_load(&run_open),
        .over_at_start = (uint64_t)atomic_load(&over_at_start),
    };
}

HS_HIDDEN void hs_guard_refused(size_t n, int64_t est)
{
    if (atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed) == 0) {
        atomic_store_explicit(&refused_request, (uint64_t)n, memory_order_relaxed);
        atomic_store_explicit(&refused_usage, (uint64_t)(est > 0 ? est : 0) + (uint64_t)n, memory_order_relaxed);
    }
}

HS_HIDDEN int hs_guard_inherit(void) { return hs_guard_cell && atomic_load_explicit(&run_open, memory_order_relaxed); }
HS_HIDDEN void hs_guard_adopt(int cell) { hs_guard_cell = cell; }

/* Reads a small file's leading numbers (at most 2) without allocating; returns how many. */
static int read_numbers(const char *path, uint64_t *a, uint64_t *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    uint64_t v[2] = {0, 0};
    int found = 0;
    const char *s = buf;
    while (found < 2 && *s) {
        while (*s == ' ' || *s == '\n')
            s++;
        if (*s < '0' || *s > '9')
            break;
        uint64_t x = 0;
        while (*s >= '0' && *s <= '9')
            x = x * 10 + (uint64_t)(*s++ - '0');
        v[found++] = x;
    }
    *a = v[0];
    if (b)
        *b = v[1];
    return found;
}

static void raise_max(_Atomic uint64_t *slot, uint64_t v)
{
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    while (v > old && !atomic_compare_exchange_weak_explicit(slot, &old, v, memory_order_relaxed, memory_order_relaxed))
        ;
}

HS_HIDDEN void hs_guard_tick(int64_t heap)
{
    int kind = atomic_load_explicit(&usage_kind, memory_order_acquire);
    if (kind < 0)
        return;
    static long page;
    if (!page)
        page = sysconf(_SC_PAGESIZE);
    uint64_t size = 0, resident = 0, usage = 0;
    if (read_numbers("/proc/self/statm", &size, &resident) < 2)
        return;
    uint64_t rss = resident * (uint64_t)page;
    if (kind == HEAPSCOPE_GUARD_USAGE_FILE) {
        if (read_numbers(usage_path, &usage, NULL) < 1)
            usage = rss;
    } else {
        usage = kind == HEAPSCOPE_GUARD_USAGE_VM ? size * (uint64_t)page : rss;
    }
    atomic_store_explicit(&last_usage, usage, memory_order_relaxed);
    atomic_store_explicit(&last_rss, rss, memory_order_relaxed);
    atomic_fetch_add_explicit(&ticks, 1, memory_order_relaxed);
    int64_t off = (int64_t)usage - heap;
    atomic_store_explicit(&hs_guard.offset, off > 0 ? off : 0, memory_order_relaxed);
    if (!atomic_load_explicit(&run_open, memory_order_relaxed))
        return;
    raise_max(&usage_peak, usage);
    raise_max(&rss_peak, rss);
    uint64_t soft = atomic_load_explicit(&soft_b, memory_order_relaxed);
    if (soft && usage > soft && !atomic_load_explicit(&soft_usage, memory_order_relaxed))
        atomic_store_explicit(&soft_usage, usage, memory_order_relaxed);
    int64_t hard = atomic_load_explicit(&hs_guard.hard, memory_order_relaxed);
    if (atomic_load_explicit(&hs_guard.armed, memory_order_relaxed) && hard > 0 && usage > (uint64_t)hard) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&fired, &expected, 1)) {
            atomic_store_explicit(&interrupted_usage, usage, memory_order_relaxed);
            int saved = errno;
            kill(getpid(), SIGINT);
            errno = saved;
        }
    }
}

HS_HIDDEN void hs_guard_atfork_child(void)
{
    atomic_store(&hs_guard.armed, 0);
    atomic_store(&run_open, 0);
    atomic_store(&enabled, 0);
    hs_guard_cell = 0;
}
