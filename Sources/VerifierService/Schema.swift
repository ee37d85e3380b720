import SQLStore

/// The verifier's tables, the same on SQLite and PostgreSQL. Times are milliseconds since the
/// Unix epoch. Never edit a shipped migration: add the next one.
enum Schema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "fleet", sql: """
            CREATE TABLE reference_versions (
                group_name TEXT NOT NULL,
                version BIGINT NOT NULL,
                document {blob} NOT NULL,
                sha256 TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (group_name, version)
            );
            CREATE TABLE enrollments (
                id TEXT PRIMARY KEY,
                node_id TEXT NOT NULL,
                ek_public {blob} NOT NULL,
                ek_certificate {blob},
                ak_public {blob} NOT NULL,
                credential_sha256 {blob} NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            );
            CREATE INDEX enrollments_node ON enrollments (node_id);
            CREATE TABLE nodes (
                id TEXT PRIMARY KEY,
                group_name TEXT NOT NULL,
                ek_public {blob} NOT NULL,
                ek_certificate {blob},
                ak_public {blob} NOT NULL,
                token_sha256 {blob} NOT NULL,
                enrolled_at BIGINT NOT NULL,
                round BIGINT NOT NULL,
                status TEXT NOT NULL,
                state TEXT,
                boot_id TEXT,
                last_attestation_at BIGINT,
                reference_version BIGINT,
                first_failure TEXT
            );
            CREATE TABLE nonces (
                nonce TEXT PRIMARY KEY,
                node_id TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
                issued_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                from_entry BIGINT NOT NULL,
                from_offset BIGINT NOT NULL,
                node_round BIGINT NOT NULL,
                claimed_by TEXT,
                claimed_at BIGINT
            );
            CREATE INDEX nonces_expiry ON nonces (expires_at);
            CREATE TABLE attestations (
                id {serial},
                node_id TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
                round BIGINT NOT NULL,
                nonce TEXT NOT NULL UNIQUE,
                verified_at BIGINT NOT NULL,
                passed INTEGER NOT NULL,
                group_name TEXT NOT NULL,
                reference_version BIGINT,
                first_entry BIGINT,
                judged_entries BIGINT,
                first_failure TEXT,
                verdict {blob} NOT NULL,
                verifier TEXT NOT NULL,
                duration_us BIGINT NOT NULL,
                UNIQUE (node_id, round)
            );
            CREATE TABLE webhook_deliveries (
                id {serial},
                url TEXT NOT NULL,
                payload {blob} NOT NULL,
                created_at BIGINT NOT NULL,
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                delivered_at BIGINT,
                failed_at BIGINT,
                last_error TEXT
            );
            CREATE INDEX webhook_due ON webhook_deliveries (next_attempt_at)
            """),
        // Webhook deliveries name their event (the Signet-Event-Id receivers deduplicate on) and
        // node (a node's events reach an endpoint in order). Rows queued before have neither.
        Migration(version: 2, name: "webhook-event-id", sql: """
            ALTER TABLE webhook_deliveries ADD COLUMN event_id TEXT;
            ALTER TABLE webhook_deliveries ADD COLUMN node_id TEXT;
            CREATE INDEX webhook_pending ON webhook_deliveries (url, node_id, id)
            """),
    ]
}
