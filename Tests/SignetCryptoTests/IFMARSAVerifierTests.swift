import XCTest
import IMAFormat
@testable import SignetCrypto
import SignetTestSupport

/// The IFMA RSA code against OpenSSL on the same inputs: the raw public
/// operation on random and edge-case values, and PKCS#1 v1.5 verification of
/// valid, altered and mismatched signatures. Every answer must be OpenSSL's.
final class IFMARSAVerifierTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(IFMARSAVerifier.isAvailable, "this CPU has no AVX-512 IFMA (or SIGNET_RSA_IFMA=0): OpenSSL verifies alone")
    }

    /// Keys of several sizes (including one that is not a multiple of 64 bits) and exponents.
    private func keys() throws -> [(String, PrivateKey)] {
        [("RSA-2048 e=65537", try PrivateKey.generate(.rsa(bits: 2048))),
         ("RSA-1024 e=65537", try PrivateKey.generate(.rsa(bits: 1024))),
         ("RSA-1500 e=3", try PrivateKey.generateRSA(bits: 1500, exponent: 3)),
         ("RSA-2048 e=17", try PrivateKey.generateRSA(bits: 2048, exponent: 17)),
         ("RSA-2047 e=65537", try PrivateKey.generateRSA(bits: 2047, exponent: 65537))]
    }

    func testRawPublicOperationMatchesOpenSSL() throws {
        var rng = SeededGenerator(seed: 0x1F4A_2048)
        for (name, privateKey) in try keys() {
            let key = privateKey.publicKey
            let fast = try XCTUnwrap(IFMARSAVerifier(key: key), name)
            let k = fast.modulusBytes
            let modulus = try XCTUnwrap(IFMARSAVerifier.openSSLModulus(key), name)
            XCTAssertEqual(modulus.count, k, name)
            func minus(_ value: [UInt8], _ d: UInt8) -> [UInt8] {
                var v = value, borrow = Int(d)
                for i in stride(from: v.count - 1, through: 0, by: -1) where borrow > 0 {
                    let x = Int(v[i]) - borrow
                    v[i] = UInt8((x + 256) % 256)
                    borrow = x < 0 ? 1 : 0
                }
                return v
            }
            var plus1 = modulus
            for i in stride(from: k - 1, through: 0, by: -1) { plus1[i] &+= 1; if plus1[i] != 0 { break } }
            var inputs: [[UInt8]] = [
                [UInt8](repeating: 0, count: k), [UInt8](repeating: 0, count: k - 1) + [1], [UInt8](repeating: 0, count: k - 1) + [2],
                minus(modulus, 1), minus(modulus, 2), modulus, plus1, [UInt8](repeating: 0xff, count: k),
                [UInt8](repeating: 0, count: k - 1), [UInt8](repeating: 0, count: k + 1), [],
            ]
            for _ in 0..<300 {
                var s = (0..<k).map { _ in UInt8.random(in: 0...255, using: &rng) }
                // Three in four below n for sure (a smaller top byte); the rest random, often above it.
                if UInt8.random(in: 0...3, using: &rng) != 0 { s[0] = UInt8.random(in: 0..<modulus[0], using: &rng) }
                inputs.append(s)
            }
            var compared = 0
            for s in inputs {
                // OpenSSL's raw operation reads a shorter input as a number; a signature check
                // (below, and OpenSSL's RSA verify) requires exactly k bytes, and so does `recover`.
                let expected = s.count == k ? IFMARSAVerifier.openSSLRecover(key: key, signature: s) : nil
                let got = fast.recover(s)
                XCTAssertEqual(got, expected, "\(name): \(s.count)-byte input starting \(s.prefix(4).map { String($0, radix: 16) })")
                if expected != nil { compared += 1 }
            }
            XCTAssertGreaterThan(compared, 200, "\(name): most inputs must be in range, so the arithmetic is compared")
        }
    }

    func testPKCS1VerificationMatchesOpenSSL() throws {
        var rng = SeededGenerator(seed: 0x5167_0001)
        for (name, privateKey) in try keys() {
            let key = privateKey.publicKey
            let fast = try XCTUnwrap(IFMARSAVerifier(key: key), name)
            for algorithm in HashAlgorithm.allCases {
                guard fast.supports(algorithm) else {
                    // Only a key too short for the encoding may be refused: OpenSSL cannot verify with it either.
                    XCTAssertLessThan(IFMARSAVerifier.openSSLModulus(key)?.count ?? 0,
                                      IFMARSAVerifier.digestInfoHeader(algorithm).count + algorithm.digestLength + 11, name)
                    continue
                }
                for round in 0..<12 {
                    let digest = (0..<algorithm.digestLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let signature = try privateKey.sign(digest: digest, algorithm: algorithm)
                    var cases: [(String, [UInt8], [UInt8], Bool?)] = [("valid", signature, digest, true)]
                    var flipped = signature
                    let bit = Int.random(in: 0..<(signature.count * 8), using: &rng)
                    flipped[bit / 8] ^= UInt8(1 << (bit % 8))
                    cases.append(("signature bit \(bit) flipped", flipped, digest, false))
                    var otherDigest = digest
                    otherDigest[round % digest.count] ^= 0x01
                    cases.append(("digest altered", signature, otherDigest, false))
                    cases.append(("digest one byte short", signature, Array(digest.dropLast()), false))
                    cases.append(("signature one byte short", Array(signature.dropFirst()), digest, false))
                    cases.append(("signature with a leading zero", [0] + signature, digest, nil))
                    for (label, s, d, want) in cases {
                        let openssl = key.verify(signature: s, digest: d, algorithm: algorithm)
                        let ifma = fast.verify(signature: s, digest: d, algorithm: algorithm)
                        XCTAssertEqual(ifma, openssl, "\(name) \(algorithm) \(label)")
                        if let want { XCTAssertEqual(openssl, want, "\(name) \(algorithm) \(label): OpenSSL") }
                    }
                }
            }
            // Same digest bytes, signed as SHA-256, checked as SHA-384 with a 48-byte digest extended: fails.
            let digest = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let signature = try privateKey.sign(digest: digest, algorithm: .sha256)
            if fast.supports(.sha384) {
                let d384 = digest + [UInt8](repeating: 0, count: 16)
                let ifma = fast.verify(signature: signature, digest: d384, algorithm: .sha384)
                XCTAssertFalse(ifma, "\(name): a SHA-256 signature must not verify as SHA-384")
                XCTAssertEqual(ifma, key.verify(signature: signature, digest: d384, algorithm: .sha384), name)
            }
        }
    }

    /// `PreparedVerifierPool` (what the judge and `check-log` use) gives OpenSSL's answer with IFMA in the path.
    func testPreparedVerifierPoolUsesTheSameAnswers() throws {
        let privateKey = try PrivateKey.generate(.rsa(bits: 2048))
        let key = privateKey.publicKey
        let prepared = PreparedVerifierPool(key: key)
        var rng = SeededGenerator(seed: 42)
        for i in 0..<50 {
            let digest = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var signature = try privateKey.sign(digest: digest, algorithm: .sha256)
            if i % 2 == 1 { signature[i % signature.count] ^= 0x80 }
            let got = prepared.verify(signature: signature, digest: digest, algorithm: .sha256)
            XCTAssertEqual(got, i % 2 == 0, "signature \(i)")
            XCTAssertEqual(got, key.verify(signature: signature, digest: digest, algorithm: .sha256), "signature \(i): OpenSSL")
        }
    }
}
