import IMAFormat
import SignetCrypto
import Provenance

extension KeylimeRuntimePolicy {
    /// The reference this policy describes, judged the way Keylime judges:
    /// `digests` per path (`boot_aggregate` values go to
    /// `Reference.bootAggregates`; the verifier checks the aggregate against
    /// the quoted PCRs), `excludes` as start-anchored regular expressions,
    /// `keyrings` and `ignored_keyrings` for key measurements, `ima-buf` for
    /// other buffers, `verification-keys` as signing keys. Certificates in
    /// `trustStore` are trusted too.
    ///
    /// One deliberate difference: excludes never excuse a key measurement
    /// (use `ignored_keyrings` for that), because a key in `.ima` decides
    /// what the kernel runs.
    public func reference(trustStore: TrustStore = TrustStore([])) throws(ReferenceError) -> Reference {
        var reference = Reference(trustStore: trustStore, logHashAlgorithm: logHashAlgorithm)
        reference.digests.reserveCapacity(paths: digests.count)
        for (path, hexDigests) in digests {
            var values = [AlgorithmDigest]()
            for (i, hex) in hexDigests.enumerated() { values.append(try Self.digest(hex, field: "digests.\(path)[\(i)]")) }
            if path == BootAggregate.eventName {
                reference.bootAggregates.formUnion(values.map(\.bytes))
            } else {
                for value in values { reference.digests.allow(value, at: FilePath(path)) }
            }
        }
        for (i, pattern) in excludes.enumerated() {
            do {
                reference.excludes.append(try PathPattern.regex(pattern))
            } catch {
                throw ReferenceError(code: .invalidPattern, field: "excludes[\(i)]", reason: error.reason)
            }
        }
        var keyringDigests = [String: Set<AlgorithmDigest>]()
        for (keyring, hexDigests) in keyrings {
            for (i, hex) in hexDigests.enumerated() {
                keyringDigests[keyring, default: []].insert(try Self.digest(hex, field: "keyrings.\(keyring)[\(i)]"))
            }
        }
        reference.keyrings = KeyringReference(ignored: Set(ignoredKeyrings), digests: keyringDigests)
        for (name, hexDigests) in buffers {
            for (i, hex) in hexDigests.enumerated() {
                reference.buffers[name, default: []].insert(try Self.digest(hex, field: "ima-buf.\(name)[\(i)]"))
            }
        }
        if !verificationKeys.isEmpty {
            reference.verificationKeys = try KeylimeVerificationKeys(parsing: verificationKeys).keys
        }
        return reference
    }

    /// The policy for a reference, and what it could not express.
    public struct Export: Sendable {
        public let policy: KeylimeRuntimePolicy
        /// Parts of the reference Keylime's format cannot carry (non-UTF-8
        /// paths, path-less digests, `anyPath` scope, …), for the user.
        public let warnings: [String]
    }

    /// A runtime policy Keylime's verifier accepts, from a reference:
    /// - `digests`: every listed path with its digests (hex, sorted), plus
    ///   `boot_aggregate` with `Reference.bootAggregates`;
    /// - `excludes`: regexes as written, globs translated (`PathPattern.keylimeRegex`);
    /// - `keyrings`: the SHA-256 of the DER of every trusted and expected
    ///   certificate under each allowed keyring (when any keyring is allowed:
    ///   `.ima` and `_ima`, the names the kernel logs the IMA keyring under, with
    ///   and without a trusted integrity keyring), plus the reference's own keyring digests. Keylime compares
    ///   the digest IMA records, so this assumes `ima_hash=sha256`;
    /// - `ima-buf`: the reference's buffers, and `kernel_version` with the
    ///   SHA-256 of each allowed kernel release;
    /// - `verification-keys`: the trust store's keys and the bare verification keys.
    public static func export(_ reference: Reference, timestamp: String? = nil) -> Export {
        var warnings = [String]()
        var digests = [String: Set<String>]()
        for (path, values) in reference.digests.byPath {
            guard let text = path.utf8String else {
                warnings.append("path \(path) is not UTF-8: Keylime policies key paths by text; left out")
                continue
            }
            digests[text, default: []].formUnion(values.map { Hex.encode($0.bytes) })
        }
        if !reference.digests.pathless.isEmpty {
            warnings.append("\(reference.digests.pathless.count) digest(s) not tied to a path cannot be expressed; left out")
        }
        if reference.manifestScope == .anyPath {
            warnings.append("manifest scope any-path cannot be expressed: Keylime accepts a digest only for its own path")
        }
        if !reference.bootAggregates.isEmpty {
            digests[BootAggregate.eventName, default: []].formUnion(reference.bootAggregates.map(Hex.encode))
        } else {
            warnings.append("no boot_aggregate values: Keylime accepts the boot_aggregate entry only when its measured-boot policy supplies them")
        }
        if let policy = reference.imaPolicy {
            // Keylime has no policy notion: the policy file is a path with known digests.
            for path in policy.paths {
                guard let text = path.utf8String else { continue }
                digests[text, default: []].formUnion(policy.digests.map { Hex.encode($0.bytes) })
            }
        }
        if reference.allowsViolations { warnings.append("allowing violations cannot be expressed") }

        var keyrings = [String: Set<String>]()
        let keyringNames = reference.keyrings.allowed.map { Array($0) } ?? [".ima", "_ima"]
        for certificate in reference.trustStore.certificates + reference.keyrings.certificates {
            for name in keyringNames { keyrings[name, default: []].insert(Hex.encode(certificate.fingerprintSHA256)) }
        }
        for (name, values) in reference.keyrings.digests { keyrings[name, default: []].formUnion(values.map { Hex.encode($0.bytes) }) }

        var buffers = [String: Set<String>]()
        for (name, values) in reference.buffers { buffers[name, default: []].formUnion(values.map { Hex.encode($0.bytes) }) }
        for release in reference.kernelReleases {
            buffers[EntryJudge.kernelVersionEventName, default: []].insert(Hex.encode(Digester.hash(Array(release.utf8), .sha256)))
        }

        var keys = reference.trustStore.certificates.map { VerificationKey(keyID: $0.imaKeyID, publicKey: $0.publicKey) }
        keys += reference.verificationKeys

        func sorted(_ map: [String: Set<String>]) -> [String: [String]] {
            map.filter { !$0.value.isEmpty }.mapValues { $0.sorted() }
        }
        let policy = KeylimeRuntimePolicy(
            timestamp: timestamp, digests: sorted(digests), excludes: reference.excludes.map(\.keylimeRegex),
            keyrings: sorted(keyrings), ignoredKeyrings: reference.keyrings.ignored.sorted(),
            logHashAlgorithm: logHashAlgorithms.contains(reference.logHashAlgorithm) ? reference.logHashAlgorithm : .sha1,
            buffers: sorted(buffers), verificationKeys: keys.isEmpty ? "" : KeylimeVerificationKeys(keys: keys).encoded())
        return Export(policy: policy, warnings: warnings)
    }

    /// A runtime policy from provenance manifests and the signing certificates.
    public static func export(manifests: [Manifest], certificates: [Certificate], timestamp: String? = nil) -> Export {
        var reference = Reference(trustStore: TrustStore(certificates))
        for manifest in manifests { reference.add(manifest) }
        return export(reference, timestamp: timestamp)
    }

    /// A policy digest with its algorithm. Keylime writes digests without
    /// their algorithm; the length tells it: 40 hex digits sha1, 56 sha224,
    /// 64 sha256, 96 sha384, 128 sha512. 64 digits are taken as SHA-256
    /// only: an `sm3` (also 256-bit) measurement never matches one, as the
    /// verifier does not compare sm3 digests. Any other length is refused.
    static func digest(_ hex: String, field: String) throws(ReferenceError) -> AlgorithmDigest {
        guard isPolicyDigest(hex), let bytes = Hex.decode(hex) else {
            throw ReferenceError(code: .invalidField, field: field, reason: "\"\(hex.prefix(140))\" is not 40-128 lower-case hex digits")
        }
        guard let algorithm = policyDigestAlgorithms.first(where: { $0.digestLength == bytes.count }) else {
            throw ReferenceError(code: .invalidField, field: field,
                                 reason: "\"\(hex.prefix(140))\" has \(hex.utf8.count) hex digits, which is no digest length IMA uses "
                                    + "(40 sha1, 56 sha224, 64 sha256, 96 sha384, 128 sha512)")
        }
        return AlgorithmDigest(algorithm, bytes)
    }

    /// The algorithms a policy digest may be, told apart by length.
    static let policyDigestAlgorithms: [HashAlgorithm] = [.sha1, .sha224, .sha256, .sha384, .sha512]
}
