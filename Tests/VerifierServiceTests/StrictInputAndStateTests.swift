import Foundation
import XCTest
import IMAFormat
import SQLStore
import SignetCrypto
import SignetTestSupport
import TPM
import VerifierAPI

/// Issue 13, findings 1, 2 and 9 in the service: the enrolled AK's attributes are checked every
/// round, request bodies with a key twice are refused (one document, one meaning), and a node's
/// stored state is used only with the node's enrolled AK.
final class StrictInputAndStateTests: FleetTestCase {
    func nonce(_ api: APICaller, _ node: SimulatedNode) throws -> NonceResponse {
        let r = try api.call("POST", APIPath.nonce(node.id), token: try node.token(), body: Array(#"{"boot_id":"boot-1"}"#.utf8))
        XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
        return try api.decode(NonceResponse.self, r)
    }

    func testRequestBodiesWithAKeyTwiceAreRefused() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "node-a", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        let api = APICaller(base: verifier.url)
        let token = try node.token()

        // A nonce request naming two boot ids.
        let twoBoots = try api.call("POST", APIPath.nonce(node.id), token: token, body: Array(#"{"boot_id":"boot-1","boot_id":"boot-9"}"#.utf8))
        XCTAssertEqual(twoBoots.status, 400, String(decoding: twoBoots.body, as: UTF8.self))
        XCTAssertEqual(api.errorCode(twoBoots), "duplicate-key")
        XCTAssertTrue(String(decoding: twoBoots.body, as: UTF8.self).contains("boot_id"))
        // An enrolment request naming two node ids.
        let twoIDs = try api.call("POST", APIPath.enrollments, token: nil,
                                  body: Array(#"{"node_id":"x","ek_public":"AAAA","ak_public":"AAAA","node_id":"node-a"}"#.utf8))
        XCTAssertEqual(twoIDs.status, 400)
        XCTAssertEqual(api.errorCode(twoIDs), "duplicate-key")
        // A reference upload with two manifest lists (admin).
        let adminToken = try XCTUnwrap(TokenEncoding.decode(try String(contentsOfFile: verifier.adminTokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        let twoLists = try api.call("POST", APIPath.references("default"), token: adminToken,
                                    body: Array(#"{"certificates":[],"manifests":[],"manifests":[]}"#.utf8))
        XCTAssertEqual(twoLists.status, 400, String(decoding: twoLists.body, as: UTF8.self))
        XCTAssertEqual(api.errorCode(twoLists), "duplicate-key")

        // Evidence with a second nonce member: refused before the nonce is claimed, so the same
        // evidence without it still passes.
        let issued = try nonce(api, node)
        let out = dir.url("evidence.json")
        let q = try signet(["agent", "quote", "--tcti", node.swtpm.tcti, "--ak", node.stateDir, "--nonce", issued.nonce,
                            "--log", node.logPath, "--from-entry", "\(issued.fromEntry)", "--out", out])
        XCTAssertEqual(q.status, 0, q.output)
        let evidence = String(decoding: try FileBytes.read(out), as: UTF8.self)
        var doubled = evidence
        doubled.insert(contentsOf: "\"nonce\":\"\(issued.nonce)\",", at: doubled.index(after: doubled.startIndex))
        let dup = try api.call("POST", APIPath.attestations(node.id), token: token, body: Array(doubled.utf8))
        XCTAssertEqual(dup.status, 400)
        XCTAssertEqual(api.errorCode(dup), "bad-evidence")
        XCTAssertTrue(String(decoding: dup.body, as: UTF8.self).contains("duplicate key"), String(decoding: dup.body, as: UTF8.self))
        let ok = try api.call("POST", APIPath.attestations(node.id), token: token, body: Array(evidence.utf8))
        XCTAssertEqual(ok.status, 200, String(decoding: ok.body, as: UTF8.self))
        XCTAssertEqual(try history(verifier, node.id).count, 2, "the refused evidence stored nothing")
    }

    func testAStoredStateIsUsedOnlyWithTheNodesAK() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "node-a", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        let api = APICaller(base: verifier.url)
        let db = try SQLDatabase(url: "sqlite:" + dir.url("v.db"), maxConnections: 1)
        func storedState() throws -> [String: Any] {
            let text = try db.withConnection { c in try c.query("SELECT state FROM nodes WHERE id = $1", [.text(node.id)]).first!.text("state") }
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        func store(_ state: [String: Any]) throws {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: state), as: UTF8.self)
            try db.withConnection { c in _ = try c.query("UPDATE nodes SET state = $2 WHERE id = $1", [.text(node.id), .text(text)]) }
        }

        // The state of a pass names the node's AK.
        let ak = try PublicKey.decode(pem: try FileBytes.read("\(node.stateDir)/ak.pem"))
        let fingerprint = "sha256:" + Hex.encode(Digester.hash(ak.spkiDER, .sha256))
        let state = try storedState()
        XCTAssertEqual(state["attestationKeyFingerprint"] as? String, fingerprint)
        XCTAssertEqual(try nonce(api, node).fromEntry, node.entries, "the node's own state: only new entries")

        // A state bound to another AK (a re-enrolment with a new AK, or an edited row), and one
        // bound to none (written before the binding): not used; the node sends its whole log.
        var other = state
        other["attestationKeyFingerprint"] = "sha256:" + String(repeating: "ab", count: 32)
        var unbound = state
        unbound.removeValue(forKey: "attestationKeyFingerprint")
        unbound["version"] = 1
        for (what, replaced) in [("another AK's", other), ("an unbound", unbound)] {
            try store(replaced)
            XCTAssertEqual(try nonce(api, node).fromEntry, 0, "\(what) state is not resumed")
            let round = try node.attest(verifier.url)
            XCTAssertEqual(round.status, 0, round.output)
            XCTAssertEqual(try history(verifier, node.id).first?.firstEntry, 0, "\(what) state: a full replay")
            XCTAssertEqual(try storedState()["attestationKeyFingerprint"] as? String, fingerprint, "the new state is bound to the node's AK")
        }
        // Bound again: the next round is incremental.
        try node.run([(path: programs[0].path, content: programs[0].content)])
        XCTAssertEqual(try nonce(api, node).fromEntry, node.entries - 1)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        XCTAssertEqual(try history(verifier, node.id).first?.firstEntry, Int64(node.entries - 1))
    }

    /// The service verifies every round with the enrolled public area, attributes included: an
    /// enrolled AK row that is not a restricted key (here the node's key with `restricted`
    /// cleared in the stored TPM2B_PUBLIC, as a database edit could leave it) fails the round.
    func testTheServiceChecksTheEnrolledAKsAttributesEveryRound() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "node-a", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)
        let db = try SQLDatabase(url: "sqlite:" + dir.url("v.db"), maxConnections: 1)
        let stored = try db.withConnection { c in try c.query("SELECT ak_public FROM nodes WHERE id = $1", [.text(node.id)]).first!.blob("ak_public") }
        let ak = try TPMPublic(tpm2bPublic: stored)
        XCTAssertTrue(ak.attributes.contains(.restricted))
        let unrestricted = TPMPublic(nameAlg: ak.nameAlg, attributes: ak.attributes.subtracting(.restricted), authPolicy: ak.authPolicy,
                                     parameters: ak.parameters, unique: ak.unique)
        try db.withConnection { c in
            _ = try c.query("UPDATE nodes SET ak_public = $2 WHERE id = $1", [.text(node.id), .blob(unrestricted.tpm2bMarshaled)])
        }
        let api = APICaller(base: verifier.url)
        let issued = try nonce(api, node)
        let out = dir.url("evidence.json")
        let q = try signet(["agent", "quote", "--tcti", node.swtpm.tcti, "--ak", node.stateDir, "--nonce", issued.nonce,
                            "--log", node.logPath, "--from-entry", "\(issued.fromEntry)", "--out", out])
        XCTAssertEqual(q.status, 0, q.output)
        let r = try api.call("POST", APIPath.attestations(node.id), token: try node.token(), body: try FileBytes.read(out))
        XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
        let response = try api.decode(AttestationResponse.self, r)
        XCTAssertFalse(response.passed)
        XCTAssertTrue(response.verdict.contains("ak-invalid") && response.verdict.contains("restricted"), response.verdict)
    }
}
