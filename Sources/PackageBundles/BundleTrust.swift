#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto

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
