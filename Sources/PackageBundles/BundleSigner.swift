#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Signing

/// Who signed a bundle or index (and every IMA signature in a bundle): the certificate itself,
/// so a node that trusts only the enterprise CA can check it, plus its keyid, fingerprint and
/// subject for people.
public struct BundleSigner: Codable, Equatable, Sendable {
    /// The IMA keyid of the certificate's key, 8 hex digits (what every signature's header carries).
    public var keyid: String
    /// "sha256:<hex>" over the certificate's DER.
    public var fingerprint: String
    public var subject: String
    /// The certificate, DER in base64.
    public var certificate: String

    public init(certificate: Certificate) {
        keyid = KeyID.hex(certificate.imaKeyID)
        fingerprint = "sha256:" + Hex.encode(certificate.fingerprintSHA256)
        subject = certificate.subject
        self.certificate = Data(certificate.der).base64EncodedString()
    }

    /// The embedded certificate, checked against the fingerprint and keyid beside it.
    func parsedCertificate(source: String) throws(BundleError) -> Certificate {
        guard let der = Data(base64Encoded: certificate), der.base64EncodedString() == certificate else {
            throw BundleError(.malformed, source: source, field: "signer.certificate", "not canonical base64")
        }
        let cert: Certificate
        do {
            guard let first = try Certificate.parseAll(Array(der), source: source).first else { throw CryptoError(.notACertificate, "") }
            cert = first
        } catch {
            throw BundleError(.malformed, source: source, field: "signer.certificate", "not an X.509 certificate: \(error)")
        }
        guard "sha256:" + Hex.encode(cert.fingerprintSHA256) == fingerprint else {
            throw BundleError(.malformed, source: source, field: "signer.fingerprint",
                              "'\(fingerprint)' is not the fingerprint of the embedded certificate")
        }
        guard KeyID.hex(cert.imaKeyID) == keyid else {
            throw BundleError(.malformed, source: source, field: "signer.keyid",
                              "'\(keyid)' is not the keyid of the embedded certificate (\(KeyID.hex(cert.imaKeyID)))")
        }
        return cert
    }
}

/// The certificates a bundle's signer is checked against: pinned signing certificates (the
/// signer's fingerprint must be one of them), CAs (the signer's embedded certificate must chain
/// to one, be valid now and allow digital signatures), or both.
public struct BundleTrust: Sendable {
    public var certificates: [Certificate]
    public var authorities: [Certificate]
    /// The time chains are checked at (seconds since the epoch); now when nil.
    public var time: Int?

    public init(certificates: [Certificate] = [], authorities: [Certificate] = [], time: Int? = nil) {
        self.certificates = certificates
        self.authorities = authorities
        self.time = time
    }

    /// The signer's certificate when it is trusted; `.untrustedSigner` naming the subject otherwise.
    public func trustedCertificate(for signer: BundleSigner, source: String) throws(BundleError) -> Certificate {
        let embedded = try signer.parsedCertificate(source: source)
        if let pinned = certificates.first(where: { "sha256:" + Hex.encode($0.fingerprintSHA256) == signer.fingerprint }) {
            return pinned
        }
        var why = certificates.isEmpty ? "" : "it is not among the \(certificates.count) trusted certificate(s) given"
        if !authorities.isEmpty {
            do {
                try embedded.verifyChain(anchors: authorities, at: time)
                try embedded.checkUsableForIMASigning(at: time ?? Int(Glibc.time(nil)))
                return embedded
            } catch {
                why += (why.isEmpty ? "" : ", and ") + "it does not chain to a trusted CA: \(error)"
            }
        }
        throw BundleError(.untrustedSigner, source: source, field: "signer",
                          "signed by '\(signer.subject)' (keyid \(signer.keyid), \(signer.fingerprint)), which is not trusted: \(why)")
    }
}

/// The detached signature of a bundle or index file: a plain signature over SHA-256 of the
/// file's exact bytes with the signing key, as `openssl dgst -sha256 -sign KEY` makes it (the same
/// scheme as the manifest's), so it can be checked without Signet:
/// `openssl dgst -sha256 -verify <(openssl x509 -in ima.crt.pem -pubkey -noout) -signature F.sig F`.
public enum DetachedSignature {
    public static func sign(_ bytes: [UInt8], with key: PrivateKey) throws -> [UInt8] {
        try ManifestSignature.sign(bytes, with: key)
    }

    public static func verify(_ bytes: [UInt8], signature: [UInt8], certificate: Certificate) -> Bool {
        certificate.publicKey.verify(signature: signature, digest: Digester.hash(bytes, .sha256), algorithm: .sha256)
    }
}
