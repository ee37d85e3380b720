#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Provenance

/// The file rules, written once over raw bytes. `judgeFile` (on a decoded
/// `MeasurementEntry`) and `LogChecker`'s in-place path (on the log's own
/// bytes) both call `fileRuling`, so there is one order of rules: a rule
/// added here holds on every path. Only the manifest lookup is left to the
/// caller, because the in-place path looks up a chunk of entries at once;
/// both callers use `manifestLists` for it, and a file the manifest does not
/// list goes through `judgeFile` for its failure reason.
extension EntryJudge {
    /// What rules 3-6 decide before the manifest is consulted.
    enum FileRuling {
        case accepted(Acceptance)
        /// Nothing before the manifest decided: the (path, digest) must be
        /// listed. `signature` is what the `sig` field said, for the reason.
        case manifestDecides(SignatureOutcome)
        case refused(FileRefusal)
    }

    enum FileRefusal {
        case sha1NotAllowed
        case imaPolicyMismatch
    }

    /// What a `sig` field says about a file.
    enum SignatureOutcome {
        /// No signature (an empty `sig` field, or a template without one).
        case none
        /// A v2 IMA signature over the measured digest by a trusted key.
        case verified
        case failed(EntryFailureCode, String)
    }

    /// Whether an event name is the kernel's `boot_aggregate`.
    static func isBootAggregate(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count == 14 && memcmp(name.baseAddress!, "boot_aggregate", 14) == 0
    }

    /// Rules 3-6 of `EntryJudge`, in order, for a file measured with
    /// `algorithm` (a digest of that algorithm's length) at `path` (the
    /// exact name, no NUL): excluded → accepted; SHA-1 without `allowsSHA1`
    /// → refused; the IMA policy file → its digest decides; a signature that
    /// verifies → accepted; else the manifest decides.
    func fileRuling(path: UnsafeRawBufferPointer, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer, isVerity: Bool,
                    signature: UnsafeRawBufferPointer) -> FileRuling {
        if !reference.excludes.isEmpty, reference.isExcluded(Array(path)) { return .accepted(.excluded) }
        if algorithm == .sha1 && !reference.allowsSHA1 { return .refused(.sha1NotAllowed) }
        if let policy = reference.imaPolicy, policy.paths.contains(FilePath(bytes: Array(path))) {
            return policy.digests.contains(AlgorithmDigest(algorithm, Array(digest))) ? .accepted(.imaPolicy) : .refused(.imaPolicyMismatch)
        }
        let outcome = signatureOutcome(signature, algorithm: algorithm, digest: digest, isVerity: isVerity)
        if case .verified = outcome { return .accepted(.signature) }
        return .manifestDecides(outcome)
    }

    /// Rule 7's lookup: the manifest lists this (algorithm, digest) at this path.
    func manifestLists(path: UnsafeRawBufferPointer, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer) -> Bool {
        reference.digests.contains(algorithm, digest, at: path)
    }

    /// Verifies a `sig` field over the measured digest (through the cache).
    /// A regular v2 signature is read in place; anything else is decoded
    /// with `IMAXattr` for an exact reason.
    func signatureOutcome(_ field: UnsafeRawBufferPointer, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                          isVerity: Bool) -> SignatureOutcome {
        if field.isEmpty { return .none }
        let header = IMASignature.headerLength
        guard !isVerity, field.count > header, field[0] == IMASignature.Kind.ima.rawValue, field[1] == 2,
              let hashAlgorithm = HashAlgorithm(rawValue: field[2]),
              Int(field[7]) << 8 | Int(field[8]) == field.count - header else {
            return irregularSignature(Array(field), algorithm: algorithm, isVerity: isVerity)
        }
        let keyID = UInt32(field[3]) << 24 | UInt32(field[4]) << 16 | UInt32(field[5]) << 8 | UInt32(field[6])
        // Only failures name the key: no string is made for a signature that verifies.
        func keyHex() -> String { Hex.encode([field[3], field[4], field[5], field[6]]) }
        guard hashAlgorithm == algorithm else {
            return .failed(.badSignature,
                           "the signature is over a \(hashAlgorithm) digest but the file was measured with \(algorithm)")
        }
        if hashAlgorithm == .sha1 && !reference.allowsSHA1 {
            return .failed(.badSignature, "a SHA-1 signature, which the reference does not accept")
        }
        guard let candidates = verifiers.pools[keyID], !candidates.isEmpty else {
            return .failed(.unknownKey, "signed with keyid \(keyHex()), which no trusted certificate or key has")
        }
        let signature = UnsafeRawBufferPointer(rebasing: field[header...])
        if let signer = cache.signer(keyID: keyID, algorithm: hashAlgorithm, digest: digest, signature: signature),
           verifiers.trustedSigners.contains(signer) {
            return .verified
        }
        for candidate in candidates where candidate.pool.verify(signature: signature, digest: digest, algorithm: algorithm) {
            cache.remember(keyID: keyID, algorithm: hashAlgorithm, digest: digest, signature: signature, signer: candidate.signer)
            return .verified
        }
        return .failed(.badSignature,
                       "the signature by keyid \(keyHex()) does not verify over \(EventDigest(algorithm: algorithm, digest: Array(digest)))")
    }

    /// The reason a `sig` field that is not a regular v2 IMA signature fails.
    private func irregularSignature(_ raw: [UInt8], algorithm: HashAlgorithm, isVerity: Bool) -> SignatureOutcome {
        let xattr: IMAXattr
        do { xattr = try IMAXattr(bytes: raw) } catch {
            return .failed(.unsupportedSignature, "malformed sig field (\(raw.count) bytes): \(error)")
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
        if isVerity {
            return .failed(.unsupportedSignature, "the digest is an fs-verity digest; a v2 signature signs the file content digest")
        }
        // A v2 IMA signature the in-place reader did not take (e.g. a length the header does not declare).
        return .failed(.unsupportedSignature, "the sig field's v2 signature header is inconsistent (\(raw.count) bytes)")
    }

    /// What the in-place path can tell about an `ima-ng`/`ima-sig` file
    /// measurement of `context.imaPCR` before the manifest lookup.
    enum InPlaceVerdict {
        case accepted(Acceptance)
        /// Accepted as `.manifest` exactly when `manifestLists` says so for
        /// the digest of this algorithm; else `judge(_:)` gives the failure.
        case manifestLookup(HashAlgorithm)
        /// Ask `judge(_:)`.
        case full
    }

    /// `judge(_:)` for a file measurement given as raw bytes: the `d-ng`
    /// algorithm name and digest, the exact `n-ng` name (without its
    /// terminating NUL) and the `sig` field. Accepts only through
    /// `fileRuling`; every refusal is left to `judge(_:)` for its reason,
    /// and so is anything `MeasurementEntry.malformation` would report: an
    /// algorithm name `knownAlgorithm` does not take, or a digest of another
    /// length (the caller sends a name that is not exactly path + NUL).
    func inPlaceVerdict(path: UnsafeRawBufferPointer, algorithmName: UnsafeRawBufferPointer, digest: UnsafeRawBufferPointer,
                        signature: UnsafeRawBufferPointer) -> InPlaceVerdict {
        if Self.isBootAggregate(path) { return .full }
        guard let algorithm = Self.knownAlgorithm(algorithmName, digestLength: digest.count) else { return .full }
        switch fileRuling(path: path, algorithm: algorithm, digest: digest, isVerity: false, signature: signature) {
        case .accepted(let acceptance): return .accepted(acceptance)
        case .manifestDecides: return .manifestLookup(algorithm)
        case .refused: return .full
        }
    }

    /// A `d-ng` algorithm name the kernel writes, with its digest length; nil
    /// otherwise (the full judge then decides, e.g. `sha224` or a malformed entry).
    static func knownAlgorithm(_ name: UnsafeRawBufferPointer, digestLength: Int) -> HashAlgorithm? {
        func equals(_ text: StaticString) -> Bool {
            name.count == text.utf8CodeUnitCount && memcmp(name.baseAddress!, text.utf8Start, name.count) == 0
        }
        switch (name.count, digestLength) {
        case (6, 32) where equals("sha256"): return .sha256
        case (4, 20) where equals("sha1"): return .sha1
        case (6, 48) where equals("sha384"): return .sha384
        case (6, 64) where equals("sha512"): return .sha512
        default: return nil
        }
    }
}

/// Per trusted keyid, the keys (as the cache's signer ids) and prepared verifier pools.
final class SignatureVerifiers: Sendable {
    struct Candidate: Sendable {
        let signer: SignatureCache.SignerID
        let pool: PreparedVerifierPool
    }
    let pools: [UInt32: [Candidate]]
    /// Every candidate's signer id: a cached signature counts only when its signer is here.
    let trustedSigners: [SignatureCache.SignerID]
    init(pools: [UInt32: [Candidate]]) {
        self.pools = pools
        trustedSigners = pools.values.flatMap { $0.map(\.signer) }
    }
}
