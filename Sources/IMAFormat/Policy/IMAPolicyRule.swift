/// One rule of an IMA policy: an action, the conditions an access must meet
/// for the rule to match, and options that tune what the action does.
///
/// A value of this type is what the kernel would build from one policy line.
/// ``validate()`` applies the kernel's consistency checks (ima_validate_rule),
/// and the parser applies them to every rule it reads, so a parsed rule is one
/// the kernel accepts.
public struct IMAPolicyRule: Hashable, Sendable {
    public var action: IMAPolicyAction

    // MARK: Conditions

    /// `func=`: the kernel hook; nil matches every file hook.
    public var hook: IMAHook?
    /// `mask=`: the requested access.
    public var mask: IMAPolicyMask?
    /// `fsmagic=`: the filesystem's superblock magic (statfs f_type).
    public var fsmagic: UInt64?
    /// `fsname=`: the filesystem type name, as in /proc/filesystems.
    public var fsname: String?
    /// `fsuuid=`: the filesystem's UUID.
    public var fsuuid: IMAFilesystemUUID?
    /// `uid=`: the process's real user id.
    public var uid: IMAPolicyIDMatch?
    /// `euid=`: the process's effective user id (also saved and real ids when it has CAP_SETUID).
    public var euid: IMAPolicyIDMatch?
    /// `gid=`: the process's real group id.
    public var gid: IMAPolicyIDMatch?
    /// `egid=`: the process's effective group id.
    public var egid: IMAPolicyIDMatch?
    /// `fowner=`: the file's owner.
    public var fowner: IMAPolicyIDMatch?
    /// `fgroup=`: the file's group.
    public var fgroup: IMAPolicyIDMatch?
    /// `subj_*=` / `obj_*=`: LSM labels of the process or the file.
    public var lsmLabels: [IMALSMField: String]
    /// `keyrings=`: keyring names, for func=KEY_CHECK.
    public var keyrings: [String]?
    /// `label=`: critical-data labels, for func=CRITICAL_DATA.
    public var labels: [String]?

    // MARK: Options

    /// `digest_type=verity`: use the fs-verity file digest.
    public var usesVerityDigest: Bool
    /// `appraise_type=`: the kind of signature an appraise rule requires.
    public var appraiseType: IMAAppraiseType?
    /// `appraise_flag=check_blacklist`: refuse files whose hash is on the blacklist keyring.
    public var checksBlacklist: Bool
    /// `appraise_algos=`: hash algorithms security.ima may use.
    public var appraiseAlgorithms: Set<HashAlgorithm>?
    /// `pcr=`: the TPM PCR measurements of this rule extend (default 10).
    public var pcr: Int?
    /// `template=`: the measurement-list template for this rule.
    public var template: IMATemplate?
    /// `permit_directio`: allow O_DIRECT reads of files this rule covers.
    public var permitsDirectIO: Bool

    /// A rule with the given action and conditions, and no options.
    public init(
        action: IMAPolicyAction,
        hook: IMAHook? = nil,
        mask: IMAPolicyMask? = nil,
        fsmagic: UInt64? = nil,
        appraiseType: IMAAppraiseType? = nil
    ) {
        self.action = action
        self.hook = hook
        self.mask = mask
        self.fsmagic = fsmagic
        self.fsname = nil
        self.fsuuid = nil
        self.lsmLabels = [:]
        self.keyrings = nil
        self.labels = nil
        self.usesVerityDigest = false
        self.appraiseType = appraiseType
        self.checksBlacklist = false
        self.appraiseAlgorithms = nil
        self.pcr = nil
        self.template = nil
        self.permitsDirectIO = false
    }

    /// Parses a single rule line (no comments), checking it as the kernel would.
    public init(parsing line: String) throws(PolicyError) {
        let scalars = Array(line.unicodeScalars)
        guard let rule = try PolicyRuleParser.parseRule(scalars, line: 1) else {
            throw PolicyError.missingAction(line: 1, column: 1, token: "")
        }
        self = rule
    }

    /// Throws the first reason the kernel would refuse this rule.
    public func validate() throws(PolicyError) {
        if let problem = validationProblem() {
            throw PolicyError(problem, line: nil, column: nil, token: problem.keyword?.rawValue ?? action.rawValue)
        }
    }

    /// The id conditions present, keyed by keyword, in canonical order.
    var idConditions: [(PolicyKeyword, IMAPolicyIDMatch)] {
        let all: [(PolicyKeyword, IMAPolicyIDMatch?)] = [
            (.uid, uid), (.euid, euid), (.gid, gid), (.egid, egid), (.fowner, fowner), (.fgroup, fgroup),
        ]
        return all.compactMap { key, value in value.map { (key, $0) } }
    }

    /// Every keyword this rule carries, in canonical order.
    var presentKeywords: [PolicyKeyword] {
        PolicyKeyword.allCases.filter(isPresent)
    }

    func isPresent(_ keyword: PolicyKeyword) -> Bool {
        switch keyword {
        case .function: return hook != nil
        case .mask: return mask != nil
        case .fsmagic: return fsmagic != nil
        case .fsname: return fsname != nil
        case .fsuuid: return fsuuid != nil
        case .uid: return uid != nil
        case .euid: return euid != nil
        case .gid: return gid != nil
        case .egid: return egid != nil
        case .fowner: return fowner != nil
        case .fgroup: return fgroup != nil
        case .objUser, .objRole, .objType, .subjUser, .subjRole, .subjType:
            return lsmLabels[keyword.lsmField!] != nil
        case .keyrings: return keyrings != nil
        case .label: return labels != nil
        case .digestType: return usesVerityDigest
        case .appraiseType: return appraiseType != nil
        case .appraiseFlag: return checksBlacklist
        case .appraiseAlgos: return appraiseAlgorithms != nil
        case .pcr: return pcr != nil
        case .template: return template != nil
        case .permitDirectio: return permitsDirectIO
        }
    }
}
