import Foundation
import XCTest
import Attestation
import IMAFormat
import TPM

/// Issue 13, finding 2, on the evidence document: a key given twice or a byte order mark is
/// refused with a typed error naming the field and the byte offset.
final class EvidenceStrictnessTests: XCTestCase {
    private func text(_ evidence: Evidence) -> String { String(decoding: evidence.encoded(), as: UTF8.self) }

    /// `text` with `insert` right after the first `{` (a member in front of the others).
    private func withLeadingMember(_ text: String, _ insert: String) -> [UInt8] {
        var t = text
        t.insert(contentsOf: insert + ",", at: t.index(after: t.startIndex))
        return Array(t.utf8)
    }

    @discardableResult
    private func assertRefused(_ bytes: [UInt8], _ code: EvidenceError.Code, field: String,
                               file: StaticString = #filePath, line: UInt = #line) -> EvidenceError? {
        do {
            _ = try Evidence.decode(bytes)
            XCTFail("decoded; expected \(code) at \(field)", file: file, line: line)
            return nil
        } catch {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
            return error
        }
    }

    func testDuplicateKeysAreRefusedNamingThePathAndOffset() throws {
        let node = NodeScenario()
        let nonce = newNonce()
        let evidence = node.evidence(nonce: nonce)
        let t = text(evidence)
        XCTAssertNoThrow(try Evidence.decode(Array(t.utf8)))

        // A second nonce, ima_log and format in front: Foundation reads the first, Python the last.
        for (key, member) in [("nonce", "\"nonce\":\"\(Hex.encode(newNonce()))\""),
                              ("ima_log", "\"ima_log\":{\"data\":\"\"}"),
                              ("format", "\"format\":\"signet-evidence\"")] {
            let doubled = withLeadingMember(t, member)
            let error = try XCTUnwrap(assertRefused(doubled, .duplicateKey, field: key))
            let second = try XCTUnwrap(String(decoding: doubled, as: UTF8.self).utf8.indices(of: "\"\(key)\"").dropFirst().first)
            XCTAssertEqual(error.offset, second, "the offset of the second \(key)")
            XCTAssertTrue(error.description.contains("duplicate key"), error.description)
        }
        // Nested: a second ima_log.data, and a PCR value given twice.
        let data = Array(t.replacingOccurrences(of: "\"ima_log\":{", with: "\"ima_log\":{\"data\":\"\",").utf8)
        assertRefused(data, .duplicateKey, field: "ima_log.data")
        let pcr = Array(t.replacingOccurrences(of: "\"sha256\":{", with: "\"sha256\":{\"10\":\"\(String(repeating: "00", count: 32))\",").utf8)
        assertRefused(pcr, .duplicateKey, field: "pcrs.sha256.10")
        // An escaped spelling of the same key.
        assertRefused(withLeadingMember(t, "\"n\\u006fnce\":\"00\""), .duplicateKey, field: "nonce")
    }

    func testAByteOrderMarkIsRefused() {
        let data = NodeScenario().evidence(nonce: newNonce()).encoded()
        let error = assertRefused([0xEF, 0xBB, 0xBF] + data, .invalidJSON, field: "")
        XCTAssertEqual(error?.offset, 0)
        XCTAssertTrue(error?.reason.contains("byte order mark") == true, "\(String(describing: error))")
    }

}

private extension String.UTF8View {
    /// Byte offsets where `needle` starts.
    func indices(of needle: String) -> [Int] {
        let hay = Array(self), n = Array(needle.utf8)
        guard n.count <= hay.count else { return [] }
        return (0...(hay.count - n.count)).filter { hay[$0..<($0 + n.count)].elementsEqual(n) }
    }
}
