import IMAFormat
import SignetCrypto
import Signing

/// Judges each measurement of a node's log against a `Reference`.
///
/// For a file measurement (`ima`, `ima-ng`, `ima-sig`, …), in order:
/// 1. a violation fails unless the reference allows violations;
/// 2. an entry for another PCR than the replayed one fails;
/// 3. an excluded path is accepted;
/// 4. a SHA-1 digest fails unless SHA-1 is allowed;
/// 5. the IMA policy file must have an expected digest;
/// 6. a signature (`sig` field, v2) that verifies over the measured digest
///    with a trusted certificate or key accepts the file;
/// 7. otherwise the digest must be listed for the path (or anywhere, with
///    `ManifestScope.anyPath` and an unlisted path);
/// 8. otherwise it fails, with the most specific reason: the path is listed
///    with other digests (`digest-mismatch`), the signature is bad or its key
///    unknown, or the file is simply unsigned and unlisted.
///
/// `boot_aggregate` is checked against the quoted PCRs (`JudgeContext`), and
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
    let signerFingerprints: Set<[UInt8]>
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
        signerFingerprints = Set(keys.values.flatMap { $0.map(\.fingerprint) })
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
        if name == Array(BootAggregate.eventName.utf8) {
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

    private enum SignatureOutcome {
        case none
        case verified
        case failed(EntryFailureCode, String)
    }

    private func judgeFile(_ entry: MeasurementEntry, path: FilePath) -> EntryJudgement {
        guard let digest = entry.eventDigest else {
            return reject(entry, .malformedEntry, "the entry has no file digest (d/d-ng) field")
        }
        if reference.isExcluded(path.bytes) { return .accepted(.excluded) }
        let algorithm = digest.algorithm
        if let algorithm, digest.digest.count != algorithm.digestLength {
            return reject(entry, .malformedEntry,
                          "a \(algorithm) digest of \(digest.digest.count) byte(s); expected \(algorithm.digestLength)")
        }
        if algorithm == .sha1 && !reference.allowsSHA1 {
            return reject(entry, .sha1NotAllowed,
                          "measured with SHA-1 (\(entry.templateName)); the reference does not accept SHA-1 (boot with ima_hash=sha256 and an ima-ng/ima-sig template)")
        }
        if let policy = reference.imaPolicy, policy.paths.contains(path) {
            guard policy.digests.contains(digest.digest) else {
                return reject(entry, .imaPolicyMismatch,
                              "the IMA policy file was measured as \(digest); it is not the expected policy")
            }
            return .accepted(.imaPolicy)
        }

        let signature = checkSignature(entry, digest: digest)
        if case .verified = signature { return .accepted(.signature) }

        let signatureNote: String
        switch signature {
        case .failed(_, let reason): signatureNote = "; signature: \(reason)"
        default: signatureNote = "; no signature"
        }
        if reference.digests.allows(digest.digest, at: path.bytes) == true { return .accepted(.manifest) }
        if let listed = reference.digests.digests(at: path) {
            if listed.contains(digest.digest) { return .accepted(.manifest) }
            let known = listed.prefix(3).map(Hex.encode).sorted().joined(separator: ", ")
            return reject(entry, .digestMismatch,
                          "measured \(digest), but the manifest lists \(listed.count == 1 ? "" : "\(listed.count) digests: ")\(known)\(listed.count > 3 ? ", …" : "") for this path\(signatureNote)")
        }
        if reference.manifestScope == .anyPath && reference.digests.anywhere.contains(digest.digest) {
            return .accepted(.manifest)
        }
        if case .failed(let code, let reason) = signature {
            return reject(entry, code, "\(reason), and \(digest) is not in any manifest for this path")
        }
        return reject(entry, .unsignedNotInManifest, "not signed, and \(digest) is not in any manifest for this path")
    }

    /// Verifies the `sig` field over the measured digest, through the cache.
    private func checkSignature(_ entry: MeasurementEntry, digest: EventDigest) -> SignatureOutcome {
        guard let field = entry.field(.signature), case .xattr(let raw, let decoded) = field.value else { return .none }
        let xattr: IMAXattr
        switch decoded {
        case .success(let value): xattr = value
        case .failure(let error): return .failed(.unsupportedSignature, "malformed sig field (\(raw.count) bytes): \(error)")
        }
        guard case .signature(let signature) = xattr else {
            return .failed(.unsupportedSignature, "the sig field holds a type 0x\(Hex.encode([xattr.typeByte])) xattr, not a signature")
        }
        guard signature.kind == .ima else {
            return .failed(.unsupportedSignature,
                           signature.kind == .verity ? "fs-verity signatures are not verified"
                                                     : "an EVM portable signature does not sign the file content")
        }
        guard signature.version == 2 else {
            return .failed(.unsupportedSignature, "signature version \(signature.version) is not verified (v2 only)")
        }
        if digest.type == .verity {
            return .failed(.unsupportedSignature, "the digest is an fs-verity digest; a v2 signature signs the file content digest")
        }
        guard digest.algorithm == signature.hashAlgorithm else {
            return .failed(.badSignature,
                           "the signature is over a \(signature.hashAlgorithm) digest but the file was measured with \(digest.algorithmName)")
        }
        if signature.hashAlgorithm == .sha1 && !reference.allowsSHA1 {
            return .failed(.badSignature, "a SHA-1 signature, which the reference does not accept")
        }
        let keyHex = signature.keyIDHex
        let candidates = signingKeys[signature.keyID] ?? []
        guard !candidates.isEmpty else {
            return .failed(.unknownKey, "signed with keyid \(keyHex), which no trusted certificate or key has")
        }
        let cacheKey = SignatureCache.Key(keyID: signature.keyID, algorithm: signature.hashAlgorithm,
                                          digest: digest.digest, signature: signature.signature)
        if let signer = cache.signer(of: cacheKey), signerFingerprints.contains(signer) {
            return .verified
        }
        for candidate in candidates
            where candidate.verifiers.verify(signature: signature.signature, digest: digest.digest, algorithm: signature.hashAlgorithm) {
            cache.remember(cacheKey, signer: candidate.fingerprint)
            return .verified
        }
        return .failed(.badSignature, "the signature by keyid \(keyHex) does not verify over \(digest)")
    }
}
