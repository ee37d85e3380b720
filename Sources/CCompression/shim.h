#ifndef SIGNET_CCOMPRESSION_SHIM_H
#define SIGNET_CCOMPRESSION_SHIM_H
// The three decompressors a .deb member may need: liblzma (xz, lzma), libzstd, zlib (gzip).
// Wrapped once, by the Decompression module.
#include <lzma.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <zlib.h>

// inflateInit2 is a function-like macro: gzip framing only (windowBits 15 + 16).
static inline int signet_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

// Macros the importer drops or types it cannot spell as constants.
static const uint32_t signet_lzma_concatenated = LZMA_CONCATENATED;
static const uint32_t signet_lzma_tell_unsupported_check = LZMA_TELL_UNSUPPORTED_CHECK;
#endif
