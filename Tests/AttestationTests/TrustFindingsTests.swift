import Foundation
import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TPM

/// Issue 13, tried as a hostile node would: a stored state is strict JSON (finding 2).
final class TrustFindingsTests: XCTestCase {
    private func verify(_ node: NodeScenario, _ evidence: Evidence, _ expectations: AttestationExpectations,
                        previous: AttestationState? = nil) -> AttestationResult {
        AttestationVerifier(reference: node.reference).verify(evidence, expecting: expectations, previous: previous)
    }

    func testAStoredStateIsStrictJSON() throws {
        let node = NodeScenario()
        let nonce = newNonce()
        let state = try XCTUnwrap(verify(node, node.evidence(nonce: nonce), node.expectations(nonce: nonce)).state)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(state), as: UTF8.self)
        // A second nextEntry in front: Foundation would read the first, Python the last.
        let doubled = Array(text.replacingOccurrences(of: "{", with: "{\"nextEntry\":0,", options: [], range: text.range(of: "{")).utf8)
        XCTAssertThrowsError(try AttestationState.decode(doubled)) { error in
            let e = error as! AttestationStateError
            XCTAssertEqual(e.field, "nextEntry")
            XCTAssertNotNil(e.offset)
            XCTAssertTrue("\(e)".contains("duplicate key"), "\(e)")
        }
        XCTAssertThrowsError(try AttestationState.decode([0xEF, 0xBB, 0xBF] + Array(text.utf8)))
        XCTAssertThrowsError(try AttestationState.decode(Array("{}".utf8))) { error in
            XCTAssertFalse((error as! AttestationStateError).field.isEmpty, "\(error)")
        }
    }
}
