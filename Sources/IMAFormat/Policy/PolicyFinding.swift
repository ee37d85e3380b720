/// Something the linter noticed about a policy that the kernel would load but
/// that likely does not protect what its author intended.
public struct PolicyFinding: Hashable, Sendable, CustomStringConvertible {
    /// How much a finding matters. Ordered: `.info < .warning < .error`.
    public enum Severity: Int, Comparable, CaseIterable, Hashable, Sendable, CustomStringConvertible {
        case info, warning, error

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            }
        }
    }

    public let id: PolicyFindingID
    /// The 1-based line of the rule concerned; nil for findings about the whole policy.
    public let line: Int?
    /// What is wrong and why it matters.
    public let message: String
    /// How to fix it.
    public let fix: String

    /// The kind's severity (``PolicyFindingID/severity``), except for the few
    /// kinds whose severity depends on what is missing (`kernel-code-unappraised`:
    /// modules and kexec kernels are errors, firmware and kexec initramfs warnings).
    public let severity: Severity

    /// A finding of kind `id`; its severity follows from the kind unless given.
    public init(_ id: PolicyFindingID, severity: Severity? = nil, line: Int?, message: String, fix: String) {
        self.id = id
        self.severity = severity ?? id.severity
        self.line = line
        self.message = message
        self.fix = fix
    }

    /// `line 4: error [exec-without-mmap] message (fix: …)`.
    public var description: String {
        let place = line.map { "line \($0): " } ?? ""
        return "\(place)\(severity) [\(id.rawValue)] \(message) (fix: \(fix))"
    }
}

/// The stable identifier of a kind of finding; scripts and tests match on it.
public enum PolicyFindingID: String, CaseIterable, Hashable, Sendable {
    /// The policy has no rules; the kernel refuses to load it.
    case emptyPolicy = "empty-policy"
    /// Nothing is appraised: the kernel refuses nothing (fine for attestation-only
    /// machines, a hole anywhere enforcement was meant).
    case measurementOnly = "measurement-only"
    /// No appraise rule covers execve(): unsigned programs run.
    case noExecAppraisal = "no-exec-appraisal"
    /// execve() is appraised but executable mmaps are not: unsigned libraries load.
    case execWithoutMmap = "exec-without-mmap"
    /// Exec appraisal only applies to some owners or users.
    case ownerRestrictedAppraisal = "owner-restricted-appraisal"
    /// Exec appraisal only applies to some filesystems or LSM labels.
    case execAppraisalRestricted = "exec-appraisal-restricted"
    /// tmpfs/ramfs (and so memfd) is exempt from exec appraisal: fileless code runs.
    case tmpfsExecBypass = "tmpfs-exec-bypass"
    /// A dont_appraise rule exempts programs or executable mappings that a later
    /// appraise rule would check, under any condition other than a pseudo
    /// filesystem (an LSM label, an owner, a uid, a filesystem that holds programs).
    case dontAppraiseExecBypass = "dont-appraise-exec-bypass"
    /// Exec is appraised but kernel code is not: MODULE_CHECK or KEXEC_KERNEL_CHECK
    /// (error), FIRMWARE_CHECK or KEXEC_INITRAMFS_CHECK (warning).
    case kernelCodeUnappraised = "kernel-code-unappraised"
    /// tmpfs/ramfs (and so memfd) is exempt from exec measurement.
    case tmpfsExecUnmeasured = "tmpfs-exec-unmeasured"
    /// A dont_ rule that can never take effect: an earlier rule matches everything it does.
    case dontRuleShadowed = "dont-rule-shadowed"
    /// A dont_ rule placed after a rule that matches part of what it should exempt.
    case dontRuleAfterOverlappingRule = "dont-rule-after-overlapping-rule"
    /// A rule (or its options) that never takes effect: an earlier rule matches first.
    case ruleShadowed = "rule-shadowed"
    /// A rule that repeats an earlier one.
    case redundantRule = "redundant-rule"
    /// An appraise rule that accepts a bare hash in security.ima.
    case appraiseWithoutSignature = "appraise-without-imasig"
    /// No POLICY_CHECK rule: later policy updates are neither measured nor signed.
    case noPolicyCheck = "no-policy-check"
    /// MMAP_CHECK appraisal without mask=MAY_EXEC.
    case mmapWithoutExecMask = "mmap-without-exec-mask"
    /// A mask= that the hook never passes, so the rule never matches.
    case maskNeverMatches = "mask-never-matches"
    /// An appraise rule without func= or mask=: it applies to every file hook.
    case appraiseAllHooks = "appraise-all-hooks"
    /// pcr= beyond the 24 PCRs of a TPM 2.0 PC Client platform.
    case pcrBeyondTPM = "pcr-beyond-tpm"
    /// A SETXATTR_CHECK rule after the first: the kernel only uses the first.
    case setxattrCheckIgnored = "setxattr-check-ignored"
    /// A rule the given kernel version does not understand; it would refuse the whole policy.
    case kernelUnsupported = "kernel-unsupported"

    /// How much this kind of finding matters; fixed, so scripts can rely on it,
    /// except `kernel-code-unappraised` (error for modules and kexec kernels, warning
    /// for firmware and kexec initramfs, info for modules when the kernel enforces
    /// module signatures itself); this is its severity for modules.
    public var severity: PolicyFinding.Severity {
        switch self {
        case .emptyPolicy, .noExecAppraisal, .execWithoutMmap, .tmpfsExecBypass, .dontAppraiseExecBypass,
             .kernelCodeUnappraised, .kernelUnsupported:
            return .error
        case .measurementOnly, .ownerRestrictedAppraisal, .execAppraisalRestricted, .tmpfsExecUnmeasured,
             .dontRuleShadowed, .dontRuleAfterOverlappingRule, .ruleShadowed, .appraiseWithoutSignature, .noPolicyCheck,
             .maskNeverMatches, .pcrBeyondTPM, .setxattrCheckIgnored:
            return .warning
        case .redundantRule, .mmapWithoutExecMask, .appraiseAllHooks:
            return .info
        }
    }
}
