#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SignetCrypto

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
