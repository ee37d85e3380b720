import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import SignetTestSupport
import VerifierAPI

/// The verifier on a real PostgreSQL (started by the test on a free loopback port): the same
/// flows as on SQLite, a database restart, and two verifier processes sharing one fleet.
final class PostgresFleetTests: FleetTestCase {
    var postgres: PostgresServer!

    override func setUpWithError() throws {
        try super.setUpWithError()
        try PostgresServer.requireInstalled()
        dir.mkdir("pg")
        postgres = PostgresServer(dataDir: dir.url("pg"))
        try postgres.start()
    }

    override func tearDown() {
        postgres?.stop()
        postgres = nil
        super.tearDown()
    }

    /// PostgreSQL restarts under a running verifier: requests during the outage get 503, and the
    /// verifier serves again afterwards without a restart of its own.
    func testTheVerifierRecoversFromADatabaseRestart() throws {
        let verifier = VerifierProcess(dir: dir, database: postgres.url)
        try verifier.start()
        defer { verifier.stop() }
        try uploadReference(verifier)
        let node = try SimulatedNode(id: "pg-node", dir: dir)
        try node.boot()
        try node.run(programs)
        XCTAssertEqual(try node.attest(verifier.url).status, 0)

        postgres.stop()
        let during = try node.attest(verifier.url)
        XCTAssertEqual(during.status, 2, during.output)
        XCTAssertTrue(during.stderr.contains("503") || during.stderr.contains("database"), during.stderr)
        try postgres.start()

        try node.run([programs[1]])
        var after = try node.attest(verifier.url)
        if after.status != 0 { after = try node.attest(verifier.url) }  // at most one stale pooled connection
        XCTAssertEqual(after.status, 0, after.output)
        XCTAssertTrue(after.stdout.contains("round 2 pass") && after.stdout.contains("from entry 3"), after.stdout)
        XCTAssertEqual(try history(verifier, node.id).map(\.round), [2, 1])
    }

    /// Two verifiers on one database: nodes alternate between them, the same evidence sent to
    /// both at once is judged exactly once, and every webhook event is delivered exactly once.
    func testTwoVerifiersShareTheFleetWithoutDoubleWorkOrLostUpdates() throws {
        let hook = try WebhookReceiver(dir: dir)
        let v1 = VerifierProcess(dir: dir, name: "v1", database: postgres.url, extraArguments: hook.arguments())
        try v1.start()
        defer { v1.stop() }
        // The second verifier shares the admin token file and the database.
        let v2 = VerifierProcess(dir: dir, name: "v2", database: postgres.url, extraArguments: hook.arguments())
        try v2.start()
        defer { v2.stop() }
        try uploadReference(v1)

        let nodes = try (0..<3).map { try SimulatedNode(id: "n\($0)", dir: dir) }
        for (i, node) in nodes.enumerated() {
            try node.boot()
            try node.run(programs)
            XCTAssertEqual(try node.attest(i % 2 == 0 ? v1.url : v2.url).status, 0)
        }
        // Rounds alternate verifiers, concurrently across nodes.
        for round in 0..<3 {
            for (i, node) in nodes.enumerated() { try node.run([programs[(round + i) % 2]]) }
            let urls = nodes.indices.map { (round + $0) % 2 == 0 ? v1.url : v2.url }
            let failed = Locked([String]())
            let all = nodes
            DispatchQueue.concurrentPerform(iterations: all.count) { i in
                let r = try? all[i].attest(urls[i])
                if r?.status != 0 { failed.withLock { $0.append("\(all[i].id): \(r?.output ?? "no result")") } }
            }
            XCTAssertEqual(failed.withLock { $0 }, [])
        }
        for node in nodes {
            let rounds = try history(v1, node.id)
            XCTAssertEqual(rounds.map(\.round), [4, 3, 2, 1], "every round once, in order: \(node.id)")
            XCTAssertEqual(Set(rounds.map(\.verifier)), ["v1", "v2"], "both verifiers did work")
        }

        // The same evidence to both verifiers at the same moment: one verdict, one refusal.
        let node = nodes[0]
        try node.run([programs[0]])
        let api1 = APICaller(base: v1.url)
        let nonce = try api1.decode(NonceResponse.self, try api1.call("POST", APIPath.nonce(node.id), token: try node.token(),
                                                                     body: Array(#"{"boot_id":"boot-1"}"#.utf8)))
        let out = dir.url("race.json")
        let q = try signet(["agent", "quote", "--tcti", node.swtpm.tcti, "--ak", node.stateDir, "--nonce", nonce.nonce, "--log", node.logPath,
                            "--from-entry", "\(nonce.fromEntry)", "--out", out])
        XCTAssertEqual(q.status, 0, q.output)
        let evidence = try FileBytes.read(out)
        let token = try node.token()
        let statuses = Locked([Int]())
        let bases = [v1.url, v2.url]
        let nodeID = node.id
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let api = APICaller(base: bases[i])
            let status = (try? api.call("POST", APIPath.attestations(nodeID), token: token, body: evidence))?.status ?? -1
            statuses.withLock { $0.append(status) }
        }
        XCTAssertEqual(statuses.withLock { $0 }.sorted(), [200, 409], "exactly one verifier records the round")
        XCTAssertEqual(try history(v2, node.id).map(\.round), [5, 4, 3, 2, 1])

        // Status changes: enrolled->pass once per node, delivered once although both verifiers send webhooks.
        let events = hook.waitFor { $0.count >= 3 }
        // Give a double delivery every chance to show: both verifiers stop (SIGTERM: a delivery
        // under way is finished first), so nothing is left to send once they have exited.
        v1.stop()
        v2.stop()
        XCTAssertEqual(hook.events().map(\.nodeID).sorted(), ["n0", "n1", "n2"], "\(events)")
    }
}
