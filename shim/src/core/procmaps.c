/*
 * procmaps.c — streaming parser of /proc/self/maps (contract in procmaps.h).
 * Each line starts "start-end " in hex; everything after is skipped.
 */
#include "core/procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

HS_HIDDEN int hs_maps_open(struct hs_maps *m)
{
    m->pos = m->len = 0;
    m->error = 0;
    m->fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    return m->fd < 0 ? -1 : 0;
}

HS_HIDDEN void hs_maps_close(struct hs_maps *m)
{
    if (m->fd >= 0)
        syscall(SYS_close, m->fd);
    m->fd = -1;
}

/* The next character, or -1 at the end (or on error, with m->error set). */
static int next_char(struct hs_maps *m)
{
    if (m->pos == m->len) {
        long r;
        do
            r = syscall(SYS_read, m->fd, m->buf, sizeof m->buf);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            m->error = 1;
            return -1;
        }
        if (r == 0)
            return -1;
        m->pos = 0;
        m->len = (size_t)r;
    }
    return (unsigned char)m->buf[m->pos++];
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads hex digits up to `stop`; 1 when at least one digit came and the stop character followed. */
static int read_hex(struct hs_maps *m, int stop, uintptr_t *out, int *last)
{
    uintptr_t v = 0;
    int c, digits = 0, d;
    while ((c = next_char(m)) >= 0 && (d = hex_value(c)) >= 0) {
        v = v << 4 | (uintptr_t)d;
        digits++;
    }
    *last = c;
    *out = v;
    return digits > 0 && c == stop;
}

HS_HIDDEN int hs_maps_next(struct hs_maps *m, uintptr_t *start, uintptr_t *end)
{
    int last;
    if (!read_hex(m, '-', start, &last)) {
        if (m->error)
            return -1;
        return last < 0 ? 0 : -1; /* the end, or not the format we know */
    }
    if (!read_hex(m, ' ', end, &last))
        return -1;
    int c;
    while ((c = next_char(m)) >= 0 && c != '\n')
        ;
    return m->error ? -1 : 1;
}
