#ifndef SIGNET_COPENSSL_SHIM_H
#define SIGNET_COPENSSL_SHIM_H
// libcrypto (OpenSSL 3) as Swift sees it. Only includes plus small helpers for
// macros the importer drops and calls that keep C pointers across statements.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <string.h>

/// A PEM password callback that never prompts: an encrypted key without a
/// supplied passphrase fails instead of reading the terminal.
static int signet_no_passphrase_cb(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

/// A PEM password callback that copies the NUL-terminated passphrase in `u`.
static int signet_passphrase_cb(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    if (u == NULL) return -1;
    size_t len = strlen((const char *)u);
    if (len > (size_t)size) return -1;
    memcpy(buf, u, len);
    return (int)len;
}

static inline pem_password_cb *signet_no_passphrase(void) { return signet_no_passphrase_cb; }
static inline pem_password_cb *signet_passphrase(void) { return signet_passphrase_cb; }

static inline void signet_openssl_free(void *p) { OPENSSL_free(p); }

static inline long signet_bio_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }

/// Adds one X.509v3 extension given in openssl.cnf syntax ("critical,CA:TRUE").
/// `issuer` may equal `cert` for self-signed certificates. Returns 1 on success.
static inline int signet_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static inline unsigned long signet_x509_key_usage(X509 *cert) { return (unsigned long)X509_get_key_usage(cert); }
static inline unsigned long signet_x509_extension_flags(X509 *cert) { return (unsigned long)X509_get_extension_flags(cert); }
static const unsigned long signet_KU_DIGITAL_SIGNATURE = KU_DIGITAL_SIGNATURE;
static const unsigned long signet_KU_KEY_CERT_SIGN = KU_KEY_CERT_SIGN;
static const unsigned long signet_EXFLAG_KUSAGE = EXFLAG_KUSAGE;
static const unsigned long signet_EXFLAG_CA = EXFLAG_CA;
// RFC 2253 escaping and separators, but in the order the name was written (CN first).
static const unsigned long signet_XN_FLAG_RFC2253 = XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV;
static inline int signet_err_reason(unsigned long e) { return ERR_GET_REASON(e); }
#endif
