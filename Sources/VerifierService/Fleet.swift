#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SQLStore
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
    /// webhook deliveries of events a week old.
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
            // Delivered or given up on long ago, or queued for an endpoint no verifier sends to any more.
            try c.query("DELETE FROM webhook_deliveries WHERE created_at < $1", [.integer(at - 7 * 86_400_000)])
            return marked
        }
    }
}
