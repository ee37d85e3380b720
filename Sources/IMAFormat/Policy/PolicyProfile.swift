/// A policy Signet ships, ready to render with ``PolicyGenerator``. The files
/// in the repository's ima-policy/ folder are these, rendered with default
/// options (one file per case of ``allCases``).
public enum PolicyProfile: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Default-deny for code: every execve() and executable mapping needs a
    /// signature, tmpfs and memfd included; kernel modules, firmware and kexec
    /// images too; policy updates must be signed.
    case execSigned = "exec-signed"
    /// Deprecated alias of ``execSigned``, which now covers kernel modules,
    /// firmware and kexec images itself: renders exactly `exec-signed`. Kept so
    /// `--profile exec-signed+modules` keeps working; not in ``allCases``.
    case execSignedWithModules = "exec-signed+modules"
    /// Measurement for remote attestation: programs, executable mappings,
    /// modules, firmware, policy updates and IMA keys.
    case measureTCB = "measure-tcb"

    /// The profiles Signet ships a file for (without the deprecated alias).
    public static var allCases: [PolicyProfile] { [.execSigned, .measureTCB] }

    /// The profile this name stands for: the alias gives ``execSigned``.
    public var canonical: PolicyProfile { self == .execSignedWithModules ? .execSigned : self }

    /// Whether this name is a deprecated alias of another profile.
    public var isDeprecatedAlias: Bool { self != canonical }

    /// The name used on the command line and in file names.
    public var name: String { rawValue }

    public var description: String { rawValue }

    /// The shipped file name, e.g. `exec-signed.policy`.
    public var fileName: String { rawValue + ".policy" }

    /// One line saying what the profile is for.
    public var summary: String {
        switch self {
        case .execSigned:
            return "refuse any program, executable mapping, kernel module, firmware or kexec image without a valid IMA signature"
        case .execSignedWithModules:
            return "deprecated alias of exec-signed (which now covers modules, firmware and kexec): renders exactly exec-signed"
        case .measureTCB:
            return "measure programs, libraries, modules, firmware, policy and keys for attestation"
        }
    }

    var appraises: Bool { canonical != .measureTCB }
    var measures: Bool { canonical == .measureTCB }
}
