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
// ---- PKCS#11 (HSM keys through the libp11 "pkcs11" engine) ----
#include <dlfcn.h>
#include <unistd.h>

/// The first entries of a PKCS#11 CK_FUNCTION_LIST (cryptoki 2.x, Unix ABI:
/// CK_ULONG is unsigned long, default packing), enough to list tokens.
typedef struct {
    unsigned char major, minor;
    unsigned long (*C_Initialize)(void *);
    unsigned long (*C_Finalize)(void *);
    void *C_GetInfo;
    void *C_GetFunctionList;
    unsigned long (*C_GetSlotList)(unsigned char tokenPresent, unsigned long *slots, unsigned long *count);
    void *C_GetSlotInfo;
    unsigned long (*C_GetTokenInfo)(unsigned long slot, void *info);
} signet_ck_function_list_head;

/// 0: the module loads and exports C_GetFunctionList; 1: missing or not
/// readable; 2: dlopen failed; 3: not a PKCS#11 module. The handle stays open
/// (the engine loads the same module).
static inline int signet_pkcs11_module_check(const char *path) {
    if (access(path, R_OK) != 0) return 1;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) return 2;
    if (dlsym(h, "C_GetFunctionList") == NULL) return 3;
    return 0;
}

/// Whether a token labelled `label` (space-padded to 32 bytes by the module)
/// is present: 1 yes, 0 no, negative when the module cannot be asked. Finalizes
/// the module only when this call initialized it (the engine may be using it).
static inline int signet_pkcs11_token_present(const char *path, const char *label) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) return -1;
    unsigned long (*getList)(signet_ck_function_list_head **) =
        (unsigned long (*)(signet_ck_function_list_head **))dlsym(h, "C_GetFunctionList");
    signet_ck_function_list_head *f = NULL;
    if (getList == NULL || getList(&f) != 0 || f == NULL) return -2;
    unsigned long rv = f->C_Initialize(NULL);
    int initialized = (rv == 0);
    if (rv != 0 && rv != 0x191UL /* CKR_CRYPTOKI_ALREADY_INITIALIZED */) return -3;
    int found = 0;
    unsigned long slots[64], count = 64;
    if (f->C_GetSlotList(1, slots, &count) == 0) {
        size_t want = strlen(label);
        for (unsigned long i = 0; i < count && i < 64 && !found; i++) {
            unsigned long info[64]; // CK_TOKEN_INFO is ~200 bytes; its label is the first 32.
            memset(info, 0, sizeof info);
            if (f->C_GetTokenInfo(slots[i], info) != 0) continue;
            const unsigned char *l = (const unsigned char *)info;
            size_t n = 32;
            while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == 0)) n--;
            if (n == want && memcmp(l, label, n) == 0) found = 1;
        }
    } else {
        found = -4;
    }
    if (initialized) f->C_Finalize(NULL);
    return found;
}

static inline int signet_engine_ctrl_no_input(ENGINE *e, const char *cmd) {
    return ENGINE_ctrl_cmd_string(e, cmd, NULL, 0);
}
/* STACK_OF(X509) is a macro family; these give Swift plain functions. */
static inline STACK_OF(X509) *signet_x509_stack_new(void) { return sk_X509_new_null(); }
static inline void signet_x509_stack_free(STACK_OF(X509) *s) { sk_X509_free(s); }
static inline int signet_x509_stack_push(STACK_OF(X509) *s, X509 *c) { return sk_X509_push(s, c); }

#endif
