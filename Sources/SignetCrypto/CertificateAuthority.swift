#if canImport(Glibc)
import Glibc
#endif
import COpenSSL

/// Makes the certificates of an enterprise IMA key hierarchy: a self-signed
/// CA and IMA signing certificates it issues. The SubjectKeyIdentifier is
/// SHA-1 over the subjectPublicKey, so the kernel's `id:<keyid>` lookup finds
/// the key that an IMA signature header names.
public enum CertificateAuthority {
    /// What goes into a new certificate.
    public struct Profile: Sendable {
        public var subject: String
        public var validityDays: Int
        /// Start of validity (seconds since the epoch); nil: five minutes ago, to absorb clock skew.
        public var notBefore: Int?
        public init(subject: String, validityDays: Int, notBefore: Int? = nil) {
            self.subject = subject
            self.validityDays = validityDays
            self.notBefore = notBefore
        }
    }

    /// A self-signed CA (basicConstraints CA:TRUE, keyUsage keyCertSign+cRLSign).
    public static func makeRoot(key: PrivateKey, profile: Profile) throws -> Certificate {
        try build(subjectKey: key.publicKey, profile: profile, issuer: nil, issuerKey: key, isCA: true)
    }

    /// An IMA signing certificate (CA:FALSE, keyUsage digitalSignature,
    /// extendedKeyUsage codeSigning) for `subjectKey`, issued by `ca`.
    public static func issueSigningCertificate(for subjectKey: PublicKey, profile: Profile,
                                               ca: Certificate, caKey: PrivateKey) throws -> Certificate {
        try ca.checkMatches(caKey)
        guard ca.isCA else {
            throw CryptoError(.notASigningCertificate, path: ca.source,
                              "'\(ca.subject)' is not a CA certificate (basicConstraints CA:TRUE missing)")
        }
        if let usage = ca.keyUsage, !usage.contains(.keyCertSign) {
            throw CryptoError(.notASigningCertificate, path: ca.source,
                              "'\(ca.subject)' may not sign certificates (keyUsage lacks keyCertSign)")
        }
        return try build(subjectKey: subjectKey, profile: profile, issuer: ca, issuerKey: caKey, isCA: false)
    }

    /// Parses "CN=Signet CA,O=Example" or "/CN=Signet CA/O=Example".
    static func parseName(_ text: String) throws -> [(String, String)] {
        let separator: Character = text.hasPrefix("/") ? "/" : ","
        var out = [(String, String)]()
        for part in text.split(separator: separator) {
            let trimmed = part.drop(while: { $0 == " " })
            guard let eq = trimmed.firstIndex(of: "="), eq != trimmed.startIndex else {
                throw CryptoError(.invalidSubject, "subject part '\(trimmed)' is not NAME=VALUE (example: 'CN=Signet IMA,O=Example')")
            }
            let key = String(trimmed[..<eq])
            let value = String(trimmed[trimmed.index(after: eq)...])
            guard !value.isEmpty else { throw CryptoError(.invalidSubject, "subject part '\(key)' has an empty value") }
            out.append((key, value))
        }
        guard !out.isEmpty else { throw CryptoError(.invalidSubject, "the subject is empty (example: 'CN=Signet IMA,O=Example')") }
        return out
    }

    private static func build(subjectKey: PublicKey, profile: Profile, issuer: Certificate?,
                              issuerKey: PrivateKey, isCA: Bool) throws -> Certificate {
        guard profile.validityDays > 0 && profile.validityDays <= 36500 else {
            throw CryptoError(.operationFailed, "validity must be between 1 and 36500 days, not \(profile.validityDays)")
        }
        OpenSSLErrors.clear()
        guard let cert = X509_new() else { throw CryptoError.openssl("out of memory") }
        var owned = true
        defer { if owned { X509_free(cert) } }

        X509_set_version(cert, 2)
        // 16 random bytes, top bit clear so the INTEGER stays positive.
        var serial = [UInt8](repeating: 0, count: 16)
        RAND_bytes(&serial, Int32(serial.count))
        serial[0] &= 0x7f
        let bn = BN_bin2bn(serial, Int32(serial.count), nil)
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))
        BN_free(bn)

        guard let name = X509_NAME_new() else { throw CryptoError.openssl("out of memory") }
        defer { X509_NAME_free(name) }
        for (field, value) in try parseName(profile.subject) {
            guard X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, value, -1, -1, 0) == 1 else {
                throw CryptoError.openssl("subject field '\(field)' is not a known attribute (use CN, O, OU, C, ST, L)",
                                          code: .invalidSubject)
            }
        }
        X509_set_subject_name(cert, name)
        X509_set_issuer_name(cert, issuer.map { X509_get_subject_name($0.x509) } ?? name)
        var start = time_t(profile.notBefore ?? Int(time(nil)) - 300)
        X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &start)
        X509_time_adj_ex(X509_getm_notAfter(cert), Int32(profile.validityDays), 0, &start)
        X509_set_pubkey(cert, subjectKey.pkey)

        let issuerX509 = issuer?.x509 ?? cert
        let extensions: [(Int32, String)] = isCA
            ? [(NID_basic_constraints, "critical,CA:TRUE"),
               (NID_key_usage, "critical,keyCertSign,cRLSign"),
               (NID_subject_key_identifier, "hash"),
               (NID_authority_key_identifier, "keyid:always")]
            : [(NID_basic_constraints, "critical,CA:FALSE"),
               (NID_key_usage, "critical,digitalSignature"),
               (NID_ext_key_usage, "codeSigning"),
               (NID_subject_key_identifier, "hash"),
               (NID_authority_key_identifier, "keyid:always")]
        for (nid, value) in extensions {
            guard signet_x509_add_ext(cert, issuerX509, nid, value) == 1 else {
                throw CryptoError.openssl("cannot add extension \(value)")
            }
        }
        let md: OpaquePointer?
        if case .ecdsa(.p384) = try issuerKey.algorithm() { md = EVP_sha384() } else { md = EVP_sha256() }
        guard X509_sign(cert, issuerKey.pkey, md) > 0 else {
            throw CryptoError.openssl("cannot sign the certificate")
        }
        owned = false
        return Certificate(owning: cert, source: "new certificate '\(profile.subject)'")
    }
}
