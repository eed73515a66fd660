/*
 * env.c — activation variable and LD_PRELOAD self-removal (contract in env.h).
 * Entries of LD_PRELOAD are separated by ':' or ' ' (as ld.so parses them).
 */
#include "core/env.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

HS_HIDDEN int hs_env_enabled(void)
{
    const char *v = getenv(HS_ENV_ENABLE);
    return v && v[0] == '1' && v[1] == '\0';
}

static const char *base_name(const char *path, size_t n, size_t *out_n)
{
    size_t i = n;
    while (i > 0 && path[i - 1] != '/')
        i--;
    *out_n = n - i;
    return path + i;
}

static int is_self(const char *entry, size_t n, const char *self, const struct stat *self_st)
{
    size_t bn, sn;
    const char *b = base_name(entry, n, &bn);
    const char *sb = base_name(self, strlen(self), &sn);
    if (bn == sn && memcmp(b, sb, bn) == 0)
        return 1;
    if (!self_st || n >= 4096)
        return 0;
    char path[4096];
    memcpy(path, entry, n);
    path[n] = '\0';
    struct stat st;
    return stat(path, &st) == 0 && st.st_dev == self_st->st_dev && st.st_ino == self_st->st_ino;
}

HS_HIDDEN size_t hs_env_strip_preload(const char *value, const char *self_path, char *out, size_t cap, int *removed)
{
    *removed = 0;
    struct stat self_st;
    const struct stat *sp = stat(self_path, &self_st) == 0 ? &self_st : NULL;
    size_t o = 0;
    const char *p = value;
    while (*p) {
        while (*p == ':' || *p == ' ')
            p++;
        const char *q = p;
        while (*q && *q != ':' && *q != ' ')
            q++;
        size_t n = (size_t)(q - p);
        if (n && is_self(p, n, self_path, sp)) {
            ++*removed;
        } else if (n && o + n + 1 < cap) {
            if (o)
                out[o++] = ':';
            memcpy(out + o, p, n);
            o += n;
        }
        p = q;
    }
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    return o;
}

HS_HIDDEN void hs_env_consume(void)
{
    if (getenv(HS_ENV_ENABLE))
        unsetenv(HS_ENV_ENABLE);
    const char *pre = getenv("LD_PRELOAD");
    Dl_info info;
    if (!pre || !dladdr((void *)&hs_env_consume, &info) || !info.dli_fname)
        return;
    size_t cap = strlen(pre) + 1;
    char *out = malloc(cap);
    if (!out)
        return;
    int removed;
    size_t n = hs_env_strip_preload(pre, info.dli_fname, out, cap, &removed);
    if (!removed)
        ; /* not preloaded through LD_PRELOAD (e.g. ld.so --preload): leave it alone */
    else if (n)
        setenv("LD_PRELOAD", out, 1);
    else
        unsetenv("LD_PRELOAD");
    free(out);
}
