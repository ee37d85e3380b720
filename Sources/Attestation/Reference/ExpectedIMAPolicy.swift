import IMAFormat
import Provenance
import SignetCrypto

/// The IMA policy a node must run, as far as its log shows it.
///
/// The kernel measures a policy only when it is loaded by writing a *file
/// path* to securityfs under a `measure func=POLICY_CHECK` rule: the policy
/// file is read with `kernel_read_file(READING_POLICY)` and measured like any
/// file (security/integrity/ima/ima_main.c, `read_idmap[READING_POLICY] =
/// POLICY_CHECK`), so the entry is an ordinary `ima-ng`/`ima-sig` one with
/// the policy file's path and digest. Rules written one by one (as `signet
/// policy load` does) are not measured at all, and mainline has no
/// critical-data measurement of the active rules. A measurement of one of
/// `paths` must carry one of `digests`.
public struct ExpectedIMAPolicy: Sendable, Equatable {
    /// Where the policy file is measured from (`/etc/ima/ima-policy` by default).
    public var paths: Set<FilePath>
    /// Digests of the allowed policy files, in the algorithms the node measures with.
    public var digests: Set<AlgorithmDigest>

    public init(paths: Set<FilePath> = [FilePath("/etc/ima/ima-policy")], digests: Set<AlgorithmDigest>) {
        self.paths = paths
        self.digests = digests
    }

    /// The expected policy from its file content: its SHA-1, SHA-256, SHA-384
    /// and SHA-512 digests are allowed (whatever `ima_hash` the node uses).
    public init(policyFile content: [UInt8], paths: Set<FilePath> = [FilePath("/etc/ima/ima-policy")]) {
        let algorithms: [HashAlgorithm] = [.sha1, .sha256, .sha384, .sha512]
        self.init(paths: paths, digests: Set(algorithms.map { AlgorithmDigest($0, Digester.hash(content, $0)) }))
    }
}
