import NIOPosix
import SignetHTTPClient
import Synchronization

/// Sends the outbox's due webhook deliveries in the background, concurrently: at most
/// `webhookConcurrency` in flight, and at most `webhookConcurrencyPerEndpoint` to one endpoint.
///
/// Each delivery is a blocking libcurl request on a sender thread of its own (one thread per
/// slot), never on a request worker or an event loop; so are the claims and outcomes (short
/// database transactions: a claim runs only when a sender thread is idle). So a dead or slow endpoint holds only its own slots, each for at most
/// `webhookTimeoutMs`: the service's requests and the other endpoints' deliveries go on.
/// A finished delivery frees its slot at once and the outbox is looked at again; otherwise every
/// `interval` seconds.
final class WebhookSender: Sendable {
    let core: VerifierCore
    let interval: Double
    private let clients: ClientPool

    init(core: VerifierCore, interval: Double) {
        self.core = core
        self.interval = interval
        self.clients = ClientPool(timeoutSeconds: Double(core.configuration.webhookTimeoutMs) / 1000)
    }

    private enum Wake: Sendable {
        case tick
        case finished(url: String)
    }

    /// Runs until cancelled; then claims nothing more, lets the deliveries in flight finish (and
    /// record their outcome), and stops its threads.
    func run() async {
        let configuration = core.configuration
        guard !configuration.webhooks.isEmpty else { return }
        let total = max(1, configuration.webhookConcurrency)
        let senders = NIOThreadPool(numberOfThreads: total)
        senders.start()
        let perEndpoint = max(1, min(configuration.webhookConcurrencyPerEndpoint, total))
        await withTaskGroup(of: Wake.self) { group in
            let urls = configuration.webhooks.map(\.url)
            var inFlight: [String: Int] = [:]
            var busy = 0
            var timerArmed = false
            var first = 0  // the endpoint served first this time: each in turn, so none always comes last
            while true {
                if !Task.isCancelled {
                    let free = total - busy
                    let slots = (0..<urls.count).map { urls[(first + $0) % urls.count] }
                        .map { (url: $0, count: perEndpoint - inFlight[$0, default: 0]) }.filter { $0.count > 0 }
                    first = (first + 1) % urls.count
                    if free > 0 && !slots.isEmpty {
                        let core = self.core
                        // `free` > 0: a sender thread is idle (a delivery's slot is freed after its thread is).
                        let claimed = (try? await senders.runIfActive { try core.claimWebhookDeliveries(slots: slots, limit: free) }) ?? []
                        for delivery in claimed {
                            inFlight[delivery.url, default: 0] += 1
                            busy += 1
                            group.addTask { [clients] in
                                _ = try? await senders.runIfActive { clients.with { core.sendWebhook(delivery, using: $0) } }
                                return .finished(url: delivery.url)
                            }
                        }
                        core.metrics.setWebhooksInFlight(busy)
                    }
                    if !timerArmed {
                        timerArmed = true
                        let nanoseconds = UInt64(max(0.01, interval) * 1e9)
                        group.addTask {
                            try? await Task.sleep(nanoseconds: nanoseconds)
                            return .tick
                        }
                    }
                } else if busy == 0 {
                    break
                }
                guard let wake = await group.next() else { break }
                switch wake {
                case .tick:
                    timerArmed = false
                case .finished(let url):
                    inFlight[url, default: 1] -= 1
                    busy -= 1
                    core.metrics.setWebhooksInFlight(busy)
                }
            }
        }
        try? await senders.shutdownGracefully()
    }
}

/// Idle HTTP clients, reused (with their kept-alive connections) by the sender threads: a client
/// is used by one thread at a time.
private final class ClientPool: Sendable {
    private let idle = Mutex<[Box]>([])
    private let timeoutSeconds: Double

    /// An HTTPClient is not thread-safe; a box is only ever held by one thread (taken out of
    /// `idle` under the lock, used, put back).
    private final class Box: @unchecked Sendable {
        let client: HTTPClient
        init(client: HTTPClient) { self.client = client }
    }

    init(timeoutSeconds: Double) { self.timeoutSeconds = timeoutSeconds }

    func with<T>(_ body: (HTTPClient) -> T) -> T {
        // A receiver answers with a status; its body is never read, so a small limit.
        let box = idle.withLock { $0.popLast() } ?? Box(client: HTTPClient(timeoutSeconds: timeoutSeconds, maxResponseBytes: 64 << 10))
        defer { idle.withLock { $0.append(box) } }
        return body(box.client)
    }
}
