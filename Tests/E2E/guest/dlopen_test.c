/* dlopen_test LIB: loads LIB; prints "loaded" or the loader's error and exits 1. */
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: dlopen_test LIB\n"); return 2; }
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
    int (*f)(void) = (int (*)(void))dlsym(h, "signet_e2e_answer");
    printf("loaded %s answer=%d\n", argv[1], f ? f() : -1);
    return 0;
}
