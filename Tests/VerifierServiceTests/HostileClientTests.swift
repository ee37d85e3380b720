import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport
import VerifierAPI

/// Requests a hostile or broken client sends: each refused with the right status and a named
/// error, and nothing stored (no verdict, no nonce consumed).
final class HostileClientTests: FleetTestCase {
    /// Evidence from `node`'s TPM for `nonce`, with the log from the node's verified position.
    func evidence(_ node: SimulatedNode, nonce: String, fromEntry: Int) throws -> [UInt8] {
        let out = dir.url("evidence-\(nonce.prefix(8)).json")
        let q = try signet(["agent", "quote", "--tcti", node.swtpm.tcti, "--ak", node.stateDir, "--nonce", nonce, "--log", node.logPath,
                            "--from-entry", "\(fromEntry)", "--out", out])
        XCTAssertEqual(q.status, 0, q.output)
        return try FileBytes.read(out)
    }

    func nonce(_ api: APICaller, _ node: SimulatedNode) throws -> NonceResponse {
        let r = try api.call("POST", APIPath.nonce(node.id), token: try node.token(), body: Array(#"{"boot_id":"boot-1"}"#.utf8))
        XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
        return try api.decode(NonceResponse.self, r)
    }

    func testHostileRequestsAreRefusedAndNothingIsStored() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"), extraArguments: ["--max-body", "1"])
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let a = try SimulatedNode(id: "node-a", dir: dir)
        let b = try SimulatedNode(id: "node-b", dir: dir)
        for node in [a, b] {
            try node.boot()
            try node.run(programs)
            XCTAssertEqual(try node.attest(verifier.url).status, 0)
        }
        let api = APICaller(base: verifier.url)
        let tokenA = try a.token()

        // Oversized body: 413 before anything is parsed.
        let big = try api.call("POST", APIPath.attestations(a.id), token: tokenA, body: [UInt8](repeating: 0x7b, count: 2 << 20))
        XCTAssertEqual(big.status, 413)
        XCTAssertEqual(api.errorCode(big), "body-too-large")

        // Not JSON / not evidence: 400 naming the problem.
        let junk = try api.call("POST", APIPath.attestations(a.id), token: tokenA, body: Array("{not json".utf8))
        XCTAssertEqual(junk.status, 400)
        XCTAssertEqual(api.errorCode(junk), "bad-evidence")
        let noBoot = try api.call("POST", APIPath.nonce(a.id), token: tokenA, body: Array("{}".utf8))
        XCTAssertEqual(noBoot.status, 400)
        XCTAssertEqual(api.errorCode(noBoot), "bad-json")

        // Unenrolled node, and a wrong token for an enrolled one: 401, the same answer for both.
        let ghost = try api.call("POST", APIPath.nonce("ghost"), token: SecureRandom.bytes(32), body: Array(#"{"boot_id":"x"}"#.utf8))
        XCTAssertEqual(ghost.status, 401)
        let wrongToken = try api.call("POST", APIPath.nonce(a.id), token: SecureRandom.bytes(32), body: Array(#"{"boot_id":"x"}"#.utf8))
        XCTAssertEqual(wrongToken.status, 401)
        let noToken = try api.call("POST", APIPath.nonce(a.id), token: nil, body: Array(#"{"boot_id":"x"}"#.utf8))
        XCTAssertEqual(noToken.status, 401)
        // Admin calls need the admin token, not a node's.
        XCTAssertEqual(try api.call("GET", APIPath.fleet, token: tokenA, body: nil).status, 401)

        // A quote over another node's nonce, sent by node-a: 403, and node-b's nonce is not consumed.
        let nonceB = try nonce(api, b)
        let stolen = try evidence(a, nonce: nonceB.nonce, fromEntry: a.entries)
        let theft = try api.call("POST", APIPath.attestations(a.id), token: tokenA, body: stolen)
        XCTAssertEqual(theft.status, 403, String(decoding: theft.body, as: UTF8.self))
        XCTAssertEqual(api.errorCode(theft), "nonce-other-node")

        // A nonce the verifier never issued: 409.
        let forged = try evidence(a, nonce: Hex.encode(SecureRandom.bytes(32)), fromEntry: a.entries)
        let unknown = try api.call("POST", APIPath.attestations(a.id), token: tokenA, body: forged)
        XCTAssertEqual(unknown.status, 409)
        XCTAssertEqual(api.errorCode(unknown), "nonce-unknown")

        XCTAssertEqual(try history(verifier, a.id).count, 1, "refused requests store no verdict")
        XCTAssertEqual(try history(verifier, b.id).count, 1)

        // A good round, then the same evidence again: replay refused with 409, one verdict stored.
        let nonceA = try nonce(api, a)
        XCTAssertEqual(nonceA.fromEntry, a.entries, "the verifier asks only for entries it has not seen")
        let good = try evidence(a, nonce: nonceA.nonce, fromEntry: nonceA.fromEntry)
        let ok = try api.call("POST", APIPath.attestations(a.id), token: tokenA, body: good)
        XCTAssertEqual(ok.status, 200, String(decoding: ok.body, as: UTF8.self))
        XCTAssertTrue(try api.decode(AttestationResponse.self, ok).passed)
        let replay = try api.call("POST", APIPath.attestations(a.id), token: tokenA, body: good)
        XCTAssertEqual(replay.status, 409)
        XCTAssertEqual(api.errorCode(replay), "evidence-replayed")
        XCTAssertEqual(try history(verifier, a.id).map(\.round), [2, 1])

        // node-b's nonce survived the theft attempt: node-b can still use it.
        let own = try evidence(b, nonce: nonceB.nonce, fromEntry: nonceB.fromEntry)
        let bRound = try api.call("POST", APIPath.attestations(b.id), token: try b.token(), body: own)
        XCTAssertEqual(bRound.status, 200, String(decoding: bRound.body, as: UTF8.self))
        XCTAssertEqual(try history(verifier, b.id).map(\.round), [2, 1])

        // Enrolment abuse: an AK that is not a restricted signing key, and a wrong credential.
        let badEnrol = try api.call("POST", APIPath.enrollments, token: nil, body: Array(#"{"node_id":"x","ek_public":"AAAA","ak_public":"AAAA"}"#.utf8))
        XCTAssertEqual(badEnrol.status, 400)
        XCTAssertEqual(api.errorCode(badEnrol), "bad-ek")
        let badID = try api.call("POST", APIPath.enrollments, token: nil, body: Array(#"{"node_id":"../etc","ek_public":"AAAA","ak_public":"AAAA"}"#.utf8))
        XCTAssertEqual(api.errorCode(badID), "bad-node-id")
        let noEnrolment = try api.call("POST", APIPath.activation("0011"), token: nil, body: Array(#"{"credential":"AAAA"}"#.utf8))
        XCTAssertEqual(noEnrolment.status, 404)
        XCTAssertEqual(try fleet(verifier).nodes.count, 2, "no node appeared")
    }
}
