/// A kernel hook a rule can be restricted to with `func=`: the place in the
/// kernel where IMA is asked about a file or buffer (`enum ima_hooks`).
public enum IMAHook: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// execve() of a program (and of the interpreter named by `#!`).
    case bprmCheck = "BPRM_CHECK"
    /// mmap()/mprotect() with PROT_EXEC as the kernel applies it (shared libraries, ld.so).
    case mmapCheck = "MMAP_CHECK"
    /// mmap()/mprotect() with PROT_EXEC as the application requested it (Linux 6.3+).
    case mmapCheckReqprot = "MMAP_CHECK_REQPROT"
    /// execve() that changes credentials (setuid programs), evaluated against the new credentials.
    case credsCheck = "CREDS_CHECK"
    /// open() of a file.
    case fileCheck = "FILE_CHECK"
    /// finit_module(): a kernel module file.
    case moduleCheck = "MODULE_CHECK"
    /// A firmware blob requested by a driver.
    case firmwareCheck = "FIRMWARE_CHECK"
    /// kexec_file_load(): the new kernel image.
    case kexecKernelCheck = "KEXEC_KERNEL_CHECK"
    /// kexec_file_load(): the new initramfs.
    case kexecInitramfsCheck = "KEXEC_INITRAMFS_CHECK"
    /// A policy file loaded by writing its path to securityfs `ima/policy`.
    case policyCheck = "POLICY_CHECK"
    /// kexec_file_load(): the new kernel command line (a buffer, measure only).
    case kexecCmdline = "KEXEC_CMDLINE"
    /// A key added to a keyring (a buffer, measure only; needs CONFIG_IMA_MEASURE_ASYMMETRIC_KEYS).
    case keyCheck = "KEY_CHECK"
    /// Kernel critical data such as the SELinux policy hash (a buffer, measure only).
    case criticalData = "CRITICAL_DATA"
    /// Writes of security.ima: restricts their hash algorithms (appraise with appraise_algos= only).
    case setxattrCheck = "SETXATTR_CHECK"

    /// The canonical name written after `func=`.
    public var name: String { rawValue }

    public var description: String { rawValue }

    /// Old names the kernel still accepts (ima_parse_rule): FILE_MMAP and PATH_CHECK.
    public static let legacyAliases: [String: IMAHook] = ["FILE_MMAP": .mmapCheck, "PATH_CHECK": .fileCheck]

    /// Looks a hook up by its policy name, accepting the legacy aliases. Case-sensitive, as the kernel is.
    public init?(policyName: String) {
        if let hook = IMAHook(rawValue: policyName) {
            self = hook
        } else if let hook = IMAHook.legacyAliases[policyName] {
            self = hook
        } else {
            return nil
        }
    }

    /// Hooks the kernel always calls with an access mask of exactly MAY_EXEC
    /// (ima_bprm_check, ima_creds_check, ima_file_mmap only for PROT_EXEC).
    var alwaysRequestsExec: Bool {
        switch self {
        case .bprmCheck, .mmapCheck, .mmapCheckReqprot, .credsCheck: return true
        default: return false
        }
    }

    /// Buffer hooks that a rule without `func=` never matches (ima_match_rules
    /// requires `rule->func == func` for KEY_CHECK and CRITICAL_DATA).
    var requiresExplicitFunc: Bool { self == .keyCheck || self == .criticalData }

    static let expectedList = "one of " + allCases.map(\.rawValue).joined(separator: ", ")
}
