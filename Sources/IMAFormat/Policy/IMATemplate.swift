/// A built-in measurement template a `measure` rule can ask for with
/// `template=` (builtin_templates[] in security/integrity/ima/ima_template.c).
public enum IMATemplate: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// `d|n`: SHA-1 digest and a name truncated to 255 bytes (legacy).
    case ima
    /// `d-ng|n-ng`: digest with its algorithm, full name (the kernel default).
    case imaNG = "ima-ng"
    /// `d-ng|n-ng|sig`: also the file's security.ima signature.
    case imaSig = "ima-sig"
    /// `d-ngv2|n-ng`: digest tagged with its type (ima or verity). Linux 5.19+.
    case imaNGv2 = "ima-ngv2"
    /// `d-ngv2|n-ng|sig`. Linux 5.19+.
    case imaSigv2 = "ima-sigv2"
    /// `d-ng|n-ng|buf`: also the measured buffer (keys, kexec command line).
    case imaBuf = "ima-buf"
    /// `d-ng|n-ng|sig|d-modsig|modsig`: appended (module-style) signatures.
    case imaModsig = "ima-modsig"
    /// EVM portable signature and the metadata it covers. Linux 5.14+.
    case evmSig = "evm-sig"

    /// The name written after `template=`.
    public var name: String { rawValue }

    public var description: String { rawValue }

    static let expectedList = "one of " + allCases.map(\.rawValue).joined(separator: ", ")
}
