import Foundation
import XCTest
import SignetTestSupport
import Attestation
import IMAFormat

final class VerdictRenderingTests: XCTestCase {
    func testTextAndJSON() throws {
        let node = NodeScenario()
        node.append([.imaNG("/tmp/payload", digest: TestLogEncoder.fakeDigest(50)),
                     TestLogEntry(templateName: "ima-ng", fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(51)),
                                                                   Array("/tmp/bad".utf8) + [0xff, 0]])])
        let nonce = newNonce()
        let verdict = AttestationVerifier(reference: node.reference)
            .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil).verdict

        let text = verdict.textReport()
        XCTAssertTrue(text.hasPrefix("FAIL  kernel 6.12.9-amd64"), text)
        XCTAssertTrue(text.contains("[entries-rejected] 2 of 8 measurement(s) rejected"), text)
        XCTAssertTrue(text.contains("entry 6  PCR 10  ima-ng  /tmp/payload"), text)
        XCTAssertTrue(text.contains("/tmp/bad\\xff"), text)
        XCTAssertTrue(text.contains("[unsigned-not-in-manifest]"), text)
        XCTAssertTrue(verdict.textReport(maxEntryFailures: 1).contains("… and 1 more rejected entries"))

        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(verdict.jsonReport())) as? [String: Any])
        XCTAssertEqual(object["passed"] as? Bool, false)
        let failures = try XCTUnwrap(object["entry_failures"] as? [[String: Any]])
        XCTAssertEqual(failures.count, 2)
        XCTAssertEqual(failures[0]["path"] as? String, "/tmp/payload")
        XCTAssertEqual(failures[0]["code"] as? String, "unsigned-not-in-manifest")
        XCTAssertEqual(failures[0]["entry"] as? Int, 6)
        XCTAssertNil(failures[0]["path_hex"])
        XCTAssertEqual(failures[1]["path_hex"] as? String, Hex.encode(Array("/tmp/bad".utf8) + [0xff]))
        let reasons = try XCTUnwrap(object["reasons"] as? [[String: Any]])
        XCTAssertEqual(reasons.first?["code"] as? String, "entries-rejected")
        let quote = try XCTUnwrap(object["quote"] as? [String: Any])
        XCTAssertEqual(quote["reset_count"] as? Int, Int(node.tpm.resetCount))
        let log = try XCTUnwrap(object["log"] as? [String: Any])
        XCTAssertEqual(log["verified_through"] as? Int, 8)
        XCTAssertEqual((log["acceptances"] as? [String: Int])?["signature"], 2)
    }

    func testPassingReport() {
        let node = NodeScenario()
        let nonce = newNonce()
        let verdict = AttestationVerifier(reference: node.reference)
            .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil).verdict
        let text = verdict.textReport()
        XCTAssertTrue(text.hasPrefix("PASS"), text)
        XCTAssertTrue(text.contains("entries 0-5 judged (2 signature, 1 manifest, 1 boot-aggregate, 1 trusted-key, 1 kernel-version)"), text)
        XCTAssertTrue(String(decoding: verdict.jsonReport(), as: UTF8.self).contains("\"passed\":true"))
    }
}
