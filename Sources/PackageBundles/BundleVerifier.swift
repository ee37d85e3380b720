import DebianPackage
import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// A bundle whose signer is trusted and whose every signature verified.
public struct VerifiedBundle: Sendable {
    public let bundle: SignatureBundle
    /// The trusted certificate that signed the bundle and every file in it.
    public let signer: Certificate
    /// SHA-256 of the bundle file (what the index lists).
    public let sha256: [UInt8]
}

/// Checks bundles and indexes before anything trusts them, and bundles against .debs. Every
/// refusal is a `BundleError` that says what differs.
public enum BundleVerifier {
    /// A bundle file and its detached signature: the signer is trusted (`trust`), the signature
    /// verifies over the exact bytes, and every file's IMA signature verifies over its digest with
    /// the signer's key.
    public static func verifyBundle(_ bytes: [UInt8], signature: [UInt8], trust: BundleTrust,
                                    source: String) throws(BundleError) -> VerifiedBundle {
        let bundle = try SignatureBundle(parsing: bytes, source: source)
        let cert = try trust.trustedCertificate(for: bundle.signer, source: source)
        guard DetachedSignature.verify(bytes, signature: signature, certificate: cert) else {
            throw BundleError(.badSignature, source: source, field: "signature",
                              "the signature does not verify with '\(cert.subject)' (keyid \(KeyID.hex(cert.imaKeyID))): the bundle or its .sig was altered")
        }
        let key = cert.publicKey
        for f in bundle.files {
            // Parsing checked the header (v2, algorithm, keyid): the signature itself is left.
            guard case .signature(let sig)? = try? IMAXattr(bytes: f.ima),
                  key.verify(signature: sig.signature, digest: f.digest, algorithm: sig.hashAlgorithm) else {
                throw BundleError(.badFileSignature, source: source, field: "files",
                                  "the IMA signature of \(f.path) does not verify over its digest with '\(cert.subject)'")
            }
        }
        return VerifiedBundle(bundle: bundle, signer: cert, sha256: Digester.hash(bytes, .sha256))
    }

    /// An index file and its detached signature: the signer is trusted and the signature verifies.
    public static func verifyIndex(_ bytes: [UInt8], signature: [UInt8], trust: BundleTrust,
                                   source: String) throws(BundleError) -> (index: BundleIndex, signer: Certificate) {
        let index = try BundleIndex(parsing: bytes, source: source)
        let cert = try trust.trustedCertificate(for: index.signer, source: source)
        guard DetachedSignature.verify(bytes, signature: signature, certificate: cert) else {
            throw BundleError(.badSignature, source: source, field: "signature",
                              "the signature does not verify with '\(cert.subject)' (keyid \(KeyID.hex(cert.imaKeyID))): the index or its .sig was altered")
        }
        return (index, cert)
    }

    /// The bundle is for this package, version and architecture.
    public static func checkIdentity(_ bundle: SignatureBundle, _ control: DebControl, debSource: String) throws(BundleError) {
        for (field, mine, theirs) in [("package", bundle.package, control.package), ("version", bundle.version, control.version),
                                      ("architecture", bundle.architecture, control.architecture)] where mine != theirs {
            throw BundleError(.packageMismatch, source: debSource, field: field,
                              "the bundle is for \(bundle.label), but this .deb is \(control.package) \(control.version) \(control.architecture) (\(field) differs): refusing a bundle made for another package")
        }
    }

    /// The bundle was made for this very .deb: identity, SHA-256 and size, then every file: the
    /// same paths, each with the digest of the .deb's content.
    public static func check(_ bundle: SignatureBundle, against deb: ScannedDeb) throws(BundleError) {
        try checkIdentity(bundle, deb.control, debSource: deb.source)
        guard bundle.debSHA256 == deb.sha256, bundle.debSize == deb.size else {
            throw BundleError(.debMismatch, source: deb.source, field: "deb.sha256",
                              "the bundle for \(bundle.label) was made for the .deb with SHA-256 \(Hex.encode(bundle.debSHA256)) (\(bundle.debSize) bytes); this .deb has SHA-256 \(Hex.encode(deb.sha256)) (\(deb.size) bytes): it was rebuilt or altered, refusing its bundle")
        }
        precondition(deb.hashAlgorithm == bundle.hashAlgorithm, "scan the .deb with the bundle's algorithm")
        var problems = [String]()
        var inDeb = Set<FilePath>()
        for f in deb.files {
            let path = FilePath(bytes: f.path)
            inDeb.insert(path)
            guard let entry = bundle.file(at: path) else { problems.append("\(path) is in the .deb but not in the bundle"); continue }
            if entry.digest != f.digest {
                problems.append("\(path): the bundle's digest \(Hex.encode(entry.digest)) is not the content's \(Hex.encode(f.digest))")
            } else if entry.size != f.size {
                problems.append("\(path): the bundle's size \(entry.size) is not the content's \(f.size)")
            }
        }
        for f in bundle.files where !inDeb.contains(f.path) { problems.append("\(f.path) is in the bundle but not in the .deb") }
        if !problems.isEmpty {
            let shown = problems.prefix(10).joined(separator: "; ") + (problems.count > 10 ? "; and \(problems.count - 10) more" : "")
            throw BundleError(.contentMismatch, source: deb.source, field: "files",
                              "\(problems.count) file(s) of \(bundle.label) do not match the bundle: \(shown)")
        }
    }
}
