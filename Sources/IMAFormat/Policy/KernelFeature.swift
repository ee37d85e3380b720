/// A piece of the policy language that only newer kernels accept, with the
/// first mainline release that has it. An older kernel refuses the whole
/// policy write, so a rule using one must not reach it.
///
/// Each version was checked against the integrity subsystem's pull requests
/// to Linus (the tag names the merge window) or the kernel's own tests:
/// - template=, func=KEXEC_CMDLINE, ima-buf: integrity pull for 5.3 (July 2019:
///   "IMA: support for per policy rule template formats", "IMA: Define a new
///   hook to measure the kexec boot command line arguments", "IMA: Define a
///   new template field buf").
/// - appraise_type=imasig|modsig, ima-modsig: integrity pull for v5.4
///   ("ima: Add modsig appraise_type option", "ima: Define ima-modsig template").
/// - appraise_flag=check_blacklist: powerpc pull for 5.5 ("ima: Check against
///   blacklisted hashes for files with modsig").
/// - func=KEY_CHECK, keyrings=: integrity pull for v5.6 ("IMA: Add KEY_CHECK
///   func to measure keys", "IMA: Read keyrings= option from the IMA policy").
/// - func=CRITICAL_DATA, label=: tags/integrity-v5.12.
/// - template=evm-sig: tags/integrity-v5.14 (EVM portable signatures in the
///   measurement list).
/// - func=SETXATTR_CHECK, appraise_algos=: tags/integrity-v5.15.
/// - gid=, egid=, fgroup=: commit 40224c41661b "ima: add gid support", v5.16
///   (LTP ima_conditionals.sh).
/// - digest_type=verity, appraise_type=sigv3, ima-ngv2, ima-sigv2:
///   tags/integrity-v5.19 (fs-verity digests and v3 signatures).
/// - func=MMAP_CHECK_REQPROT: tags/integrity-v6.3 ("ima: Introduce
///   MMAP_CHECK_REQPROT hook").
/// Older parts of the language (func=, mask=, fsmagic=, fsuuid=, uid=,
/// fowner=, LSM labels, appraise_type=imasig, pcr=, …) predate 5.3 and are
/// taken as always present.
public enum KernelFeature: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case ruleTemplate = "template="
    case kexecCmdline = "func=KEXEC_CMDLINE"
    case imaBufTemplate = "template=ima-buf"
    case modsig = "appraise_type=imasig|modsig"
    case imaModsigTemplate = "template=ima-modsig"
    case checkBlacklist = "appraise_flag=check_blacklist"
    case keyCheck = "func=KEY_CHECK"
    case keyrings = "keyrings="
    case criticalData = "func=CRITICAL_DATA"
    case label = "label="
    case evmSigTemplate = "template=evm-sig"
    case setxattrCheck = "func=SETXATTR_CHECK"
    case appraiseAlgos = "appraise_algos="
    case groupIDs = "gid=/egid=/fgroup="
    case verityDigest = "digest_type=verity"
    case sigv3 = "appraise_type=sigv3"
    case ngv2Templates = "template=ima-ngv2/ima-sigv2"
    case mmapCheckReqprot = "func=MMAP_CHECK_REQPROT"

    /// The first mainline release that accepts the feature.
    public var minimumVersion: KernelVersion {
        switch self {
        case .ruleTemplate, .kexecCmdline, .imaBufTemplate: return KernelVersion(5, 3)
        case .modsig, .imaModsigTemplate: return KernelVersion(5, 4)
        case .checkBlacklist: return KernelVersion(5, 5)
        case .keyCheck, .keyrings: return KernelVersion(5, 6)
        case .criticalData, .label: return KernelVersion(5, 12)
        case .evmSigTemplate: return KernelVersion(5, 14)
        case .setxattrCheck, .appraiseAlgos: return KernelVersion(5, 15)
        case .groupIDs: return KernelVersion(5, 16)
        case .verityDigest, .sigv3, .ngv2Templates: return KernelVersion(5, 19)
        case .mmapCheckReqprot: return KernelVersion(6, 3)
        }
    }

    /// How the feature is written in a policy.
    public var description: String { rawValue }

    /// The features a rule needs, in declaration order.
    public static func required(by rule: IMAPolicyRule) -> [KernelFeature] {
        var needed: Set<KernelFeature> = []
        if let template = rule.template {
            needed.insert(.ruleTemplate)
            switch template {
            case .imaBuf: needed.insert(.imaBufTemplate)
            case .imaModsig: needed.insert(.imaModsigTemplate)
            case .evmSig: needed.insert(.evmSigTemplate)
            case .imaNGv2, .imaSigv2: needed.insert(.ngv2Templates)
            case .ima, .imaNG, .imaSig: break
            }
        }
        switch rule.hook {
        case .kexecCmdline: needed.insert(.kexecCmdline)
        case .keyCheck: needed.insert(.keyCheck)
        case .criticalData: needed.insert(.criticalData)
        case .setxattrCheck: needed.insert(.setxattrCheck)
        case .mmapCheckReqprot: needed.insert(.mmapCheckReqprot)
        default: break
        }
        switch rule.appraiseType {
        case .imasigOrModsig: needed.insert(.modsig)
        case .sigv3: needed.insert(.sigv3)
        case .imasig, nil: break
        }
        if rule.checksBlacklist { needed.insert(.checkBlacklist) }
        if rule.keyrings != nil { needed.insert(.keyrings) }
        if rule.labels != nil { needed.insert(.label) }
        if rule.appraiseAlgorithms != nil { needed.insert(.appraiseAlgos) }
        if rule.gid != nil || rule.egid != nil || rule.fgroup != nil { needed.insert(.groupIDs) }
        if rule.usesVerityDigest { needed.insert(.verityDigest) }
        return allCases.filter(needed.contains)
    }
}
