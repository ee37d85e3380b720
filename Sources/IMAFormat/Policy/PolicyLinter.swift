/// Finds rules that the kernel loads but that leave holes in a default-deny
/// setup: exec without mmap coverage, tmpfs exemptions, exclusions placed
/// where first-match-wins makes them useless, hash-only appraisal, missing
/// POLICY_CHECK, and features the target kernel lacks.
///
/// The rule-order findings model the kernel's evaluation (ima_match_policy:
/// per kind of action, the first matching rule wins) and only report what
/// the policy text proves, so rules whose conditions do not overlap are
/// never flagged.
public enum PolicyLinter {
    /// Lints a policy; `kernel` enables the version checks, `context` says what
    /// else is known about the machine (whether the kernel enforces module
    /// signatures itself). Findings come sorted by line (policy-wide findings first).
    public static func lint(_ policy: IMAPolicy, kernel: KernelVersion? = nil,
                            context: PolicyLintContext = PolicyLintContext()) -> [PolicyFinding] {
        let rules = policy.numberedRules
        guard !rules.isEmpty else {
            return [PolicyFinding(.emptyPolicy, line: nil,
                                  message: "the policy has no rules; the kernel refuses to load an empty policy",
                                  fix: "add rules, e.g. generate the exec-signed profile")]
        }
        let order = RuleOrderAnalysis(rules)
        var findings = order.findings
        findings += ExecCoverageLint.findings(rules, order: order)
        findings += VolatileFilesystemLint.findings(rules, order: order)
        findings += ExecExemptionLint.findings(rules, order: order)
        findings += KernelCodeLint.findings(rules, context: context)
        findings += RuleOptionLint.findings(rules)
        if let kernel { findings += KernelSupportLint.findings(rules, kernel: kernel) }

        var seen = Set<PolicyFinding>()
        let unique = findings.filter { seen.insert($0).inserted }
        let idOrder = Dictionary(uniqueKeysWithValues: PolicyFindingID.allCases.enumerated().map { ($1, $0) })
        return unique.sorted {
            ($0.line ?? 0, idOrder[$0.id]!, $0.message) < ($1.line ?? 0, idOrder[$1.id]!, $1.message)
        }
    }

    /// The process exit status for a lint run: 2 if any finding is an error,
    /// 1 if the worst is a warning, 0 otherwise (info findings do not fail).
    public static func exitCode(for findings: [PolicyFinding]) -> Int32 {
        switch findings.map(\.severity).max() {
        case .error?: return 2
        case .warning?: return 1
        case .info?, nil: return 0
        }
    }
}

/// What the linter cannot read from the policy but changes a verdict.
public struct PolicyLintContext: Sendable {
    /// True when the kernel refuses unsigned modules by itself (module.sig_enforce=1
    /// on the command line, or lockdown): a missing MODULE_CHECK appraisal is then
    /// only info. nil when unknown (treated like false).
    public var moduleSignaturesEnforced: Bool?

    public init(moduleSignaturesEnforced: Bool? = nil) {
        self.moduleSignaturesEnforced = moduleSignaturesEnforced
    }
}
