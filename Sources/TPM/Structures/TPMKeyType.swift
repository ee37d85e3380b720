/// The two key types Signet creates in a TPM, for endorsement keys and
/// attestation keys alike.
public enum TPMKeyType: String, Sendable, CaseIterable, CustomStringConvertible {
    case rsa2048 = "rsa"
    case eccP256 = "ecc"

    /// Accepts "rsa", "rsa2048", "ecc", "ecc256", "p256", "ecdsa".
    public init?(name: String) {
        switch name.lowercased().filter({ $0 != "-" && $0 != "_" }) {
        case "rsa", "rsa2048": self = .rsa2048
        case "ecc", "ecc256", "eccp256", "p256", "ecdsa", "ecdsap256": self = .eccP256
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .rsa2048: return "RSA-2048"
        case .eccP256: return "ECC P-256"
        }
    }

    /// NV index of the EK certificate for this key type (TCG EK Credential
    /// Profile 2.3: 0x01c00002 RSA 2048, 0x01c0000a ECC NIST P-256).
    public var ekCertificateNVIndex: UInt32 {
        switch self {
        case .rsa2048: return 0x01c0_0002
        case .eccP256: return 0x01c0_000a
        }
    }
}
