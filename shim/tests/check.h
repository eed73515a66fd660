/*
 * check.h — minimal reporting for the shim's C tests.
 *
 * Each test group prints one line per check, "ok - NAME" or "not ok - NAME: why", and the program
 * ends with "# end" (tests/run.sh counts the lines; a crash or a missing "# end" is a failure).
 * Failure messages are formatted into a static buffer while measuring, so that checking does not
 * allocate between two snapshots of the counters; report() prints afterwards. Definitions: check.c.
 */
#ifndef HS_CHECK_H
#define HS_CHECK_H

extern char check_msg[1024];
extern int check_failed;
extern int check_total_failed;

/* Records the first failure of the current check. */
void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...)             \
    do {                             \
        if (!(cond))                 \
            check_fail(__VA_ARGS__); \
    } while (0)

/* Prints the verdict of the check that has just run and resets for the next one. */
void report(const char *name);

#endif
