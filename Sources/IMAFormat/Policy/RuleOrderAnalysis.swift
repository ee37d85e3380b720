/// First-match-wins, applied to the policy text: which rules an earlier rule
/// of the same kind already matches in full (so they never take effect), and
/// which `dont_*` rules come after a rule that matches part of what they exempt.
struct RuleOrderAnalysis {
    let findings: [PolicyFinding]
    /// For each rule index, the index of an earlier rule that matches everything it matches.
    private let coveredBy: [Int: Int]

    init(_ rules: [IMAPolicy.NumberedRule]) {
        var findings: [PolicyFinding] = []
        var coveredBy: [Int: Int] = [:]
        // SETXATTR_CHECK rules are not matched against accesses (only the first
        // one's algorithms are used), and rules that can never match decide
        // nothing, so neither takes part here.
        func takesPart(_ rule: IMAPolicyRule) -> Bool { rule.hook != .setxattrCheck && !rule.canNeverMatch }
        for (j, later) in rules.enumerated() where takesPart(later.rule) {
            let earlier = rules[..<j].enumerated().filter {
                $0.element.rule.action.kind == later.rule.action.kind && takesPart($0.element.rule)
            }
            if let (i, cover) = earlier.first(where: { $0.element.rule.covers(later.rule) }) {
                coveredBy[j] = i
                findings.append(Self.shadowFinding(later, by: cover))
                continue
            }
            guard later.rule.action.isExclusion else { continue }
            if let (_, first) = earlier.first(where: {
                !$0.element.rule.action.isExclusion && $0.element.rule.overlap(with: later.rule) == .overlapping
            }) {
                let both = Self.intersectionText(later.rule, first.rule)
                findings.append(PolicyFinding(
                    .dontRuleAfterOverlappingRule, line: later.line,
                    message: "\(later.rule.action) at line \(later.line) comes after \(first.rule.action) at line \(first.line), "
                        + "which matches first where both apply (\(both)); the exemption does not apply there",
                    fix: "move line \(later.line) above line \(first.line)"))
            }
        }
        self.findings = findings
        self.coveredBy = coveredBy
    }

    /// False when an earlier rule of the same kind matches everything this one does.
    func takesEffect(_ index: Int) -> Bool { coveredBy[index] == nil }

    private static func shadowFinding(_ later: IMAPolicy.NumberedRule, by cover: IMAPolicy.NumberedRule) -> PolicyFinding {
        let (l, c) = (later.rule, cover.rule)
        let lead = "\(l.action) at line \(later.line) never takes effect: \(c.action) at line \(cover.line) "
            + "matches everything it matches, and the first matching rule wins"
        if l.action.isExclusion, !c.action.isExclusion {
            return PolicyFinding(.dontRuleShadowed, line: later.line, message: lead,
                                 fix: "move line \(later.line) above line \(cover.line)")
        }
        if l.action == c.action, RuleOptions(l) == RuleOptions(c) {
            return PolicyFinding(.redundantRule, line: later.line,
                                 message: "line \(later.line) repeats what line \(cover.line) already matches",
                                 fix: "remove line \(later.line)")
        }
        return PolicyFinding(.ruleShadowed, line: later.line, message: lead,
                             fix: "move line \(later.line) above line \(cover.line), or narrow line \(cover.line)")
    }

    /// The conditions of both rules together, for naming where they overlap.
    private static func intersectionText(_ a: IMAPolicyRule, _ b: IMAPolicyRule) -> String {
        var both = IMAPolicyRule(action: a.action, hook: a.hook ?? b.hook, mask: a.mask ?? b.mask,
                                 fsmagic: a.fsmagic ?? b.fsmagic)
        both.fsname = a.fsname ?? b.fsname
        both.fsuuid = a.fsuuid ?? b.fsuuid
        both.uid = a.uid ?? b.uid
        both.euid = a.euid ?? b.euid
        both.gid = a.gid ?? b.gid
        both.egid = a.egid ?? b.egid
        both.fowner = a.fowner ?? b.fowner
        both.fgroup = a.fgroup ?? b.fgroup
        both.lsmLabels = a.lsmLabels.merging(b.lsmLabels) { first, _ in first }
        let words = both.render().split(separator: " ").dropFirst()
        return words.isEmpty ? "every access" : words.joined(separator: " ")
    }
}

/// The options of a rule, which decide what a match does.
struct RuleOptions: Equatable {
    let verity: Bool
    let appraiseType: IMAAppraiseType?
    let blacklist: Bool
    let algorithms: Set<HashAlgorithm>?
    let pcr: Int?
    let template: IMATemplate?
    let directIO: Bool

    init(_ rule: IMAPolicyRule) {
        verity = rule.usesVerityDigest
        appraiseType = rule.appraiseType
        blacklist = rule.checksBlacklist
        algorithms = rule.appraiseAlgorithms
        pcr = rule.pcr
        template = rule.template
        directIO = rule.permitsDirectIO
    }
}
