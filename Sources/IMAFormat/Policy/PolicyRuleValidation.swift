/// Which actions and keywords the kernel accepts together with a `func=`
/// (ima_validate_rule in security/integrity/ima/ima_policy.c).
struct HookScope {
    let allowedActions: Set<IMAPolicyAction>?
    let allowedKeywords: Set<PolicyKeyword>
    let allowsModsig: Bool

    private static let lsm: Set<PolicyKeyword> = [.objUser, .objRole, .objType, .subjUser, .subjRole, .subjType]

    init(_ hook: IMAHook?) {
        let everything = Set(PolicyKeyword.allCases)
        switch hook {
        case nil, .fileCheck, .mmapCheck, .mmapCheckReqprot, .bprmCheck, .credsCheck, .firmwareCheck, .policyCheck:
            allowedActions = nil
            allowedKeywords = everything.subtracting([.keyrings, .label, .appraiseFlag])
            allowsModsig = false
        case .moduleCheck, .kexecKernelCheck, .kexecInitramfsCheck:
            allowedActions = nil
            allowedKeywords = everything.subtracting([.keyrings, .label, .digestType])
            allowsModsig = true
        case .kexecCmdline:
            allowedActions = [.measure, .dontMeasure]
            allowedKeywords = Set<PolicyKeyword>([.function, .fsmagic, .fsname, .fsuuid, .uid, .euid, .gid, .egid,
                                                  .fowner, .fgroup, .pcr, .template]).union(Self.lsm)
            allowsModsig = false
        case .keyCheck:
            allowedActions = [.measure, .dontMeasure]
            allowedKeywords = [.function, .uid, .gid, .pcr, .template, .keyrings]
            allowsModsig = false
        case .criticalData:
            allowedActions = [.measure, .dontMeasure]
            allowedKeywords = [.function, .uid, .gid, .pcr, .template, .label]
            allowsModsig = false
        case .setxattrCheck:
            allowedActions = [.appraise]
            allowedKeywords = Set<PolicyKeyword>([.function, .appraiseAlgos]).union(Self.lsm)
            allowsModsig = false
        }
    }

    var allowedList: String {
        PolicyKeyword.allCases.filter(allowedKeywords.contains).map(\.spelled).joined(separator: ", ")
    }
}

extension IMAPolicyRule {
    /// The first reason the kernel would refuse this rule, or nil.
    func validationProblem() -> RuleProblem? {
        if let problem = hookProblem() { return problem }
        if let problem = actionOptionProblem() { return problem }
        if let problem = optionCombinationProblem() { return problem }
        return valueProblem()
    }

    private func hookProblem() -> RuleProblem? {
        let scope = HookScope(hook)
        let funcText = hook.map { "func=\($0.name)" } ?? "no func="
        if let actions = scope.allowedActions, !actions.contains(action) {
            let names = IMAPolicyAction.allCases.filter(actions.contains).map(\.rawValue).joined(separator: " or ")
            return RuleProblem(code: .notAllowedWithAction, keyword: nil,
                               reason: "\(funcText) rules cannot \(action.rawValue)",
                               expected: "action \(names)")
        }
        for keyword in presentKeywords where !scope.allowedKeywords.contains(keyword) {
            let reason: String
            switch keyword {
            case .keyrings: reason = "keyrings= is only valid with func=KEY_CHECK"
            case .label: reason = "label= is only valid with func=CRITICAL_DATA"
            case .appraiseFlag:
                reason = "appraise_flag= is only valid with func=MODULE_CHECK, KEXEC_KERNEL_CHECK or KEXEC_INITRAMFS_CHECK"
            default: reason = "\(keyword.spelled) cannot be used with \(funcText)"
            }
            return RuleProblem(code: .notAllowedWithFunc, keyword: keyword, reason: reason,
                               expected: "with \(funcText): \(scope.allowedList)")
        }
        if appraiseType == .imasigOrModsig, !scope.allowsModsig {
            return RuleProblem(code: .notAllowedWithFunc, keyword: .appraiseType,
                               reason: "appraise_type=imasig|modsig cannot be used with \(funcText)",
                               expected: "func=MODULE_CHECK, KEXEC_KERNEL_CHECK or KEXEC_INITRAMFS_CHECK")
        }
        if hook == .setxattrCheck, appraiseAlgorithms == nil {
            return RuleProblem(code: .missingRequired, keyword: .function,
                               reason: "func=SETXATTR_CHECK needs appraise_algos=",
                               expected: "appraise func=SETXATTR_CHECK appraise_algos=sha256,…")
        }
        return nil
    }

    private func actionOptionProblem() -> RuleProblem? {
        let onlyMeasure: [PolicyKeyword] = [.pcr, .template]
        for keyword in onlyMeasure where isPresent(keyword) && action != .measure {
            return RuleProblem(code: .notAllowedWithAction, keyword: keyword,
                               reason: "\(keyword.spelled) only applies to measure rules, not \(action.rawValue)",
                               expected: "action measure")
        }
        let onlyAppraise: [PolicyKeyword] = [.appraiseType, .appraiseFlag, .appraiseAlgos]
        for keyword in onlyAppraise where isPresent(keyword) && action != .appraise {
            return RuleProblem(code: .notAllowedWithAction, keyword: keyword,
                               reason: "\(keyword.spelled) only applies to appraise rules, not \(action.rawValue)",
                               expected: "action appraise")
        }
        return nil
    }

    private func optionCombinationProblem() -> RuleProblem? {
        if checksBlacklist, appraiseType != .imasigOrModsig {
            return RuleProblem(code: .missingRequired, keyword: .appraiseFlag,
                               reason: "appraise_flag=check_blacklist needs appraise_type=imasig|modsig",
                               expected: "appraise_type=imasig|modsig in the same rule")
        }
        if appraiseType == .sigv3, !usesVerityDigest {
            return RuleProblem(code: .missingRequired, keyword: .appraiseType,
                               reason: "appraise_type=sigv3 needs digest_type=verity (only fs-verity digests have v3 signatures)",
                               expected: "digest_type=verity before appraise_type=sigv3")
        }
        if usesVerityDigest, let type = appraiseType, type != .sigv3 {
            return RuleProblem(code: .conflicting, keyword: .appraiseType,
                               reason: "appraise_type=\(type.name) cannot be combined with digest_type=verity",
                               expected: "appraise_type=sigv3 with digest_type=verity")
        }
        if action == .appraise, usesVerityDigest, appraiseType == nil {
            return RuleProblem(code: .missingRequired, keyword: .digestType,
                               reason: "appraise rules with digest_type=verity must require a signature",
                               expected: "appraise_type=sigv3 after digest_type=verity")
        }
        return nil
    }

    private func valueProblem() -> RuleProblem? {
        if uid != nil, euid != nil {
            return RuleProblem(code: .conflicting, keyword: .euid,
                               reason: "euid= cannot be combined with uid=: the kernel keeps one user id per rule",
                               expected: "either uid= or euid=")
        }
        if gid != nil, egid != nil {
            return RuleProblem(code: .conflicting, keyword: .egid,
                               reason: "egid= cannot be combined with gid=: the kernel keeps one group id per rule",
                               expected: "either gid= or egid=")
        }
        if let (keyword, match) = idConditions.first(where: { $0.1.id > IMAPolicyIDMatch.maximumID }) {
            return RuleProblem(code: .invalidID, keyword: keyword, reason: "\(keyword.rawValue)\(match) is not a valid id",
                               expected: "a decimal id from 0 to \(IMAPolicyIDMatch.maximumID)")
        }
        if let pcr, !Self.validPCRs.contains(pcr) {
            return RuleProblem(code: .pcrOutOfRange, keyword: .pcr, reason: "pcr=\(pcr) is out of range",
                               expected: Self.pcrExpected)
        }
        if let algorithms = appraiseAlgorithms, algorithms.isEmpty {
            return RuleProblem(code: .emptyValue, keyword: .appraiseAlgos, reason: "appraise_algos= lists no algorithm",
                               expected: "a comma-separated list such as sha256,sha512")
        }
        let lists: [(PolicyKeyword, [String]?)] = [(.keyrings, keyrings), (.label, labels)]
        for (keyword, list) in lists {
            guard let list else { continue }
            if list.isEmpty || list.contains(where: \.isEmpty) {
                return RuleProblem(code: .emptyListItem, keyword: keyword, reason: "\(keyword.spelled) has an empty name",
                                   expected: "names separated by |")
            }
            if let bad = list.first(where: { !Self.isToken($0) || $0.contains("|") }) {
                return RuleProblem(code: .unexpectedCharacter, keyword: keyword,
                                   reason: "\(keyword.spelled) name '\(bad)' contains whitespace, '|' or a control character",
                                   expected: "names without spaces separated by |")
            }
        }
        var strings: [(PolicyKeyword, String)] = fsname.map { [(.fsname, $0)] } ?? []
        strings += IMALSMField.allCases.compactMap { field in lsmLabels[field].map { (PolicyKeyword(field), $0) } }
        for (keyword, value) in strings {
            if value.isEmpty {
                return RuleProblem(code: .emptyValue, keyword: keyword, reason: "\(keyword.spelled) has an empty value",
                                   expected: "a non-empty value")
            }
            if !Self.isToken(value) {
                return RuleProblem(code: .unexpectedCharacter, keyword: keyword,
                                   reason: "\(keyword.spelled) value '\(value)' contains whitespace or a control character",
                                   expected: "a single word")
            }
        }
        return nil
    }

    /// PCRs the kernel accepts: bits of the unsigned long `measured_pcrs`
    /// (INVALID_PCR in ima_policy.c), 0-63 on the 64-bit machines Signet targets.
    static let validPCRs = 0...63
    static let pcrExpected = "a PCR number from 0 to 63 (TPM 2.0 PC Client platforms have PCRs 0-23)"

    /// Whether `text` survives the kernel's split on space and tab as one token.
    static func isToken(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0 == " " || $0 == "\t" || $0.value < 0x20 || $0.value == 0x7f }
    }
}
