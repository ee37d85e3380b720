/// What a policy rule tells IMA to do with the accesses it matches: the first
/// word of a rule (`measure`, `dont_appraise`, …).
///
/// Rules only compete with rules of the same ``Kind``: for every access the
/// kernel walks the policy top to bottom and, per kind, the first matching
/// rule decides. That is why `dont_*` exclusions must come before the rules
/// they carve holes in.
public enum IMAPolicyAction: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case measure
    case dontMeasure = "dont_measure"
    case appraise
    case dontAppraise = "dont_appraise"
    case audit
    case hash
    case dontHash = "dont_hash"

    /// The decision a rule takes part in; `measure` and `dont_measure` share one.
    public enum Kind: Hashable, Sendable {
        case measurement, appraisal, audit, hashing
    }

    /// The keyword as written in a policy.
    public var keyword: String { rawValue }

    public var description: String { rawValue }

    /// Which decision this action takes part in.
    public var kind: Kind {
        switch self {
        case .measure, .dontMeasure: return .measurement
        case .appraise, .dontAppraise: return .appraisal
        case .audit: return .audit
        case .hash, .dontHash: return .hashing
        }
    }

    /// True for the `dont_*` actions, which exempt what they match.
    public var isExclusion: Bool {
        switch self {
        case .dontMeasure, .dontAppraise, .dontHash: return true
        case .measure, .appraise, .audit, .hash: return false
        }
    }

    static let expectedList = "one of " + allCases.map(\.rawValue).joined(separator: ", ")
}
