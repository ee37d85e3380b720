/// What an `appraise` rule accepts as proof of integrity (`appraise_type=`).
///
/// Without it a rule also accepts a plain hash in security.ima, which anyone
/// able to write that xattr can recompute for a modified file.
public enum IMAAppraiseType: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// A signature in security.ima is required.
    case imasig
    /// A security.ima signature or an appended module-style signature
    /// (MODULE_CHECK, KEXEC_*; needs CONFIG_IMA_APPRAISE_MODSIG).
    case imasigOrModsig = "imasig|modsig"
    /// A v3 signature over the fs-verity digest; needs `digest_type=verity` before it.
    case sigv3

    /// The value written after `appraise_type=`.
    public var name: String { rawValue }

    public var description: String { rawValue }

    static let expectedList = "imasig, imasig|modsig or sigv3"
}
