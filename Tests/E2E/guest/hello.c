/* A trivial dynamically linked program: runs only if it and its libraries are signed. */
#include <stdio.h>
int main(int argc, char **argv) { printf("hello from %s\n", argc > 0 ? argv[0] : "?"); return 0; }
