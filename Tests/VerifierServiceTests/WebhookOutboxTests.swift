import Foundation
import XCTest
import SQLStore
import SignetTestSupport
import VerifierAPI
@testable import VerifierService

/// The webhook outbox's claims, in process with a clock the test moves (a real SQLite file, no
/// network): per-endpoint and total limits, leases, a node's events in order per endpoint,
/// retries with backoff keeping the event id, giving up after the last attempt.
final class WebhookOutboxTests: XCTestCase {
    final class TestClock: @unchecked Sendable {
        var now: Int64 = 1_000_000_000_000
        let lock = NSLock()
        func read() -> Int64 { lock.lock(); defer { lock.unlock() }; return now }
        func advance(ms: Int64) { lock.lock(); now += ms; lock.unlock() }
    }

    func testClaimsKeepLimitsLeasesAndEachNodesOrder() throws {
        let dir = makeTempDir("signet-outbox")
        let db = try SQLDatabase(url: "sqlite:" + dir.url("v.db"), maxConnections: 2)
        let clock = TestClock()
        var configuration = VerifierConfiguration(instanceID: "test")
        configuration.webhooks = [Webhook(url: "http://a.invalid/", secret: Array("0123456789abcdef".utf8)),
                                  Webhook(url: "http://b.invalid/", secret: nil)]
        configuration.webhookMaxAttempts = 2
        let core = try VerifierCore(database: db, configuration: configuration, now: { clock.read() })
        let (a, b) = ("http://a.invalid/", "http://b.invalid/")

        // x changes twice, then y once: three events, each queued for both endpoints.
        for (node, status) in [("x", "pass"), ("x", "fail"), ("y", "pass")] {
            try db.transaction { c in
                try core.enqueueStatusEvent(NodeStatusEvent(nodeID: node, group: "default", previousStatus: "enrolled", status: status,
                                                            at: clock.read(), round: 1, firstFailure: nil), on: c)
            }
        }
        func label(_ d: WebhookDelivery) throws -> String {
            let event = try JSONDecoder().decode(NodeStatusEvent.self, from: Data(d.payload))
            XCTAssertEqual(event.eventID, d.eventID)
            return "\(d.url == a ? "a" : "b"):\(event.nodeID)-\(event.status)"
        }

        // At most the total, and per endpoint what it is given; x's second event waits for its first.
        let one = try core.claimWebhookDeliveries(slots: [(a, 8), (b, 8)], limit: 1)
        XCTAssertEqual(try one.map(label), ["a:x-pass"])
        let rest = try core.claimWebhookDeliveries(slots: [(a, 8), (b, 1)], limit: 8)
        XCTAssertEqual(try rest.map(label), ["a:y-pass", "b:x-pass"])
        let by = try core.claimWebhookDeliveries(slots: [(a, 8), (b, 8)], limit: 8)
        XCTAssertEqual(try by.map(label), ["b:y-pass"])
        // Claimed ones are leased: nobody claims them again; x's next waits while its first is in flight.
        XCTAssertTrue(try core.claimWebhookDeliveries(slots: [(a, 8), (b, 8)], limit: 8).isEmpty)
        // One event, one id at every endpoint.
        let ax = try XCTUnwrap(one.first)
        XCTAssertEqual(rest.first { $0.url == b }?.eventID, ax.eventID)

        // y's and b's deliveries succeed: b's x-fail is next. a's x-pass fails: retried after 1 s, same event id.
        for d in rest + by {
            try core.recordWebhookAttempt(d, failure: nil)
        }
        try core.recordWebhookAttempt(ax, failure: "HTTP 500")
        XCTAssertEqual(try core.claimWebhookDeliveries(slots: [(a, 8), (b, 8)], limit: 8).map(label), ["b:x-fail"])
        clock.advance(ms: 999)
        XCTAssertTrue(try core.claimWebhookDeliveries(slots: [(a, 8)], limit: 8).isEmpty, "backoff: 1 s; x-fail waits behind it")
        clock.advance(ms: 1)
        let retry = try core.claimWebhookDeliveries(slots: [(a, 8)], limit: 8)
        XCTAssertEqual(try retry.map(label), ["a:x-pass"])
        XCTAssertEqual(retry.first?.eventID, ax.eventID)
        XCTAssertEqual(retry.first?.attempts, 1)

        // The second failure is the last attempt: given up, and x's next event goes.
        try core.recordWebhookAttempt(try XCTUnwrap(retry.first), failure: "HTTP 500")
        clock.advance(ms: 60_000)
        XCTAssertEqual(try core.claimWebhookDeliveries(slots: [(a, 8)], limit: 8).map(label), ["a:x-fail"])
        let rows = try db.query("SELECT attempts, failed_at FROM webhook_deliveries WHERE id = $1", [.integer(ax.id)])
        XCTAssertEqual(try rows.first?.integer("attempts"), 2)
        XCTAssertNotNil(try rows.first?.optionalInteger("failed_at"))

        // A lease runs out (a verifier died mid-delivery): the delivery is claimed again.
        clock.advance(ms: configuration.webhookLeaseMs)
        XCTAssertEqual(try core.claimWebhookDeliveries(slots: [(a, 8)], limit: 8).map(label), ["a:x-fail"])
    }

    /// The signature is HMAC-SHA256 over "<timestamp>." + body, hex, after "v1=".
    func testTheSignatureHeaders() throws {
        let body = Array(#"{"event_id":"e"}"#.utf8)
        let headers = try WebhookSignature.headers(eventID: "e", timestamp: 1_700_000_000, body: body, secret: Array("key".utf8))
        XCTAssertEqual(headers["Signet-Event-Id"], "e")
        XCTAssertEqual(headers["Signet-Timestamp"], "1700000000")
        // The same HMAC computed by Python's hmac module.
        XCTAssertEqual(headers["Signet-Signature"], "v1=" + Self.python(#"import hmac,hashlib;print(hmac.new(b"key",b"1700000000."+b'{"event_id":"e"}',hashlib.sha256).hexdigest(),end="")"#))
        XCTAssertNil(try WebhookSignature.headers(eventID: "e", timestamp: 1, body: body, secret: nil)["Signet-Signature"])
    }

    static func python(_ code: String) -> String {
        (try? runProgram("/usr/bin/python3", ["-c", code]).stdout) ?? "python3 missing"
    }
}
