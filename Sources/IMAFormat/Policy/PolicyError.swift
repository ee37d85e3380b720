/// Why policy text (or a rule built in code) is not one the kernel would load.
///
/// Carries the line and column of the offending token, the token itself and
/// what was expected there, so a user can fix the policy before it is loaded:
/// a policy the kernel refuses can leave a machine without its intended
/// enforcement, or unable to boot. Equatable on ``code`` only, so tests assert
/// the kind of failure without matching message text.
public struct PolicyError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure; tests compare on this.
    public enum Code: Hashable, Sendable {
        case unknownAction
        case missingAction
        case multipleActions
        case unknownKeyword
        case invalidOperator
        case missingValue
        case unexpectedValue
        case emptyValue
        case emptyListItem
        case unknownFunc
        case unknownMask
        case invalidFilesystemMagic
        case invalidUUID
        case invalidID
        case invalidPCR
        case pcrOutOfRange
        case unknownTemplate
        case unknownAppraiseType
        case unknownAppraiseFlag
        case unknownHashAlgorithm
        case unknownDigestType
        case duplicate
        case conflicting
        case notAllowedWithAction
        case notAllowedWithFunc
        case missingRequired
        case wrongOrder
        case inlineComment
        case unexpectedCharacter
        case noProfile
    }

    public let code: Code
    /// 1-based line in the policy text; nil for a rule built in code.
    public let line: Int?
    /// 1-based column (Unicode scalars) where the offending token or value starts.
    public let column: Int?
    /// The offending text as written.
    public let token: String
    /// What went wrong, naming the token.
    public let reason: String
    /// What would have been accepted there.
    public let expected: String?
    /// The closest valid spelling, when the token looks like a typo.
    public let suggestion: String?

    public var description: String {
        var text = ""
        if let line {
            text += "line \(line)"
            if let column { text += ", column \(column)" }
            text += ": "
        }
        text += reason
        if let expected { text += " (expected \(expected))" }
        if let suggestion { text += "; did you mean '\(suggestion)'?" }
        return text
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    init(code: Code, line: Int?, column: Int?, token: String, reason: String,
         expected: String? = nil, suggestion: String? = nil) {
        self.code = code
        self.line = line
        self.column = column
        self.token = token
        self.reason = reason
        self.expected = expected
        self.suggestion = suggestion
    }

    init(_ problem: RuleProblem, line: Int?, column: Int?, token: String) {
        self.init(code: problem.code, line: line, column: column, token: token,
                  reason: problem.reason, expected: problem.expected)
    }

    /// The first word is neither an action nor a `key=value`.
    static func unknownAction(_ token: String, line: Int, column: Int) -> Self {
        .init(code: .unknownAction, line: line, column: column, token: token,
              reason: "unknown action '\(token)'", expected: IMAPolicyAction.expectedList,
              suggestion: closestSpelling(to: token, among: IMAPolicyAction.allCases.map(\.rawValue)))
    }

    /// A rule line with conditions but no action word.
    static func missingAction(line: Int, column: Int, token: String) -> Self {
        .init(code: .missingAction, line: line, column: column, token: token,
              reason: "rule has no action", expected: IMAPolicyAction.expectedList)
    }

    /// A second action word on one line.
    static func multipleActions(_ token: String, first: IMAPolicyAction, line: Int, column: Int) -> Self {
        .init(code: .multipleActions, line: line, column: column, token: token,
              reason: "second action '\(token)' in a rule that already has '\(first.rawValue)'",
              expected: "one action per rule")
    }

    /// A word that is not part of the policy language.
    static func unknownKeyword(_ key: String, token: String, line: Int, column: Int) -> Self {
        let candidates = PolicyKeyword.allCases.map(\.rawValue) + IMAPolicyAction.allCases.map(\.rawValue)
        return .init(code: .unknownKeyword, line: line, column: column, token: token,
                     reason: "unknown option '\(key)'", expected: PolicyKeyword.expectedList,
                     suggestion: closestSpelling(to: key, among: candidates))
    }

    /// A value that did not parse as what its keyword takes.
    static func badValue(_ code: Code, value: String, reason: String, expected: String,
                         candidates: [String] = [], line: Int, column: Int) -> Self {
        .init(code: code, line: line, column: column, token: value, reason: reason, expected: expected,
              suggestion: candidates.isEmpty ? nil : closestSpelling(to: value, among: candidates))
    }

    /// A keyword that appears twice in one rule.
    static func duplicate(_ keyword: PolicyKeyword, token: String, firstColumn: Int, line: Int, column: Int) -> Self {
        .init(code: .duplicate, line: line, column: column, token: token,
              reason: "\(keyword.spelled) appears twice (first at column \(firstColumn))",
              expected: "each condition and option at most once per rule")
    }

    /// Two keywords the kernel stores in one slot (uid/euid, gid/egid).
    static func conflicting(_ keyword: PolicyKeyword, with other: PolicyKeyword, token: String,
                            line: Int, column: Int) -> Self {
        .init(code: .conflicting, line: line, column: column, token: token,
              reason: "\(keyword.spelled) cannot be combined with \(other.spelled): the kernel keeps one id of that kind per rule",
              expected: "either \(other.spelled) or \(keyword.spelled)")
    }
}

/// A reason a rule is inconsistent, before it is tied to a position in text.
struct RuleProblem: Sendable {
    let code: PolicyError.Code
    /// The keyword to blame; nil blames the action.
    let keyword: PolicyKeyword?
    let reason: String
    let expected: String?
}

/// The candidate nearest to `word` by edit distance, when close enough to be a typo.
func closestSpelling(to word: String, among candidates: [String]) -> String? {
    let limit = max(1, min(3, word.count / 3))
    var best: (String, Int)?
    for candidate in candidates where candidate != word {
        let d = editDistance(Array(word.uppercased()), Array(candidate.uppercased()))
        if d <= limit, best == nil || d < best!.1 { best = (candidate, d) }
    }
    return best?.0
}

private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
