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
