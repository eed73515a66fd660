/*
 * main.c — test_shim: runs one group (shim_test.h).
 */
#include "shim_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    P = (size_t)sysconf(_SC_PAGESIZE);
    under_valgrind = getenv("HS_TEST_VALGRIND") != NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: %s counters|mmap|peak|threads|fork|env|inactive|degraded\n", argv[0]);
        return 2;
    }
    if (!bind_api()) {
        printf("not ok - %s: libheapscope.so is not preloaded (heapscope_* not found)\n", argv[1]);
        printf("# end\n");
        return 1;
    }
    const char *g = argv[1];
    if (!strcmp(g, "counters"))
        group_counters();
    else if (!strcmp(g, "mmap"))
        group_mmap();
    else if (!strcmp(g, "peak"))
        group_peak();
    else if (!strcmp(g, "threads"))
        group_threads();
    else if (!strcmp(g, "fork"))
        group_fork();
    else if (!strcmp(g, "env"))
        group_env();
    else if (!strcmp(g, "inactive"))
        group_inactive();
    else if (!strcmp(g, "degraded"))
        group_degraded();
    else {
        printf("not ok - unknown group %s\n", g);
        check_total_failed++;
    }
    printf("# end\n");
    return check_total_failed ? 1 : 0;
}
