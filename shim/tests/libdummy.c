/* libdummy.so — an unrelated library preloaded next to libheapscope.so in the environment tests:
   the shim must remove only its own LD_PRELOAD entry and keep this one. */
int heapscope_test_dummy(void);
int heapscope_test_dummy(void) { return 42; }
