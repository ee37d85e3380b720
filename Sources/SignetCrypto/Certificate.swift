#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import IMAFormat

/// An X.509 certificate: the trust anchor the kernel's keyring and Signet's
/// verifier hold, and the source of a signer's IMA keyid.
public final class Certificate: @unchecked Sendable {
    let x509: OpaquePointer
    /// Where the certificate came from, for messages.
    public let source: String

    init(owning x509: OpaquePointer, source: String) {
        self.x509 = x509
        self.source = source
    }

    deinit { X509_free(x509) }

    /// Loads the first certificate of a PEM or DER file.
    public static func load(path: String) throws -> Certificate {
        guard let first = try loadAll(path: path).first else {
            throw CryptoError(.notACertificate, path: path, "no certificate in the file")
        }
        return first
    }

    /// Loads every certificate of a PEM bundle, or the one of a DER file.
    public static func loadAll(path: String) throws -> [Certificate] {
        try parseAll(FileBytes.read(path), source: path)
    }

    /// Parses PEM (one or more blocks) or DER bytes.
    public static func parseAll(_ bytes: [UInt8], source: String) throws -> [Certificate] {
        OpenSSLErrors.clear()
        let isPEM = String(decoding: bytes.prefix(8192), as: UTF8.self).contains("-----BEGIN CERTIFICATE-----")
        if !isPEM {
            var certificate: OpaquePointer?
            bytes.withUnsafeBufferPointer { buf in
                var p: UnsafePointer<UInt8>? = buf.baseAddress
                certificate = d2i_X509(nil, &p, buf.count)
            }
            guard let certificate else {
                throw CryptoError.openssl("not an X.509 certificate (neither PEM nor DER)",
                                          path: source, code: .notACertificate)
            }
            return [Certificate(owning: certificate, source: source)]
        }
        var out = [Certificate]()
        try bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                throw CryptoError.openssl("out of memory")
            }
            defer { BIO_free(bio) }
            while let c = PEM_read_bio_X509(bio, nil, signet_no_passphrase(), nil) {
                out.append(Certificate(owning: c, source: source))
            }
        }
        OpenSSLErrors.clear()  // the end of the bundle reads as "no start line"
        guard !out.isEmpty else {
            throw CryptoError(.notACertificate, path: source, "the PEM file holds no readable certificate")
        }
        return out
    }

    /// Subject in RFC 2253 form ("CN=Signet IMA,O=Example").
    public var subject: String { Self.render(X509_get_subject_name(x509)) }
    public var issuer: String { Self.render(X509_get_issuer_name(x509)) }

    public var publicKey: PublicKey { PublicKey(owning: X509_get_pubkey(x509)) }

    /// The key algorithm, nil when the kernel could not verify with it.
    public var keyAlgorithm: KeyAlgorithm? { publicKey.algorithm }

    /// The IMA keyid: last 4 bytes of SHA-1 over the subjectPublicKey bits.
    public var imaKeyID: UInt32 {
        guard let bits = X509_get0_pubkey_bitstr(x509) else { return 0 }
        let data = ASN1_STRING_get0_data(bits)!
        let bytes = Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(bits))))
        return KeyID.fromSHA1(Digester.hash(bytes, .sha1))
    }

    /// The Subject Key Identifier extension, if present.
    public var subjectKeyIdentifier: [UInt8]? {
        guard let skid = X509_get0_subject_key_id(x509) else { return nil }
        let data = ASN1_STRING_get0_data(skid)!
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(skid))))
    }

    /// SHA-256 over the DER certificate, the fingerprint the manifest records.
    public var fingerprintSHA256: [UInt8] { Digester.hash(der, .sha256) }

    public var serialHex: String {
        guard let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { signet_openssl_free(hex) }
        return String(cString: hex).lowercased()
    }

    /// DER encoding (what `add_key("asymmetric", …)` takes).
    public var der: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let len = i2d_X509(x509, &out)
        guard len > 0, let out else { return [] }
        defer { signet_openssl_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(len)))
    }

    public var pem: [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { return [] }
        defer { BIO_free(bio) }
        PEM_write_bio_X509(bio, x509)
        return BIOBytes.read(bio)
    }

    /// notBefore / notAfter as seconds since the epoch (UTC).
    public var notBefore: Int { Self.epochSeconds(X509_get0_notBefore(x509)) }
    public var notAfter: Int { Self.epochSeconds(X509_get0_notAfter(x509)) }

    /// Key usage bits present in the certificate, or nil when it has no keyUsage extension.
    public var keyUsage: KeyUsage? {
        let flags = signet_x509_extension_flags(x509)
        guard flags & signet_EXFLAG_KUSAGE != 0 else { return nil }
        return KeyUsage(rawValue: signet_x509_key_usage(x509))
    }

    /// True for a CA certificate (basicConstraints CA:TRUE).
    public var isCA: Bool { signet_x509_extension_flags(x509) & signet_EXFLAG_CA != 0 }

    /// Key usage bits Signet cares about.
    public struct KeyUsage: OptionSet, Sendable {
        public let rawValue: UInt
        public init(rawValue: UInt) { self.rawValue = rawValue }
        public static let digitalSignature = KeyUsage(rawValue: signet_KU_DIGITAL_SIGNATURE)
        public static let keyCertSign = KeyUsage(rawValue: signet_KU_KEY_CERT_SIGN)
    }

    /// Refuses a certificate that cannot vouch for IMA signatures at `time`:
    /// expired, not yet valid, a key usage without digitalSignature, or a key
    /// type the kernel cannot verify.
    public func checkUsableForIMASigning(at time: Int = Int(Glibc.time(nil))) throws {
        if time < notBefore {
            throw CryptoError(.certificateNotYetValid, path: source,
                              "certificate '\(subject)' is not valid before \(Self.format(notBefore))")
        }
        if time > notAfter {
            throw CryptoError(.certificateExpired, path: source,
                              "certificate '\(subject)' expired on \(Self.format(notAfter))")
        }
        if let usage = keyUsage, !usage.contains(.digitalSignature) {
            throw CryptoError(.notASigningCertificate, path: source,
                              "certificate '\(subject)' is not a signing certificate (keyUsage lacks digitalSignature); issue one with 'signet keys issue'")
        }
        if keyAlgorithm == nil {
            throw CryptoError(.unsupportedKey, path: source,
                              "certificate '\(subject)' has a key type IMA cannot verify (RSA or ECDSA P-256/P-384 only)")
        }
    }

    /// Checks that `key` is the private key of this certificate.
    public func checkMatches(_ key: PrivateKey) throws {
        guard publicKey.matches(key) else {
            throw CryptoError(.keyCertificateMismatch, path: source,
                              "certificate '\(subject)' (keyid \(KeyID.hex(imaKeyID))) does not belong to the private key \(key.source)")
        }
    }

    /// "2026-11-26 23:00:00 UTC".
    public static func format(_ epoch: Int) -> String {
        var t = time_t(epoch)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func p(_ v: Int32, _ w: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(p(tm.tm_year + 1900, 4))-\(p(tm.tm_mon + 1))-\(p(tm.tm_mday)) \(p(tm.tm_hour)):\(p(tm.tm_min)):\(p(tm.tm_sec)) UTC"
    }

    private static func epochSeconds(_ t: UnsafePointer<ASN1_TIME>?) -> Int {
        guard let t else { return 0 }
        var tm = Glibc.tm()
        guard ASN1_TIME_to_tm(t, &tm) == 1 else { return 0 }
        return Int(timegm(&tm))
    }

    private static func render(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, signet_XN_FLAG_RFC2253)
        return String(decoding: BIOBytes.read(bio), as: UTF8.self)
    }
}
