#ifndef SIGNET_CKEYUTILS_SHIM_H
#define SIGNET_CKEYUTILS_SHIM_H
#include <keyutils.h>
#endif
