import SQLStore

/// One row of `nodes`: an enrolled node, its keys, and where its attestation stands.
struct NodeRecord: Sendable {
    var id: String
    var group: String
    var attestationKey: [UInt8]
    var tokenSHA256: [UInt8]
    var enrolledAt: Int64
    /// Verdicts stored so far; also the optimistic-concurrency version of the row.
    var round: Int64
    /// `enrolled`, `pass`, `fail` or `stale`.
    var status: String
    /// The AttestationState JSON of the last passing round.
    var state: String?
    var bootID: String?
    var lastAttestationAt: Int64?
    var referenceVersion: Int64?
    var firstFailure: String?
    /// The newest reference version of the node's group (nil: none yet), read with the node so
    /// a round needs no extra query for it.
    var latestReferenceVersion: Int64?

    static let columns = "id, group_name, ak_public, token_sha256, enrolled_at, round, status, state, boot_id, last_attestation_at, reference_version, first_failure"

    init(row: SQLRow) throws {
        id = try row.text("id")
        group = try row.text("group_name")
        attestationKey = try row.blob("ak_public")
        tokenSHA256 = try row.blob("token_sha256")
        enrolledAt = try row.integer("enrolled_at")
        round = try row.integer("round")
        status = try row.text("status")
        state = try row.optionalText("state")
        bootID = try row.optionalText("boot_id")
        lastAttestationAt = try row.optionalInteger("last_attestation_at")
        referenceVersion = try row.optionalInteger("reference_version")
        firstFailure = try row.optionalText("first_failure")
        latestReferenceVersion = row.columns.contains("latest_reference") ? try row.optionalInteger("latest_reference") : nil
    }

    /// The node with its group's newest reference version.
    static func loadWithReference(_ id: String, on connection: any SQLConnection) throws -> NodeRecord? {
        try connection.query("""
            SELECT \(columns), (SELECT MAX(version) FROM reference_versions r WHERE r.group_name = nodes.group_name) AS latest_reference
            FROM nodes WHERE id = $1
            """, [.text(id)]).first.map(NodeRecord.init(row:))
    }

    static func load(_ id: String, on connection: any SQLConnection) throws -> NodeRecord? {
        try connection.query("SELECT \(columns) FROM nodes WHERE id = $1", [.text(id)]).first.map(NodeRecord.init(row:))
    }
}
