/// Why a credential challenge could not be made, or why a key may not take
/// part in one: the offending input, named as in TPM 2.0 Part 2 (e.g.
/// `TPMT_PUBLIC.objectAttributes.restricted`), and what was expected.
/// Equatable on `code` only.
public struct CredentialError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// The credential is empty or longer than the EK nameAlg digest.
        case invalidCredential
        /// The object name is not nameAlg (2 bytes) followed by a digest of that algorithm.
        case invalidObjectName
        /// The EK cannot protect a credential: not restricted+decrypt, wrong symmetric, key type or curve.
        case unsupportedEndorsementKey
        /// The key is not an attestation key: an attribute or its scheme is wrong.
        case invalidAttestationKey
        /// A tpm2-tools credential file does not parse.
        case malformedChallenge
        /// A cryptographic primitive failed (OpenSSL).
        case cryptoFailure
    }

    public let code: Code
    /// The input concerned, e.g. `objectName` or `TPMT_PUBLIC.objectAttributes.sign`.
    public let field: String
    public let reason: String

    public init(_ code: Code, field: String, _ reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
