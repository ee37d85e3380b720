import IMAFormat
import SignetCrypto
import Provenance

/// Judges each measurement of a node's log against a `Reference`.
///
/// For a file measurement (`ima`, `ima-ng`, `ima-sig`, …), in order:
/// 1. a violation fails unless the reference allows violations; then any
///    malformed entry fails, whatever it measures (`malformed-entry`:
///    `MeasurementEntry.malformation`: a name with a NUL inside or without
///    its terminating NUL, a digest algorithm this verifier does not know,
///    a digest whose length is not its algorithm's);
/// 2. an entry for another PCR than the replayed one fails;
/// 3. an excluded path is accepted;
/// 4. a SHA-1 digest fails unless SHA-1 is allowed;
/// 5. the IMA policy file must have an expected digest;
/// 6. a signature (`sig` field, v2) that verifies over the measured digest
///    with a trusted certificate or key accepts the file;
/// 7. otherwise the (algorithm, digest) must be listed for the path (or
///    anywhere, with `ManifestScope.anyPath` and an unlisted path);
/// 8. otherwise it fails, with the most specific reason: the path is listed
///    with other digests (`digest-mismatch`), the signature is bad or its key
///    unknown, or the file is simply unsigned and unlisted.
///
/// `boot_aggregate` is checked against the quoted PCRs (`JudgeContext`) unless
/// an exclude pattern names it, and
/// `ima-buf` measurements as keys (KEY_CHECK: the certificate must be
/// trusted), the kernel's `kernel_version`, or named buffers. The judge is
/// a value: share one across threads; verified signatures go to `cache`.
public struct EntryJudge: Sendable {
    /// A key that may sign files, with the fingerprint (SHA-256 of its
    /// SubjectPublicKeyInfo) the signature cache stores.
    struct SigningKey: Sendable {
        let fingerprint: [UInt8]
        let key: PublicKey
        /// Its signature checks, prepared once, for the full judge and the fast path alike.
        let verifiers: PreparedVerifierPool

        init(fingerprint: [UInt8], key: PublicKey) {
            self.fingerprint = fingerprint
            self.key = key
            verifiers = PreparedVerifierPool(key: key)
        }
    }

    public let reference: Reference
    public let cache: SignatureCache
    let signingKeys: [UInt32: [SigningKey]]
    /// Prepared verifiers per trusted keyid, with their signer ids in `cache`.
    let verifiers: SignatureVerifiers
    /// SHA-256 of the DER of every certificate a keyring may receive.
    let keyringCertificates: Set<[UInt8]>

    public init(reference: Reference, cache: SignatureCache = SignatureCache()) {
        self.reference = reference
        self.cache = cache
        var keys = [UInt32: [SigningKey]]()
        for certificate in reference.trustStore.certificates {
            let key = certificate.publicKey
            keys[certificate.imaKeyID, default: []].append(SigningKey(fingerprint: Digester.hash(key.spkiDER, .sha256), key: key))
        }
        for verificationKey in reference.verificationKeys {
            let key = verificationKey.publicKey
            keys[verificationKey.keyID, default: []].append(
                SigningKey(fingerprint: Digester.hash(key.spkiDER, .sha256), key: key))
        }
        signingKeys = keys
        verifiers = SignatureVerifiers(pools: keys.filter { !$0.value.isEmpty }.mapValues { keys in
            keys.map { SignatureVerifiers.Candidate(signer: cache.signerID(for: $0.fingerprint), pool: $0.verifiers) }
        })
        keyringCertificates = Set((reference.trustStore.certificates + reference.keyrings.certificates).map(\.fingerprintSHA256))
    }

    /// The judgement of one entry.
    public func judge(_ entry: MeasurementEntry, context: JudgeContext) -> EntryJudgement {
        if entry.isViolation {
            if reference.allowsViolations { return .accepted(.allowedViolation) }
            return reject(entry, .violation,
                          "violation entry: a measured file was opened for writing while in use (or written while measured); "
                          + "its name and digest are not covered by the PCR")
        }
        if let malformation = entry.malformation {
            return reject(entry, .malformedEntry, malformation.description)
        }
        guard entry.pcrIndex == context.imaPCR else {
            return reject(entry, .unexpectedPCR,
                          "extends PCR \(entry.pcrIndex); only PCR \(context.imaPCR) is replayed against the quote, so this entry is unverified")
        }
        guard let name = entry.eventName else {
            return reject(entry, .malformedEntry, "the entry has no event name (n/n-ng) field")
        }
        if entry.field(.buffer) != nil {
            return judgeBuffer(entry, name: name, context: context)
        }
        if name.withUnsafeBytes(Self.isBootAggregate) {
            if !reference.excludes.isEmpty, reference.isExcluded(name) { return .accepted(.excluded) }
            return judgeBootAggregate(entry, context: context)
        }
        return judgeFile(entry, path: FilePath(bytes: name))
    }

    func reject(_ entry: MeasurementEntry, _ code: EntryFailureCode, _ reason: String) -> EntryJudgement {
        .rejected(EntryFailure(entry: entry, code: code, reason: reason))
    }

    // MARK: - boot_aggregate

    private func judgeBootAggregate(_ entry: MeasurementEntry, context: JudgeContext) -> EntryJudgement {
        guard let digest = entry.eventDigest, let algorithm = digest.algorithm else {
            return reject(entry, .malformedEntry, "boot_aggregate has no digest of a known algorithm")
        }
        guard let expected = context.bootAggregates[algorithm] else {
            if !context.requiresBootAggregate && context.bootAggregates.isEmpty { return .accepted(.bootAggregateNotChecked) }
            let pcrs = BootAggregate.pcrIndices(for: algorithm)
            return reject(entry, .bootAggregateUnverifiable,
                          "boot_aggregate is \(algorithm); the quote does not cover \(algorithm) PCRs \(pcrs.lowerBound)-\(pcrs.upperBound)")
        }
        guard digest.digest == expected else {
            return reject(entry, .bootAggregateMismatch,
                          "boot_aggregate is \(Hex.encode(digest.digest)); the quoted PCRs give \(Hex.encode(expected)): "
                          + "the log does not belong to this boot")
        }
        return .accepted(.bootAggregate)
    }

    // MARK: - Files

    /// Judges a file measurement: the digest must name a known algorithm with
    /// its length, then `fileRuling` (the one ordered rule list, shared with
    /// `LogChecker`'s in-place path), then the manifest.
    private func judgeFile(_ entry: MeasurementEntry, path: FilePath) -> EntryJudgement {
        guard let digest = entry.eventDigest else {
            return reject(entry, .malformedEntry, "the entry has no file digest (d/d-ng) field")
        }
        // `judge` refused a malformed entry already; kept so that this holds whatever the caller.
        guard let algorithm = digest.algorithmDigest?.algorithm else {
            return reject(entry, .malformedEntry, digest.problem ?? "the digest cannot be compared")
        }
        var signatureField: [UInt8] = []
        if let field = entry.field(.signature), case .xattr(let raw, _) = field.value { signatureField = raw }
        let isVerity = digest.type == .verity
        let ruling = path.bytes.withUnsafeBytes { p in
            digest.digest.withUnsafeBytes { d in
                signatureField.withUnsafeBytes { s in
                    fileRuling(path: p, algorithm: algorithm, digest: d, isVerity: isVerity, signature: s)
                }
            }
        }
        switch ruling {
        case .accepted(let acceptance):
            return .accepted(acceptance)
        case .refused(.sha1NotAllowed):
            return reject(entry, .sha1NotAllowed,
                          "measured with SHA-1 (\(entry.templateName)); the reference does not accept SHA-1 (boot with ima_hash=sha256 and an ima-ng/ima-sig template)")
        case .refused(.imaPolicyMismatch):
            return reject(entry, .imaPolicyMismatch,
                          "the IMA policy file was measured as \(digest); it is not the expected policy")
        case .manifestDecides(let signature):
            return manifestDecision(entry, path: path, digest: digest, algorithm: algorithm, signature: signature)
        }
    }

    /// Rule 7 and the failure reasons of rule 8.
    private func manifestDecision(_ entry: MeasurementEntry, path: FilePath, digest: EventDigest, algorithm: HashAlgorithm,
                                  signature: SignatureOutcome) -> EntryJudgement {
        let listedHere = path.bytes.withUnsafeBytes { p in digest.digest.withUnsafeBytes { d in manifestLists(path: p, algorithm: algorithm, digest: d) } }
        if listedHere { return .accepted(.manifest) }
        let signatureNote: String
        switch signature {
        case .failed(_, let reason): signatureNote = "; signature: \(reason)"
        default: signatureNote = "; no signature"
        }
        if let listed = reference.digests.digests(at: path) {
            let known = listed.prefix(3).map(\.description).sorted().joined(separator: ", ")
            return reject(entry, .digestMismatch,
                          "measured \(digest), but the manifest lists \(listed.count == 1 ? "" : "\(listed.count) digests: ")\(known)\(listed.count > 3 ? ", …" : "") for this path\(signatureNote)")
        }
        if reference.manifestScope == .anyPath && reference.digests.anywhere.contains(AlgorithmDigest(algorithm, digest.digest)) {
            return .accepted(.manifest)
        }
        if case .failed(let code, let reason) = signature {
            return reject(entry, code, "\(reason), and \(digest) is not in any manifest for this path")
        }
        return reject(entry, .unsignedNotInManifest, "not signed, and \(digest) is not in any manifest for this path")
    }
}
