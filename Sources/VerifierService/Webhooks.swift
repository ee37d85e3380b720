#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SQLStore
import SignetCrypto
import SignetHTTPClient
import VerifierAPI

/// How a webhook delivery is signed, so its receiver can tell it came from a verifier that holds
/// the endpoint's secret, and was not replayed.
///
/// Every delivery (each retry included) is a POST of the event's JSON with:
///
///     Content-Type: application/json
///     Signet-Event-Id: <the event's id; also the body's "event_id">
///     Signet-Timestamp: <Unix seconds when this attempt was sent>
///     Signet-Signature: v1=<hex HMAC-SHA256(secret, "<Signet-Timestamp>." + body)>
///
/// The receiver recomputes the HMAC over the timestamp header, a dot and the body exactly as
/// received, compares in constant time, refuses a timestamp too far from its clock (5 minutes),
/// and drops an event id it has seen (the body's, which the signature covers) with a 2xx, since
/// a retry after a lost answer carries the same id. An endpoint sent unsigned
/// (`--webhook-unsigned`) gets no Signet-Signature.
public enum WebhookSignature {
    public static let eventIDHeader = "Signet-Event-Id"
    public static let timestampHeader = "Signet-Timestamp"
    public static let signatureHeader = "Signet-Signature"

    /// The Signet-Signature value: `v1=` and the hex HMAC-SHA256 of `"<timestamp>." + body` under `secret`.
    public static func signature(secret: [UInt8], timestamp: Int64, body: [UInt8]) throws -> String {
        "v1=" + Hex.encode(try CredentialPrimitives.hmac(.sha256, key: secret, data: Array("\(timestamp).".utf8) + body))
    }

    /// The headers of one attempt, sent at `timestamp` (Unix seconds).
    public static func headers(eventID: String, timestamp: Int64, body: [UInt8], secret: [UInt8]?) throws -> [String: String] {
        var headers = ["Content-Type": "application/json", eventIDHeader: eventID, timestampHeader: String(timestamp)]
        if let secret { headers[signatureHeader] = try signature(secret: secret, timestamp: timestamp, body: body) }
        return headers
    }
}

/// One delivery claimed from the outbox: an event for one endpoint.
struct WebhookDelivery: Sendable {
    let id: Int64
    let url: String
    let payload: [UInt8]
    let attempts: Int64
    let eventID: String
}

// MARK: The outbox (an event is stored in the transaction of the change that caused it)

extension VerifierCore {
    /// Queues `event` for every endpoint, under one new event id, on the caller's transaction.
    func enqueueStatusEvent(_ event: NodeStatusEvent, on c: any SQLConnection) throws {
        guard !configuration.webhooks.isEmpty else { return }
        var event = event
        let eventID = UUID().uuidString.lowercased()
        event.eventID = eventID
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Array(try encoder.encode(event))
        for hook in configuration.webhooks {
            try c.query("""
                INSERT INTO webhook_deliveries (url, payload, created_at, attempts, next_attempt_at, event_id, node_id)
                VALUES ($1, $2, $3, 0, $3, $4, $5)
                """, [.text(hook.url), .blob(payload), .integer(event.at), .text(eventID), .text(event.nodeID)])
        }
    }

    /// Claims due deliveries, oldest first: at most `slots[i].count` for the endpoint
    /// `slots[i].url`, endpoints in the order given, at most `limit` in all. Each is leased for
    /// `webhookLeaseMs`: FOR UPDATE SKIP LOCKED on PostgreSQL, so verifiers sharing the database
    /// never claim one delivery twice. A delivery waits while an older one of the same node to the
    /// same endpoint is neither delivered nor given up on (in flight or waiting for a retry), so
    /// each endpoint hears a node's changes in order.
    func claimWebhookDeliveries(slots: [(url: String, count: Int)], limit: Int) throws -> [WebhookDelivery] {
        let at = now()
        let lock = database.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let leaseUntil = at + configuration.webhookLeaseMs
        return try transaction { c in
            var claimed: [WebhookDelivery] = []
            for (url, count) in slots {
                let n = min(count, limit - claimed.count)
                guard n > 0 else { continue }
                let rows = try c.query("""
                    SELECT d.id, d.url, d.payload, d.attempts, d.event_id FROM webhook_deliveries d
                    WHERE d.url = $1 AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $2
                    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                    WHERE e.url = d.url AND e.node_id = d.node_id AND e.id < d.id
                                    AND e.delivered_at IS NULL AND e.failed_at IS NULL)
                    ORDER BY d.id LIMIT \(n)\(lock)
                    """, [.text(url), .integer(at)])
                for row in rows {
                    let id = try row.integer("id")
                    claimed.append(WebhookDelivery(id: id, url: try row.text("url"), payload: try row.blob("payload"),
                                                   attempts: try row.integer("attempts"),
                                                   eventID: try row.optionalText("event_id") ?? "delivery-\(id)"))
                    try c.query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1", [.integer(id), .integer(leaseUntil)])
                }
            }
            return claimed
        }
    }

    /// POSTs one claimed delivery, signed with its endpoint's secret, and records the outcome:
    /// delivered on a 2xx; otherwise retried with exponential backoff (1 s, 2 s, 4 s, …) until
    /// `webhookMaxAttempts`. Blocking (at most `webhookTimeoutMs`): runs on a sender thread.
    /// Returns whether it was delivered.
    @discardableResult
    func sendWebhook(_ delivery: WebhookDelivery, using client: HTTPClient) -> Bool {
        var failure: String?
        do {
            let secret = configuration.webhooks.first { $0.url == delivery.url }?.secret
            let headers = try WebhookSignature.headers(eventID: delivery.eventID, timestamp: now() / 1000, body: delivery.payload,
                                                       secret: secret)
            let response = try client.request("POST", delivery.url, headers: headers, body: delivery.payload)
            if !(200..<300).contains(response.status) { failure = "HTTP \(response.status)" }
        } catch {
            failure = "\(error)"
        }
        // Not recorded (the database is unreachable): the lease runs out and the delivery is sent again.
        try? recordWebhookAttempt(delivery, failure: failure)
        metrics.recordWebhook(delivered: failure == nil)
        return failure == nil
    }

    func recordWebhookAttempt(_ d: WebhookDelivery, failure: String?) throws {
        let attempts = d.attempts + 1
        try transaction { c in
            if let failure {
                let giveUp = attempts >= Int64(configuration.webhookMaxAttempts)
                let backoff = Int64(1000) << min(attempts - 1, 16)
                try c.query("""
                    UPDATE webhook_deliveries SET attempts = $2, last_error = $3, next_attempt_at = $4, failed_at = $5 WHERE id = $1
                    """, [.integer(d.id), .integer(attempts), .text(String(failure.prefix(500))), .integer(now() + backoff),
                          giveUp ? .integer(now()) : .null])
            } else {
                try c.query("UPDATE webhook_deliveries SET attempts = $2, delivered_at = $3 WHERE id = $1",
                            [.integer(d.id), .integer(attempts), .integer(now())])
            }
        }
    }
}
