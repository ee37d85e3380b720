import DebianPackage

/// Why a signature bundle or index could not be made, read or trusted, naming the file, the field
/// and what was expected and found. Equatable on the code, so tests assert the kind of refusal.
public struct BundleError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// Not a valid bundle or index document (syntax, a missing or malformed field, order).
        case malformed
        /// A format or version this Signet does not read.
        case unsupportedFormat
        /// Signed by a certificate that is neither among the trusted ones nor issued by a trusted CA.
        case untrustedSigner
        /// The detached signature does not verify over the document's bytes.
        case badSignature
        /// A file's IMA signature does not verify over its digest with the signer's key.
        case badFileSignature
        /// The bundle is for another package, version or architecture than the .deb.
        case packageMismatch
        /// The bundle was made for a .deb with another SHA-256 (or size).
        case debMismatch
        /// A file's digest differs from the .deb's content, or a path is missing or extra.
        case contentMismatch
        /// The index and a bundle disagree, or the index has no bundle for a .deb.
        case indexMismatch
        /// Two different .debs claim the same package, version and architecture.
        case conflict
        /// The .deb could not be read as a Debian package (see `package`).
        case badPackage
        /// A file could not be read, written or listed.
        case io
        /// The signing key failed.
        case signingFailed
    }

    public let code: Code
    /// The file concerned (bundle, index or .deb).
    public let source: String
    public var field: String?
    public let reason: String
    /// For `.badPackage`: where in the .deb, and why.
    public var package: DebianPackageError?

    public init(_ code: Code, source: String, field: String? = nil, _ reason: String) {
        self.code = code
        self.source = source
        self.field = field
        self.reason = reason
    }

    public var description: String {
        "\(source)" + (field.map { " (\($0))" } ?? "") + ": \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    static func package(_ error: DebianPackageError, source: String) -> Self {
        var e = BundleError(.badPackage, source: source, "not a valid Debian package: \(error)")
        e.package = error
        return e
    }
}
