/// Key types Signet generates and signs with: the ones the kernel's IMA can
/// verify (RSA; ECDSA on NIST curves from 5.13 on with CONFIG_CRYPTO_ECDSA).
public enum KeyAlgorithm: Equatable, Sendable, CustomStringConvertible {
    case rsa(bits: Int)
    case ecdsa(curve: Curve)

    public enum Curve: String, Sendable, CaseIterable {
        case p256 = "P-256"
        case p384 = "P-384"
    }

    /// Names accepted on the command line.
    public static let choices = ["rsa2048", "rsa3072", "rsa4096", "p256", "p384"]

    /// Parses `rsa2048`, `rsa3072`, `rsa4096`, `p256`, `p384` (also `ecdsa-p256`, `P-256`).
    public init?(name: String) {
        switch String(name.lowercased().filter { $0 != "-" }) {
        case "rsa2048", "rsa": self = .rsa(bits: 2048)
        case "rsa3072": self = .rsa(bits: 3072)
        case "rsa4096": self = .rsa(bits: 4096)
        case "p256", "ecdsap256", "prime256v1", "secp256r1": self = .ecdsa(curve: .p256)
        case "p384", "ecdsap384", "secp384r1": self = .ecdsa(curve: .p384)
        default: return nil
        }
    }

    /// "RSA-2048", "ECDSA P-256".
    public var description: String {
        switch self {
        case .rsa(let bits): return "RSA-\(bits)"
        case .ecdsa(let curve): return "ECDSA \(curve.rawValue)"
        }
    }
}
