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

/// A webhook receiver: a small Python HTTP server that appends each POST body (one line) to a
/// file; the first `failFirst` requests get HTTP 500 so the sender's retries are exercised.
final class WebhookReceiver {
    let dir: TempDir
    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var eventsFile: String { dir.url("webhook-events.jsonl") }

    init(dir: TempDir, failFirst: Int = 0) throws {
        self.dir = dir
        let script = dir.write("webhook.py", """
            import http.server, sys, threading
            events, fail_first, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
            lock = threading.Lock(); seen = [0]
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    with lock:
                        seen[0] += 1
                        fail = seen[0] <= fail_first
                        if not fail:
                            with open(events, 'ab') as f: f.write(body + b'\\n')
                    self.send_response(500 if fail else 204); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
            open(port_file + '.tmp', 'w').write(str(s.server_address[1])); __import__('os').rename(port_file + '.tmp', port_file)
            s.serve_forever()
            """)
        let portFile = dir.url("webhook.port")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, dir.url("webhook-events.jsonl"), "\(failFirst)", portFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        var found = 0
        while Date() < deadline {
            if let t = try? String(contentsOfFile: portFile, encoding: .utf8), let n = Int(t) { found = n; break }
            usleep(50_000)
        }
        port = found
        if found == 0 { process.terminate(); throw XCTSkip("the python webhook receiver did not start") }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    /// Events received so far.
    func events() -> [NodeStatusEvent] {
        guard let text = try? String(contentsOfFile: eventsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(NodeStatusEvent.self, from: Data($0.utf8)) }
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
}

/// A value behind a lock, for test code that collects results from several threads.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
