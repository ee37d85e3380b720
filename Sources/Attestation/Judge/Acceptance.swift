/// Why a measurement was accepted. Counted in the verdict so an operator sees
/// how much of a node's code is signed, merely listed, or excluded.
public enum Acceptance: String, Sendable, Hashable, CaseIterable, Codable {
    /// `ima-sig`: the file's signature verifies over its digest with a trusted key.
    case signature
    /// The digest is a known-good one for the path (provenance manifest or Keylime `digests`).
    case manifest
    /// An exclude pattern covers the path or buffer name.
    case excluded
    /// `boot_aggregate` equals the aggregate of the quoted PCRs 0-9.
    case bootAggregate = "boot-aggregate"
    /// `boot_aggregate` in a check without PCR 0-9 values (`attest check-log`
    /// without `--boot-aggregate` or `--tpm-pcrs`): it cannot be checked, and
    /// is counted under this name instead of failing the log. `attest verify`
    /// and the service always check it against the quote.
    case bootAggregateNotChecked = "boot-aggregate-not-checked"
    /// A key measurement (KEY_CHECK) of a trusted certificate or known key digest.
    case trustedKey = "trusted-key"
    /// A key measurement for a keyring the reference ignores.
    case ignoredKeyring = "ignored-keyring"
    /// An `ima-buf` measurement with a known digest.
    case knownBuffer = "known-buffer"
    /// The kernel's `kernel_version` measurement, matching the evidence and the allowed releases.
    case kernelVersion = "kernel-version"
    /// A violation entry, accepted because the reference allows them.
    case allowedViolation = "allowed-violation"
    /// The IMA policy file, with an expected digest.
    case imaPolicy = "ima-policy"
}
