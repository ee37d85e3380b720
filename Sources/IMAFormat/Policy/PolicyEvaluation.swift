/// One concrete access the kernel asks IMA about, described well enough to
/// decide offline which rule of a policy applies (ima_match_rules).
public struct IMAAccess: Hashable, Sendable {
    public var hook: IMAHook
    /// The access mask the hook passes: exactly MAY_EXEC for exec and mmap.
    public var requested: Set<IMAPolicyMask.Permission>
    /// The file's filesystem.
    public var fsmagic: UInt64
    public var fsname: String?
    public var fsuuid: IMAFilesystemUUID?
    /// The process's ids (real and effective).
    public var uid: UInt32
    public var euid: UInt32
    public var gid: UInt32
    public var egid: UInt32
    /// The file's owner and group.
    public var fileOwner: UInt32
    public var fileGroup: UInt32

    public init(hook: IMAHook, requested: Set<IMAPolicyMask.Permission> = [.exec], fsmagic: UInt64,
                fsname: String? = nil, fsuuid: IMAFilesystemUUID? = nil, uid: UInt32 = 0, euid: UInt32 = 0,
                gid: UInt32 = 0, egid: UInt32 = 0, fileOwner: UInt32 = 0, fileGroup: UInt32 = 0) {
        self.hook = hook
        self.requested = requested
        self.fsmagic = fsmagic
        self.fsname = fsname
        self.fsuuid = fsuuid
        self.uid = uid
        self.euid = euid
        self.gid = gid
        self.egid = egid
        self.fileOwner = fileOwner
        self.fileGroup = fileGroup
    }
}

/// Whether a rule applies to an access.
public enum IMARuleMatch: Hashable, Sendable {
    case matches
    case doesNotMatch
    /// Depends on something the access does not say (an LSM label, an unknown fsuuid).
    case undecided(String)
}

extension IMAPolicyRule {
    /// Decides whether this rule matches `access`, following ima_match_rules.
    public func match(_ access: IMAAccess) -> IMARuleMatch {
        if let hook, hook != access.hook { return .doesNotMatch }
        if hook == nil && (access.hook.requiresExplicitFunc || access.hook == .setxattrCheck) { return .doesNotMatch }
        if let mask, !mask.accepts(access.requested) { return .doesNotMatch }
        if let fsmagic, fsmagic != access.fsmagic { return .doesNotMatch }
        var undecided: String?
        if let fsname {
            if let known = access.fsname { if known != fsname { return .doesNotMatch } } else { undecided = "fsname=\(fsname)" }
        }
        if let fsuuid {
            if let known = access.fsuuid { if known != fsuuid { return .doesNotMatch } } else { undecided = "fsuuid=\(fsuuid)" }
        }
        let ids: [(IMAPolicyIDMatch?, UInt32)] = [(uid, access.uid), (euid, access.euid), (gid, access.gid),
                                                  (egid, access.egid), (fowner, access.fileOwner), (fgroup, access.fileGroup)]
        for case let (condition?, value) in ids {
            guard let range = condition.matchingIDs, range.contains(UInt64(value)) else { return .doesNotMatch }
        }
        if let field = lsmLabels.keys.sorted(by: { $0.rawValue < $1.rawValue }).first {
            undecided = "\(field.rawValue)=\(lsmLabels[field]!)"
        }
        return undecided.map { .undecided($0) } ?? .matches
    }
}

extension IMAPolicy {
    /// The rule that decides `access` for one kind of action (first match
    /// wins per kind), with its line; nil when no rule of that kind matches.
    /// An undecidable rule ends the search: what follows depends on it.
    public func decidingRule(_ kind: IMAPolicyAction.Kind, for access: IMAAccess) -> (rule: NumberedRule, match: IMARuleMatch)? {
        for numbered in numberedRules where numbered.rule.action.kind == kind {
            switch numbered.rule.match(access) {
            case .doesNotMatch: continue
            case let m: return (numbered, m)
            }
        }
        return nil
    }
}

extension IMAPolicy {
    /// The appraise rules that can match execve() or an executable mapping
    /// (BPRM_CHECK, MMAP_CHECK, MMAP_CHECK_REQPROT): a policy with any means
    /// to refuse unsigned code.
    public var codeAppraisalRules: [NumberedRule] {
        numberedRules.filter { numbered in
            numbered.rule.action == .appraise
                && [IMAHook.bprmCheck, .mmapCheck, .mmapCheckReqprot].contains { numbered.rule.restricted(to: $0) != nil }
        }
    }
}
