import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import SignetHTTPClient
import SignetTestSupport
import VerifierAPI
import VerifierService

/// Webhooks end to end: the real verifier, nodes with swtpm, receivers on loopback (the
/// documented receiver's check in Python, an endpoint that accepts connections and never
/// answers, a port that refuses them).
final class WebhookTests: FleetTestCase {
    /// What the test started, stopped by PID in tearDown (last started first).
    private var stops: [() -> Void] = []

    override func tearDown() {
        for stop in stops.reversed() { stop() }
        stops = []
        super.tearDown()
    }

    private func started(_ verifier: VerifierProcess) throws -> VerifierProcess {
        try verifier.start()
        stops.append { verifier.stop() }
        return verifier
    }

    private func receiver(_ name: String, failFirst: Int = 0) throws -> WebhookReceiver {
        let hook = try WebhookReceiver(dir: dir, name: name, failFirst: failFirst)
        stops.append { hook.stop() }
        return hook
    }

    private func node(_ id: String) throws -> SimulatedNode {
        let node = try SimulatedNode(id: id, dir: dir)
        stops.append { node.swtpm.stop() }
        return node
    }

    private func secret(_ file: String) throws -> [UInt8] {
        Array(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }

    private func metrics(_ verifier: VerifierProcess) throws -> String {
        String(decoding: try APICaller(base: verifier.url).call("GET", "/metrics", token: nil, body: nil).body, as: UTF8.self)
    }

    /// The value of one sample line of the metrics text (`name{labels}`), 0 when absent.
    private func sample(_ text: String, _ series: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) } ?? 0
    }

    /// Each delivery carries the documented headers and a signature the receiver (the README's
    /// check) accepts; a retry keeps the event id; a replay of a captured delivery is dropped
    /// (duplicate id), one re-signed for an old time is refused, an altered body is refused.
    func testDeliveriesAreSignedAndReceiversRejectReplays() throws {
        let hook = try receiver("hook", failFirst: 1)
        let verifier = try started(VerifierProcess(dir: dir, database: dir.url("v.db"), extraArguments: hook.arguments()))
        try uploadReference(verifier)
        let a = try node("node-a")
        try a.boot()
        try a.run(programs)
        XCTAssertEqual(try a.attest(verifier.url).status, 0)

        // The first attempt got a 500; the retry carries the same event id, signed anew.
        let requests = hook.waitForRequests { $0.contains { $0.outcome == "accepted" } }
        XCTAssertEqual(requests.map(\.outcome), ["failed on purpose", "accepted"], "\(requests)")
        let delivery = try XCTUnwrap(requests.last)
        XCTAssertEqual(requests.first?.eventID, delivery.eventID)
        let event = try JSONDecoder().decode(NodeStatusEvent.self, from: Data(delivery.body.utf8))
        XCTAssertEqual(event.status, "pass")
        let eventID = try XCTUnwrap(event.eventID)
        XCTAssertEqual(delivery.eventID, eventID, "the header names the body's event id")
        XCTAssertNotNil(UUID(uuidString: eventID), eventID)
        let timestamp = try XCTUnwrap(delivery.timestamp.flatMap { Int64($0) })
        XCTAssertLessThan(abs(Int64(Date().timeIntervalSince1970) - timestamp), 120)
        let body = Array(delivery.body.utf8)
        let key = try secret(hook.secretFile)
        let signature = try XCTUnwrap(delivery.signature)
        XCTAssertEqual(signature, try WebhookSignature.signature(secret: key, timestamp: timestamp, body: body))
        XCTAssertTrue(signature.hasPrefix("v1=") && signature.count == 3 + 64, signature)

        // The README's openssl line agrees.
        let work = dir.url("by-hand")
        dir.write("by-hand/body.json", body)
        dir.write("by-hand/webhook.secret", try String(contentsOfFile: hook.secretFile, encoding: .utf8), mode: 0o600)
        let byHand = try runProgram("/bin/sh", ["-c", try Self.documentedShellCheck()],
                                    environment: ["ts": String(timestamp), "sig": signature], currentDirectory: work)
        XCTAssertEqual(byHand.stdout, "valid\n", byHand.output)

        let client = HTTPClient(timeoutSeconds: 10)
        func post(_ headers: [String: String], _ body: [UInt8]) throws -> (status: Int, outcome: String?) {
            let before = hook.requests().count
            let status = try client.request("POST", hook.url, headers: headers, body: body).status
            return (status, hook.waitForRequests { $0.count > before }.last?.outcome)
        }
        let captured = ["Content-Type": "application/json", "Signet-Event-Id": eventID,
                        "Signet-Timestamp": String(timestamp), "Signet-Signature": signature]

        // The captured delivery sent again within the window: dropped as already handled (2xx).
        let replay = try post(captured, body)
        XCTAssertEqual(replay.status, 200)
        XCTAssertEqual(replay.outcome, "duplicate")

        // The same delivery as it was signed an hour ago (a capture replayed later): refused.
        var old = captured
        old["Signet-Timestamp"] = String(timestamp - 3600)
        old["Signet-Signature"] = try WebhookSignature.signature(secret: key, timestamp: timestamp - 3600, body: body)
        let stale = try post(old, body)
        XCTAssertEqual(stale.status, 401)
        XCTAssertEqual(stale.outcome, "rejected: stale timestamp")

        // Another body under the captured signature, or no signature: refused.
        let altered = Array(delivery.body.replacingOccurrences(of: #""status":"pass""#, with: #""status":"fail""#).utf8)
        XCTAssertNotEqual(altered, body)
        let forged = try post(captured, altered)
        XCTAssertEqual(forged.status, 401)
        XCTAssertEqual(forged.outcome, "rejected: bad signature")
        var unsigned = captured
        unsigned["Signet-Signature"] = nil
        XCTAssertEqual(try post(unsigned, body).outcome, "rejected: bad signature")
        XCTAssertEqual(hook.events().count, 1, "each event acted on once")

        // The next change is another event, with an id of its own.
        try a.run([("/tmp/dropper", Array("evil".utf8))])
        XCTAssertEqual(try a.attest(verifier.url).status, 1)
        let events = hook.waitFor { $0.count >= 2 }
        XCTAssertEqual(events.map(\.status), ["pass", "fail"])
        XCTAssertEqual(Set(events.compactMap(\.eventID)).count, 2)
    }

    /// A verifier configured with another secret than the receiver's: every attempt is refused,
    /// nothing is acted on, and the verifier counts the attempts as failed (and retries).
    func testAReceiverWithAnotherSecretRejectsEveryDelivery() throws {
        let hook = try receiver("hook")
        let wrong = dir.write("wrong.secret", Hex.encode(SecureRandom.bytes(32)) + "\n", mode: 0o600)
        let verifier = try started(VerifierProcess(dir: dir, database: dir.url("v.db"), extraArguments: hook.arguments(secretFile: wrong)))
        try uploadReference(verifier)
        let a = try node("node-a")
        try a.boot()
        XCTAssertEqual(try a.attest(verifier.url).status, 0)
        // The first attempt and its retry (1 s later).
        let requests = hook.waitForRequests { $0.count >= 2 }
        XCTAssertGreaterThanOrEqual(requests.count, 2)
        XCTAssertEqual(Set(requests.map(\.outcome)), ["rejected: bad signature"], "\(requests)")
        XCTAssertEqual(Set(requests.map(\.eventID)).count, 1, "retries of one event")
        XCTAssertTrue(hook.events().isEmpty)
        let text = try metrics(verifier)
        XCTAssertGreaterThanOrEqual(sample(text, #"signet_webhook_deliveries_total{result="failed"}"#), 2, text)
        XCTAssertEqual(sample(text, #"signet_webhook_deliveries_total{result="delivered"}"#), 0, text)
    }

    /// An endpoint that accepts connections and never answers, and one that refuses them, beside
    /// a healthy one. With 3 slots, 2 per endpoint: the dead endpoint holds 2 (and no more, though
    /// it has 3 events due); the healthy one gets every event, and rounds are judged, while those
    /// 2 connections are still open, waiting for an answer.
    func testADeadEndpointDelaysNeitherOtherEndpointsNorRounds() throws {
        let hanging = try HangingEndpoint(dir: dir)
        let refusing = "http://127.0.0.1:\(HangingEndpoint.closedPort())/hook"
        let healthy = try receiver("healthy")
        let signedWith = ",secret-file=\(healthy.secretFile)"
        let verifier = try started(VerifierProcess(
            dir: dir, database: dir.url("v.db"),
            extraArguments: ["--webhook", hanging.url + signedWith, "--webhook", refusing + signedWith] + healthy.arguments()
                + ["--webhook-concurrency", "3", "--webhook-concurrency-per-endpoint", "2", "--webhook-timeout", "10m"]))
        stops.append { hanging.stop() }  // before the verifier, which lets its deliveries in flight finish when it stops
        try uploadReference(verifier)

        let nodes = try (0..<3).map { try node("n\($0)") }
        for n in nodes {
            try n.boot()
            try n.run(programs)
            let r = try n.attest(verifier.url)
            XCTAssertEqual(r.status, 0, r.output)
        }
        let events = healthy.waitFor { Set($0.map(\.nodeID)) == ["n0", "n1", "n2"] }
        XCTAssertEqual(Set(events.map(\.nodeID)), ["n0", "n1", "n2"], "\(events)")
        XCTAssertTrue(waitUntil(timeout: 20) { hanging.connections == (accepted: 2, open: 2) }, "\(hanging.connections)")

        // A round while the dead endpoint hangs: judged at once, its event reaches the healthy endpoint.
        try nodes[0].run([("/tmp/dropper", Array("evil".utf8))])
        let bad = try nodes[0].attest(verifier.url)
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.stdout.contains("FAIL"), bad.stdout)
        let later = healthy.waitFor { $0.contains { $0.nodeID == "n0" && $0.status == "fail" } }
        XCTAssertTrue(later.contains { $0.nodeID == "n0" && $0.status == "fail" }, "\(later)")
        let n0 = later.filter { $0.nodeID == "n0" }.map { "\($0.previousStatus)->\($0.status)" }
        XCTAssertEqual(n0, ["enrolled->pass", "pass->fail"])

        // Still the same two connections, open and unanswered: the deliveries to the dead endpoint
        // never finished while all this went on, and the third never started.
        XCTAssertTrue(hanging.connections == (accepted: 2, open: 2), "\(hanging.connections)")
        let text = try metrics(verifier)
        XCTAssertGreaterThanOrEqual(sample(text, "signet_webhook_deliveries_in_flight"), 2, text)
        XCTAssertEqual(sample(text, #"signet_webhook_deliveries_total{result="delivered"}"#), 4, text)
        // The refusing endpoint's attempts failed at once and are retried (3 events, first attempts at least).
        XCTAssertGreaterThanOrEqual(sample(text, #"signet_webhook_deliveries_total{result="failed"}"#), 3, text)

        // The dead endpoint goes away: its two deliveries fail and are recorded; nothing was lost.
        hanging.stop()
        XCTAssertTrue(waitUntil(timeout: 20) { self.sample((try? self.metrics(verifier)) ?? "", "signet_webhook_deliveries_in_flight") < 2 })
    }

    /// The README's openssl line (Sources/VerifierService/README.md, its first sh block).
    static func documentedShellCheck() throws -> String {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/VerifierService/README.md").path
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        let open = try XCTUnwrap(text.range(of: "```sh\n"), "no sh block in \(readme)")
        let close = try XCTUnwrap(text.range(of: "```", range: open.upperBound..<text.endIndex))
        return String(text[open.upperBound..<close.lowerBound])
    }
}

/// `signet-verifier serve`'s webhook options, refused or taken at start (no nodes, no TPM).
final class WebhookOptionTests: XCTestCase {
    var dir: TempDir!

    override func setUp() {
        dir = makeTempDir("signet-webhook-options")
    }

    private func serve(_ arguments: [String]) throws -> ProcessResult {
        try runProgram(signetBinary, ["verifier", "serve", "--database", dir.url("v.db"), "--listen", "127.0.0.1:0",
                                      "--admin-token-file", dir.url("admin.token")] + arguments)
    }

    func testAWebhookWithoutASecretIsRefused() throws {
        let r = try serve(["--webhook", "http://127.0.0.1:9/hook"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("needs a secret") && r.stderr.contains("secret-file=") && r.stderr.contains("--webhook-unsigned"),
                      r.output)
    }

    func testBadSecretsAndURLsAreRefused() throws {
        let short = dir.write("short.secret", "0123456789\n", mode: 0o600)
        let good = dir.write("good.secret", Hex.encode(SecureRandom.bytes(32)), mode: 0o600)
        let cases: [([String], String)] = [
            (["--webhook", "http://127.0.0.1:9/hook,secret-file=\(short)"], "at least 16"),
            (["--webhook", "http://127.0.0.1:9/hook,secret-file=\(dir.url("missing"))"], "missing"),
            (["--webhook", "ftp://127.0.0.1/hook,secret-file=\(good)"], "not an http:// or https:// URL"),
            (["--webhook-unsigned", "127.0.0.1:9/hook"], "not an http:// or https:// URL"),
            (["--webhook", "http://127.0.0.1:9/hook,secret-file=\(good)", "--webhook-unsigned", "http://127.0.0.1:9/hook"], "given twice"),
            (["--webhook", "http://127.0.0.1:9/hook,secret-file=\(good)", "--webhook-concurrency", "0"], "--webhook-concurrency"),
            (["--webhook", "http://127.0.0.1:9/hook,secret-file=\(good)", "--webhook-timeout", "0s"], "--webhook-timeout"),
        ]
        for (arguments, message) in cases {
            let r = try serve(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.output)")
        }
    }

    /// A secret file and an explicitly unsigned endpoint are taken: the verifier starts.
    func testSignedAndExplicitlyUnsignedWebhooksAreTaken() throws {
        let good = dir.write("good.secret", Hex.encode(SecureRandom.bytes(32)) + "\n", mode: 0o600)
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"),
                                       extraArguments: ["--webhook", "http://127.0.0.1:9/a,secret-file=\(good)",
                                                        "--webhook-unsigned", "http://127.0.0.1:9/b"])
        defer { verifier.stop() }
        try verifier.start()
        XCTAssertGreaterThan(verifier.port, 0)
    }
}

/// A webhook endpoint that is dead in the worst way: it accepts every connection and never
/// answers (the request sits unread). It counts the connections it accepted and those still open.
final class HangingEndpoint {
    let dir: TempDir
    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/hook" }
    private var statusFile: String { dir.url("hanging.status") }

    init(dir: TempDir) throws {
        self.dir = dir
        let script = dir.write("hanging.py", """
            import os, select, socket, sys
            port_file, status_file = sys.argv[1], sys.argv[2]
            def publish(path, text):
                open(path + '.tmp', 'w').write(text); os.rename(path + '.tmp', path)
            server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen(64)
            held, accepted = [], 0
            publish(status_file, '0 0')
            publish(port_file, str(server.getsockname()[1]))
            while True:
                readable, _, _ = select.select([server] + held, [], [])
                for s in readable:
                    if s is server:
                        held.append(server.accept()[0]); accepted += 1
                    else:
                        try: data = s.recv(65536)
                        except OSError: data = b''
                        if not data: held.remove(s); s.close()
                publish(status_file, '%d %d' % (accepted, len(held)))
            """)
        let portFile = dir.url("hanging.port")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, portFile, dir.url("hanging.status")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let found = portWritten(by: process, to: portFile)
        port = found
        if found == 0 { stop(); throw XCTSkip("the python hanging endpoint did not start") }
    }

    deinit { stop() }

    /// Connections accepted so far, and those of them the client has not closed.
    var connections: (accepted: Int, open: Int) {
        let fields = ((try? String(contentsOfFile: statusFile, encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int($0) }
        return fields.count == 2 ? (fields[0], fields[1]) : (-1, -1)
    }

    /// Kills it (by PID): the connections it held are reset.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A loopback port nothing listens on (bound, then closed): connecting is refused.
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        precondition(bound, "cannot bind a loopback port")
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
