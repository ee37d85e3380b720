/// The value of a `security.evm` extended attribute, decoded from (and encoded
/// to) the exact bytes the kernel reads (`evm_verify_hmac` in
/// security/integrity/evm/evm_main.c).
///
/// - 0x02 `EVM_XATTR_HMAC`: a SHA-1 HMAC only the machine holding the EVM key can check.
/// - 0x03 `EVM_IMA_XATTR_DIGSIG`: a signature over the metadata *with* inode
///   number, generation and filesystem UUID: bound to one filesystem instance.
/// - 0x05 `EVM_XATTR_PORTABLE_DIGSIG`: a signature over `EVMPortableInput`
///   (no inode, generation or UUID), so it survives `mkfs -d`, copies and
///   image builds. This is what `signet sign --evm` writes.
///
/// Signatures use the same `signature_v2_hdr` as security.ima; the kernel
/// (and evmctl) accept only version 2 for EVM.
public enum EVMXattr: Equatable, Sendable {
    case hmac([UInt8])
    case signature(IMASignature)
    case portableSignature(IMASignature)

    /// Decodes a security.evm value; throws `EVMError` (code `.malformed`)
    /// naming the field and byte offset. Never traps, whatever the input.
    public init(bytes: some Collection<UInt8>) throws(EVMError) {
        let b = Array(bytes)
        guard let type = b.first else {
            throw .malformed(IMAFormatError(code: .truncated, offset: 0, field: "type", reason: "empty value, needs a type byte"))
        }
        switch type {
        case 0x02:
            let have = b.count - 1
            guard have == 20 else {
                throw .malformed(IMAFormatError(code: have < 20 ? .truncated : .lengthMismatch, offset: 1, field: "digest",
                                                reason: "an EVM HMAC is 20 bytes of SHA-1, found \(have)"))
            }
            self = .hmac(Array(b[1...]))
        case 0x03, 0x05:
            let sig: IMASignature
            do { sig = try IMASignature(bytes: b) } catch let e as IMAFormatError {
                throw .malformed(e)
            } catch {
                throw .malformed(IMAFormatError(code: .invalidValue, offset: 0, field: "type", reason: "\(error)"))
            }
            guard sig.version == 2 else {
                throw .malformed(IMAFormatError(code: .unsupportedVersion, offset: 1, field: "version",
                                                reason: "EVM signatures are version 2, found \(sig.version)"))
            }
            self = type == 0x05 ? .portableSignature(sig) : .signature(sig)
        default:
            throw .malformed(IMAFormatError(code: .unknownType, offset: 0, field: "type",
                                            reason: "0x\(hex2(type)) is not an EVM type (0x02 HMAC, 0x03 signature, 0x05 portable signature)"))
        }
    }

    /// A portable signature value (type 0x05, version 2).
    public static func portable(hashAlgorithm: HashAlgorithm, keyID: UInt32, signature: [UInt8]) -> EVMXattr {
        .portableSignature(IMASignature(kind: .evmPortable, version: 2, hashAlgorithm: hashAlgorithm,
                                        keyID: keyID, signature: signature))
    }

    /// The exact xattr bytes.
    public func encoded() -> [UInt8] {
        switch self {
        case .hmac(let d): return [0x02] + d
        case .signature(var s):
            s.kind = .ima  // 0x03 shares the IMA type byte
            return s.encoded()
        case .portableSignature(var s):
            s.kind = .evmPortable
            return s.encoded()
        }
    }

    /// The signature, for both signature types.
    public var signatureValue: IMASignature? {
        switch self {
        case .hmac: return nil
        case .signature(let s), .portableSignature(let s): return s
        }
    }

    /// Fuzzing property: any bytes either fail to parse with a typed error, or
    /// parse to a value that re-encodes to exactly the same bytes. Returns
    /// false when the property is broken (a fuzz target traps on false).
    public static func roundTrips(_ bytes: [UInt8]) -> Bool {
        guard let value = try? EVMXattr(bytes: bytes) else { return true }
        return value.encoded() == bytes
    }
}
