/// The digest carried by a `d-ng`, `d-ngv2` or `d-modsig` field.
///
/// Layout (`ima_eventdigest_init_common` in ima_template_lib.c):
/// `d-ng` is `"<algo>:" NUL digest`; `d-ngv2` is `"<type>:<algo>:" NUL digest`
/// where type is `ima` or `verity` (the digest of an fs-verity descriptor).
/// An empty algorithm (`":" NUL digest`) is accepted: the kernel's own comment
/// documents that form for SHA-1/MD5, and the ASCII log prints it as bare hex.
/// Violations carry zeros.
public struct EventDigest: Hashable, Sendable, CustomStringConvertible {
    /// What a `d-ngv2` digest is the digest of.
    public enum DigestType: Hashable, Sendable, CustomStringConvertible {
        /// The file content (`ima`).
        case ima
        /// The fs-verity file digest (`verity`).
        case verity
        /// A type this code does not know, kept as written.
        case other(String)

        public init(name: String) {
            switch name {
            case "ima": self = .ima
            case "verity": self = .verity
            default: self = .other(name)
            }
        }

        public var name: String {
            switch self {
            case .ima: return "ima"
            case .verity: return "verity"
            case .other(let name): return name
            }
        }

        public var description: String { name }
    }

    /// Set for `d-ngv2`, nil for `d-ng` and `d-modsig`.
    public var type: DigestType?
    /// The algorithm name as written (`hash_algo_name[]`), possibly empty on very old kernels.
    public var algorithmName: String
    /// The digest bytes.
    public var digest: [UInt8]

    public init(type: DigestType? = nil, algorithmName: String, digest: [UInt8]) {
        self.type = type
        self.algorithmName = algorithmName
        self.digest = digest
    }

    public init(type: DigestType? = nil, algorithm: HashAlgorithm, digest: [UInt8]) {
        self.init(type: type, algorithmName: algorithm.name, digest: digest)
    }

    /// The algorithm, when the name is exactly one the kernel writes for a
    /// `HashAlgorithm` (`hash_algo_name[]`: lower case). An empty name with a
    /// 20-byte digest is the legacy SHA-1 form. Any other name (`SHA256`,
    /// `sm3`, `foo`) is nil: this verifier cannot compare such a digest.
    public var algorithm: HashAlgorithm? {
        switch algorithmName {
        case "": return digest.count == 20 ? .sha1 : nil
        case "sha256": return .sha256
        case "sha1": return .sha1
        case "sha384": return .sha384
        case "sha512": return .sha512
        case "sha224": return .sha224
        default: return nil
        }
    }

    /// Why this digest cannot be compared with a reference, or nil: its
    /// algorithm must be one `algorithm` knows, the digest that algorithm's
    /// length, and a `d-ngv2` type `ima` or `verity`. Comparing bytes alone
    /// would let a 20-byte `foo:` digest pass for a SHA-1 one, or an `sm3:`
    /// digest for a SHA-256 one.
    public var problem: String? {
        if case .other(let name)? = type {
            return "digest type \"\(name.prefix(32))\" is neither ima nor verity"
        }
        guard let algorithm else {
            let known = HashAlgorithm.allCases.map(\.name).sorted().joined(separator: ", ")
            return "algorithm \"\(algorithmName.prefix(32))\" (a \(digest.count)-byte digest) is not one this verifier compares (\(known))"
        }
        guard digest.count == algorithm.digestLength else {
            return "a \(algorithm) digest of \(digest.count) byte(s); \(algorithm) digests have \(algorithm.digestLength)"
        }
        return nil
    }

    /// The digest with its algorithm, when `problem` is nil.
    public var algorithmDigest: AlgorithmDigest? {
        guard problem == nil, let algorithm else { return nil }
        return AlgorithmDigest(algorithm, digest)
    }

    /// The text before the NUL, colon(s) included: `sha256:` or `ima:sha256:`.
    public var prefix: String {
        if let type { return "\(type.name):\(algorithmName):" }
        return "\(algorithmName):"
    }

    /// The field bytes as the kernel writes them.
    public func encoded() -> [UInt8] {
        Array(prefix.utf8) + [0] + digest
    }

    /// As the ASCII log prints it: `sha256:<hex>`, or bare hex for an empty prefix.
    public var description: String {
        (type == nil && algorithmName.isEmpty ? "" : prefix) + Hex.encode(digest)
    }

    /// Decodes field bytes; `typed` is true for `d-ngv2`. Returns nil with a
    /// reason when the layout is wrong.
    static func decode(_ bytes: ArraySlice<UInt8>, typed: Bool) -> Result<EventDigest, DecodeFailure> {
        guard let nul = bytes.firstIndex(of: 0) else {
            return .failure(.init(at: 0, "no NUL after the algorithm prefix (expected \"<algo>:\" NUL digest)"))
        }
        let prefix = bytes[bytes.startIndex..<nul]
        guard let colon = prefix.last, colon == UInt8(ascii: ":") else {
            return .failure(.init(at: nul - bytes.startIndex, "the prefix before NUL does not end with ':'"))
        }
        let text = prefix.dropLast()
        guard text.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return .failure(.init(at: 0, "the algorithm prefix has bytes outside printable ASCII"))
        }
        let digest = Array(bytes[(nul + 1)...])
        guard !digest.isEmpty else {
            return .failure(.init(at: nul + 1 - bytes.startIndex, "no digest after the NUL"))
        }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        if typed {
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                return .failure(.init(at: 0, "expected \"<type>:<algo>:\" before NUL, found \"\(String(decoding: prefix, as: UTF8.self))\""))
            }
            return .success(EventDigest(type: DigestType(name: parts[0]), algorithmName: parts[1], digest: digest))
        }
        guard parts.count == 1 else {
            return .failure(.init(at: 0, "expected \"<algo>:\" before NUL, found \"\(String(decoding: prefix, as: UTF8.self))\""))
        }
        return .success(EventDigest(algorithmName: parts[0], digest: digest))
    }

    /// Why field bytes are not an event digest, and where (relative to the field).
    struct DecodeFailure: Error {
        let offset: Int
        let reason: String
        init(at offset: Int, _ reason: String) {
            self.offset = offset
            self.reason = reason
        }
    }
}
