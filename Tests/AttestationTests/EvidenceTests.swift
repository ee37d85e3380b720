import Foundation
import XCTest
import Attestation
import IMAFormat
import TPM

/// The evidence document: round trip, and a typed error naming the field for
/// everything a broken or hostile agent can send.
final class EvidenceTests: XCTestCase {
    private func json(_ evidence: Evidence) -> [String: Any] {
        try! JSONSerialization.jsonObject(with: Data(evidence.encoded())) as! [String: Any]
    }

    private func bytes(_ object: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object))
    }

    private func assertError(_ code: EvidenceError.Code, field: String, _ object: [String: Any],
                             limits: EvidenceLimits = EvidenceLimits(), file: StaticString = #filePath, line: UInt = #line) {
        assertError(code, field: field, bytes(object), limits: limits, file: file, line: line)
    }

    private func assertError(_ code: EvidenceError.Code, field: String, _ data: [UInt8],
                             limits: EvidenceLimits = EvidenceLimits(), file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Evidence.decode(data, limits: limits)
            XCTFail("decoded; expected \(code) at \(field)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
        }
    }

    func testRoundTrip() throws {
        let node = NodeScenario()
        let evidence = node.evidence(nonce: newNonce(), fromEntry: 2)
        let decoded = try Evidence.decode(evidence.encoded())
        XCTAssertEqual(decoded, evidence)
        XCTAssertEqual(decoded.log.start, LogPosition(entryIndex: 2, byteOffset: node.byteOffset(ofEntry: 2)))
        let object = json(evidence)
        XCTAssertEqual(object["format"] as? String, "signet-evidence")
        XCTAssertEqual(object["version"] as? Int, 1)
        let log = object["ima_log"] as! [String: Any]
        XCTAssertEqual(log["log_from_entry"] as? Int, 2)
        XCTAssertEqual(log["template_digest"] as? String, "sha1")
        let pcrs = object["pcrs"] as! [String: [String: String]]
        XCTAssertEqual(pcrs["sha256"]?.count, 11)
        XCTAssertEqual(pcrs["sha1"]?.keys.sorted(), ["10"])
        // Codable through JSONDecoder too.
        XCTAssertEqual(try JSONDecoder().decode(Evidence.self, from: Data(evidence.encoded())), evidence)
        // A PEM-only AK.
        var pemOnly = evidence
        pemOnly.attestationKey = .init(pem: String(decoding: SharedKeys.ak.publicKey.spkiPEM, as: UTF8.self))
        XCTAssertEqual(try Evidence.decode(pemOnly.encoded()), pemOnly)
    }

    func testMissingFieldsAreNamed() {
        let base = json(NodeScenario().evidence(nonce: newNonce()))
        for key in ["created", "nonce", "node", "quote", "pcrs", "ak", "ima_log", "format", "version"] {
            var object = base
            object.removeValue(forKey: key)
            assertError(.missingField, field: key, object)
        }
        for (parent, key) in [("quote", "attest"), ("quote", "signature"), ("node", "boot_id"), ("node", "kernel_release"),
                              ("ima_log", "data")] {
            var object = base
            var inner = object[parent] as! [String: Any]
            inner.removeValue(forKey: key)
            object[parent] = inner
            assertError(.missingField, field: "\(parent).\(key)", object)
        }
        var object = base
        object["ak"] = [String: Any]()
        assertError(.missingField, field: "ak", object)
    }

    func testInvalidValuesAreNamed() {
        let base = json(NodeScenario().evidence(nonce: newNonce()))
        func with(_ change: (inout [String: Any]) -> Void) -> [String: Any] {
            var object = base
            change(&object)
            return object
        }
        func nested(_ parent: String, _ key: String, _ value: Any) -> [String: Any] {
            with { o in
                var inner = o[parent] as! [String: Any]
                inner[key] = value
                o[parent] = inner
            }
        }
        assertError(.invalidField, field: "quote.attest", nested("quote", "attest", "not base64!"))
        assertError(.invalidField, field: "quote.attest", nested("quote", "attest", 12))
        assertError(.invalidField, field: "quote.signature", nested("quote", "signature", ""))
        assertError(.invalidField, field: "nonce", with { $0["nonce"] = "xyz" })
        assertError(.invalidField, field: "nonce", with { $0["nonce"] = String(repeating: "ab", count: 65) })
        assertError(.invalidField, field: "pcrs.sha256.99", nested("pcrs", "sha256", ["99": String(repeating: "00", count: 32)]))
        assertError(.invalidField, field: "pcrs.sha256.07", nested("pcrs", "sha256", ["07": String(repeating: "00", count: 32)]))
        assertError(.invalidField, field: "pcrs.sha256.10", nested("pcrs", "sha256", ["10": "00"]))
        assertError(.invalidField, field: "pcrs.md5", nested("pcrs", "md5", ["10": "00"]))
        assertError(.invalidField, field: "pcrs", with { $0["pcrs"] = [String: Any]() })
        assertError(.invalidField, field: "ak.tpm2b_public", nested("ak", "tpm2b_public", "AAEC"))
        assertError(.invalidField, field: "ak.pem", nested("ak", "pem", "hello"))
        assertError(.invalidField, field: "ima_log.log_from_entry", nested("ima_log", "log_from_entry", -1))
        assertError(.invalidField, field: "ima_log.log_from_offset", nested("ima_log", "log_from_entry", 3))
        assertError(.invalidField, field: "ima_log.template_digest", nested("ima_log", "template_digest", "md4"))
        assertError(.invalidField, field: "ima_log.byte_order", nested("ima_log", "byte_order", "middle"))
        assertError(.invalidField, field: "ima_log.encoding", nested("ima_log", "encoding", "ascii"))
        assertError(.invalidField, field: "node.kernel_release", nested("node", "kernel_release", ""))
        assertError(.unsupportedFormat, field: "format", with { $0["format"] = "keylime" })
        assertError(.unsupportedVersion, field: "version", with { $0["version"] = 2 })
        assertError(.invalidJSON, field: "", Array("{\"format\": ".utf8))
        assertError(.invalidJSON, field: "", Array("[1, 2]".utf8))
        assertError(.invalidField, field: "quote", with { $0["quote"] = [1, 2] })
    }

    func testLimits() {
        let evidence = NodeScenario().evidence(nonce: newNonce())
        let data = evidence.encoded()
        assertError(.tooLarge, field: "", data, limits: EvidenceLimits(maxDocumentBytes: data.count - 1))
        assertError(.tooLarge, field: "ima_log.data", data, limits: EvidenceLimits(maxLogBytes: 100))
        assertError(.tooLarge, field: "pcrs", data, limits: EvidenceLimits(maxPCRValues: 5))
        XCTAssertNoThrow(try Evidence.decode(data, limits: EvidenceLimits(maxLogBytes: evidence.log.data.count)))
    }

    func testEveryTruncationOfTheDocumentIsAnError() {
        let data = NodeScenario().evidence(nonce: newNonce()).encoded()
        for cut in stride(from: 0, to: data.count, by: 97) {
            XCTAssertThrowsError(try Evidence.decode(Array(data.prefix(cut))))
        }
    }
}
