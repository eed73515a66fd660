/*
 * settings.c — HEAPSCOPE_* settings (contract in settings.h).
 */
#include "core/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct heapscope_config settings = {
    .mode = HEAPSCOPE_MODE_DEFAULT, .max_depth = 32, .exact_threshold = 65536, .sample_interval = 65536, .tick_hz = 20};
static uint32_t history_runs = HS_HISTORY_RUNS_DEFAULT;
static char errors[1024];

static const char *trim(const char *v, size_t *n)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t k = strlen(v);
    while (k && (v[k - 1] == ' ' || v[k - 1] == '\t' || v[k - 1] == '\n'))
        k--;
    *n = k;
    return v;
}

/* Appends "NAME='value' is not WHAT; using DEFAULT\n" (value cut at 40 characters). */
static void complain(char *err, size_t cap, const char *name, const char *value, const char *what, const char *dflt)
{
    size_t used = strlen(err);
    if (used + 1 >= cap)
        return;
    snprintf(err + used, cap - used, "%s=%s%.40s%s is not %s; using %s\n", name, "'", value,
             strlen(value) > 40 ? "...'" : "'", what, dflt);
}

HS_HIDDEN int hs_settings_parse_u64(const char *name, const char *value, uint64_t lo, uint64_t hi, uint64_t *out,
                                    char *err, size_t cap)
{
    if (!value)
        return 1;
    size_t n;
    const char *v = trim(value, &n);
    if (!n)
        return 1;
    uint64_t x = 0;
    int ok = n <= 20;
    for (size_t i = 0; ok && i < n; i++) {
        if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
            ok = 0;
        else
            x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (ok && x >= lo && x <= hi) {
        *out = x;
        return 1;
    }
    char what[96], dflt[32];
    snprintf(what, sizeof what, "an integer in %llu..%llu", (unsigned long long)lo, (unsigned long long)hi);
    snprintf(dflt, sizeof dflt, "%llu", (unsigned long long)*out);
    complain(err, cap, name, value, what, dflt);
    return 0;
}

HS_HIDDEN void hs_settings_load(void)
{
    errors[0] = '\0';
    const char *mode = getenv("HEAPSCOPE_MODE");
    if (mode) {
        size_t n;
        const char *v = trim(mode, &n);
        if (n == 5 && !strncmp(v, "exact", 5))
            settings.mode = HEAPSCOPE_MODE_EXACT;
        else if (n == 7 && !strncmp(v, "default", 7))
            settings.mode = HEAPSCOPE_MODE_DEFAULT;
        else if (n)
            complain(errors, sizeof errors, "HEAPSCOPE_MODE", mode, "default or exact", "default");
    }
    uint64_t v = settings.exact_threshold;
    hs_settings_parse_u64("HEAPSCOPE_EXACT_THRESHOLD", getenv("HEAPSCOPE_EXACT_THRESHOLD"), 1, 1ull << 40, &v, errors,
                          sizeof errors);
    settings.exact_threshold = v;
    v = settings.sample_interval;
    hs_settings_parse_u64("HEAPSCOPE_SAMPLE_INTERVAL", getenv("HEAPSCOPE_SAMPLE_INTERVAL"), 1, 1ull << 30, &v, errors,
                          sizeof errors);
    settings.sample_interval = v;
    v = (uint64_t)settings.max_depth;
    hs_settings_parse_u64("HEAPSCOPE_MAX_DEPTH", getenv("HEAPSCOPE_MAX_DEPTH"), 1, HEAPSCOPE_MAX_DEPTH, &v, errors,
                          sizeof errors);
    settings.max_depth = (int)v;
    v = history_runs;
    hs_settings_parse_u64("HEAPSCOPE_HISTORY_RUNS", getenv("HEAPSCOPE_HISTORY_RUNS"), 1, HS_HISTORY_RUNS_MAX, &v,
                          errors, sizeof errors);
    history_runs = (uint32_t)v;
    size_t k = strlen(errors);
    if (k && errors[k - 1] == '\n')
        errors[k - 1] = '\0';
}

HS_EXPORT void heapscope_settings(struct heapscope_config *out)
{
    if (out)
        *out = settings;
}

HS_EXPORT const char *heapscope_settings_errors(void) { return errors; }

HS_HIDDEN uint32_t hs_settings_history_runs(void) { return history_runs; }
