/* A shared library for the dlopen / LD_PRELOAD cases. */
int signet_e2e_answer(void) { return 42; }
