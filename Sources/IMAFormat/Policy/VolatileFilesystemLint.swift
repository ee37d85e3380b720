/// tmpfs and ramfs exemptions: memfd_create() files live on an internal
/// tmpfs, so exempting tmpfs from exec appraisal lets fileless payloads run
/// (and exempting it from measurement hides them from attestation).
enum VolatileFilesystemLint {
    static func findings(_ rules: [IMAPolicy.NumberedRule], order: RuleOrderAnalysis) -> [PolicyFinding] {
        let execHooks: [IMAHook] = [.bprmCheck, .mmapCheck]
        var findings: [PolicyFinding] = []
        for (index, numbered) in rules.enumerated() {
            let rule = numbered.rule
            guard rule.action == .dontAppraise || rule.action == .dontMeasure,
                  let filesystem = volatileFilesystem(of: rule) else { continue }
            let positive: IMAPolicyAction = rule.action == .dontAppraise ? .appraise : .measure
            // Does the exemption take effect for an exec hook that the policy otherwise covers?
            let bypassed = execHooks.filter { hook in
                guard let slice = rule.restricted(to: hook) else { return false }
                let decidedEarlier = rules[..<index].contains {
                    $0.rule.action.kind == rule.action.kind && $0.rule.covers(slice)
                }
                let coveredLater = rules[(index + 1)...].contains {
                    $0.rule.action == positive && $0.rule.restricted(to: hook) != nil
                }
                return !decidedEarlier && coveredLater
            }
            guard !bypassed.isEmpty, order.takesEffect(index) else { continue }
            let hooks = bypassed.map(\.name).joined(separator: " and ")
            if rule.action == .dontAppraise {
                findings.append(PolicyFinding(
                    .tmpfsExecBypass, line: numbered.line,
                    message: "\(filesystem) is exempt from appraisal for \(hooks): programs dropped in /tmp, /dev/shm "
                        + "or created with memfd_create() run unsigned",
                    fix: "remove line \(numbered.line); keep tmpfs and ramfs appraised"))
            } else {
                findings.append(PolicyFinding(
                    .tmpfsExecUnmeasured, line: numbered.line,
                    message: "\(filesystem) is exempt from measurement for \(hooks): code run from /tmp, /dev/shm "
                        + "or memfd_create() leaves no trace in the measurement list",
                    fix: "remove line \(numbered.line), or exempt tmpfs only for non-exec hooks"))
            }
        }
        return findings
    }

    static func volatileFilesystem(of rule: IMAPolicyRule) -> String? {
        if let magic = rule.fsmagic, let known = IMAFilesystem.volatile.first(where: { $0.magic == magic }) {
            return "\(known.name) (fsmagic=0x\(String(magic, radix: 16)))"
        }
        if let name = rule.fsname, IMAFilesystem.volatile.contains(where: { $0.name == name }) {
            return "\(name) (fsname=\(name))"
        }
        return nil
    }
}
