import IMAFormat
import Provenance
import SignetCrypto

/// Why one file could not be signed or appraised. Each case says what the
/// user can do about it.
public enum FileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Gone between the walk and the signing.
    case vanished
    /// The path now names another file, a symlink or a special file.
    case replaced(String)
    case unreadable(String)
    /// Size or mtime moved while the content was hashed: what was read may not be what is there.
    case changedWhileReading
    /// The filesystem stores no extended attributes.
    case xattrUnsupported
    case xattrPermissionDenied
    case xattrFailed(String)
    /// An existing security.ima that is not a valid IMA xattr; kept unless --force.
    case malformedExistingXattr(String)
    case signingFailed(String)
    /// The portable EVM signature could not be computed (missing security.ima, a label conflict, …).
    case evm(EVMError)

    public var description: String {
        switch self {
        case .vanished: return "vanished during the walk"
        case .replaced(let what): return "replaced during the walk (\(what)); run again"
        case .unreadable(let why): return "unreadable: \(why)"
        case .changedWhileReading: return "changed while being read; nothing was written, run again when it is stable"
        case .xattrUnsupported:
            return "the filesystem does not support extended attributes (security.ima); sign on ext4/xfs/btrfs/tmpfs, or use --detached and 'signet apply' later"
        case .xattrPermissionDenied:
            return "not permitted to set security.ima (needs root / CAP_SYS_ADMIN); or use --detached and 'signet apply' later"
        case .xattrFailed(let why): return "cannot set security.ima: \(why)"
        case .malformedExistingXattr(let why):
            return "existing security.ima is malformed (\(why)); left as is, use --force to replace it"
        case .signingFailed(let why): return "signing failed: \(why)"
        case .evm(let e): return "EVM: \(e.field): \(e.reason)"
        }
    }

    /// A short stable identifier for JSON output.
    public var code: String {
        switch self {
        case .vanished: return "vanished"
        case .replaced: return "replaced"
        case .unreadable: return "unreadable"
        case .changedWhileReading: return "changed"
        case .xattrUnsupported: return "xattr-unsupported"
        case .xattrPermissionDenied: return "xattr-permission"
        case .xattrFailed: return "xattr-failed"
        case .malformedExistingXattr: return "malformed-xattr"
        case .signingFailed: return "signing-failed"
        case .evm: return "evm"
        }
    }
}
