/// The value of a `security.ima` or `security.evm` extended attribute,
/// decoded from (and encoded to) the exact bytes the kernel reads.
///
/// Layouts: security/integrity/integrity.h (`enum evm_ima_xattr_type`,
/// `struct signature_v2_hdr`). Parsing checks every length against the
/// bytes present, as the kernel does, and names the failing field.
public enum IMAXattr: Equatable, Sendable {
    /// 0x01: a bare SHA-1 digest (the pre-4.x "ima" format).
    case legacyDigest([UInt8])
    /// 0x02: an EVM HMAC (sha1), only meaningful to the machine holding the HMAC key.
    case evmHMAC([UInt8])
    /// 0x04: `type || hash_algo || digest`, as `ima_appraise=fix` writes.
    case digest(HashAlgorithm, [UInt8])
    /// 0x03, 0x05, 0x06: a digital signature with a v2/v3 header.
    case signature(IMASignature)

    /// The xattr type byte.
    public var typeByte: UInt8 {
        switch self {
        case .legacyDigest: return 0x01
        case .evmHMAC: return 0x02
        case .digest: return 0x04
        case .signature(let s): return s.kind.rawValue
        }
    }

    /// Decodes an xattr value. Throws `IMAFormatError` naming offset and field.
    public init(bytes: some Collection<UInt8>) throws {
        let b = Array(bytes)
        guard let type = b.first else {
            throw IMAFormatError.truncated(field: "type", offset: 0, need: 1, have: 0)
        }
        switch type {
        case 0x01:
            try Self.expectLength(b, field: "digest", offset: 1, length: HashAlgorithm.sha1.digestLength)
            self = .legacyDigest(Array(b[1...]))
        case 0x02:
            try Self.expectLength(b, field: "digest", offset: 1, length: 20)
            self = .evmHMAC(Array(b[1...]))
        case 0x04:
            guard b.count >= 2 else {
                throw IMAFormatError.truncated(field: "hash_algo", offset: 1, need: 1, have: 0)
            }
            guard let algorithm = HashAlgorithm(rawValue: b[1]) else {
                throw IMAFormatError.unknownHashAlgorithm(b[1], offset: 1)
            }
            try Self.expectLength(b, field: "digest", offset: 2, length: algorithm.digestLength)
            self = .digest(algorithm, Array(b[2...]))
        case 0x03, 0x05, 0x06:
            self = .signature(try IMASignature(bytes: b))
        default:
            throw IMAFormatError.unknownType(type)
        }
    }

    /// The exact xattr bytes.
    public func encoded() -> [UInt8] {
        switch self {
        case .legacyDigest(let d): return [0x01] + d
        case .evmHMAC(let d): return [0x02] + d
        case .digest(let algorithm, let d): return [0x04, algorithm.rawValue] + d
        case .signature(let s): return s.encoded()
        }
    }

    private static func expectLength(_ b: [UInt8], field: String, offset: Int, length: Int) throws {
        let have = b.count - offset
        if have < length {
            throw IMAFormatError.truncated(field: field, offset: offset, need: length, have: have)
        }
        if have > length {
            throw IMAFormatError.lengthMismatch(field: field, offset: offset, declared: length, actual: have)
        }
    }
}

/// A signature with the kernel's `signature_v2_hdr`:
/// `type u8 | version u8 | hash_algo u8 | keyid be32 | sig_size be16 | sig`.
public struct IMASignature: Equatable, Sendable {
    /// Which xattr type byte this signature travels under.
    public enum Kind: UInt8, Sendable {
        /// 0x03 `EVM_IMA_XATTR_DIGSIG`: the file-content signature in security.ima.
        case ima = 0x03
        /// 0x05 `EVM_XATTR_PORTABLE_DIGSIG`: a portable EVM signature in security.evm.
        case evmPortable = 0x05
        /// 0x06 `IMA_VERITY_DIGSIG`: an fs-verity signature (version 3).
        case verity = 0x06
    }

    /// Size of the fixed header before the signature bytes.
    public static let headerLength = 9

    public var kind: Kind
    /// 2 signs the file digest itself; 3 signs `H(ima_file_id)`.
    public var version: UInt8
    public var hashAlgorithm: HashAlgorithm
    /// Last 4 bytes of SHA-1 over the signer's subjectPublicKey (the kernel finds the key as `id:%08x`).
    public var keyID: UInt32
    /// RSA PKCS#1 v1.5 signature, or an ECDSA DER `SEQUENCE { r, s }`.
    public var signature: [UInt8]

    public init(kind: Kind = .ima, version: UInt8 = 2, hashAlgorithm: HashAlgorithm, keyID: UInt32, signature: [UInt8]) {
        self.kind = kind
        self.version = version
        self.hashAlgorithm = hashAlgorithm
        self.keyID = keyID
        self.signature = signature
    }

    /// Decodes a complete signature xattr (type byte included).
    public init(bytes: some Collection<UInt8>) throws {
        let b = Array(bytes)
        guard b.count >= 1 else {
            throw IMAFormatError.truncated(field: "type", offset: 0, need: 1, have: 0)
        }
        guard let kind = Kind(rawValue: b[0]) else { throw IMAFormatError.unknownType(b[0]) }
        guard b.count >= Self.headerLength else {
            let fields = ["type", "version", "hash_algo", "keyid", "keyid", "keyid", "keyid", "sig_size", "sig_size"]
            throw IMAFormatError.truncated(field: fields[b.count], offset: b.count,
                                           need: Self.headerLength - b.count, have: 0)
        }
        let version = b[1]
        let allowed: Set<UInt8> = kind == .verity ? [3] : [2, 3]
        guard allowed.contains(version) else {
            throw IMAFormatError.unsupportedVersion(version, offset: 1)
        }
        guard let algorithm = HashAlgorithm(rawValue: b[2]) else {
            throw IMAFormatError.unknownHashAlgorithm(b[2], offset: 2)
        }
        let keyID = UInt32(b[3]) << 24 | UInt32(b[4]) << 16 | UInt32(b[5]) << 8 | UInt32(b[6])
        let size = Int(b[7]) << 8 | Int(b[8])
        let remaining = b.count - Self.headerLength
        guard size == remaining else {
            throw IMAFormatError.lengthMismatch(field: "sig_size", offset: 7, declared: size, actual: remaining)
        }
        guard size > 0 else {
            throw IMAFormatError(code: .invalidValue, offset: 7, field: "sig_size", reason: "signature is empty")
        }
        self.init(kind: kind, version: version, hashAlgorithm: algorithm, keyID: keyID,
                  signature: Array(b[Self.headerLength...]))
    }

    /// The keyid as the kernel prints it: 8 lower-case hex digits.
    public var keyIDHex: String { KeyID.hex(keyID) }

    /// The exact xattr bytes.
    public func encoded() -> [UInt8] {
        precondition(signature.count <= Int(UInt16.max), "signature longer than sig_size can express")
        var out = [UInt8]()
        out.reserveCapacity(Self.headerLength + signature.count)
        out.append(kind.rawValue)
        out.append(version)
        out.append(hashAlgorithm.rawValue)
        out.append(UInt8(truncatingIfNeeded: keyID >> 24))
        out.append(UInt8(truncatingIfNeeded: keyID >> 16))
        out.append(UInt8(truncatingIfNeeded: keyID >> 8))
        out.append(UInt8(truncatingIfNeeded: keyID))
        out.append(UInt8(truncatingIfNeeded: signature.count >> 8))
        out.append(UInt8(truncatingIfNeeded: signature.count))
        out.append(contentsOf: signature)
        return out
    }
}

/// Helpers for the 32-bit IMA key identifier.
public enum KeyID {
    /// `0xebad2e13` → `"ebad2e13"`.
    public static func hex(_ id: UInt32) -> String {
        Hex.encode([UInt8(truncatingIfNeeded: id >> 24), UInt8(truncatingIfNeeded: id >> 16),
                    UInt8(truncatingIfNeeded: id >> 8), UInt8(truncatingIfNeeded: id)])
    }

    /// Parses 8 hex digits (an optional `0x` prefix is allowed).
    public static func parse(_ text: String) -> UInt32? {
        let t = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard t.count == 8, let bytes = Hex.decode(t) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The keyid from a SHA-1 over subjectPublicKey: its last four bytes.
    public static func fromSHA1(_ sha1: [UInt8]) -> UInt32 {
        sha1.suffix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
