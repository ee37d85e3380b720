/// A `mask=` condition: which access the rule matches.
///
/// `mask=MAY_EXEC` matches only when the requested access is exactly MAY_EXEC
/// (kernel flag IMA_MASK); `mask=^MAY_EXEC` matches whenever the requested
/// access includes MAY_EXEC (IMA_INMASK). The exec hooks (BPRM_CHECK,
/// MMAP_CHECK, MMAP_CHECK_REQPROT, CREDS_CHECK) always request exactly
/// MAY_EXEC, so for them both forms mean the same; for FILE_CHECK they differ.
public struct IMAPolicyMask: Hashable, Sendable, CustomStringConvertible {
    /// The permission bit a mask names.
    public enum Permission: String, CaseIterable, Hashable, Sendable {
        case exec = "MAY_EXEC"
        case write = "MAY_WRITE"
        case read = "MAY_READ"
        case append = "MAY_APPEND"
    }

    public var permission: Permission
    /// True for the `^` form: the access only has to include the permission.
    public var isInclusive: Bool

    /// `mask=permission`, or `mask=^permission` when `inclusive`.
    public init(_ permission: Permission, inclusive: Bool = false) {
        self.permission = permission
        self.isInclusive = inclusive
    }

    /// `mask=MAY_EXEC`, the usual condition on exec-related rules.
    public static let exec = IMAPolicyMask(.exec)

    /// The value as written after `mask=`.
    public var description: String { (isInclusive ? "^" : "") + permission.rawValue }

    /// Parses `MAY_EXEC` or `^MAY_EXEC`.
    public init?(policyValue: String) {
        let inclusive = policyValue.hasPrefix("^")
        guard let permission = Permission(rawValue: String(inclusive ? policyValue.dropFirst() : policyValue[...])) else {
            return nil
        }
        self.init(permission, inclusive: inclusive)
    }

    /// Whether an access requesting exactly `requested` would match.
    func accepts(_ requested: Set<Permission>) -> Bool {
        isInclusive ? requested.contains(permission) : requested == [permission]
    }

    static let expectedList = "MAY_EXEC, MAY_WRITE, MAY_READ or MAY_APPEND, optionally prefixed with ^"
}
