import FuzzSupport
import IMAFormat
import SignetCrypto

/// The IFMA RSA code (`IFMARSAVerifier`) against OpenSSL on hostile bytes,
/// for an RSA-2048 key made at start: the raw public operation on the input
/// as a signature must give OpenSSL's result (or fail where OpenSSL does), and
/// a real signature over SHA-256(input), with one bit flipped where the input
/// says, must verify (or not) the same way in both. Without IFMA on this CPU
/// the target checks OpenSSL against itself and says so once.
nonisolated(unsafe) let privateKey = try! PrivateKey.generate(.rsa(bits: 2048))
nonisolated(unsafe) let publicKey = privateKey.publicKey
nonisolated(unsafe) let fast: IFMARSAVerifier? = {
    let v = IFMARSAVerifier(key: publicKey)
    if v == nil { print("FuzzRSAPublic: no AVX-512 IFMA here; only OpenSSL is exercised") }
    return v
}()

let body: FuzzBody = { data, size in
    let bytes = fuzzInput(data, size)
    guard let fast else { return 0 }
    // 1. Raw: the input (padded or cut to 256 bytes by its first byte's choice) as a number.
    var s = bytes
    if let first = bytes.first, first & 1 == 0 {
        s = Array((bytes + [UInt8](repeating: 0, count: 256)).prefix(256))
    }
    let expected = s.count == fast.modulusBytes ? IFMARSAVerifier.openSSLRecover(key: publicKey, signature: s) : nil
    precondition(fast.recover(s) == expected, "raw RSA result differs from OpenSSL for \(s.count) bytes")
    // 2. PKCS#1 v1.5: a valid signature, then one with a bit flipped.
    let digest = Digester.hash(bytes, .sha256)
    let signature = try! privateKey.sign(digest: digest, algorithm: .sha256)
    precondition(fast.verify(signature: signature, digest: digest, algorithm: .sha256), "a valid signature failed")
    if bytes.count >= 2 {
        var flipped = signature
        let bit = (Int(bytes[0]) << 8 | Int(bytes[1])) % (signature.count * 8)
        flipped[bit / 8] ^= UInt8(1 << (bit % 8))
        let ours = fast.verify(signature: flipped, digest: digest, algorithm: .sha256)
        precondition(ours == publicKey.verify(signature: flipped, digest: digest, algorithm: .sha256),
                     "a signature with bit \(bit) flipped: the answers differ")
        precondition(!ours, "a signature with bit \(bit) flipped verified")
    }
    return 0
}

@_cdecl("FuzzRSAPublic_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
