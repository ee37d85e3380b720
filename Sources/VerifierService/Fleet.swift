#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SQLStore
import SignetHTTPClient
import VerifierAPI

extension VerifierCore {
    /// Every node, with its status as of now: a node with no attestation for `staleAfterMs`
    /// shows as `stale` even before the sweeper records it.
    public func fleetStatus() throws -> FleetStatus {
        let at = now()
        let nodes: [NodeStatus] = try withConnection { c in
            try c.query("SELECT \(NodeRecord.columns) FROM nodes ORDER BY id", []).map { row in
                let n = try NodeRecord(row: row)
                return NodeStatus(nodeID: n.id, group: n.group, status: isStale(n, at: at) ? "stale" : n.status,
                                  lastAttestationAt: n.lastAttestationAt, round: n.round, referenceVersion: n.referenceVersion,
                                  firstFailure: n.firstFailure)
            }
        }
        return FleetStatus(now: at, nodes: nodes)
    }

    /// The node's stored verdicts, newest first (at most `limit`).
    public func history(node nodeID: String, limit: Int = 1000) throws -> NodeHistory {
        try withConnection { c in
            guard try NodeRecord.load(nodeID, on: c) != nil else { throw ServiceError.notFound("no enrolled node '\(nodeID)'") }
            let rows = try c.query("""
                SELECT round, passed, verified_at, group_name, reference_version, first_entry, judged_entries, first_failure, verifier
                FROM attestations WHERE node_id = $1 ORDER BY round DESC LIMIT \(max(1, limit))
                """, [.text(nodeID)])
            return NodeHistory(nodeID: nodeID, attestations: try rows.map { r in
                AttestationRecord(round: try r.integer("round"), passed: try r.integer("passed") != 0, verifiedAt: try r.integer("verified_at"),
                                  group: try r.text("group_name"), referenceVersion: try r.optionalInteger("reference_version"),
                                  firstEntry: try r.optionalInteger("first_entry"), judgedEntries: try r.optionalInteger("judged_entries"),
                                  firstFailure: try r.optionalText("first_failure"), verifier: try r.text("verifier"))
            })
        }
    }

    func isStale(_ node: NodeRecord, at: Int64) -> Bool {
        (node.lastAttestationAt ?? node.enrolledAt) < at - configuration.staleAfterMs
    }

    /// Records `stale` for nodes silent past the threshold (one webhook event each). Several
    /// verifiers may sweep at once: the conditional UPDATE lets exactly one record each change.
    /// Also drops expired nonces and enrolment challenges, verdicts past the retention (never a node's newest), and
    /// webhook deliveries finished a week ago.
    @discardableResult
    public func sweepStale() throws -> Int {
        let at = now()
        let cutoff = at - configuration.staleAfterMs
        return try transaction { c in
            let candidates = try c.query("""
                SELECT \(NodeRecord.columns) FROM nodes
                WHERE status <> 'stale' AND COALESCE(last_attestation_at, enrolled_at) < $1
                """, [.integer(cutoff)]).map(NodeRecord.init(row:))
            var marked = 0
            for n in candidates {
                try c.query("UPDATE nodes SET status = 'stale' WHERE id = $1 AND round = $2 AND status = $3",
                            [.text(n.id), .integer(n.round), .text(n.status)])
                guard c.changes == 1 else { continue }
                marked += 1
                try enqueueStatusEvent(NodeStatusEvent(nodeID: n.id, group: n.group, previousStatus: n.status, status: "stale",
                                                       at: at, round: nil, firstFailure: n.firstFailure), on: c)
            }
            try c.query("DELETE FROM nonces WHERE expires_at < $1", [.integer(at - configuration.nonceLifetimeMs)])
            try c.query("DELETE FROM enrollments WHERE expires_at < $1", [.integer(at)])
            if configuration.historyRetentionMs > 0 {
                try c.query("""
                    DELETE FROM attestations WHERE verified_at < $1
                    AND round < (SELECT n.round FROM nodes n WHERE n.id = attestations.node_id)
                    """, [.integer(at - configuration.historyRetentionMs)])
            }
            try c.query("DELETE FROM webhook_deliveries WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < $1",
                        [.integer(at - 7 * 86_400_000)])
            return marked
        }
    }

    // MARK: Webhooks (an outbox in the database: an event is stored with the change that caused it)

    func enqueueStatusEvent(_ event: NodeStatusEvent, on c: any SQLConnection) throws {
        guard !configuration.webhooks.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Array(try encoder.encode(event))
        for url in configuration.webhooks {
            try c.query("""
                INSERT INTO webhook_deliveries (url, payload, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, 0, $3)
                """, [.text(url), .blob(payload), .integer(event.at)])
        }
    }

    /// Delivers due webhook events: each is claimed for a minute (FOR UPDATE SKIP LOCKED on
    /// PostgreSQL, so several verifiers share the queue without sending twice), POSTed, and
    /// marked delivered on a 2xx; otherwise retried with exponential backoff (1 s, 2 s, 4 s, …)
    /// until `webhookMaxAttempts`. Returns how many were delivered.
    @discardableResult
    public func deliverWebhooks(using client: HTTPClient, limit: Int = 20) throws -> Int {
        let at = now()
        let lock = database.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let due: [(id: Int64, url: String, payload: [UInt8], attempts: Int64)] = try transaction { c in
            let rows = try c.query("""
                SELECT id, url, payload, attempts FROM webhook_deliveries
                WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                ORDER BY id LIMIT \(limit)\(lock)
                """, [.integer(at)])
            let claimed = try rows.map { (try $0.integer("id"), try $0.text("url"), try $0.blob("payload"), try $0.integer("attempts")) }
            for d in claimed {
                try c.query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1", [.integer(d.0), .integer(at + 60_000)])
            }
            return claimed
        }
        var delivered = 0
        for d in due {
            var failure: String?
            do {
                let response = try client.request("POST", d.url, headers: ["Content-Type": "application/json"], body: d.payload)
                if !(200..<300).contains(response.status) { failure = "HTTP \(response.status)" }
            } catch {
                failure = "\(error)"
            }
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
            if failure == nil { delivered += 1 }
            metrics.recordWebhook(delivered: failure == nil)
        }
        return delivered
    }
}
