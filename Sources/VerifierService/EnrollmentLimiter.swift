import Synchronization

/// Admits enrolment requests at a bounded rate, per client address and in total (token buckets,
/// each holding 5 seconds' worth). A refused request gets 429 with the seconds until it would be
/// admitted. In memory and per process: several verifier processes each admit their own rate.
/// The table of clients is bounded: idle clients (full buckets) are forgotten first, and when it is
/// still full, new clients are refused until some become idle.
final class EnrollmentLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: Double
    }

    struct State {
        var total: Bucket
        var clients: [String: Bucket] = [:]
    }

    let rate: Double
    let perClient: Double
    let maxClients: Int
    private let state: Mutex<State>
    private let clock: @Sendable () -> Double

    /// `rate` and `perClient` in requests per second (0: no limit); `clock` in seconds.
    init(rate: Double, perClient: Double, maxClients: Int = 10_000, clock: @escaping @Sendable () -> Double = {
        Double(monotonicNanos()) / 1e9
    }) {
        self.rate = rate
        self.perClient = perClient
        self.maxClients = maxClients
        self.clock = clock
        let now = clock()
        self.state = Mutex(State(total: Bucket(tokens: Self.burst(rate), at: now)))
    }

    static func burst(_ rate: Double) -> Double { max(1, rate * 5) }

    static func refill(_ bucket: inout Bucket, rate: Double, now: Double) {
        bucket.tokens = min(burst(rate), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
    }

    static func retryAfter(_ bucket: Bucket, rate: Double) -> Int {
        max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
    }

    /// Takes one token from `client`'s bucket and the total one, or throws 429.
    func admit(client: String) throws(ServiceError) {
        let now = clock()
        let refusal: ServiceError? = state.withLock { s in
            if rate > 0 {
                Self.refill(&s.total, rate: rate, now: now)
                if s.total.tokens < 1 {
                    return ServiceError(429, "enrollment-rate", "the verifier admits \(Self.format(rate)) enrolment requests per second; retry later",
                                        retryAfterSeconds: Self.retryAfter(s.total, rate: rate))
                }
            }
            if perClient > 0 {
                var bucket = s.clients[client] ?? Bucket(tokens: Self.burst(perClient), at: now)
                Self.refill(&bucket, rate: perClient, now: now)
                if bucket.tokens < 1 {
                    return ServiceError(429, "enrollment-rate", "this client may send \(Self.format(perClient)) enrolment requests per second; retry later",
                                        retryAfterSeconds: Self.retryAfter(bucket, rate: perClient))
                }
                if s.clients[client] == nil && s.clients.count >= maxClients {
                    let full = Self.burst(perClient)
                    s.clients = s.clients.filter { _, b in min(full, b.tokens + (now - b.at) * perClient) < full }
                    if s.clients.count >= maxClients {
                        return ServiceError(429, "enrollment-rate", "too many clients are enrolling at once; retry later", retryAfterSeconds: 5)
                    }
                }
                bucket.tokens -= 1
                s.clients[client] = bucket
            }
            if rate > 0 { s.total.tokens -= 1 }
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Clients currently tracked (for tests).
    var trackedClients: Int { state.withLock { $0.clients.count } }

    static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }

    /// The bucket key of a peer address: the IPv4 address, or the /64 of an IPv6 one.
    static func clientKey(_ address: String?) -> String {
        guard let address else { return "?" }
        guard address.contains(":") else { return address }
        if address.hasPrefix("::ffff:"), address.contains(".") { return String(address.dropFirst(7)) }
        // Expand to 8 groups and keep the first 4.
        let halves = address.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false).map { $0.split(separator: ":").map(String.init) }
        var groups = halves[0]
        if halves.count == 2 { groups += Array(repeating: "0", count: max(0, 8 - halves[0].count - halves[1].count)) + halves[1] }
        return groups.prefix(4).map { String(Int($0, radix: 16) ?? 0, radix: 16) }.joined(separator: ":") + "::/64"
    }
}
