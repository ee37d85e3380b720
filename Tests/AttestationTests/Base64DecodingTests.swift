import Foundation
import XCTest
@testable import Attestation
import SignetTestSupport

/// The evidence's one-pass base64 decoder against Foundation's encoder and the
/// strictness rules (`strictBase64Problem`): every canonical spelling decodes
/// to its bytes, every other spelling is refused.
final class Base64DecodingTests: XCTestCase {
    private func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8(Evidence.decodeCanonicalBase64)
    }

    func testCanonicalBase64RoundTripsAndEverythingElseIsRefused() {
        var r = SeededGenerator(seed: 0xB64)
        for length in 0..<200 {
            let bytes = r.bytes(length)
            let text = Data(bytes).base64EncodedString()
            XCTAssertEqual(decode(text), bytes, "length \(length)")
            XCTAssertNil(Evidence.strictBase64Problem(text))
            guard !text.isEmpty else { continue }
            // One character changed anywhere: refused exactly when the strict rules refuse it.
            var utf8 = Array(text.utf8)
            let at = r.int(0...(utf8.count - 1))
            utf8[at] = [UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "A"), UInt8(ascii: "/"), 0x80, UInt8(ascii: " ")][r.int(0...5)]
            let mutated = String(decoding: utf8, as: UTF8.self)
            let strictOK = Evidence.strictBase64Problem(mutated) == nil
            XCTAssertEqual(decode(mutated) != nil, strictOK, "\(mutated)")
            if strictOK { XCTAssertEqual(decode(mutated).map { Data($0).base64EncodedString() }, mutated) }
        }
        for bad in ["A", "AB", "ABC", "A===", "AB=A", "AB==CD==", "AB=", "QR==", "QUJ=", "QUI\n", "QUI "] {
            XCTAssertNil(decode(bad), bad)
        }
        XCTAssertEqual(decode("QQ=="), [0x41])
        XCTAssertEqual(decode("QUI="), [0x41, 0x42])
    }
}
