import Foundation
import XCTest
import SQLStore
import SignetTestSupport
import VerifierService

/// The sweeper's housekeeping, in process with a clock the test moves (our own logic over a real
/// SQLite file; no TPM needed): old verdicts go, a node's newest stays; stale nodes are marked once.
final class RetentionTests: XCTestCase {
    final class TestClock: @unchecked Sendable {
        var now: Int64 = 1_000_000_000_000
        let lock = NSLock()
        func read() -> Int64 { lock.lock(); defer { lock.unlock() }; return now }
        func advance(days: Int64) { lock.lock(); now += days * 86_400_000; lock.unlock() }
    }

    func testOldVerdictsAreDroppedButEachNodesNewestIsKept() throws {
        let dir = TempDir("signet-retention")
        let db = try SQLDatabase(url: "sqlite:" + dir.url("v.db"), maxConnections: 2)
        let clock = TestClock()
        var configuration = VerifierConfiguration(instanceID: "test")
        configuration.historyRetentionMs = 30 * 86_400_000
        configuration.staleAfterMs = 2 * 86_400_000
        let core = try VerifierCore(database: db, configuration: configuration, now: { clock.read() })

        // Two nodes with three verdicts each, ten days apart (rows as a round stores them).
        for node in ["a", "b"] {
            try db.withConnection { c in
                try c.query("""
                    INSERT INTO nodes (id, group_name, ek_public, ak_public, token_sha256, enrolled_at, round, status, last_attestation_at)
                    VALUES ($1, 'default', $2, $2, $2, $3, 3, 'pass', $4)
                    """, [.text(node), .blob([1]), .integer(clock.read()), .integer(clock.read() + 20 * 86_400_000)])
                for round in 1...3 {
                    try c.query("""
                        INSERT INTO attestations (node_id, round, nonce, verified_at, passed, group_name, verdict, verifier, duration_us)
                        VALUES ($1, $2, $3, $4, 1, 'default', $5, 'test', 1)
                        """, [.text(node), .integer(Int64(round)), .text("\(node)-\(round)"),
                              .integer(clock.read() + Int64(round - 1) * 10 * 86_400_000), .blob(Array("{}".utf8))])
                }
            }
        }
        clock.advance(days: 45)  // rounds 1 and 2 are 45 and 35 days old, round 3 is 25 days old
        XCTAssertEqual(try core.sweepStale(), 2, "both nodes silent for 25 days: stale")
        for node in ["a", "b"] {
            XCTAssertEqual(try core.history(node: node).attestations.map(\.round), [3])
        }
        clock.advance(days: 100)
        _ = try core.sweepStale()
        XCTAssertEqual(try core.history(node: "a").attestations.map(\.round), [3], "a node's newest verdict is never dropped")
        XCTAssertEqual(try core.sweepStale(), 0, "a stale node is marked once")
    }
}
