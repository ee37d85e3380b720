import Foundation
import XCTest
import IMAFormat
import SignetCrypto
@testable import TPM
@testable import TPMDevice

/// Verdicts on attestation data a TPM would never sign, signed here with a
/// software key, so each structural check is reached behind a valid signature.
final class ForgedAttestTests: XCTestCase {
    let nonce: [UInt8] = [1, 2, 3, 4]
    let pcr = PCRValue(bank: .sha256, index: 10, digest: [UInt8](repeating: 0x11, count: 32))

    func attest(magic: UInt32? = nil, type: UInt16? = nil, trailing: [UInt8] = []) -> [UInt8] {
        var bytes = TPMSAttest(qualifiedSigner: [0, 0x0b] + [UInt8](repeating: 9, count: 32), extraData: nonce,
                               clockInfo: .init(clock: 1, resetCount: 2, restartCount: 3, safe: true), firmwareVersion: 4,
                               pcrSelection: PCRSelection(.sha256, [10]),
                               pcrDigest: QuoteVerifier.pcrDigest([pcr], hash: .sha256)).marshaled
        if let magic { bytes.replaceSubrange(0..<4, with: [UInt8(magic >> 24), UInt8((magic >> 16) & 0xff), UInt8((magic >> 8) & 0xff), UInt8(magic & 0xff)]) }
        if let type { bytes.replaceSubrange(4..<6, with: [UInt8(type >> 8), UInt8(type & 0xff)]) }
        return bytes + trailing
    }

    func sign(_ attest: [UInt8], _ key: PrivateKey) throws -> [UInt8] {
        let der = try key.sign(digest: Digester.hash(attest, .sha256), algorithm: .sha256)
        if case .rsa = try key.algorithm() { return TPMSignature.rsassa(hash: .sha256, signature: der).marshaled }
        let (r, s) = try XCTUnwrap(Self.ecdsaRS(der))
        return TPMSignature.ecdsa(hash: .sha256, r: r, s: s).marshaled
    }

    /// (r, s) of a DER ECDSA-Sig-Value, without leading zero bytes.
    static func ecdsaRS(_ der: [UInt8]) -> ([UInt8], [UInt8])? {
        guard der.count > 8, der[0] == 0x30, der[1] < 0x80, der[2] == 0x02 else { return nil }
        let rLen = Int(der[3])
        guard der.count > 5 + rLen, der[4 + rLen] == 0x02 else { return nil }
        let sLen = Int(der[5 + rLen])
        let r = Array(der[4..<4 + rLen].drop(while: { $0 == 0 }))
        let s = Array(der[6 + rLen..<6 + rLen + sLen].drop(while: { $0 == 0 }))
        return (r, s)
    }

    func assertRejected(_ code: QuoteVerificationError.Code, _ attest: [UInt8], _ key: PrivateKey,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let signature = try sign(attest, key)
        XCTAssertThrowsError(try QuoteVerifier.verify(attest: attest, signature: signature, akKey: key.publicKey,
                                                      nonce: nonce, pcrs: [pcr]), file: file, line: line) {
            XCTAssertEqual(($0 as? QuoteVerificationError)?.code, code, "\($0)", file: file, line: line)
        }
    }

    func testStructuralChecksBehindAValidSignature() throws {
        for algorithm in [KeyAlgorithm.rsa(bits: 2048), .ecdsa(curve: .p256)] {
            let key = try PrivateKey.generate(algorithm)
            // The well-formed one verifies, through both signature kinds (ECDSA r,s → DER included).
            for _ in 0..<8 {
                let good = attest()
                XCTAssertNoThrow(try QuoteVerifier.verify(attest: good, signature: try sign(good, key), akKey: key.publicKey,
                                                          nonce: nonce, pcrs: [pcr]))
            }
            try assertRejected(.notTPMGenerated, attest(magic: 0x1234_5678), key)
            try assertRejected(.notAQuote, attest(type: 0x8017), key)
            try assertRejected(.malformedAttest, attest(trailing: [0]), key)
            try assertRejected(.malformedAttest, Array(attest().dropLast()), key)
        }
        // Not a restricted signing key.
        let loose = TPMPublic(nameAlg: .sha256, attributes: [.sign, .fixedTPM, .fixedParent, .userWithAuth],
                              parameters: TPMTemplates.attestationKey(.rsa2048).parameters, unique: .rsa(modulus: []))
        XCTAssertThrowsError(try QuoteVerifier.verify(attest: attest(), signature: [], ak: loose, nonce: nonce, pcrs: [pcr])) {
            XCTAssertEqual(($0 as? QuoteVerificationError)?.code, .akAttributesInvalid)
            XCTAssertTrue("\($0)".contains("restricted"), "\($0)")
        }
        // RSASSA-PSS is parsed but not verified.
        let key = try PrivateKey.generate(.rsa(bits: 2048))
        let pss = TPMSignature.rsapss(hash: .sha256, signature: [UInt8](repeating: 1, count: 256)).marshaled
        XCTAssertThrowsError(try QuoteVerifier.verify(attest: attest(), signature: pss, akKey: key.publicKey, nonce: nonce, pcrs: [pcr])) {
            XCTAssertEqual(($0 as? QuoteVerificationError)?.code, .unsupportedSignatureScheme)
        }
    }

    func testRawPublicKeysRoundTrip() throws {
        // PEM ↔ key, and a P-384 point through PublicKey.ec.
        let key = try PrivateKey.generate(.ecdsa(curve: .p384)).publicKey
        XCTAssertTrue(try PublicKey.decode(pem: key.spkiPEM).isSameKey(as: key))
        let point = Array(key.subjectPublicKeyBits.dropFirst())
        let rebuilt = try PublicKey.ec(curve: .p384, x: Array(point.prefix(48)), y: Array(point.suffix(48)))
        XCTAssertTrue(rebuilt.isSameKey(as: key))
        XCTAssertThrowsError(try PublicKey.ec(curve: .p256, x: [UInt8](repeating: 1, count: 33), y: [1]))
        XCTAssertThrowsError(try PublicKey.rsa(modulus: [0, 0], exponent: 65537))
        XCTAssertThrowsError(try PublicKey.decode(pem: Array("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".utf8)))
    }
}
