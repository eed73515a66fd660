/*
 * check.c — the reporting of check.h.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char check_msg[1024];
int check_failed;
int check_total_failed;

void check_fail(const char *fmt, ...)
{
    if (check_failed++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(check_msg, sizeof check_msg, fmt, ap);
    va_end(ap);
}

void report(const char *name)
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
