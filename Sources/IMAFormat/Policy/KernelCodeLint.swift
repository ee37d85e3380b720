/// Kernel code: a policy that appraises programs but lets unsigned kernel
/// modules or kexec kernels in has not closed the door, since code in the
/// kernel can switch IMA off. Debian's kernel does not enforce module
/// signatures without module.sig_enforce=1 or Secure Boot lockdown.
enum KernelCodeLint {
    static func findings(_ rules: [IMAPolicy.NumberedRule], context: PolicyLintContext) -> [PolicyFinding] {
        guard isAppraised(.bprmCheck, rules) else { return [] }
        var findings: [PolicyFinding] = []
        for hook in [IMAHook.moduleCheck, .kexecKernelCheck, .firmwareCheck, .kexecInitramfsCheck] where !isAppraised(hook, rules) {
            let add = "add 'appraise func=\(hook.name) appraise_type=imasig' (profile exec-signed)"
            switch hook {
            case .moduleCheck where context.moduleSignaturesEnforced == true:
                findings.append(PolicyFinding(
                    .kernelCodeUnappraised, severity: .info, line: nil,
                    message: "no appraise rule covers func=MODULE_CHECK; the kernel enforces module signatures itself "
                        + "(module.sig_enforce=1 or lockdown), so unsigned modules are refused by that check instead",
                    fix: add + " to require IMA signatures as well"))
            case .moduleCheck:
                findings.append(PolicyFinding(
                    .kernelCodeUnappraised, severity: .error, line: nil,
                    message: "no appraise rule covers func=MODULE_CHECK: unsigned kernel modules load, and code in the kernel "
                        + "can switch IMA off; this kernel does not enforce module signatures unless module.sig_enforce=1 "
                        + "or lockdown is on",
                    fix: add + ", and boot with module.sig_enforce=1 where modules are loaded with init_module(2) "
                        + "(Debian's kmod and .ko.xz)"))
            case .kexecKernelCheck:
                findings.append(PolicyFinding(
                    .kernelCodeUnappraised, severity: .error, line: nil,
                    message: "no appraise rule covers func=KEXEC_KERNEL_CHECK: kexec_file_load() boots an unsigned kernel, "
                        + "which replaces this one and its policy",
                    fix: add))
            default:
                let what = hook == .firmwareCheck
                    ? "unsigned firmware loads into devices (some of which can read and write memory)"
                    : "a kexec'd kernel starts with an unsigned initramfs"
                findings.append(PolicyFinding(
                    .kernelCodeUnappraised, severity: .warning, line: nil,
                    message: "no appraise rule covers func=\(hook.name): \(what)", fix: add))
            }
        }
        return findings
    }

    /// Whether some appraise rule for `hook` takes effect for it: no earlier
    /// rule of the appraisal kind (an exemption, or another appraise rule)
    /// already matches everything it matches there.
    static func isAppraised(_ hook: IMAHook, _ rules: [IMAPolicy.NumberedRule]) -> Bool {
        rules.indices.contains { j in
            guard rules[j].rule.action == .appraise, let slice = rules[j].rule.restricted(to: hook) else { return false }
            return !rules[..<j].contains { $0.rule.action.kind == .appraisal && $0.rule.covers(slice) }
        }
    }
}
