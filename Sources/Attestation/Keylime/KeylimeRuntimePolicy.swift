#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import StrictJSON

/// A Keylime runtime policy (the JSON `keylime-policy create runtime`
/// writes and Keylime's verifier checks IMA logs against), read and written
/// field for field.
///
/// The shape is Keylime's `RuntimePolicyType` (keylime/ima/types.py) and its
/// JSON schema `RUNTIME_POLICY_SCHEMA` (keylime/ima/ima.py, applied by
/// `validate_runtime_policy`):
/// ```
/// {"meta": {"version": 1, "generator": 3, "timestamp": "…"},
///  "release": 0,
///  "digests": {"/usr/bin/ls": ["<hex>", …], "boot_aggregate": ["<hex>"]},
///  "excludes": ["<python regex>", …],              matched with re.match (anchored at the start)
///  "keyrings": {".ima": ["<hex digest of the key data>"]},
///  "ima": {"ignored_keyrings": [], "log_hash_alg": "sha1", "dm_policy": null},
///  "ima-buf": {"<buffer name>": ["<hex>"]},
///  "verification-keys": "<JSON text: {\"keyids\": [int…], \"pubkeys\": [base64 DER SubjectPublicKeyInfo…]}>"}
/// ```
/// Every digest is lower-case hex of 40-128 characters, and every list in
/// `digests`, `keyrings` and `ima-buf` has at least one item (the schema's
/// `^[0-9a-f]{40,128}$` and `minItems: 1`). `meta.generator` must be above 1
/// (`EmptyAllowList`) for Keylime's verifier to expect an IMA log at all
/// (keylime/verification/tpm_engine.py `expects_ima_log`); Keylime's own tool
/// writes 3 (`LegacyAllowList`). `dm_policy` must be null in this schema
/// version; an optional `rules` string is carried through.
public struct KeylimeRuntimePolicy: Sendable, Equatable {
    /// `RUNTIME_POLICY_CURRENT_VERSION`.
    public static let currentVersion = 1
    /// `RUNTIME_POLICY_GENERATOR.LegacyAllowList`, what `keylime-policy create runtime` writes.
    public static let generatorLegacyAllowList = 3
    /// The generators the schema accepts (Unknown=0 … LegacyAllowList=3).
    public static let generators = 0...3
    /// `ima.log_hash_alg` values the schema accepts.
    public static let logHashAlgorithms: [HashAlgorithm] = [.sha1, .sha256, .sha384, .sha512]

    public var version: Int
    public var generator: Int
    public var timestamp: String?
    public var release: Int
    /// Path → allowed digests (lower-case hex).
    public var digests: [String: [String]]
    /// Python regular expressions of excluded paths.
    public var excludes: [String]
    /// Keyring name → allowed digests of key data.
    public var keyrings: [String: [String]]
    public var ignoredKeyrings: [String]
    public var logHashAlgorithm: HashAlgorithm
    /// `ima-buf`: buffer name → allowed digests.
    public var buffers: [String: [String]]
    /// `verification-keys`: empty, or the JSON text of an IMA keyring.
    public var verificationKeys: String
    /// `rules`, when present (an optional string in Keylime's type).
    public var rules: String?

    public init(version: Int = currentVersion, generator: Int = generatorLegacyAllowList, timestamp: String? = nil,
                release: Int = 0, digests: [String: [String]] = [:], excludes: [String] = [],
                keyrings: [String: [String]] = [:], ignoredKeyrings: [String] = [], logHashAlgorithm: HashAlgorithm = .sha1,
                buffers: [String: [String]] = [:], verificationKeys: String = "", rules: String? = nil) {
        self.version = version
        self.generator = generator
        self.timestamp = timestamp
        self.release = release
        self.digests = digests
        self.excludes = excludes
        self.keyrings = keyrings
        self.ignoredKeyrings = ignoredKeyrings
        self.logHashAlgorithm = logHashAlgorithm
        self.buffers = buffers
        self.verificationKeys = verificationKeys
        self.rules = rules
    }

    /// Parses and validates a runtime policy as Keylime's schema does, plus
    /// that every exclude compiles. Throws `ReferenceError` naming the field
    /// (`digests./usr/bin/ls[0]`). A DSSE-signed policy (`{"payload": …}`)
    /// is refused: verify the envelope and pass its payload.
    public init(parsing bytes: [UInt8]) throws(ReferenceError) {
        do {
            try StrictJSON.validate(bytes)
        } catch {
            throw ReferenceError(strict: error)
        }
        let document: KeylimePolicyDocument
        do {
            document = try JSONDecoder().decode(KeylimePolicyDocument.self, from: Data(bytes))
        } catch let error as ReferenceError {
            throw error
        } catch let error as DecodingError {
            let (kind, field, reason) = JSONFieldPath.describe(error)
            switch kind {
            case .notJSON: throw ReferenceError(code: .invalidJSON, field: "", reason: reason)
            case .missing: throw ReferenceError(code: .missingField, field: field, reason: reason)
            case .invalid: throw ReferenceError(code: .invalidField, field: field, reason: reason)
            }
        } catch {
            throw ReferenceError(code: .invalidJSON, field: "", reason: "\(error)")
        }
        try self.init(document: document)
    }

    /// The policy's JSON: sorted keys, every field the schema requires
    /// (`dm_policy` as null), ready for `keylime_tenant` / `keylime-policy`.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(KeylimePolicyDocument(self)))
    }

    // MARK: - Validation

    private init(document d: KeylimePolicyDocument) throws(ReferenceError) {
        func invalid(_ field: String, _ reason: String) -> ReferenceError {
            ReferenceError(code: .invalidField, field: field, reason: reason)
        }
        guard d.meta.version == Self.currentVersion else {
            throw ReferenceError(code: .unsupportedVersion, field: "meta.version",
                                 reason: "is \(d.meta.version); Keylime runtime policies are version \(Self.currentVersion)")
        }
        let generator = d.meta.generator ?? Self.generatorLegacyAllowList
        guard Self.generators.contains(generator) else {
            throw invalid("meta.generator", "is \(generator); expected 0 to 3")
        }
        let release = d.release ?? 0
        guard release >= 0 else { throw invalid("release", "is negative") }
        try Self.checkDigestMap(d.digests, field: "digests")
        try Self.checkDigestMap(d.keyrings, field: "keyrings")
        try Self.checkDigestMap(d.imaBuf, field: "ima-buf")
        for (i, exclude) in d.excludes.enumerated() {
            do {
                _ = try PathPattern.regex(exclude)
            } catch {
                throw ReferenceError(code: .invalidPattern, field: "excludes[\(i)]", reason: error.reason)
            }
        }
        guard let algorithm = HashAlgorithm(name: d.ima.logHashAlg), Self.logHashAlgorithms.contains(algorithm),
              algorithm.name == d.ima.logHashAlg else {
            throw invalid("ima.log_hash_alg", "is \"\(d.ima.logHashAlg)\"; expected sha1, sha256, sha384 or sha512")
        }
        if d.ima.dmPolicyPresent == false {
            throw ReferenceError(code: .missingField, field: "ima.dm_policy", reason: "required field is missing (null when unused)")
        }
        if d.ima.dmPolicyIsNull == false {
            throw invalid("ima.dm_policy", "device-mapper policies are not supported: the schema of version 1 requires null")
        }
        if !d.verificationKeys.isEmpty {
            _ = try KeylimeVerificationKeys(parsing: d.verificationKeys)
        }
        self.init(version: d.meta.version, generator: generator, timestamp: d.meta.timestamp, release: release,
                  digests: d.digests, excludes: d.excludes, keyrings: d.keyrings, ignoredKeyrings: d.ima.ignoredKeyrings,
                  logHashAlgorithm: algorithm, buffers: d.imaBuf, verificationKeys: d.verificationKeys, rules: d.rules)
    }

    /// `^[0-9a-f]{40,128}$` and at least one digest per name. Of several bad
    /// names, the error names the first in sorted order (the same error every
    /// time); only the bad ones are sorted.
    private static func checkDigestMap(_ map: [String: [String]], field: String) throws(ReferenceError) {
        var firstBad: String?
        for (name, digests) in map where digests.isEmpty || !digests.allSatisfy(isPolicyDigest) {
            if firstBad.map({ name < $0 }) ?? true { firstBad = name }
        }
        guard let name = firstBad, let digests = map[name] else { return }
        guard !digests.isEmpty else {
            throw ReferenceError(code: .invalidField, field: "\(field).\(name)", reason: "is empty; at least one digest is required")
        }
        for (i, digest) in digests.enumerated() where !isPolicyDigest(digest) {
            throw ReferenceError(code: .invalidField, field: "\(field).\(name)[\(i)]",
                                 reason: "\"\(digest.prefix(140))\" is not 40-128 lower-case hex digits")
        }
    }

    static func isPolicyDigest(_ text: String) -> Bool {
        (40...128).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }
}
