import XCTest
import IMAFormat
import SignetCrypto

/// `CredentialPrimitives.hmac` (MakeCredential's integrity HMAC and KDFa; the verifier's webhook
/// signatures) against RFC 4231's HMAC-SHA256 test vectors.
final class HMACTests: XCTestCase {
    func testRFC4231HMACSHA256() throws {
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            // Test case 1
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            // Test case 2: a key shorter than the output
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            // Test case 3: 50 bytes of 0xdd
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            // Test case 6: a key larger than the block (hashed first)
            ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ]
        for (i, c) in cases.enumerated() {
            XCTAssertEqual(Hex.encode(try CredentialPrimitives.hmac(.sha256, key: c.key, data: c.data)), c.mac, "case \(i)")
        }
    }
}
