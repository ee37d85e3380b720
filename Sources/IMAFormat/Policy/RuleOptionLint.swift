/// Findings about single rules and their options, and about POLICY_CHECK.
enum RuleOptionLint {
    static func findings(_ rules: [IMAPolicy.NumberedRule]) -> [PolicyFinding] {
        var findings: [PolicyFinding] = []
        var firstSetxattr: Int?
        for numbered in rules {
            let (rule, line) = (numbered.rule, numbered.line)
            if rule.action == .appraise, rule.hook != .setxattrCheck, rule.appraiseType == nil {
                findings.append(PolicyFinding(
                    .appraiseWithoutSignature, line: line,
                    message: "appraise without appraise_type=imasig accepts a bare hash in security.ima, "
                        + "which anyone able to write the xattr can recompute for a modified file",
                    fix: "add appraise_type=imasig"))
            }
            if rule.action == .appraise, rule.hook == .mmapCheck || rule.hook == .mmapCheckReqprot, rule.mask == nil {
                findings.append(PolicyFinding(
                    .mmapWithoutExecMask, line: line,
                    message: "func=\(rule.hook!.name) without mask=MAY_EXEC: the kernel only calls this hook for "
                        + "PROT_EXEC mappings, so it behaves the same, but the intent is not stated "
                        + "(mask=^MAY_EXEC is equivalent here as the hook always passes exactly MAY_EXEC)",
                    fix: "add mask=MAY_EXEC"))
            }
            if let hook = rule.hook, hook.alwaysRequestsExec, let mask = rule.mask, mask.permission != .exec {
                findings.append(PolicyFinding(
                    .maskNeverMatches, line: line,
                    message: "func=\(hook.name) always passes exactly MAY_EXEC, so mask=\(mask) never matches "
                        + "and the rule does nothing",
                    fix: "use mask=MAY_EXEC or drop mask="))
            }
            if rule.action == .appraise, rule.hook == nil, rule.mask == nil {
                findings.append(PolicyFinding(
                    .appraiseAllHooks, line: line,
                    message: "appraise without func= or mask= applies to every file hook, including every open(): "
                        + "each matching data file needs a valid security.ima",
                    fix: "restrict with func= (e.g. func=BPRM_CHECK) unless appraising all files is intended"))
            }
            if let pcr = rule.pcr, pcr > 23 {
                findings.append(PolicyFinding(
                    .pcrBeyondTPM, line: line,
                    message: "pcr=\(pcr): TPM 2.0 PC Client platforms have PCRs 0-23, so extending it fails "
                        + "and these measurements cannot be attested",
                    fix: "use a PCR from 0 to 23 (IMA's default is 10)"))
            }
            if rule.hook == .setxattrCheck {
                if let first = firstSetxattr {
                    findings.append(PolicyFinding(
                        .setxattrCheckIgnored, line: line,
                        message: "only the first func=SETXATTR_CHECK rule (line \(first)) is used; this one is ignored",
                        fix: "merge the algorithm lists into line \(first)"))
                } else {
                    firstSetxattr = line
                }
            }
        }
        let policyCheck = rules.contains {
            $0.rule.hook == .policyCheck && ($0.rule.action == .appraise || $0.rule.action == .measure)
        }
        if !policyCheck {
            findings.append(PolicyFinding(
                .noPolicyCheck, line: nil,
                message: "no func=POLICY_CHECK rule: rules added later are neither measured nor required to be signed",
                fix: "add 'appraise func=POLICY_CHECK appraise_type=imasig' and/or 'measure func=POLICY_CHECK'"))
        }
        return findings
    }
}
