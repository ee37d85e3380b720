/* The process of the rewritten-mapping case: maps a library with dlopen, calls mapped_value(),
 * waits for a line on stdin (the attacker rewrites the library's file meanwhile), then calls it
 * again. "before=" and "after=" differ when the rewrite reached code that was already mapped. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: mapped_runner LIBRARY\n"); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) { printf("dlopen-failed %s\n", dlerror()); return 1; }
    int (*value)(void) = (int (*)(void))dlsym(lib, "mapped_value");
    if (!value) { printf("dlsym-failed %s\n", dlerror()); return 1; }
    printf("before=%#x\n", value());
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 2;
    printf("after=%#x\n", value());
    return 0;
}
