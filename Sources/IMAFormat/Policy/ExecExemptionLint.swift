/// `dont_appraise` rules that let code run unsigned: an exemption whose func
/// (or no func: every hook) covers BPRM_CHECK or MMAP_CHECK and that takes
/// effect before an appraise rule for that hook would match. Whatever its
/// condition (an LSM label, an owner, a uid, a filesystem type or UUID), what
/// it matches is never appraised there. Only exemptions restricted to pseudo
/// filesystems that cannot hold programs (the list the exec-signed profile
/// exempts) are safe; tmpfs and ramfs are ``VolatileFilesystemLint``'s.
enum ExecExemptionLint {
    static let execHooks: [IMAHook] = [.bprmCheck, .mmapCheck, .mmapCheckReqprot]

    static func findings(_ rules: [IMAPolicy.NumberedRule], order: RuleOrderAnalysis) -> [PolicyFinding] {
        // Only a policy that enforces something has holes.
        guard rules.contains(where: { $0.rule.action == .appraise && $0.rule.hook != .setxattrCheck }) else { return [] }
        var findings: [PolicyFinding] = []
        for (index, numbered) in rules.enumerated() where numbered.rule.action == .dontAppraise {
            let rule = numbered.rule
            guard order.takesEffect(index), !isPseudoFilesystemOnly(rule),
                  VolatileFilesystemLint.volatileFilesystem(of: rule) == nil else { continue }
            // Per hook, first match wins: the exemption matters where no earlier
            // appraisal rule already decides everything it matches, and a later
            // appraise rule for the hook would match some of it.
            let bypassed = execHooks.filter { hook in
                guard let slice = rule.restricted(to: hook) else { return false }
                let decidedEarlier = rules[..<index].contains {
                    $0.rule.action.kind == .appraisal && $0.rule.covers(slice)
                }
                let appraisedLater = rules[(index + 1)...].contains { later in
                    guard later.rule.action == .appraise, let theirs = later.rule.restricted(to: hook) else { return false }
                    return theirs.overlap(with: slice) != .disjoint
                }
                return !decidedEarlier && appraisedLater
            }
            guard !bypassed.isEmpty else { continue }
            let conditions = conditionTexts(rule)
            let consequences = conditions.isEmpty
                ? ["every program and executable mapping is exempt, nothing runs appraised"]
                : conditions.map { conditions.count == 1 ? consequence(of: $0) : "\($0.text): " + consequence(of: $0) }
            let shown = ([rule.hook.map { "func=\($0.name)" }].compactMap { $0 } + conditions.map(\.text)).joined(separator: " ")
            let hooks = bypassed.map(\.name).joined(separator: ", ")
            findings.append(PolicyFinding(
                .dontAppraiseExecBypass, line: numbered.line,
                message: "dont_appraise \(shown) at line \(numbered.line): "
                    + consequences.joined(separator: "; ") + " (\(hooks) not appraised there)",
                fix: "remove line \(numbered.line), or limit it to hooks that do not run code (e.g. func=FILE_CHECK); "
                    + "only pseudo filesystems such as proc or sysfs are safe to exempt"))
        }
        return findings
    }

    /// True when the rule can only match files on a kernel pseudo filesystem
    /// that holds no programs.
    static func isPseudoFilesystemOnly(_ rule: IMAPolicyRule) -> Bool {
        if let magic = rule.fsmagic, IMAFilesystem.pseudo.contains(where: { $0.magic == magic }) { return true }
        if let name = rule.fsname, IMAFilesystem.pseudo.contains(where: { $0.name == name }) { return true }
        return false
    }

    /// One condition of a rule, as written and what it restricts.
    struct Condition {
        enum Kind { case subject(String), object(String), owner, group, process(String), fsuuid, fsname(String), fsmagic(UInt64) }
        let text: String
        let kind: Kind
    }

    static func conditionTexts(_ rule: IMAPolicyRule) -> [Condition] {
        var out: [Condition] = []
        if let magic = rule.fsmagic {
            out.append(Condition(text: "fsmagic=0x\(String(magic, radix: 16))", kind: .fsmagic(magic)))
        }
        if let name = rule.fsname { out.append(Condition(text: "fsname=\(name)", kind: .fsname(name))) }
        if let uuid = rule.fsuuid { out.append(Condition(text: "fsuuid=\(uuid)", kind: .fsuuid)) }
        for (keyword, match) in rule.idConditions {
            let text = "\(keyword.rawValue)\(match)"
            switch keyword {
            case .fowner: out.append(Condition(text: text, kind: .owner))
            case .fgroup: out.append(Condition(text: text, kind: .group))
            default: out.append(Condition(text: text, kind: .process(keyword.rawValue)))
            }
        }
        for field in IMALSMField.allCases {
            guard let label = rule.lsmLabels[field] else { continue }
            let text = "\(field.rawValue)=\(label)"
            let part = String(field.rawValue.split(separator: "_").last ?? "")
            out.append(Condition(text: text, kind: field.rawValue.hasPrefix("subj") ? .subject(part) : .object(part)))
        }
        return out
    }

    static func consequence(of condition: Condition) -> String {
        switch condition.kind {
        case .subject(let part):
            return "programs run by processes with that SELinux (LSM) \(part) run unsigned, and so does what they map executable"
        case .object(let part):
            return "programs and libraries whose file label has that \(part) run unsigned (whoever can label a file so can run unsigned code)"
        case .owner:
            return "programs and libraries owned by a user matching \(condition.text) run unsigned (whoever owns a file can run it unsigned)"
        case .group:
            return "programs and libraries whose group matches \(condition.text) run unsigned"
        case .process(let keyword):
            return "code run by processes whose \(keyword) matches \(condition.text) runs unsigned"
        case .fsuuid:
            return "every program on the filesystem with that UUID runs unsigned"
        case .fsname(let name):
            return filesystemConsequence(IMAFilesystem.known(name: name), written: name)
        case .fsmagic(let magic):
            return filesystemConsequence(IMAFilesystem.known(magic: magic), written: "0x" + String(magic, radix: 16))
        }
    }

    private static func filesystemConsequence(_ known: IMAFilesystem?, written: String) -> String {
        guard let known else {
            return "files on filesystems of type \(written) run unsigned: it is not one of the pseudo filesystems "
                + "known to hold no programs"
        }
        if known.magic == IMAFilesystem.ext4.magic {
            return "\(known.name) is the root filesystem's type: nothing on it is appraised, every program on it runs unsigned"
        }
        return "\(known.name) holds programs: every program and library on a \(known.name) filesystem runs unsigned"
    }
}
