#ifndef SIGNET_RSA_PUBLIC_H
#define SIGNET_RSA_PUBLIC_H
// The RSA public-key operation (sig^e mod n) for moduli of up to 2,048 bits,
// in Montgomery arithmetic on 52-bit limbs with AVX-512 IFMA. Pure arithmetic:
// no I/O, no allocation, no OpenSSL. A signature check is public data only, so
// nothing here needs to run in constant time.
#include <stddef.h>
#include <stdint.h>

#define SIGNET_RSA_LIMBS 48          /* 40 used (2,080 bits), padded to whole 512-bit vectors */
#define SIGNET_RSA_MAX_BYTES 256     /* the largest modulus taken: 2,048 bits */

/// A public key prepared for `signet_rsa_public` by `signet_rsa_key_init`,
/// in memory of `signet_rsa_key_size()` bytes aligned to 64 (opaque: its
/// vectors are over-aligned for Swift's importer).
typedef struct signet_rsa_key signet_rsa_key;

/// The bytes a `signet_rsa_key` needs (allocate them aligned to 64).
size_t signet_rsa_key_size(void);

/// k: the modulus length in bytes, the length of a signature and of the output.
size_t signet_rsa_key_modulus_bytes(const signet_rsa_key *key);

/// 1 when this CPU (and the kernel, for the AVX-512 register state) runs AVX-512F and IFMA.
int signet_rsa_ifma_supported(void);

/// Prepares `key` from the big-endian modulus `n` (leading zero bytes allowed)
/// and exponent `e`. Returns 1, or 0 when the key is outside what this code
/// takes (modulus over 2,048 bits or under 512, even modulus, even e, e < 3,
/// e >= n); the caller then uses a general implementation.
int signet_rsa_key_init(signet_rsa_key *key, const uint8_t *n, size_t n_len, uint64_t e);

/// out (k bytes, big-endian) = sig^e mod n, where sig is k big-endian bytes.
/// Returns 1, or 0 when sig_len != k or sig >= n (the cases in which
/// OpenSSL's RSA verification fails before any arithmetic). Requires
/// `signet_rsa_ifma_supported()`.
int signet_rsa_public(const signet_rsa_key *key, const uint8_t *sig, size_t sig_len, uint8_t *out);

/// RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) against an expected
/// encoding given as `prefix` (00 01 FF.. 00 DigestInfo header) and `digest`:
/// 1 when sig^e mod n equals prefix || digest, else 0.
int signet_rsa_verify_pkcs1(const signet_rsa_key *key, const uint8_t *sig, size_t sig_len,
                            const uint8_t *prefix, size_t prefix_len, const uint8_t *digest, size_t digest_len);

#endif
