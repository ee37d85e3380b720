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

/// A real `signet verifier serve` process on a free loopback port, stopped by PID.
final class VerifierProcess {
    let dir: TempDir
    let name: String
    let database: String
    let extraArguments: [String]
    let environment: [String: String]
    private(set) var process: Process?
    private(set) var port = 0
    var url: String { "\(extraArguments.contains("--tls-cert") ? "https" : "http")://127.0.0.1:\(port)" }
    var adminTokenFile: String { dir.url("admin.token") }
    var logFile: String { dir.url("\(name).log") }

    init(dir: TempDir, name: String = "verifier", database: String, extraArguments: [String] = [], environment: [String: String] = [:]) {
        self.dir = dir; self.name = name; self.database = database; self.extraArguments = extraArguments; self.environment = environment
    }

    deinit { stop() }

    func start() throws {
        precondition(process == nil)
        let portFile = dir.url("\(name).port")
        unlink(portFile)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: signetBinary)
        p.arguments = ["verifier", "serve", "--database", database, "--listen", "127.0.0.1:0", "--port-file", portFile,
                       "--admin-token-file", adminTokenFile, "--instance", name] + extraArguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = n
                return
            }
            guard p.isRunning else { break }
            usleep(50_000)
        }
        let output = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        stop()
        throw NSError(domain: "VerifierProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "verifier did not start: \(output)"])
    }

    /// Sends `sig` and waits for the process to end (SIGKILL after 10 s).
    func stop(_ sig: Int32 = SIGTERM) {
        guard let p = process else { return }
        process = nil
        stopProcess(p, signal: sig, grace: 10)
    }

    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
}

/// A simulated node: its own swtpm, an IMA log file whose entries are extended into PCR 10 as
/// the kernel would, and `signet agent run` as the agent.
final class SimulatedNode: @unchecked Sendable {  // read-only from concurrent test code
    let id: String
    let swtpm: Swtpm
    let stateDir: String
    let logPath: String
    private(set) var entries = 0

    /// `rsa` or `ecc`: the AK and EK type the agent uses.
    let keyType: String

    /// With `provisionEKCertificate`, swtpm_setup writes an RSA EK certificate (signed by
    /// swtpm-localca) into NV first, as a TPM vendor does.
    init(id: String, dir: TempDir, keyType: String = "ecc", provisionEKCertificate: Bool = false) throws {
        self.id = id
        self.keyType = keyType
        dir.mkdir("\(id)-tpm")
        if provisionEKCertificate {
            guard let setup = which("swtpm_setup") else { throw XCTSkip("swtpm_setup is not installed") }
            let r = try runProgram(setup, ["--tpm2", "--tpmstate", dir.url("\(id)-tpm"), "--create-ek-cert", "--overwrite"])
            guard r.status == 0 else { throw XCTSkip("swtpm_setup cannot create EK certificates here: \(r.output)") }
        }
        swtpm = Swtpm(stateDir: dir.url("\(id)-tpm"))
        try swtpm.start()
        stateDir = dir.url("\(id)-agent")
        logPath = dir.url("\(id)-ima.log")
        FileManager.default.createFile(atPath: logPath, contents: nil)
    }

    deinit { swtpm.stop() }

    /// Boot: boot_aggregate over PCRs 0-9 (zeros on a fresh swtpm).
    func boot() throws {
        try measure([.bootAggregate(Digester.hash([UInt8](repeating: 0, count: 32 * 10), .sha256))])
    }

    /// The node runs files: one ima-ng entry each, appended and extended into PCR 10.
    func run(_ files: [(path: String, content: [UInt8])]) throws {
        try measure(files.map { .imaNG($0.path, digest: Digester.hash($0.content, .sha256)) })
    }

    func measure(_ newEntries: [TestLogEntry]) throws {
        var bytes = try FileBytes.read(logPath, limit: 1 << 28)
        for e in newEntries {
            bytes += TestLogEncoder.encode(e)
            try swtpm.tool("tpm2_pcrextend", ["10:sha256=\(Hex.encode(TestLogEncoder.extendValue(e, bank: .sha256)))"])
        }
        try FileBytes.writeAtomically(bytes, to: logPath, mode: 0o644)
        entries += newEntries.count
    }

    /// One agent round (`agent run --once`) against `verifier`.
    @discardableResult
    func attest(_ verifier: String, extra: [String] = []) throws -> ProcessResult {
        try runProgram(signetBinary, ["agent", "run", "--once", "--tcti", swtpm.tcti, "--verifier", verifier, "--state", stateDir,
                                      "--node-id", id, "--log", logPath, "--boot-id", bootID, "--key-type", keyType] + extra)
    }

    /// The current boot's id, as the agent reports it.
    private(set) var bootID = "boot-1"

    /// A reboot: the TPM resets (PCRs cleared, resetCount up), the log starts empty, a new boot id.
    func reboot() throws {
        try swtpm.restart()
        try FileBytes.writeAtomically([], to: logPath, mode: 0o644)
        entries = 0
        bootID = "boot-\(Int(bootID.dropFirst(5))! + 1)"
    }

    /// The node's bearer token, as the agent stored it.
    func token() throws -> [UInt8] {
        let text = try String(contentsOfFile: "\(stateDir)/verifier.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try XCTUnwrap(TokenEncoding.decode(text))
    }
}

/// Direct JSON calls for the tests that play a hostile or careful client.
struct APICaller {
    let base: String
    let client = HTTPClient(timeoutSeconds: 30)

    func call(_ method: String, _ path: String, token: [UInt8]?, body: [UInt8]?) throws -> HTTPResponse {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer " + TokenEncoding.encode(token) }
        return try client.request(method, base + path, headers: headers, body: body)
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(response.body))
    }

    func errorCode(_ response: HTTPResponse) -> String? {
        (try? JSONDecoder().decode(APIError.self, from: Data(response.body)))?.code
    }
}

/// A webhook receiver: a small Python HTTP server that checks each delivery with the receiver's
/// check documented in Sources/VerifierService/README.md (the code is taken from there, so the
/// documented check is the tested one): signature under its secret, timestamp within 5 minutes,
/// an event id not seen before. Accepted events are appended (one line each) to a file; every
/// request, with its Signet headers and the outcome, to another. The first `failFirst` requests
/// get HTTP 500 so the sender's retries are exercised. `verify: false` accepts anything.
final class WebhookReceiver {
    let dir: TempDir
    let name: String
    let process: Process
    let port: Int
    /// The secret this receiver checks signatures with.
    let secretFile: String
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var eventsFile: String { dir.url("\(name)-events.jsonl") }
    var requestsFile: String { dir.url("\(name)-requests.jsonl") }

    /// The `--webhook` option for a verifier that signs with `secretFile` (default: this receiver's secret).
    func arguments(secretFile: String? = nil) -> [String] { ["--webhook", "\(url),secret-file=\(secretFile ?? self.secretFile)"] }

    init(dir: TempDir, name: String = "webhook", failFirst: Int = 0, verify: Bool = true) throws {
        self.dir = dir
        self.name = name
        secretFile = dir.write("\(name).secret", Hex.encode(SecureRandom.bytes(32)) + "\n", mode: 0o600)
        let script = dir.write("\(name).py", try Self.documentedCheck() + """

            import http.server, json, sys, threading
            events, fail_first, port_file, secret_file, requests_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
            secret = open(secret_file, 'rb').read().strip() if secret_file != '-' else None
            lock = threading.Lock(); count = [0]; seen = {}
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    with lock:
                        count[0] += 1
                        if count[0] <= fail_first:
                            status, outcome = 500, 'failed on purpose'
                        elif secret is None:
                            status, outcome = 204, 'accepted'
                        else:
                            try:
                                event = check_delivery(secret, self.headers, body, seen)
                                status, outcome = (204, 'accepted') if event is not None else (200, 'duplicate')
                            except ValueError as e:
                                status, outcome = 401, 'rejected: ' + str(e)
                        if outcome == 'accepted':
                            with open(events, 'ab') as f: f.write(body + b'\\n')
                        record = {'event_id': self.headers.get('Signet-Event-Id'), 'timestamp': self.headers.get('Signet-Timestamp'),
                                  'signature': self.headers.get('Signet-Signature'), 'body': body.decode(), 'outcome': outcome}
                        with open(requests_file, 'a') as f: f.write(json.dumps(record) + '\\n')
                    self.send_response(status); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
            open(port_file + '.tmp', 'w').write(str(s.server_address[1])); __import__('os').rename(port_file + '.tmp', port_file)
            s.serve_forever()
            """)
        let portFile = dir.url("\(name).port")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, dir.url("\(name)-events.jsonl"), "\(failFirst)", portFile, verify ? secretFile : "-", dir.url("\(name)-requests.jsonl")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: dir.write("\(name).log", "")) ?? FileHandle.nullDevice
        try process.run()
        let found = portWritten(by: process, to: portFile)
        port = found
        if found == 0 { stop(); throw XCTSkip("the python webhook receiver did not start") }
    }

    deinit { stop() }

    /// Stops the receiver (by PID) and waits for it.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// `check_delivery` as Sources/VerifierService/README.md shows it: its first python block.
    static func documentedCheck() throws -> String {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/VerifierService/README.md").path
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        guard let open = text.range(of: "```python\n"), let close = text.range(of: "```", range: open.upperBound..<text.endIndex) else {
            throw NSError(domain: "WebhookReceiver", code: 1, userInfo: [NSLocalizedDescriptionKey: "no python block in \(readme)"])
        }
        let code = String(text[open.upperBound..<close.lowerBound])
        guard code.contains("def check_delivery(") else {
            throw NSError(domain: "WebhookReceiver", code: 1, userInfo: [NSLocalizedDescriptionKey: "no check_delivery in \(readme)"])
        }
        return code
    }

    /// Events accepted so far.
    func events() -> [NodeStatusEvent] {
        guard let text = try? String(contentsOfFile: eventsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(NodeStatusEvent.self, from: Data($0.utf8)) }
    }

    /// One request the receiver got: its Signet headers, body and what the receiver made of it.
    struct Request: Decodable {
        var eventID: String?
        var timestamp: String?
        var signature: String?
        var body: String
        var outcome: String
        enum CodingKeys: String, CodingKey { case eventID = "event_id", timestamp, signature, body, outcome }
    }

    /// Every request so far, in order.
    func requests() -> [Request] {
        guard let text = try? String(contentsOfFile: requestsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    /// Waits until `predicate` holds for the events (or the timeout passes) and returns them.
    func waitFor(timeout: Double = 20, _ predicate: ([NodeStatusEvent]) -> Bool) -> [NodeStatusEvent] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let e = events()
            if predicate(e) { return e }
            usleep(100_000)
        }
        return events()
    }

    /// Waits until `predicate` holds for the requests (or the timeout passes) and returns them.
    func waitForRequests(timeout: Double = 20, _ predicate: ([Request]) -> Bool) -> [Request] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = requests()
            if predicate(r) { return r }
            usleep(100_000)
        }
        return requests()
    }
}

/// A value behind a lock, for test code that collects results from several threads.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.lock(); defer { lock.unlock() }; return body(&value) }
}

/// The port a helper server started as `process` writes into `portFile` once it listens; 0 when it
/// exits or writes none within 10 s.
func portWritten(by process: Process, to portFile: String) -> Int {
    var found = 0
    _ = waitUntil(timeout: 10) {
        if let t = try? String(contentsOfFile: portFile, encoding: .utf8), let n = Int(t) { found = n; return true }
        return !process.isRunning
    }
    return found
}
