import COpenSSL

extension Certificate {
    /// True when `issuer` issued this certificate: its subject is this certificate's issuer
    /// (and key identifiers agree when present) and its key verifies this certificate's signature.
    /// One link of a chain; it does not check validity periods or the issuer's own trust.
    public func isIssued(by issuer: Certificate) -> Bool {
        defer { OpenSSLErrors.clear() }
        guard X509_check_issued(issuer.x509, x509) == X509_V_OK else { return false }
        guard let key = X509_get0_pubkey(issuer.x509) else { return false }
        return X509_verify(x509, key) == 1
    }
}

extension Certificate {
    /// Verifies that this certificate chains to one of `anchors` (through `intermediates` when
    /// needed): signatures, validity periods at `time` (seconds since the epoch; now when nil) and
    /// CA constraints. An anchor may be an intermediate CA (a partial chain), so an operator can
    /// trust exactly the CA that issues EK certificates. Throws naming OpenSSL's reason.
    public func verifyChain(anchors: [Certificate], intermediates: [Certificate] = [], at time: Int? = nil) throws {
        defer { OpenSSLErrors.clear() }
        guard let store = X509_STORE_new() else { throw CryptoError.openssl("X509_STORE_new") }
        defer { X509_STORE_free(store) }
        for anchor in anchors { X509_STORE_add_cert(store, anchor.x509) }
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        guard let untrusted = signet_x509_stack_new() else { throw CryptoError.openssl("sk_X509_new") }
        defer { signet_x509_stack_free(untrusted) }
        for c in intermediates { signet_x509_stack_push(untrusted, c.x509) }
        guard let ctx = X509_STORE_CTX_new() else { throw CryptoError.openssl("X509_STORE_CTX_new") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, x509, untrusted) == 1 else { throw CryptoError.openssl("X509_STORE_CTX_init") }
        if let time { X509_STORE_CTX_set_time(ctx, 0, time_t(time)) }
        guard X509_verify_cert(ctx) == 1 else {
            let code = X509_STORE_CTX_get_error(ctx)
            let reason = String(cString: X509_verify_cert_error_string(Int(code)))
            throw CryptoError(.notASigningCertificate, path: source, "does not chain to a trusted CA (subject \(subject), issuer \(issuer)): \(reason)")
        }
    }
}
