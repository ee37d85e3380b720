import Prometheus

/// What the verifier counts, exported at /metrics in the Prometheus text format.
public final class VerifierMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let passed: Counter
    private let failed: Counter
    private let latency: ValueHistogram
    private let refused: Counter
    private let webhooksDelivered: Counter
    private let webhooksFailed: Counter

    public init() {
        passed = registry.makeCounter(name: "signet_attestations_total", labels: [("verdict", "pass")],
                                      help: "Attestation rounds verified, by verdict.")
        failed = registry.makeCounter(name: "signet_attestations_total", labels: [("verdict", "fail")],
                                      help: "Attestation rounds verified, by verdict.")
        latency = registry.makeValueHistogram(name: "signet_attestation_duration_seconds",
                                              buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
                                              help: "Time to verify and store one attestation round.")
        refused = registry.makeCounter(name: "signet_requests_refused_total", help: "Requests refused (4xx) by the verifier.")
        webhooksDelivered = registry.makeCounter(name: "signet_webhook_deliveries_total", labels: [("result", "delivered")],
                                                 help: "Webhook delivery attempts, by result.")
        webhooksFailed = registry.makeCounter(name: "signet_webhook_deliveries_total", labels: [("result", "failed")],
                                              help: "Webhook delivery attempts, by result.")
    }

    func recordAttestation(passed ok: Bool, seconds: Double) {
        (ok ? passed : failed).increment()
        latency.record(seconds)
    }

    func recordRefusal() { refused.increment() }

    func recordWebhook(delivered: Bool) { (delivered ? webhooksDelivered : webhooksFailed).increment() }

    /// The exposition text.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
