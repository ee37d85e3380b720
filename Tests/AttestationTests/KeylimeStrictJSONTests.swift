import Foundation
import XCTest
import Attestation
import IMAFormat

/// Issue 13, finding 2, for Keylime runtime policies: a key twice in the policy, or in its
/// `verification-keys` string, is refused naming the key; Keylime (Python) reads the last.
final class KeylimeStrictJSONTests: XCTestCase {
    func testAKeyTwiceInAPolicyIsRefused() throws {
        let node = NodeScenario()
        let text = String(decoding: KeylimeRuntimePolicy.export(node.reference).policy.encoded(), as: UTF8.self)
        XCTAssertNoThrow(try KeylimeRuntimePolicy(parsing: Array(text.utf8)))
        // A second (empty) digests object in front.
        var doubled = text
        doubled.insert(contentsOf: "\"digests\":{},", at: doubled.index(after: doubled.startIndex))
        XCTAssertThrowsError(try KeylimeRuntimePolicy(parsing: Array(doubled.utf8))) { error in
            let e = error as! ReferenceError
            XCTAssertEqual(e.code, .duplicateKey)
            XCTAssertEqual(e.field, "digests")
            XCTAssertTrue(e.reason.contains("byte"), e.reason)
        }
        // A path listed twice inside digests.
        let path = try XCTUnwrap(text.range(of: "\"digests\":{"))
        var twice = text
        twice.insert(contentsOf: "\"/usr/sbin/tool\":[\"\(String(repeating: "ab", count: 32))\"],", at: path.upperBound)
        XCTAssertThrowsError(try KeylimeRuntimePolicy(parsing: Array(twice.utf8))) { error in
            XCTAssertEqual((error as! ReferenceError).field, "digests./usr/sbin/tool")
        }
        // A byte order mark.
        XCTAssertThrowsError(try KeylimeRuntimePolicy(parsing: [0xEF, 0xBB, 0xBF] + Array(text.utf8))) { error in
            XCTAssertEqual((error as! ReferenceError).code, .invalidJSON)
        }
    }

    func testAKeyTwiceInTheVerificationKeysIsRefused() {
        XCTAssertNoThrow(try KeylimeVerificationKeys(parsing: #"{"keyids": [], "pubkeys": []}"#))
        XCTAssertThrowsError(try KeylimeVerificationKeys(parsing: #"{"keyids": [], "pubkeys": [], "pubkeys": []}"#)) { error in
            let e = error as! ReferenceError
            XCTAssertEqual(e.code, .duplicateKey)
            XCTAssertEqual(e.field, "verification-keys.pubkeys")
        }
    }
}
