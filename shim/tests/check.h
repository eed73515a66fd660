/*
 * check.h — minimal reporting for the shim's C tests.
 *
 * Each test group prints one line per check, "ok - NAME" or "not ok - NAME: why", and the program
 * ends with "# end" (tests/run.sh counts the lines; a crash or a missing "# end" is a failure).
 * Failure messages are formatted into a static buffer while measuring, so that checking does not
 * allocate between two snapshots of the counters; report() prints afterwards.
 */
#ifndef HS_CHECK_H
#define HS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char check_msg[1024];
static int check_failed;
static int check_total_failed;

/* Records the first failure of the current check. */
static void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void check_fail(const char *fmt, ...)
{
    if (check_failed++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(check_msg, sizeof check_msg, fmt, ap);
    va_end(ap);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            check_fail(__VA_ARGS__);                                                               \
    } while (0)

/* Prints the verdict of the check that has just run and resets for the next one. */
static void report(const char *name)
{
    if (check_failed) {
        printf("not ok - %s: %s\n", name, check_msg);
        check_total_failed++;
    } else {
        printf("ok - %s\n", name);
    }
    fflush(stdout);
    check_failed = 0;
    check_msg[0] = '\0';
}

#endif
