#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SignetCrypto
import StrictJSON

/// A Keylime policy's `verification-keys`: the JSON text of an IMA keyring,
/// `{"keyids": [<int>…], "pubkeys": ["<base64 DER SubjectPublicKeyInfo>"…]}`
/// (keylime/ima/file_signatures.py `ImaKeyring.to_json` and
/// `IMA_KEYRING_JSON_SCHEMA`; an optional `meta.version` is allowed).
/// `keyids[i]` belongs to `pubkeys[i]`; a missing keyid is computed from the
/// key as evmctl does.
public struct KeylimeVerificationKeys: Sendable {
    public var keys: [VerificationKey]

    public init(keys: [VerificationKey]) { self.keys = keys }

    /// Parses the JSON text. Throws `ReferenceError` naming
    /// `verification-keys.pubkeys[i]` or the like.
    public init(parsing text: String) throws(ReferenceError) {
        let field = "verification-keys"
        struct Keyring: Decodable {
            struct Meta: Decodable { var version: Int }
            var meta: Meta?
            var keyids: [Int64]
            var pubkeys: [String]
        }
        do {
            try StrictJSON.validate(Array(text.utf8))
        } catch {
            throw ReferenceError(code: error.code == .duplicateKey ? .duplicateKey : .invalidField, field: JSONFieldPath.join(field, error.path),
                                 reason: "\(error.reason) (byte \(error.offset) of the string)")
        }
        let keyring: Keyring
        do {
            keyring = try JSONDecoder().decode(Keyring.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            let (_, path, reason) = JSONFieldPath.describe(error)
            throw ReferenceError(code: .invalidField, field: JSONFieldPath.join(field, path), reason: reason)
        } catch {
            throw ReferenceError(code: .invalidField, field: field, reason: "\(error)")
        }
        if let meta = keyring.meta, meta.version < 1 {
            throw ReferenceError(code: .invalidField, field: "\(field).meta.version", reason: "must be at least 1")
        }
        var keys = [VerificationKey]()
        for (i, encoded) in keyring.pubkeys.enumerated() {
            guard let der = Data(base64Encoded: encoded) else {
                throw ReferenceError(code: .invalidKey, field: "\(field).pubkeys[\(i)]", reason: "is not base64")
            }
            let key: PublicKey
            do {
                key = try PublicKey.decode(spkiDER: [UInt8](der))
            } catch {
                throw ReferenceError(code: .invalidKey, field: "\(field).pubkeys[\(i)]", reason: "not a DER public key: \(error)")
            }
            guard key.algorithm != nil else {
                throw ReferenceError(code: .invalidKey, field: "\(field).pubkeys[\(i)]", reason: "not an RSA or ECDSA P-256/P-384 key")
            }
            if i < keyring.keyids.count {
                let id = keyring.keyids[i]
                guard (0...Int64(UInt32.max)).contains(id) else {
                    throw ReferenceError(code: .invalidField, field: "\(field).keyids[\(i)]", reason: "\(id) is not a 32-bit keyid")
                }
                keys.append(VerificationKey(keyID: UInt32(id), publicKey: key))
            } else {
                keys.append(VerificationKey(publicKey: key))
            }
        }
        self.keys = keys
    }

    /// The JSON text, keyids and keys in the same order.
    public func encoded() -> String {
        struct Keyring: Encodable {
            var keyids: [UInt32]
            var pubkeys: [String]
        }
        let keyring = Keyring(keyids: keys.map(\.keyID), pubkeys: keys.map { Data($0.publicKey.spkiDER).base64EncodedString() })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(keyring), as: UTF8.self)
    }
}
