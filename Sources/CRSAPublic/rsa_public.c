// RSA public-key operation with AVX-512 IFMA: see include/rsa_public.h.
//
// Numbers are held as 40 limbs of 52 bits (2,080 bits, so R = 2^2080 > 4n
// for every n of at most 2,048 bits), padded with zero limbs to 48 = six
// 512-bit vectors. `amm` is word-serial "almost Montgomery" multiplication:
// for inputs below 2n it returns a*b/R mod n, below 2n, without the final
// subtraction (R > 4n makes that bound hold), so results chain straight into
// the next multiplication. Only the final result is reduced below n.
#include "rsa_public.h"

#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#define LIMBS 40
#define VECS 6
#define MASK52 0xFFFFFFFFFFFFFULL
#define WORDS 34 /* 64-bit words covering 2,080 bits plus one spare */

int signet_rsa_ifma_supported(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27))) return 0; /* OSXSAVE: the kernel manages extended register state */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    /* XMM, YMM, opmask, upper halves of ZMM0-15, ZMM16-31: all enabled by the kernel */
    if ((lo & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 16)) && (b & (1u << 21)) ? 1 : 0; /* AVX512F, AVX512IFMA */
}

// MARK: conversions (scalar)

/// Big-endian bytes (len <= 8 * WORDS) to little-endian 64-bit words.
static void bytes_to_words(const uint8_t *bytes, size_t len, uint64_t w[WORDS]) {
    memset(w, 0, WORDS * sizeof(uint64_t));
    for (size_t i = 0; i < len; i++) w[i / 8] |= (uint64_t)bytes[len - 1 - i] << (8 * (i % 8));
}

static void words_to_limbs(const uint64_t w[WORDS], uint64_t l[SIGNET_RSA_LIMBS]) {
    memset(l, 0, SIGNET_RSA_LIMBS * sizeof(uint64_t));
    for (unsigned j = 0; j < LIMBS; j++) {
        unsigned bit = 52 * j, wi = bit / 64, off = bit % 64;
        uint64_t v = w[wi] >> off;
        if (off > 12) v |= w[wi + 1] << (64 - off);
        l[j] = v & MASK52;
    }
}

static void limbs_to_words(const uint64_t l[SIGNET_RSA_LIMBS], uint64_t w[WORDS]) {
    memset(w, 0, WORDS * sizeof(uint64_t));
    for (unsigned j = 0; j < LIMBS; j++) {
        unsigned bit = 52 * j, wi = bit / 64, off = bit % 64;
        w[wi] |= l[j] << off;
        if (off > 12) w[wi + 1] |= l[j] >> (64 - off);
    }
}

static void words_to_bytes(const uint64_t w[WORDS], uint8_t *out, size_t len) {
    for (size_t i = 0; i < len; i++) out[len - 1 - i] = (uint8_t)(w[i / 8] >> (8 * (i % 8)));
}

/// a >= b on little-endian words.
static int words_geq(const uint64_t *a, const uint64_t *b, unsigned n) {
    for (unsigned i = n; i-- > 0;) {
        if (a[i] != b[i]) return a[i] > b[i];
    }
    return 1;
}

static void words_sub(uint64_t *a, const uint64_t *b, unsigned n) {
    unsigned __int128 borrow = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned __int128 d = (unsigned __int128)a[i] - b[i] - borrow;
        a[i] = (uint64_t)d;
        borrow = (d >> 64) ? 1 : 0;
    }
}

// MARK: key

struct signet_rsa_key {
    uint64_t n[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));         /* the modulus */
    uint64_t n_shifted[SIGNET_RSA_LIMBS] __attribute__((aligned(64))); /* n one limb up */
    uint64_t rr[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));        /* R^2 mod n, R = 2^2080 */
    uint64_t k0;                      /* -n^-1 mod 2^52 */
    uint64_t e;                       /* the public exponent (odd, >= 3) */
    uint64_t n_words[WORDS];          /* n as little-endian 64-bit words, for the final reduction */
    size_t modulus_bytes;             /* k: the length of n, of a signature and of the output */
    uint8_t modulus[SIGNET_RSA_MAX_BYTES]; /* n, big-endian, k bytes */
};

size_t signet_rsa_key_size(void) { return sizeof(signet_rsa_key); }

size_t signet_rsa_key_modulus_bytes(const signet_rsa_key *key) { return key->modulus_bytes; }

int signet_rsa_key_init(signet_rsa_key *key, const uint8_t *n, size_t n_len, uint64_t e) {
    memset(key, 0, sizeof(*key));
    while (n_len > 0 && n[0] == 0) { n++; n_len--; }
    if (n_len < 64 || n_len > SIGNET_RSA_MAX_BYTES) return 0;
    if (!(n[n_len - 1] & 1)) return 0;
    if (e < 3 || !(e & 1)) return 0;
    /* e < n always holds: n has at least 505 bits and e at most 64. */
    uint64_t nw[WORDS];
    bytes_to_words(n, n_len, nw);
    words_to_limbs(nw, key->n);
    for (unsigned j = 1; j < SIGNET_RSA_LIMBS; j++) key->n_shifted[j] = key->n[j - 1];

    /* k0 = -n^-1 mod 2^52 (Newton: each step doubles the correct low bits of the inverse) */
    uint64_t inv = nw[0];
    for (int i = 0; i < 6; i++) inv *= 2 - nw[0] * inv;
    key->k0 = (0 - inv) & MASK52;

    /* R^2 mod n = 2^4160 mod n, by doubling with subtraction */
    uint64_t x[WORDS] = {1};
    for (unsigned i = 0; i < 2 * 52 * LIMBS; i++) {
        uint64_t carry = 0;
        for (unsigned j = 0; j < WORDS; j++) {
            uint64_t top = x[j] >> 63;
            x[j] = (x[j] << 1) | carry;
            carry = top;
        }
        if (words_geq(x, nw, WORDS)) words_sub(x, nw, WORDS);
    }
    words_to_limbs(x, key->rr);

    memcpy(key->n_words, nw, sizeof nw);
    key->e = e;
    key->modulus_bytes = n_len;
    memcpy(key->modulus, n, n_len);
    return 1;
}

// MARK: Montgomery multiplication (AVX-512 IFMA)

#define IFMA __attribute__((target("avx512f,avx512ifma")))

/// res = a * b / 2^2080 mod n, below 2n, limbs normalized to 52 bits; a and
/// b below 2n with 52-bit limbs. `res` may alias `a` or `b`.
IFMA static void amm(uint64_t *res, const uint64_t *a, const uint64_t *b, const signet_rsa_key *key) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i B[VECS], Bs[VECS], M[VECS], Ms[VECS], R[VECS];
    for (int v = 0; v < VECS; v++) {
        B[v] = _mm512_load_si512((const void *)(b + 8 * v));
        M[v] = _mm512_load_si512((const void *)(key->n + 8 * v));
        Ms[v] = _mm512_load_si512((const void *)(key->n_shifted + 8 * v));
        R[v] = zero;
    }
    /* b one limb up: the high half of a_i * b_j belongs one limb above the low half */
    Bs[0] = _mm512_alignr_epi64(B[0], zero, 7);
    for (int v = 1; v < VECS; v++) Bs[v] = _mm512_alignr_epi64(B[v], B[v - 1], 7);

    const uint64_t b0 = b[0], n0 = key->n[0], k0 = key->k0;
    uint64_t carry = 0; /* the bits above 52 of the limb shifted out last, owed to limb 0 */
    for (int i = 0; i < LIMBS; i++) {
        const uint64_t ai = a[i];
        /* limb 0 of T + a_i*b, exactly (the vector's lane 0 does not hold the carry) */
        uint64_t r0 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(R[0])) + carry + ((ai * b0) & MASK52);
        uint64_t q = (r0 * k0) & MASK52;
        carry = (r0 + ((q * n0) & MASK52)) >> 52;

        __m512i av = _mm512_set1_epi64((long long)ai);
        __m512i qv = _mm512_set1_epi64((long long)q);
        __m512i H[VECS];
        for (int v = 0; v < VECS; v++) {
            H[v] = _mm512_madd52hi_epu64(zero, qv, Ms[v]);
            H[v] = _mm512_madd52hi_epu64(H[v], av, Bs[v]);
            R[v] = _mm512_madd52lo_epu64(R[v], av, B[v]);
            R[v] = _mm512_madd52lo_epu64(R[v], qv, M[v]);
        }
        for (int v = 0; v < VECS; v++) R[v] = _mm512_add_epi64(R[v], H[v]);
        /* divide by 2^52: limb 0 is now 0 mod 2^52 (its high bits are `carry`) */
        for (int v = 0; v < VECS - 1; v++) R[v] = _mm512_alignr_epi64(R[v + 1], R[v], 1);
        R[VECS - 1] = _mm512_alignr_epi64(zero, R[VECS - 1], 1);
    }
    uint64_t t[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));
    for (int v = 0; v < VECS; v++) _mm512_store_si512((void *)(t + 8 * v), R[v]);
    /* normalize; the value is below 2n < 2^2049, so limbs 40.. are zero */
    for (int j = 0; j < LIMBS; j++) {
        uint64_t s = t[j] + carry;
        res[j] = s & MASK52;
        carry = s >> 52;
    }
    for (int j = LIMBS; j < SIGNET_RSA_LIMBS; j++) res[j] = 0;
}

IFMA static void modexp(const signet_rsa_key *key, const uint64_t *s, uint64_t *out) {
    uint64_t sm[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));
    uint64_t x[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));
    uint64_t one[SIGNET_RSA_LIMBS] __attribute__((aligned(64))) = {1};
    amm(sm, s, key->rr, key); /* s*R mod n */
    memcpy(x, sm, sizeof x);
    int top = 63 - __builtin_clzll(key->e);
    for (int bit = top - 1; bit >= 0; bit--) {
        amm(x, x, x, key);
        if ((key->e >> bit) & 1) amm(x, x, sm, key);
    }
    amm(out, x, one, key); /* out of Montgomery form: at most n */
}

int signet_rsa_public(const signet_rsa_key *key, const uint8_t *sig, size_t sig_len, uint8_t *out) {
    const size_t k = key->modulus_bytes;
    if (k == 0 || sig_len != k) return 0;
    if (memcmp(sig, key->modulus, k) >= 0) return 0;
    uint64_t w[WORDS];
    uint64_t s[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));
    uint64_t r[SIGNET_RSA_LIMBS] __attribute__((aligned(64)));
    bytes_to_words(sig, sig_len, w);
    words_to_limbs(w, s);
    modexp(key, s, r);
    limbs_to_words(r, w);
    if (words_geq(w, key->n_words, WORDS)) words_sub(w, key->n_words, WORDS);
    words_to_bytes(w, out, k);
    return 1;
}

int signet_rsa_verify_pkcs1(const signet_rsa_key *key, const uint8_t *sig, size_t sig_len,
                            const uint8_t *prefix, size_t prefix_len, const uint8_t *digest, size_t digest_len) {
    const size_t k = key->modulus_bytes;
    if (prefix_len + digest_len != k) return 0;
    uint8_t m[SIGNET_RSA_MAX_BYTES];
    if (!signet_rsa_public(key, sig, sig_len, m)) return 0;
    return memcmp(m, prefix, prefix_len) == 0 && memcmp(m + prefix_len, digest, digest_len) == 0;
}
