import BootReference
import IMAFormat
import SignetCrypto
import Provenance

/// What a node is judged against: who may sign its code, which file
/// contents are known good, what is not judged, which keys its keyrings may
/// receive, and a few strictness switches. Built from the enterprise's
/// certificates and provenance manifests, or imported from a Keylime
/// runtime policy (`KeylimeRuntimePolicy.reference`).
///
/// A value type with no I/O: load files first, then build it.
public struct Reference: Sendable {
    /// Certificates whose keys may sign files (`ima-sig` entries), found by keyid.
    public var trustStore: TrustStore
    /// Bare public keys that may sign files too (Keylime's `verification-keys`).
    public var verificationKeys: [VerificationKey]
    /// Known-good digests per path (provenance manifests).
    public var digests: DigestAllowlist
    /// Whether a digest listed for another path is good enough.
    public var manifestScope: ManifestScope
    /// Paths and buffer names not judged.
    public var excludes: [PathPattern]
    /// What may be loaded into keyrings.
    public var keyrings: KeyringReference
    /// Known digests of other `ima-buf` measurements by name (Keylime's
    /// `ima-buf`), e.g. critical data such as `selinux-state`.
    public var buffers: [String: Set<AlgorithmDigest>]
    /// The IMA policy file the node must load, when the policy measures it.
    public var imaPolicy: ExpectedIMAPolicy?
    /// Kernel releases (`uname -r`) allowed; empty allows any. Checked
    /// against the log's `kernel_version` measurement.
    public var kernelReleases: Set<String>
    /// Accept SHA-1 file digests and signatures (default no: SHA-1 is broken
    /// for collisions, and a node measuring with it is misconfigured).
    public var allowsSHA1: Bool
    /// Accept violation entries (ToMToU, open-writers). Default no: their
    /// data is not covered by the PCR, and they mean a measured file was
    /// changed while in use.
    public var allowsViolations: Bool
    /// Known-good `boot_aggregate` values (Keylime keeps them in `digests`).
    /// Informational: the verifier checks the aggregate against the quoted PCRs 0-9.
    public var bootAggregates: Set<[UInt8]>
    /// The template-hash algorithm of the node's log (Keylime's
    /// `ima.log_hash_alg`: sha1 for `binary_runtime_measurements`).
    public var logHashAlgorithm: HashAlgorithm
    /// What the node's measured boot must show (`signet boot-reference create`). When set, every
    /// round's evidence must carry the firmware event log, its replay must reach the quoted PCRs
    /// 0-9, and the boot must pass `BootJudge` before any IMA entry is judged. nil: the boot is
    /// not judged (boot_aggregate is still checked against PCRs 0-9).
    public var boot: BootReference?

    public init(trustStore: TrustStore = TrustStore([]), verificationKeys: [VerificationKey] = [],
                digests: DigestAllowlist = DigestAllowlist(), manifestScope: ManifestScope = .samePath,
                excludes: [PathPattern] = [], keyrings: KeyringReference = KeyringReference(),
                buffers: [String: Set<AlgorithmDigest>] = [:], imaPolicy: ExpectedIMAPolicy? = nil,
                kernelReleases: Set<String> = [], allowsSHA1: Bool = false, allowsViolations: Bool = false,
                bootAggregates: Set<[UInt8]> = [], logHashAlgorithm: HashAlgorithm = .sha1, boot: BootReference? = nil) {
        self.trustStore = trustStore
        self.verificationKeys = verificationKeys
        self.digests = digests
        self.manifestScope = manifestScope
        self.excludes = excludes
        self.keyrings = keyrings
        self.buffers = buffers
        self.imaPolicy = imaPolicy
        self.kernelReleases = kernelReleases
        self.allowsSHA1 = allowsSHA1
        self.allowsViolations = allowsViolations
        self.bootAggregates = bootAggregates
        self.logHashAlgorithm = logHashAlgorithm
        self.boot = boot
    }

    /// Adds every entry of a provenance manifest to the allowlist: its
    /// content digest, with its algorithm, at its path. Check the manifest's
    /// signature first (`ManifestSignature.verify`): an unsigned manifest is
    /// not a reference.
    public mutating func add(_ manifest: Manifest) {
        for entry in manifest.entries {
            digests.allow(AlgorithmDigest(entry.digestAlgorithm, entry.digest), at: entry.path)
        }
    }

    /// True when an exclude pattern covers `path` (a file path or buffer name).
    public func isExcluded(_ path: [UInt8]) -> Bool {
        excludes.contains { $0.matches(path) }
    }
}
