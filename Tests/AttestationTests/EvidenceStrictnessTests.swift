import Foundation
import XCTest
import Attestation
import IMAFormat
import TPM

/// Issue 13, finding 2 and the format doc's strictness, on the evidence document: a key given
/// twice, a byte order mark, `version: 1.0`, upper-case hex and unpadded base64 are refused with
/// a typed error naming the field (and, for JSON itself, the byte offset).
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

    private func object(_ evidence: Evidence) -> [String: Any] {
        try! JSONSerialization.jsonObject(with: Data(evidence.encoded())) as! [String: Any]
    }

    private func bytes(_ object: [String: Any]) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }

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

    func testVersionAndPositionsAreIntegersAsWritten() {
        let t = text(NodeScenario().evidence(nonce: newNonce(), fromEntry: 2))
        XCTAssertTrue(t.contains("\"version\":1"), t)
        for spelling in ["1.0", "1e0", "10e-1"] {
            assertRefused(Array(t.replacingOccurrences(of: "\"version\":1", with: "\"version\":\(spelling)").utf8), .unsupportedVersion,
                          field: "version")
        }
        assertRefused(Array(t.replacingOccurrences(of: "\"log_from_entry\":2", with: "\"log_from_entry\":2.0").utf8), .invalidField,
                      field: "ima_log.log_from_entry")
    }

    func testHexIsLowerCase() {
        let evidence = NodeScenario().evidence(nonce: newNonce())
        let base = object(evidence)
        var upperPCR = base
        var pcrs = base["pcrs"] as! [String: [String: String]]
        pcrs["sha256"]!["10"] = pcrs["sha256"]!["10"]!.uppercased()
        XCTAssertNotEqual(pcrs["sha256"]!["10"], (base["pcrs"] as! [String: [String: String]])["sha256"]!["10"], "the value has hex letters")
        upperPCR["pcrs"] = pcrs
        let error = assertRefused(bytes(upperPCR), .invalidField, field: "pcrs.sha256.10")
        XCTAssertTrue(error?.reason.contains("lower-case") == true, "\(String(describing: error))")
        var upperNonce = base
        upperNonce["nonce"] = "ABCDEF0123"
        assertRefused(bytes(upperNonce), .invalidField, field: "nonce")
        var odd = base
        odd["nonce"] = "abc"
        assertRefused(bytes(odd), .invalidField, field: "nonce")
    }

    func testBase64IsPaddedAndCanonical() throws {
        let evidence = NodeScenario().evidence(nonce: newNonce())
        let base = object(evidence)
        func nested(_ parent: String, _ key: String, _ value: String) -> [UInt8] {
            var o = base
            var inner = o[parent] as! [String: Any]
            inner[key] = value
            o[parent] = inner
            return bytes(o)
        }
        // Every base64 field, unpadded: refused.
        for (parent, key) in [("quote", "attest"), ("quote", "signature"), ("ak", "tpm2b_public"), ("ima_log", "data")] {
            let value = (base[parent] as! [String: Any])[key] as! String
            let unpadded = value.trimmingCharacters(in: CharacterSet(charactersIn: "="))
            guard unpadded != value else { continue }  // no padding to drop for this length
            let error = assertRefused(nested(parent, key, unpadded), .invalidField, field: "\(parent).\(key)")
            XCTAssertTrue(error?.reason.contains("multiple of 4") == true, "\(String(describing: error))")
        }
        // A value that needs padding, given without: "AAE" for [0, 1] is "AAE=".
        assertRefused(nested("quote", "attest", "AAE"), .invalidField, field: "quote.attest")
        // Non-zero bits before the padding ("AAF=" also decodes to [0, 1] in lenient decoders).
        assertRefused(nested("quote", "attest", "AAF="), .invalidField, field: "quote.attest")
        assertRefused(nested("quote", "attest", "AB=="), .invalidField, field: "quote.attest")
        // Padding inside, line breaks, URL-safe characters.
        assertRefused(nested("quote", "attest", "AA==AAAA"), .invalidField, field: "quote.attest")
        assertRefused(nested("quote", "attest", "AAAA\nAAAA"), .invalidField, field: "quote.attest")
        assertRefused(nested("quote", "attest", "AA-_"), .invalidField, field: "quote.attest")
        // The agent's own encoding passes.
        XCTAssertEqual(try Evidence.decode(evidence.encoded()), evidence)
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
