/// Default-deny for code: is every execve() and every executable mapping
/// appraised, for every file owner and on every filesystem?
enum ExecCoverageLint {
    static func findings(_ rules: [IMAPolicy.NumberedRule], order: RuleOrderAnalysis) -> [PolicyFinding] {
        let appraisals = rules.enumerated().filter {
            $0.element.rule.action == .appraise && $0.element.rule.hook != .setxattrCheck
        }
        guard !appraisals.isEmpty else {
            return [PolicyFinding(.measurementOnly, line: nil,
                                  message: "measurement only: the kernel refuses nothing (no file is ever refused); "
                                    + "unsigned programs, libraries and kernel modules all run",
                                  fix: "fine for attestation only; for enforcement add appraise rules (profile exec-signed)")]
        }
        let effective = appraisals.filter { order.takesEffect($0.offset) }.map(\.element)
        var findings: [PolicyFinding] = []
        var restricted: [(what: String, rules: [IMAPolicy.NumberedRule])] = []
        let execRules = effective.filter { $0.rule.restricted(to: .bprmCheck) != nil }
        if execRules.isEmpty {
            findings.append(PolicyFinding(
                .noExecAppraisal, line: nil,
                message: "no appraise rule covers func=BPRM_CHECK: unsigned programs run, so this is not default-deny",
                fix: "add 'appraise func=BPRM_CHECK appraise_type=imasig'"))
        } else {
            restricted.append(("execve()", execRules))
        }
        let mmapRules = effective.filter { $0.rule.restricted(to: .mmapCheck) != nil }
        if mmapRules.isEmpty, !execRules.isEmpty {
            let reqprot = effective.first { $0.rule.hook == .mmapCheckReqprot }
            let note = reqprot.map {
                "; MMAP_CHECK_REQPROT at line \($0.line) only sees the protection the program asked for, "
                    + "not PROT_EXEC added by READ_IMPLIES_EXEC"
            } ?? ""
            findings.append(PolicyFinding(
                .execWithoutMmap, line: execRules[0].line,
                message: "execve() is appraised but executable mappings are not: unsigned shared libraries load, "
                    + "and 'ld.so ./program' runs an unsigned program" + note,
                fix: "add 'appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig'"))
        } else if !mmapRules.isEmpty {
            restricted.append(("executable mappings", mmapRules))
        }
        return findings + restrictionFindings(restricted)
    }

    /// When every rule covering a hook is restricted, each restriction is a
    /// bypass. One finding per rule, naming every hook it fails to cover fully.
    private static func restrictionFindings(_ hooks: [(what: String, rules: [IMAPolicy.NumberedRule])]) -> [PolicyFinding] {
        var bypassed: [(rule: IMAPolicy.NumberedRule, whats: [String])] = []
        for (what, covering) in hooks {
            let unrestricted = covering.contains {
                !$0.rule.hasIDCondition && !$0.rule.hasFilesystemCondition && !$0.rule.hasLSMCondition
            }
            guard !unrestricted else { continue }
            for numbered in covering {
                if let i = bypassed.firstIndex(where: { $0.rule.line == numbered.line }) {
                    bypassed[i].whats.append(what)
                } else {
                    bypassed.append((numbered, [what]))
                }
            }
        }
        var findings: [PolicyFinding] = []
        for (numbered, whats) in bypassed {
            let rule = numbered.rule
            let what = whats.joined(separator: " and ")
            if rule.hasIDCondition {
                let names = rule.idConditions.map { "\($0.0.rawValue)\($0.1)" }.joined(separator: " ")
                let who = rule.fowner != nil || rule.fgroup != nil
                    ? "files owned by anyone else" : "processes of other users"
                findings.append(PolicyFinding(
                    .ownerRestrictedAppraisal, line: numbered.line,
                    message: "\(what) only appraised for \(names): \(who) run unsigned",
                    fix: "drop \(names) or add an unrestricted appraise rule for the same func"))
            }
            if rule.hasFilesystemCondition || rule.hasLSMCondition {
                var limits: [String] = []
                if let magic = rule.fsmagic { limits.append("fsmagic=0x\(String(magic, radix: 16))") }
                if let name = rule.fsname { limits.append("fsname=\(name)") }
                if let uuid = rule.fsuuid { limits.append("fsuuid=\(uuid)") }
                limits += IMALSMField.allCases.compactMap { f in rule.lsmLabels[f].map { "\(f)=\($0)" } }
                let names = limits.joined(separator: " ")
                findings.append(PolicyFinding(
                    .execAppraisalRestricted, line: numbered.line,
                    message: "\(what) only appraised for \(names): code on other filesystems "
                        + "(tmpfs, memfd, USB media) or with other labels runs unsigned",
                    fix: "drop \(names) or add an unrestricted appraise rule for the same func"))
            }
        }
        return findings
    }
}
