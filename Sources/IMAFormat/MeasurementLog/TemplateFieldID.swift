/// A template field as the kernel names it (`supported_fields[]` in
/// security/integrity/ima/ima_template.c).
public enum TemplateFieldID: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// SHA-1 (or MD5) file digest without an algorithm prefix; used by the "ima" template.
    case digest = "d"
    /// File name limited to 255 bytes; used by the "ima" template.
    case name = "n"
    /// `"<algo>:" NUL digest`.
    case digestNG = "d-ng"
    /// `"<ima|verity>:<algo>:" NUL digest` (Linux 5.19+).
    case digestNGv2 = "d-ngv2"
    /// File name (or buffer name) with a trailing NUL, spaces replaced by '_'.
    case nameNG = "n-ng"
    /// The file's security.ima when it is a signature (type 0x03 or 0x06), else the EVM portable signature.
    case signature = "sig"
    /// The measured buffer (keys, kexec command line, critical data).
    case buffer = "buf"
    /// The file digest the appended signature covers, `"<algo>:" NUL digest`.
    case modsigDigest = "d-modsig"
    /// The raw appended (module-style) signature.
    case modsig = "modsig"
    /// The file's security.evm when it is a portable signature (type 0x05).
    case evmSignature = "evmsig"
    /// Inode owner (u32).
    case inodeUID = "iuid"
    /// Inode group (u32).
    case inodeGID = "igid"
    /// Inode mode (u16).
    case inodeMode = "imode"
    /// Names of the EVM-protected xattrs present, separated by '|', with a trailing NUL.
    case xattrNames = "xattrnames"
    /// Their lengths, one u32 each.
    case xattrLengths = "xattrlengths"
    /// Their values, concatenated.
    case xattrValues = "xattrvalues"

    public var description: String { rawValue }
}
