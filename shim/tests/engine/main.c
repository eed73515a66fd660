/*
 * main.c — test_engine: runs one group (engine_test.h).
 */
#include "engine_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    P = (size_t)sysconf(_SC_PAGESIZE);
    if (argc != 2) {
        fprintf(stderr,
                "usage: %s "
                "churn|fork|big|exhaust|realloc|sampling|hwm|ticker|inherit|runs|resume|reconcile|agent|settings|"
                "history|reuse\n",
                argv[0]);
        return 2;
    }
    if (!bind()) {
        printf("not ok - %s: libheapscope.so with the engine is not preloaded\n# end\n", argv[1]);
        return 1;
    }
    const char *g = argv[1];
    if (!strcmp(g, "churn"))
        group_churn();
    else if (!strcmp(g, "fork"))
        group_fork();
    else if (!strcmp(g, "big"))
        group_big();
    else if (!strcmp(g, "exhaust"))
        group_exhaust();
    else if (!strcmp(g, "realloc"))
        group_realloc();
    else if (!strcmp(g, "sampling"))
        group_sampling();
    else if (!strcmp(g, "hwm"))
        group_hwm();
    else if (!strcmp(g, "ticker"))
        group_ticker();
    else if (!strcmp(g, "inherit"))
        group_inherit();
    else if (!strcmp(g, "runs"))
        group_runs();
    else if (!strcmp(g, "resume"))
        group_resume();
    else if (!strcmp(g, "reconcile"))
        group_reconcile();
    else if (!strcmp(g, "agent"))
        group_agent();
    else if (!strcmp(g, "settings"))
        group_settings();
    else if (!strcmp(g, "history"))
        group_history();
    else if (!strcmp(g, "reuse"))
        group_reuse();
    else {
        printf("not ok - unknown group %s\n", g);
        check_total_failed++;
    }
    printf("# end\n");
    return check_total_failed ? 1 : 0;
}
