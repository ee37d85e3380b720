/* memfd_exec FILE: copies FILE into an anonymous memfd and fexecve()s it —
   fileless execution, the way loaders of in-memory payloads work.
   Prints the errno of the refused exec and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: memfd_exec FILE\n"); return 2; }
    int in = open(argv[1], O_RDONLY);
    if (in < 0) { perror("open"); return 2; }
    int fd = memfd_create("payload", MFD_CLOEXEC);
    if (fd < 0) { perror("memfd_create"); return 2; }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, n) != n) { perror("write"); return 2; }
    char *args[] = { "payload", NULL };
    fexecve(fd, args, environ);
    printf("fexecve failed: %s (errno %d)\n", strerror(errno), errno);
    return 1;
}
