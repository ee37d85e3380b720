import Foundation
import XCTest
import Attestation
import StrictJSON

/// The log is read straight from the document's bytes when its base64 is
/// written without escapes (what agents write), through the decoder
/// otherwise: both give the same evidence, and the same errors.
final class EvidenceLogDecodingTests: XCTestCase {
    func testTheLogDecodesTheSameWithAndWithoutEscapedSlashes() throws {
        let node = NodeScenario()
        let evidence = node.evidence(nonce: newNonce())
        let plain = evidence.encoded()
        XCTAssertEqual(try Evidence.decode(plain), evidence)
        // Another writer escapes '/' as "\/" (legal JSON): the slow path, the same evidence.
        let base64 = Data(evidence.log.data).base64EncodedString()
        XCTAssertTrue(base64.contains("/"), "the test log's base64 must contain a '/'")
        let text = String(decoding: plain, as: UTF8.self)
        let escaped = text.replacingOccurrences(of: base64, with: base64.replacingOccurrences(of: "/", with: "\\/"))
        XCTAssertNotEqual(escaped, text)
        XCTAssertEqual(try Evidence.decode(Array(escaped.utf8)), evidence)
        // A bad character in the log: refused naming the field, on both paths.
        for doc in [text, escaped] {
            let broken = doc.replacingOccurrences(of: "\"data\":\"", with: "\"data\":\"*")
            XCTAssertThrowsError(try Evidence.decode(Array(broken.utf8))) { error in
                XCTAssertEqual((error as? EvidenceError)?.field, "ima_log.data", "\(error)")
            }
        }
    }

    func testStrictJSONLocatesUnescapedStringsOnly() throws {
        let doc = Array(#"{"a":{"b":"xyz","c":"x\/z"},"b":"top"}"#.utf8)
        let found = try StrictJSON.validate(doc, capturing: [["a", "b"], ["a", "c"], ["b"], ["missing"]])
        XCTAssertEqual(found.count, 2)
        XCTAssertEqual(found[["a", "b"]].map { String(decoding: doc[$0], as: UTF8.self) }, "xyz")
        XCTAssertEqual(found[["b"]].map { String(decoding: doc[$0], as: UTF8.self) }, "top")
        XCTAssertNil(found[["a", "c"]], "an escaped string is not located: its bytes are not its value")
    }
}
