/// Why a measurement was rejected: a stable, machine-readable reason. The
/// raw value is what the JSON verdict carries.
public enum EntryFailureCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// No valid signature by a trusted key, and the digest is not listed for the path.
    case unsignedNotInManifest = "unsigned-not-in-manifest"
    /// A signature whose keyid is trusted does not verify over the digest.
    case badSignature = "bad-signature"
    /// The signature's keyid names no trusted certificate or key.
    case unknownKey = "unknown-key"
    /// A signature kind this verifier does not check (v3, fs-verity, EVM portable) or a malformed one.
    case unsupportedSignature = "unsupported-signature"
    /// The path is listed in a manifest with other digests: the file was changed.
    case digestMismatch = "digest-mismatch"
    /// A SHA-1 file digest while the reference does not accept SHA-1.
    case sha1NotAllowed = "sha1-not-allowed"
    /// A violation entry (ToMToU / open-writers).
    case violation
    /// The entry lacks the digest or name a judgement needs, or they have the wrong layout.
    case malformedEntry = "malformed-entry"
    /// The entry extends a PCR other than the one replayed against the quote.
    case unexpectedPCR = "unexpected-pcr"
    /// `boot_aggregate` differs from the aggregate of the quoted PCRs 0-9.
    case bootAggregateMismatch = "boot-aggregate-mismatch"
    /// The quote lacks the PCRs (or bank) needed to check `boot_aggregate`.
    case bootAggregateUnverifiable = "boot-aggregate-unverifiable"
    /// A certificate not in the reference was loaded into a keyring.
    case unknownKeyringKey = "unknown-keyring-key"
    /// A key was loaded into a keyring the reference does not allow.
    case keyringNotAllowed = "keyring-not-allowed"
    /// An `ima-buf` measurement whose name the reference does not know.
    case unknownBuffer = "unknown-buffer"
    /// An `ima-buf` measurement whose digest is not a known one for its name.
    case bufferDigestMismatch = "buffer-digest-mismatch"
    /// An `ima-buf` entry whose recorded digest is not the hash of its buffer.
    case bufferDigestInconsistent = "buffer-digest-inconsistent"
    /// The kernel's `kernel_version` measurement differs from the release the evidence claims.
    case kernelReleaseMismatch = "kernel-release-mismatch"
    /// The measured kernel release is not one the reference allows.
    case kernelNotAllowed = "kernel-not-allowed"
    /// The IMA policy file was measured with an unexpected digest.
    case imaPolicyMismatch = "ima-policy-mismatch"
}
