/* The in-guest attacker's setcap: sets security.capability (v2, cap_net_raw
 * effective+permitted) on a file. busybox has no setcap; prints the kernel's answer. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/xattr.h>
int main(int argc, char **argv) {
    unsigned char caps[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00 };
    if (argc != 2) { fprintf(stderr, "usage: setcap FILE\n"); return 2; }
    if (setxattr(argv[1], "security.capability", caps, sizeof caps, 0) != 0) {
        printf("setxattr security.capability %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    printf("security.capability set on %s\n", argv[1]);
    return 0;
}
