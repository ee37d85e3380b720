import SignetCrypto

/// How the verifier runs: limits, lifetimes and who may enrol.
public struct VerifierConfiguration: Sendable {
    /// Who may enrol. `.open`: any TPM that completes the credential challenge (labs, demos);
    /// `.endorsementCA`: only TPMs whose EK certificate chains to one of these CA certificates
    /// (PEM or DER bytes) and names the EK the node sent.
    public enum EnrollmentPolicy: Sendable {
        case open
        case endorsementCA([[UInt8]])
    }

    /// Names this process in the database (attestations.verifier, claimed nonces).
    public var instanceID: String
    public var enrollment: EnrollmentPolicy
    /// SHA-256 of the admin bearer token; nil disables the admin API.
    public var adminTokenSHA256: [UInt8]?
    /// How long a nonce may be used (ms).
    public var nonceLifetimeMs: Int64 = 120_000
    /// How long an enrolment challenge may be answered (ms).
    public var enrollmentLifetimeMs: Int64 = 300_000
    /// A node with no attestation for this long is `stale` (ms).
    public var staleAfterMs: Int64 = 120_000
    /// Webhook endpoints told about every status change.
    public var webhooks: [Webhook] = []
    /// Give up on a webhook delivery after this many attempts.
    public var webhookMaxAttempts: Int = 8
    /// Webhook deliveries in flight at once, all endpoints together (each on a sender thread of
    /// its own, never on a request worker).
    public var webhookConcurrency: Int = 8
    /// Webhook deliveries in flight at once to one endpoint, so a dead or slow endpoint holds at
    /// most this many of the `webhookConcurrency` slots.
    public var webhookConcurrencyPerEndpoint: Int = 2
    /// How long one delivery may take, connect included (ms); a delivery is leased for longer
    /// (`webhookLeaseMs`), so no other verifier sends it meanwhile.
    public var webhookTimeoutMs: Int64 = 10_000
    /// How long a claimed delivery is reserved for the verifier that claimed it (ms): a minute,
    /// or the timeout and 30 s when that is longer.
    public var webhookLeaseMs: Int64 { max(60_000, webhookTimeoutMs + 30_000) }
    /// Verdicts older than this are deleted by the sweeper (ms; 0 keeps them forever). A node's
    /// newest verdict is always kept.
    public var historyRetentionMs: Int64 = 90 * 86_400_000
    /// Largest request body (bytes): evidence carries the log. Also bounds reference uploads.
    public var maxBodyBytes: Int = 64 << 20
    /// Largest body of an enrolment request (bytes), refused with 413 before it is read.
    public var maxEnrollmentBodyBytes: Int = 64 << 10
    /// Largest body of a nonce, activation or group request (bytes).
    public var maxSmallBodyBytes: Int = 4 << 10
    /// Largest EK certificate an enrolment may carry (bytes, DER or PEM).
    public var maxEKCertificateBytes: Int = 8 << 10
    /// Pending (unanswered) enrolments kept per node id: a new one replaces the oldest.
    public var maxPendingEnrollmentsPerNode: Int = 2
    /// Pending enrolments kept in total: past it, enrolment answers 503 until some expire or are answered.
    public var maxPendingEnrollments: Int = 10_000
    /// Enrolment requests admitted per second, all clients together (0: no limit); bursts of 5 s worth.
    public var enrollmentRate: Double = 20
    /// Enrolment requests admitted per second from one client address (IPv6: one /64; 0: no limit).
    public var enrollmentRatePerClient: Double = 2

    /// A test's hook, run between verifying a round and storing it (so a crash test can kill the
    /// process mid-round). nil in production: only debug builds of signet-verifier set it, from
    /// SIGNET_VERIFIER_FAULT_DELAY_BEFORE_COMMIT_MS.
    public var beforeCommitForTesting: (@Sendable () -> Void)?

    public init(instanceID: String, enrollment: EnrollmentPolicy = .open, adminToken: [UInt8]? = nil) {
        self.instanceID = instanceID
        self.enrollment = enrollment
        self.adminTokenSHA256 = adminToken.map { Digester.hash($0, .sha256) }
    }
}

/// A webhook endpoint: where status changes are POSTed, and the key that signs them.
public struct Webhook: Sendable, Equatable {
    /// An `http://` or `https://` URL.
    public var url: String
    /// The HMAC-SHA256 key of the `Signet-Signature` header (the secret file's text without
    /// surrounding white space). nil sends deliveries unsigned: only when the operator asked so
    /// (`--webhook-unsigned`).
    public var secret: [UInt8]?

    public init(url: String, secret: [UInt8]?) {
        self.url = url
        self.secret = secret
    }
}
