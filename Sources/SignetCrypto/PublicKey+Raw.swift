import COpenSSL
import IMAFormat

/// Public keys from raw key material (an RSA modulus and exponent, an EC
/// point) and from SubjectPublicKeyInfo DER/PEM, plus ECDSA signatures given
/// as raw (r, s). TPM structures carry keys and signatures this way; OpenSSL
/// wants DER, so the conversion is done here, once.
extension PublicKey {
    /// An RSA public key from its big-endian modulus and public exponent.
    /// Throws `CryptoError.unsupportedKey` when OpenSSL refuses the key.
    public static func rsa(modulus: [UInt8], exponent: UInt32) throws -> PublicKey {
        guard modulus.contains(where: { $0 != 0 }), exponent > 1 else {
            throw CryptoError(.unsupportedKey, "RSA key: empty modulus or exponent \(exponent)")
        }
        let exponentBytes: [UInt8] = [UInt8(exponent >> 24), UInt8((exponent >> 16) & 0xff),
                                      UInt8((exponent >> 8) & 0xff), UInt8(exponent & 0xff)]
        let rsaPublicKey = RawKeyDER.sequence(RawKeyDER.unsignedInteger(modulus) + RawKeyDER.unsignedInteger(exponentBytes))
        let algorithm = RawKeyDER.sequence(RawKeyDER.oidRSAEncryption + RawKeyDER.null)
        return try decode(spkiDER: RawKeyDER.sequence(algorithm + RawKeyDER.bitString(rsaPublicKey)))
    }

    /// An EC public key on `curve` from its affine coordinates, each big-endian
    /// and at most the curve's coordinate size (shorter values are left-padded).
    /// Throws `CryptoError.unsupportedKey` when the point is not on the curve.
    public static func ec(curve: KeyAlgorithm.Curve, x: [UInt8], y: [UInt8]) throws -> PublicKey {
        let size: Int
        let curveOID: [UInt8]
        switch curve {
        case .p256: size = 32; curveOID = RawKeyDER.oidPrime256v1
        case .p384: size = 48; curveOID = RawKeyDER.oidSecp384r1
        }
        func padded(_ c: [UInt8], _ name: String) throws -> [UInt8] {
            let trimmed = Array(c.drop(while: { $0 == 0 }))
            guard trimmed.count <= size else {
                throw CryptoError(.unsupportedKey, "EC key: \(name) has \(c.count) bytes, more than \(size) for \(curve.rawValue)")
            }
            return [UInt8](repeating: 0, count: size - trimmed.count) + trimmed
        }
        let point = [0x04] + (try padded(x, "x")) + (try padded(y, "y"))
        let algorithm = RawKeyDER.sequence(RawKeyDER.oidECPublicKey + curveOID)
        return try decode(spkiDER: RawKeyDER.sequence(algorithm + RawKeyDER.bitString(point)))
    }

    /// A public key from SubjectPublicKeyInfo DER.
    public static func decode(spkiDER der: [UInt8]) throws -> PublicKey {
        let pkey: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_PUBKEY(nil, &p, buf.count)
        }
        guard let pkey else { throw CryptoError.openssl("not a valid public key", code: .unsupportedKey) }
        return PublicKey(owning: pkey)
    }

    /// A public key from a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo).
    public static func decode(pem: [UInt8], source: String = "public key") throws -> PublicKey {
        guard let bio = pem.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw CryptoError.openssl("cannot read \(source)", path: source, code: .unsupportedKey)
        }
        defer { BIO_free(bio) }
        // BIO_new_mem_buf does not copy; `pem` outlives the BIO in this scope.
        let pkey: OpaquePointer? = withExtendedLifetime(pem) { PEM_read_bio_PUBKEY(bio, nil, nil, nil) }
        guard let pkey else {
            throw CryptoError.openssl("not a PEM public key", path: source, code: .unsupportedKey)
        }
        return PublicKey(owning: pkey)
    }

    /// The key as a PEM `PUBLIC KEY` block (what `openssl pkey -pubout` and
    /// `tpm2_checkquote -u` read).
    public var spkiPEM: [UInt8] {
        let body = PEMBase64.encode(spkiDER)
        var out = "-----BEGIN PUBLIC KEY-----\n"
        var i = body.startIndex
        while i < body.endIndex {
            let j = body.index(i, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            out += body[i..<j] + "\n"
            i = j
        }
        out += "-----END PUBLIC KEY-----\n"
        return Array(out.utf8)
    }

    /// True when (r, s), two big-endian integers, is a valid ECDSA signature
    /// over `digest` by this key.
    public func verify(ecdsaR r: [UInt8], s: [UInt8], digest: [UInt8], algorithm: HashAlgorithm) -> Bool {
        guard r.contains(where: { $0 != 0 }), s.contains(where: { $0 != 0 }) else { return false }
        let der = RawKeyDER.sequence(RawKeyDER.unsignedInteger(r) + RawKeyDER.unsignedInteger(s))
        return verify(signature: der, digest: digest, algorithm: algorithm)
    }
}

/// The few DER encodings needed to hand raw key material to OpenSSL.
fileprivate enum RawKeyDER {
    static let oidRSAEncryption: [UInt8] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]
    static let oidECPublicKey: [UInt8] = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]
    static let oidPrime256v1: [UInt8] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
    static let oidSecp384r1: [UInt8] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]
    static let null: [UInt8] = [0x05, 0x00]

    static func length(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        var bytes = [UInt8]()
        var v = n
        while v > 0 { bytes.insert(UInt8(v & 0xff), at: 0); v >>= 8 }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }
    static func sequence(_ content: [UInt8]) -> [UInt8] { tlv(0x30, content) }
    static func bitString(_ content: [UInt8]) -> [UInt8] { tlv(0x03, [0x00] + content) }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    static func unsignedInteger(_ magnitude: [UInt8]) -> [UInt8] {
        var v = Array(magnitude.drop(while: { $0 == 0 }))
        if v.isEmpty { v = [0] }
        if v[0] & 0x80 != 0 { v.insert(0, at: 0) }
        return tlv(0x02, v)
    }
}

/// RFC 4648 base64 without line breaks.
fileprivate enum PEMBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i])
            let b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[((b0 & 0x03) << 4) | (b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[((b1 & 0x0f) << 2) | (b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[b2 & 0x3f] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
