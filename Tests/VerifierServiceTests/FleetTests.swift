import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import SignetHTTPClient
import SignetTestSupport
import VerifierAPI

/// The verifier service end to end: the real binary as verifier and agents, one swtpm per node,
/// SQLite (and, in PostgresFleetTests, PostgreSQL) as the store.
class FleetTestCase: XCTestCase {
    var dir: TempDir!
    var keys: KeyFixture!
    var programs: [(path: String, content: [UInt8])] = []

    override func setUpWithError() throws {
        try Swtpm.requireTools()
        dir = TempDir("signet-fleet")
        keys = try KeyFixture(in: dir)
        // The image: two signed programs and the manifest of the build that signed them.
        for (name, text) in [("a", "program a"), ("b", "program b")] {
            dir.write("tree/usr/bin/\(name)", text, mode: 0o755)
            programs.append(("/usr/bin/\(name)", Array(text.utf8)))
        }
        let sign = try signet(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--manifest", dir.url("m.jsonl"), dir.url("tree")])
        XCTAssertEqual(sign.status, 0, sign.output)
    }

    /// Subclasses stop what runs in `dir` (PostgreSQL) before calling this.
    override func tearDown() {
        dir?.remove()
        dir = nil
        super.tearDown()
    }

    func signet(_ args: [String]) throws -> ProcessResult { try runProgram(signetBinary, args) }

    func admin(_ verifier: VerifierProcess, _ args: [String]) throws -> ProcessResult {
        try signet(["fleet"] + args + ["--verifier", verifier.url, "--admin-token-file", verifier.adminTokenFile])
    }

    func uploadReference(_ verifier: VerifierProcess, group: String = "default") throws {
        let r = try signet(["fleet", "upload-reference", "--verifier", verifier.url, "--admin-token-file", verifier.adminTokenFile,
                            "--group", group, "--cert", keys.certPath, "--manifest", dir.url("m.jsonl")])
        XCTAssertEqual(r.status, 0, r.output)
    }

    func fleet(_ verifier: VerifierProcess) throws -> FleetStatus {
        let r = try admin(verifier, ["status", "--json"])
        XCTAssertEqual(r.status, 0, r.output)
        return try JSONDecoder().decode(FleetStatus.self, from: Data(r.stdout.utf8))
    }

    func history(_ verifier: VerifierProcess, _ node: String) throws -> [AttestationRecord] {
        let response = try historyResponse(verifier, node)
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        return try JSONDecoder().decode(NodeHistory.self, from: Data(response.body)).attestations
    }

    /// GET the node's history with the admin token, whatever the status.
    func historyResponse(_ verifier: VerifierProcess, _ node: String) throws -> HTTPResponse {
        let token = try XCTUnwrap(TokenEncoding.decode(try String(contentsOfFile: verifier.adminTokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        return try APICaller(base: verifier.url).call("GET", APIPath.history(node), token: token, body: nil)
    }
}

final class FleetTests: FleetTestCase {
    /// README's demo as a test: two nodes, one runs an unknown program; the fleet check names it,
    /// the webhook hears about it, and rounds after the first send only new log entries.
    func testTwoNodesOneTamperedTheFleetCheckNamesIt() throws {
        let hook = try WebhookReceiver(dir: dir, failFirst: 1)
        let verifier = VerifierProcess(dir: dir, database: dir.url("verifier.db"), extraArguments: hook.arguments())
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)

        let a = try SimulatedNode(id: "node-a", dir: dir)
        let b = try SimulatedNode(id: "node-b", dir: dir)
        for node in [a, b] {
            try node.boot()
            try node.run(programs)
            let first = try node.attest(verifier.url)
            XCTAssertEqual(first.status, 0, first.output)
            XCTAssertTrue(first.stdout.contains("enrolled \(node.id)"), first.stdout)
            XCTAssertTrue(first.stdout.contains("round 1 pass"), first.stdout)
            XCTAssertTrue(first.stdout.contains("reference v1"), first.stdout)
        }

        // node-a runs a again (a new measurement of a known program): only the new entry is sent.
        try a.run([programs[0]])
        let second = try a.attest(verifier.url)
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.stdout.contains("round 2 pass"), second.stdout)
        XCTAssertTrue(second.stdout.contains("from entry 3"), "incremental: \(second.stdout)")

        // node-b runs something no build signed.
        try b.run([("/tmp/dropper", Array("evil".utf8))])
        let bad = try b.attest(verifier.url)
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.stdout.contains("FAIL"), bad.stdout)
        XCTAssertTrue(bad.stdout.contains("/tmp/dropper"), bad.stdout)

        let status = try fleet(verifier)
        XCTAssertEqual(status.nodes.map(\.nodeID), ["node-a", "node-b"])
        XCTAssertEqual(status.nodes.map(\.status), ["pass", "fail"])
        XCTAssertEqual(status.nodes[1].referenceVersion, 1)
        XCTAssertTrue(status.nodes[1].firstFailure?.contains("entry 3 /tmp/dropper: unsigned-not-in-manifest") == true,
                      status.nodes[1].firstFailure ?? "nil")
        let table = try admin(verifier, ["status"])
        XCTAssertTrue(table.stdout.contains("node-b") && table.stdout.contains("FAIL"), table.stdout)

        let check = try admin(verifier, ["check"])
        XCTAssertEqual(check.status, 1, check.output)
        XCTAssertTrue(check.stdout.contains("node-b: FAILED"), check.stdout)
        XCTAssertFalse(check.stdout.contains("node-a:"), check.stdout)

        // History: each verdict once, named by the reference version it was judged by.
        let historyB = try history(verifier, "node-b")
        XCTAssertEqual(historyB.map(\.round), [2, 1])
        XCTAssertEqual(historyB.map(\.passed), [false, true])
        XCTAssertEqual(historyB.map(\.referenceVersion), [1, 1])

        // The webhook (its first delivery refused with 500, so retried) hears pass then fail for node-b.
        // Deliveries are retried independently (the refused one comes back a second later), so wait for both nodes' events.
        let events = hook.waitFor { events in
            events.contains { $0.nodeID == "node-b" && $0.status == "fail" } && events.contains { $0.nodeID == "node-a" && $0.status == "pass" }
                && events.contains { $0.nodeID == "node-b" && $0.status == "pass" }
        }
        let forB = events.filter { $0.nodeID == "node-b" }.map { "\($0.previousStatus)->\($0.status)" }
        XCTAssertEqual(forB, ["enrolled->pass", "pass->fail"], "\(events)")
        XCTAssertEqual(Set(events.filter { $0.nodeID == "node-a" }.map(\.status)), ["pass"])

        // A new reference version that excludes /tmp: node-b's next round is judged by it and passes.
        let r = try signet(["fleet", "upload-reference", "--verifier", verifier.url, "--admin-token-file", verifier.adminTokenFile,
                            "--cert", keys.certPath, "--manifest", dir.url("m.jsonl"), "--exclude", "/tmp/*"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("reference v2"), r.stdout)
        let recovered = try b.attest(verifier.url)
        XCTAssertEqual(recovered.status, 0, recovered.output)
        XCTAssertTrue(recovered.stdout.contains("reference v2"), recovered.stdout)
        XCTAssertEqual(try admin(verifier, ["check"]).status, 0)

        let metrics = try APICaller(base: verifier.url).call("GET", "/metrics", token: nil, body: nil)
        let text = String(decoding: metrics.body, as: UTF8.self)
        XCTAssertTrue(text.contains(#"signet_attestations_total{verdict="fail"} 1"#), text)
        XCTAssertTrue(text.contains(#"signet_attestations_total{verdict="pass"} 4"#), text)
        XCTAssertTrue(text.contains("signet_attestation_duration_seconds_bucket"), text)
    }

    /// A node that stops attesting turns stale; `fleet check` names it; the webhook hears it once.
    func testASilentNodeTurnsStale() throws {
        let hook = try WebhookReceiver(dir: dir)
        let verifier = VerifierProcess(dir: dir, database: "sqlite:" + dir.url("v.db"),
                                       extraArguments: hook.arguments() + ["--stale-after", "2s"])
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let a = try SimulatedNode(id: "quiet", dir: dir)
        try a.boot()
        XCTAssertEqual(try a.attest(verifier.url).status, 0)
        XCTAssertEqual(try admin(verifier, ["check", "--stale-after", "1m"]).status, 0)
        let events = hook.waitFor { $0.contains { $0.status == "stale" } }
        XCTAssertEqual(events.map(\.status), ["pass", "stale"], "\(events)")
        XCTAssertEqual(try fleet(verifier).nodes.first?.status, "stale")
        let check = try admin(verifier, ["check", "--stale-after", "1s"])
        XCTAssertEqual(check.status, 1, check.output)
        XCTAssertTrue(check.stdout.contains("quiet: STALE"), check.stdout)
        // Attesting again brings it back.
        XCTAssertEqual(try a.attest(verifier.url).status, 0)
        XCTAssertEqual(try fleet(verifier).nodes.first?.status, "pass")
    }
}
