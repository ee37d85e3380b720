/// Why a portable EVM signature could not be computed, parsed or checked.
///
/// One error type for everything EVM, in the shape of `IMAFormatError`: a
/// `code` tests compare on, the file (when there is one), the field, and a
/// reason that says what was expected and what was found.
public struct EVMError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure; `==` compares only this.
    public enum Code: Equatable, Sendable {
        /// The kernel refuses a portable signature when security.ima is absent.
        case imaMissing
        /// security.evm bytes that are not a valid EVM value.
        case malformed
        /// An xattr value longer than the kernel (or the format) accepts.
        case valueTooLong
        /// A value given on the command line that cannot be used (label, uid, caps).
        case invalidOption
        /// Some files carry security.selinux and others do not: the target's labels cannot be known.
        case inconsistentLabels
        /// A file's own security.selinux differs from the label the target will give it.
        case labelConflict
    }

    public let code: Code
    /// The file (as given on this machine), when the error is about one.
    public let path: String?
    /// The xattr or h_misc field concerned (`security.selinux`, `h_misc.uid`, `sig_size`, …).
    public let field: String
    public let reason: String

    public init(code: Code, path: String? = nil, field: String, reason: String) {
        self.code = code
        self.path = path
        self.field = field
        self.reason = reason
    }

    public var description: String {
        (path.map { "\($0): " } ?? "") + "\(field): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// The same error, naming `path`.
    public func at(_ path: String) -> EVMError {
        EVMError(code: code, path: path, field: field, reason: reason)
    }

    /// Thrown when a portable signature is asked for a file without security.ima.
    public static func imaMissing(path: String? = nil) -> Self {
        .init(code: .imaMissing, path: path, field: "security.ima",
              reason: "a portable EVM signature covers security.ima, and the file has none (sign it with IMA first; the kernel refuses type 0x05 without it)")
    }

    /// Thrown when security.evm does not parse; wraps the byte-level error.
    public static func malformed(_ underlying: IMAFormatError, path: String? = nil) -> Self {
        .init(code: .malformed, path: path, field: "security.evm \(underlying.field)",
              reason: "\(underlying.reason) (at byte \(underlying.offset))")
    }

    /// Thrown when an xattr value exceeds the kernel's XATTR_SIZE_MAX.
    public static func valueTooLong(_ name: String, length: Int, path: String? = nil) -> Self {
        .init(code: .valueTooLong, path: path, field: name,
              reason: "value of \(length) bytes is longer than the kernel accepts (\(EVMPortableInput.maximumXattrLength))")
    }

    /// Thrown when the tree has security.selinux on some files and not on `path` (or the reverse).
    public static func inconsistentLabels(path: String, labelled: String, unlabelled: String) -> Self {
        .init(code: .inconsistentLabels, path: path, field: "security.selinux",
              reason: "\(labelled) carries an SELinux label and \(unlabelled) does not: the target would label this tree differently than it says; refusing to guess — relabel the tree, or give the label the target will use with --evm-selinux")
    }

    /// Thrown when a file's own label is not the label given for the target.
    public static func labelConflict(path: String, found: String, expected: String) -> Self {
        .init(code: .labelConflict, path: path, field: "security.selinux",
              reason: "the file is labelled '\(found)' but --evm-selinux says the target labels it '\(expected)'; refusing to guess which one the kernel will see")
    }

    /// Thrown for a command-line value that cannot be used.
    public static func invalidOption(_ field: String, _ reason: String) -> Self {
        .init(code: .invalidOption, field: field, reason: reason)
    }
}
