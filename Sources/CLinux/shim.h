#ifndef SIGNET_CLINUX_SHIM_H
#define SIGNET_CLINUX_SHIM_H
// Linux system calls the Glibc module does not expose.
#include <sys/xattr.h>
#endif
