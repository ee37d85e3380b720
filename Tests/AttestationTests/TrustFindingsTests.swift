import Foundation
import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TPM

/// Issue 13, findings 1, 3 and 9, tried as a hostile node would: an AK enrolled as a bare key
/// still has its attributes checked; the evidence's nonce field is the round's nonce; a state is
/// bound to the AK it was made with.
final class TrustFindingsTests: XCTestCase {
    private func verify(_ node: NodeScenario, _ evidence: Evidence, _ expectations: AttestationExpectations,
                        previous: AttestationState? = nil) -> AttestationResult {
        AttestationVerifier(reference: node.reference).verify(evidence, expecting: expectations, previous: previous)
    }

    /// The node's AK public area with `restricted` cleared: a signing key that may sign anything,
    /// including bytes that look like a quote.
    private func unrestricted(_ area: TPMPublic) -> TPMPublic {
        TPMPublic(nameAlg: area.nameAlg, attributes: area.attributes.subtracting(.restricted), authPolicy: area.authPolicy,
                  parameters: area.parameters, unique: area.unique)
    }

    private var akPEM: String { String(decoding: SharedKeys.ak.publicKey.spkiPEM, as: UTF8.self) }

    // MARK: - Finding 1: the AK's attributes, whatever form it is given in

    func testAnAKGivenAsPEMMustBeARestrictedKeyPerTheEvidencesPublicArea() {
        let node = NodeScenario()
        let nonce = newNonce()
        var evidence = node.evidence(nonce: nonce)
        evidence.attestationKey = .init(publicArea: unrestricted(node.tpm.akPublic), pem: akPEM)
        let pem = AttestationExpectations(nonce: nonce, attestationKey: .publicKey(SharedKeys.ak.publicKey))
        let verdict = verify(node, evidence, pem).verdict
        XCTAssertFails(verdict, .akInvalid)
        XCTAssertTrue(verdict.reasons.first?.message.contains("restricted") == true, verdict.textReport())
        // The same evidence against the AK as a public area: refused as before.
        XCTAssertFails(verify(node, evidence, .init(nonce: nonce, attestationKey: .publicArea(unrestricted(node.tpm.akPublic)))).verdict,
                       .akInvalid)
        // The restricted AK as PEM with the evidence's restricted public area: passes.
        XCTAssertPasses(verify(node, node.evidence(nonce: nonce), pem).verdict)
    }

    func testAnAKGivenAsPEMNeedsThePublicAreaInTheEvidence() {
        let node = NodeScenario()
        let nonce = newNonce()
        var evidence = node.evidence(nonce: nonce)
        evidence.attestationKey = .init(pem: akPEM)
        let verdict = verify(node, evidence, .init(nonce: nonce, attestationKey: .publicKey(SharedKeys.ak.publicKey))).verdict
        XCTAssertEqual(verdict.codes, [.akPublicAreaMissing], verdict.textReport())
        XCTAssertEqual(verdict.reasons.first?.field, "ak.tpm2b_public")
        XCTAssertNil(verdict.quote, "nothing of the quote is trusted")
        // With the enrolled public area, a PEM-only evidence is fine: the attributes are the enrolled ones.
        XCTAssertPasses(verify(node, evidence, node.expectations(nonce: nonce)).verdict)
    }

    func testTheEvidencesPEMAndPublicAreaMustBeTheEnrolledKey() {
        let node = NodeScenario()
        let nonce = newNonce()
        let otherPEM = String(decoding: SharedKeys.otherAK.publicKey.spkiPEM, as: UTF8.self)
        let corruptPEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnotakey\n-----END PUBLIC KEY-----\n"
        let expectations: [(String, AttestationExpectations)] = [
            ("public area", node.expectations(nonce: nonce)),
            ("PEM", .init(nonce: nonce, attestationKey: .publicKey(SharedKeys.ak.publicKey))),
        ]
        for (form, expected) in expectations {
            for (what, pem) in [("another key", otherPEM), ("a corrupt PEM", corruptPEM)] {
                var evidence = node.evidence(nonce: nonce)
                evidence.attestationKey = .init(publicArea: node.tpm.akPublic, pem: pem)
                let verdict = verify(node, evidence, expected).verdict
                XCTAssertEqual(verdict.codes, [.akMismatch], "\(form), ak.pem \(what): \(verdict.textReport())")
                XCTAssertEqual(verdict.reasons.first?.field, "ak.pem")
            }
        }
        // The operator's PEM is another key than the evidence's public area: refused before the
        // evidence's public area is used for anything (the quote is genuine for that area).
        let other = AttestationExpectations(nonce: nonce, attestationKey: .publicKey(SharedKeys.otherAK.publicKey))
        let verdict = verify(node, node.evidence(nonce: nonce), other).verdict
        XCTAssertEqual(verdict.codes, [.akMismatch], verdict.textReport())
        XCTAssertEqual(verdict.reasons.first?.field, "ak.tpm2b_public")
        // The enrolled key in a public area with other attributes than the enrolled one.
        var evidence = node.evidence(nonce: nonce)
        evidence.attestationKey = .init(publicArea: unrestricted(node.tpm.akPublic))
        XCTAssertEqual(verify(node, evidence, node.expectations(nonce: nonce)).verdict.codes, [.akMismatch])
    }

    // MARK: - Finding 3: the evidence's nonce field

    func testTheEvidencesNonceMustBeTheRoundsNonce() {
        let node = NodeScenario()
        let nonce = newNonce()
        var evidence = node.evidence(nonce: nonce)  // the quote's extraData is this round's nonce
        evidence.nonce = newNonce()
        let verdict = verify(node, evidence, node.expectations(nonce: nonce)).verdict
        XCTAssertEqual(verdict.codes, [.evidenceNonceMismatch], verdict.textReport())
        XCTAssertEqual(verdict.reasons.first?.field, "nonce")
        XCTAssertTrue(verdict.reasons.first!.message.contains(Hex.encode(evidence.nonce)))
        XCTAssertTrue(verdict.reasons.first!.message.contains(Hex.encode(nonce)))
        // Evidence and quote agree with each other, not with the round: both named.
        let old = node.evidence(nonce: newNonce())
        let replayed = verify(node, old, node.expectations(nonce: nonce)).verdict
        XCTAssertEqual(Set(replayed.codes), [.evidenceNonceMismatch, .nonceMismatch], replayed.textReport())
        // Through JSON too: the decoded nonce field is compared.
        var document = try! JSONSerialization.jsonObject(with: Data(node.evidence(nonce: nonce).encoded())) as! [String: Any]
        document["nonce"] = Hex.encode(newNonce())
        let decoded = try! Evidence.decode(Array(try! JSONSerialization.data(withJSONObject: document)))
        XCTAssertFails(verify(node, decoded, node.expectations(nonce: nonce)).verdict, .evidenceNonceMismatch)
    }

    // MARK: - Finding 9: a state is bound to its AK

    func testAStateIsBoundToTheAKItWasMadeWith() throws {
        let node = NodeScenario()
        var nonce = newNonce()
        let first = verify(node, node.evidence(nonce: nonce), node.expectations(nonce: nonce))
        XCTAssertPasses(first.verdict)
        let state = try XCTUnwrap(first.state)
        let fingerprint = AttestationState.fingerprint(of: SharedKeys.ak.publicKey)
        XCTAssertEqual(state.attestationKeyFingerprint, fingerprint)
        XCTAssertTrue(fingerprint.hasPrefix("sha256:") && fingerprint.count == 7 + 64, fingerprint)
        XCTAssertEqual(state.version, 2)
        XCTAssertTrue(state.isBound(to: SharedKeys.ak.publicKey))
        XCTAssertFalse(state.isBound(to: SharedKeys.otherAK.publicKey))
        XCTAssertEqual(try AttestationState.decode(Array(try JSONEncoder().encode(state))), state)

        // Another node (another AK) with this node's state: a full replay of its own log would
        // have replaced the state; refused, naming both fingerprints, the state kept.
        nonce = newNonce()
        let otherArea = SoftwareTPM.publicArea(of: SharedKeys.otherAK)
        let otherEvidence = node.evidence(nonce: nonce, quoteKey: SharedKeys.otherAK)
        let otherExpectations = AttestationExpectations(nonce: nonce, attestationKey: .publicArea(otherArea))
        XCTAssertPasses(verify(node, otherEvidence, otherExpectations).verdict)  // its own first round passes
        let foreign = verify(node, otherEvidence, otherExpectations, previous: state)
        XCTAssertEqual(foreign.verdict.codes, [.stateAKMismatch], foreign.verdict.textReport())
        let message = foreign.verdict.reasons[0].message
        let otherFingerprint = AttestationState.fingerprint(of: SharedKeys.otherAK.publicKey)
        XCTAssertTrue(message.contains(fingerprint) && message.contains(otherFingerprint), message)
        XCTAssertEqual(foreign.state, state, "a refused round keeps the state it was given")
        // The same with the other AK given as PEM.
        let pem = AttestationExpectations(nonce: nonce, attestationKey: .publicKey(SharedKeys.otherAK.publicKey))
        XCTAssertEqual(verify(node, otherEvidence, pem, previous: state).verdict.codes, [.stateAKMismatch])

        // A version 1 state (no AK): refused, saying how to start over.
        var legacy = state
        legacy.attestationKeyFingerprint = nil
        legacy.version = 1
        let old = verify(node, node.evidence(nonce: nonce), node.expectations(nonce: nonce), previous: legacy)
        XCTAssertEqual(old.verdict.codes, [.stateAKMismatch], old.verdict.textReport())
        XCTAssertTrue(old.verdict.reasons[0].message.contains("move the state file away"), old.verdict.reasons[0].message)
        // Without it, the round starts over and binds a new state.
        XCTAssertEqual(verify(node, node.evidence(nonce: nonce), node.expectations(nonce: nonce)).state?.attestationKeyFingerprint,
                       fingerprint)
        // A stored version 1 file decodes (to be refused by the verifier, with that message).
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(state)) as! [String: Any]
        object.removeValue(forKey: "attestationKeyFingerprint")
        object["version"] = 1
        let decoded = try AttestationState.decode(Array(try JSONSerialization.data(withJSONObject: object)))
        XCTAssertNil(decoded.attestationKeyFingerprint)
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
