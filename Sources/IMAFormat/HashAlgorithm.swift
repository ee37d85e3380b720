/// A hash algorithm as the kernel numbers it (`enum hash_algo` in
/// include/uapi/linux/hash_info.h). The number is what security.ima and
/// signature headers carry; the name is what logs and policies spell.
public enum HashAlgorithm: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case sha1 = 2
    case sha256 = 4
    case sha384 = 5
    case sha512 = 6
    case sha224 = 7

    /// The kernel's name (`hash_algo_name[]`), also OpenSSL's digest name.
    public var name: String {
        switch self {
        case .sha1: return "sha1"
        case .sha256: return "sha256"
        case .sha384: return "sha384"
        case .sha512: return "sha512"
        case .sha224: return "sha224"
        }
    }

    /// Length of a digest in bytes.
    public var digestLength: Int {
        switch self {
        case .sha1: return 20
        case .sha224: return 28
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    public var description: String { name }

    /// Looks an algorithm up by its kernel name ("sha256"); case-insensitive.
    public init?(name: String) {
        guard let match = HashAlgorithm.allCases.first(where: { $0.name == name.lowercased() }) else {
            return nil
        }
        self = match
    }
}
