/// A policy Signet ships, ready to render with ``PolicyGenerator``. The files
/// in the repository's ima-policy/ folder are these, rendered with default
/// options.
public enum PolicyProfile: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Default-deny for code: every execve() and executable mapping needs a
    /// signature, tmpfs and memfd included; policy updates must be signed.
    case execSigned = "exec-signed"
    /// exec-signed, plus signed kernel modules, firmware and kexec images.
    case execSignedWithModules = "exec-signed+modules"
    /// Measurement for remote attestation: programs, executable mappings,
    /// modules, firmware, policy updates and IMA keys.
    case measureTCB = "measure-tcb"

    /// The name used on the command line and in file names.
    public var name: String { rawValue }

    public var description: String { rawValue }

    /// The shipped file name, e.g. `exec-signed.policy`.
    public var fileName: String { rawValue + ".policy" }

    /// One line saying what the profile is for.
    public var summary: String {
        switch self {
        case .execSigned:
            return "refuse any program or executable mapping without a valid IMA signature"
        case .execSignedWithModules:
            return "exec-signed, plus signed kernel modules, firmware and kexec images"
        case .measureTCB:
            return "measure programs, libraries, modules, firmware, policy and keys for attestation"
        }
    }

    var appraises: Bool { self != .measureTCB }
    var measures: Bool { self == .measureTCB }

    /// Profiles whose rules this one already contains.
    var includes: [PolicyProfile] { self == .execSignedWithModules ? [.execSigned] : [] }
}
