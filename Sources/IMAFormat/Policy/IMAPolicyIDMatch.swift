/// A user or group id condition (`uid=`, `euid<`, `fowner>`, …): an id and how
/// the subject's (or the file's) id is compared with it.
public struct IMAPolicyIDMatch: Hashable, Sendable, CustomStringConvertible {
    /// How the id is compared: `=`, `<` or `>` (the kernel's uid_eq/uid_lt/uid_gt).
    public enum Comparison: String, CaseIterable, Hashable, Sendable {
        case equal = "="
        case lessThan = "<"
        case greaterThan = ">"
    }

    public var comparison: Comparison
    public var id: UInt32

    /// Compare with `id` using `comparison`; ids above 4294967294 fail validation.
    public init(_ comparison: Comparison, _ id: UInt32) {
        self.comparison = comparison
        self.id = id
    }

    /// `=id`, the common case.
    public static func equal(_ id: UInt32) -> IMAPolicyIDMatch { .init(.equal, id) }

    /// Operator and value as written after the keyword, e.g. `=0` or `<1000`.
    public var description: String { comparison.rawValue + String(id) }

    /// The ids that match, or nil when none can (`<0`).
    var matchingIDs: ClosedRange<UInt64>? {
        switch comparison {
        case .equal: return UInt64(id)...UInt64(id)
        case .lessThan: return id == 0 ? nil : 0...UInt64(id) - 1
        case .greaterThan: return id == UInt32.max ? nil : UInt64(id) + 1...UInt64(UInt32.max)
        }
    }

    /// The largest id the kernel accepts: (uid_t)-1 is the invalid id.
    static let maximumID: UInt32 = UInt32.max - 1
}
