import IMAFormat
import SignetCrypto

/// The certificates a verifier trusts, found by IMA keyid as the kernel does
/// (`id:<keyid>` in the keyring).
public struct TrustStore: Sendable {
    public let certificates: [Certificate]
    private let byKeyID: [UInt32: [Certificate]]

    public init(_ certificates: [Certificate]) {
        self.certificates = certificates
        byKeyID = Dictionary(grouping: certificates, by: { $0.imaKeyID })
    }

    /// Loads certificates (PEM bundles or DER) from files.
    public init(paths: [String]) throws {
        self.init(try paths.flatMap { try Certificate.loadAll(path: $0) })
    }

    /// Certificates with this keyid (more than one only on a keyid collision).
    public func certificates(for keyID: UInt32) -> [Certificate] { byKeyID[keyID] ?? [] }

    /// The certificate whose key verifies `signature` over `digest`, if any.
    public func verifier(of signature: IMASignature, digest: [UInt8]) -> Certificate? {
        certificates(for: signature.keyID).first {
            $0.publicKey.verify(signature: signature.signature, digest: digest, algorithm: signature.hashAlgorithm)
        }
    }
}
