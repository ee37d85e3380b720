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
    private let webhooksInFlight: Gauge

    public init() {
        let attestations = MetricNameDescriptor(metricName: "signet_attestations", unitName: "total",
                                                helpText: "Attestation rounds verified, by verdict.")
        passed = registry.makeCounter(descriptor: attestations, labels: [("verdict", "pass")])
        failed = registry.makeCounter(descriptor: attestations, labels: [("verdict", "fail")])
        latency = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(metricName: "signet_attestation_duration", unitName: "seconds",
                                             helpText: "Time to verify and store one attestation round."),
            buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
        refused = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "signet_requests_refused", unitName: "total",
                                                                        helpText: "Requests refused (4xx) by the verifier."))
        let webhooks = MetricNameDescriptor(metricName: "signet_webhook_deliveries", unitName: "total",
                                            helpText: "Webhook delivery attempts, by result.")
        webhooksDelivered = registry.makeCounter(descriptor: webhooks, labels: [("result", "delivered")])
        webhooksFailed = registry.makeCounter(descriptor: webhooks, labels: [("result", "failed")])
        webhooksInFlight = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "signet_webhook_deliveries_in_flight", unitName: "",
                                             helpText: "Webhook deliveries being sent by this process now."))
    }

    func recordAttestation(passed ok: Bool, seconds: Double) {
        (ok ? passed : failed).increment()
        latency.record(seconds)
    }

    func recordRefusal() { refused.increment() }

    func recordWebhook(delivered: Bool) { (delivered ? webhooksDelivered : webhooksFailed).increment() }

    func setWebhooksInFlight(_ n: Int) { webhooksInFlight.set(Double(n)) }

    /// The exposition text.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
