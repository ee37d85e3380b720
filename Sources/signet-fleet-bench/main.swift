// signet-fleet-bench: the driver of `tools/bench fleet`.
//
//   signet-fleet-bench tree --out DIR --swtpms K --rounds R --entries E
//       Writes the files the simulated nodes "run" (K × (R+1) × E small files under
//       DIR/opt/fleet-bench/), for `signet sign --manifest` and `signet fleet upload-reference`.
//   signet-fleet-bench run --verifier URL --admin-token-file F --tcti T [--tcti T …]
//                          --nodes N --rounds R --clients C --entries E [--label NAME]
//       Against a running verifier whose default group has the reference of that tree:
//       (1) untimed: every node (N over the swtpm pool, round-robin) creates its own ECC P-256 AK
//           on its swtpm and enrols through the API (EnrollmentRequest → ActivateCredential →
//           ActivationRequest); each swtpm gets boot_aggregate + E entries extended into PCR 10;
//           every node attests once with the full log (round 1).
//       (2) untimed: for rounds 2…R+1, E new entries per swtpm are extended into PCR 10 and every
//           node gets a nonce through the API and quotes with its AK; the evidence (log from
//           where the previous round ended) is stored.
//       (3) timed: C client threads submit all stored evidence, each node's rounds in order,
//           recording per-request latency. Anything but HTTP 200 with passed=true is an error
//           (exit 1). Then /v1/fleet must show every node `pass` at round R+1.
//   Prints a `RESULT key=value …` line for tools/bench.
//   signet-fleet-bench rss --verifier URL --admin-token-file F --tcti T… --verifier-pid P
//                          [--nodes 10000 --warm 200 --entries E --label NAME]
//       The verifier's memory per enrolled node: N nodes enrol and pass round 1 (as in run (1)),
//       then one incremental round each; VmRSS of P before, after W warm-up nodes, after N and
//       after the round. Prints an `RSS_RESULT key=value …` line.
//
// Nodes on one swtpm share its PCR 10 and therefore its log: 200 nodes over 4 swtpms send
// 4 distinct 100-entry batches per round (each batch new paths and digests), every node with
// its own AK, token, nonce and verifier state.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Attestation
import CTSS2
import IMAFormat
import SignetCrypto
import SignetHTTPClient
import TPM
import TPMDevice
import VerifierAPI
import VerifierConnection

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("signet-fleet-bench: \(message)\n".utf8))
    exit(1)
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU seconds (user + system) of process `pid` and, with `children`, of its live child processes
/// (the PostgreSQL backends of a postmaster), from /proc.
func processCPUSeconds(_ pid: Int32, children: Bool) -> Double {
    func stat(_ p: String) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")   // [0] state, [1] ppid, … [11] utime, [12] stime
    }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    func cpu(_ f: [Substring]) -> Double { ((Double(f[11]) ?? 0) + (Double(f[12]) ?? 0)) / ticks }
    var total = stat(String(pid)).map(cpu) ?? 0
    if children, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
        for e in entries where e.first?.isNumber == true {
            if let f = stat(e), f.count > 12, Int32(f[1]) == pid { total += cpu(f) }
        }
    }
    return total
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

// MARK: - Options

struct Options {
    var values: [String: [String]] = [:]
    init(_ args: ArraySlice<String>) {
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            guard a.hasPrefix("--"), i + 1 < args.endIndex else { fail("bad argument '\(a)' (options are --name value)") }
            values[String(a.dropFirst(2)), default: []].append(args[i + 1])
            i += 2
        }
    }
    func string(_ name: String) -> String? { values[name]?.last }
    func required(_ name: String) -> String {
        guard let s = string(name) else { fail("--\(name) is required") }
        return s
    }
    func int(_ name: String, _ fallback: Int) -> Int {
        guard let s = string(name) else { return fallback }
        guard let n = Int(s), n > 0 else { fail("--\(name) must be a positive integer, not '\(s)'") }
        return n
    }
    func all(_ name: String) -> [String] { values[name] ?? [] }
}

// MARK: - The measured files and their log entries

enum Workload {
    /// The path (in the image) of file `i` of batch `round` of swtpm `k`.
    static func path(swtpm k: Int, batch r: Int, file i: Int) -> String { "/opt/fleet-bench/s\(k)/b\(r)/f\(i)" }
    static func content(swtpm k: Int, batch r: Int, file i: Int) -> [UInt8] {
        Array("signet fleet bench: swtpm \(k), batch \(r), file \(i)\n".utf8)
    }

    static func writeTree(out: String, swtpms: Int, batches: Int, entries: Int) throws {
        let fm = FileManager.default
        for k in 0..<swtpms {
            for r in 0..<batches {
                let dir = out + (path(swtpm: k, batch: r, file: 0) as NSString).deletingLastPathComponent
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for i in 0..<entries {
                    let file = out + path(swtpm: k, batch: r, file: i)
                    guard fm.createFile(atPath: file, contents: Data(content(swtpm: k, batch: r, file: i)),
                                        attributes: [.posixPermissions: 0o755]) else {
                        throw BenchError("cannot write \(file)")
                    }
                }
            }
        }
    }
}

/// One ima-ng entry as the kernel writes it to binary_runtime_measurements (SHA-1 template
/// digest), and the SHA-256 template hash it extends into PCR 10's sha256 bank.
struct LogEntry {
    let bytes: [UInt8]
    let sha256Extend: [UInt8]

    static func u32(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)] }

    init(imaNG path: String, sha256 digest: [UInt8]) {
        let f1 = Array("sha256:".utf8) + [0] + digest
        let f2 = Array(path.utf8) + [0]
        let data = Self.u32(f1.count) + f1 + Self.u32(f2.count) + f2
        let name = Array("ima-ng".utf8)
        bytes = Self.u32(10) + Digester.hash(data, .sha1) + Self.u32(name.count) + name + Self.u32(data.count) + data
        sha256Extend = Digester.hash(data, .sha256)
    }

    /// boot_aggregate over PCRs 0-9 of the sha256 bank: zeros on a fresh swtpm.
    static let bootAggregate = LogEntry(imaNG: "boot_aggregate", sha256: Digester.hash([UInt8](repeating: 0, count: 32 * 10), .sha256))

    static func batch(swtpm k: Int, batch r: Int, entries: Int) -> [LogEntry] {
        (0..<entries).map { i in
            LogEntry(imaNG: Workload.path(swtpm: k, batch: r, file: i),
                     sha256: Digester.hash(Workload.content(swtpm: k, batch: r, file: i), .sha256))
        }
    }
}

// MARK: - PCR extend (tpm2-tss directly: TPMContext has no extend, it is not an agent's job)

func extendPCR10(tcti: String, _ digests: [[UInt8]]) throws {
    var tctiContext: OpaquePointer?
    var rc = Tss2_TctiLdr_Initialize(tcti, &tctiContext)
    guard rc == 0, tctiContext != nil else { throw BenchError("Tss2_TctiLdr_Initialize(\(tcti)) failed: 0x\(String(rc, radix: 16))") }
    var esys: OpaquePointer?
    rc = Esys_Initialize(&esys, tctiContext, nil)
    defer {
        if esys != nil { Esys_Finalize(&esys) }
        Tss2_TctiLdr_Finalize(&tctiContext)
    }
    guard rc == 0 else { throw BenchError("Esys_Initialize(\(tcti)) failed: 0x\(String(rc, radix: 16))") }
    for d in digests {
        precondition(d.count == 32)
        var values = TPML_DIGEST_VALUES()
        values.count = 1
        values.digests.0.hashAlg = TPMI_ALG_HASH(TPM2_ALG_SHA256)
        withUnsafeMutableBytes(of: &values.digests.0.digest) { raw in
            for (j, b) in d.enumerated() { raw[j] = b }
        }
        rc = Esys_PCR_Extend(esys, ESYS_TR(ESYS_TR_PCR10), ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), &values)
        guard rc == 0 else { throw BenchError("Esys_PCR_Extend(10) on \(tcti) failed: 0x\(String(rc, radix: 16))") }
    }
}

/// `extend-log --tcti T --log FILE`: extends every entry of a binary IMA log into PCR 10's
/// sha256 bank, as the kernel did when it wrote it (violations extend all-ones), so a quote of
/// that TPM matches the log (`tools/bench verify`'s service path).
func extendLog(tcti: String, log path: String) throws {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    var parser = BinaryMeasurementLogParser(options: MeasurementLogOptions())
    parser.append(bytes)
    let hashing = IMALogHashing()
    var digests = [[UInt8]]()
    while let entry = try parser.next() {
        guard entry.pcrIndex == 10 else { continue }
        digests.append(entry.isViolation ? [UInt8](repeating: 0xff, count: 32) : entry.templateHash(.sha256, using: hashing))
    }
    try parser.finish()
    let start = monotonicSeconds()
    try extendPCR10(tcti: tcti, digests)
    say("extended \(digests.count) entries of \(path) into PCR 10 (sha256) in \(String(format: "%.1f", monotonicSeconds() - start)) s")
}

// MARK: - API calls

/// The verifier's API client (VerifierConnection: the agent's and the fleet CLI's too), with the bench's timeout.
func apiClient(_ base: String) -> VerifierClient { VerifierClient(base: base, http: HTTPClient(timeoutSeconds: 120)) }

/// An admin token file's bytes (base64url text, as `verifier serve` writes it).
func adminToken(_ path: String) throws -> [UInt8] {
    let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let token = TokenEncoding.decode(text) else { throw BenchError("\(path): not a token") }
    return token
}

func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
func unb64(_ s: String) throws -> [UInt8] {
    guard let d = Data(base64Encoded: s) else { throw BenchError("not base64: \(s.prefix(40))") }
    return [UInt8](d)
}

func rfc3339Now() -> String {
    var t = time(nil)
    var parts = tm()
    gmtime_r(&t, &parts)
    return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour, parts.tm_min, parts.tm_sec)
}

// MARK: - Nodes and swtpms

final class Node: @unchecked Sendable {
    let id: String
    let swtpm: Int
    var ak: TPMDevice.AttestationKey?
    var token: [UInt8] = []
    /// Evidence documents for the timed rounds, in order.
    var evidence: [[UInt8]] = []
    init(id: String, swtpm: Int) { self.id = id; self.swtpm = swtpm }
}

final class SwtpmLog: @unchecked Sendable {
    let index: Int
    let tcti: String
    var bytes: [UInt8] = []
    var count = 0
    /// Where each batch starts: batchStart[r] is the position before batch r (batch 0 starts after boot_aggregate).
    var batchStart: [LogPosition] = []
    init(index: Int, tcti: String) { self.index = index; self.tcti = tcti }

    func append(_ entries: [LogEntry]) throws {
        try extendPCR10(tcti: tcti, entries.map(\.sha256Extend))
        for e in entries { bytes += e.bytes }
        count += entries.count
    }
    var position: LogPosition { LogPosition(entryIndex: count, byteOffset: bytes.count) }
}

/// Runs `body(i)` for i in 0..<n on n threads and waits; the first error wins.
func parallel(_ n: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    final class State: @unchecked Sendable {
        let lock = NSLock()
        var error: Error?
        let group = DispatchGroup()
    }
    let state = State()
    for i in 0..<n {
        state.group.enter()
        let t = Thread {
            do { try body(i) } catch {
                state.lock.lock(); if state.error == nil { state.error = error }; state.lock.unlock()
            }
            state.group.leave()
        }
        t.stackSize = 1 << 22
        t.start()
    }
    state.group.wait()
    if let e = state.error { throw e }
}

let bootIDPrefix = "fleet-bench-boot-"

/// Quotes for `node` with a fresh nonce and returns the evidence with the log from `from` on.
func makeEvidence(_ node: Node, _ tpm: TPMContext, _ log: SwtpmLog, from: LogPosition, api: VerifierClient) throws -> [UInt8] {
    let bootID = bootIDPrefix + String(node.swtpm)
    let challenge: NonceResponse = try api.call("POST", APIPath.nonce(node.id), token: node.token, json: NonceRequest(bootID: bootID))
    guard challenge.fromEntry == 0 || (challenge.fromEntry <= from.entryIndex) else {
        throw BenchError("\(node.id): the verifier asks for the log from entry \(challenge.fromEntry), beyond \(from.entryIndex)")
    }
    guard let nonce = Hex.decode(challenge.nonce) else { throw BenchError("bad nonce \(challenge.nonce)") }
    guard let ak = node.ak else { throw BenchError("\(node.id) has no AK") }
    let quote = try tpm.quote(with: ak, nonce: nonce, selection: .default)
    return EvidenceAssembly.evidence(
        nonce: nonce, attest: quote.attest, signature: quote.signature, pcrs: quote.pcrs,
        akPublicArea: ak.publicArea, akPEM: String(decoding: try ak.publicKey().spkiPEM, as: UTF8.self),
        node: .init(kernelRelease: "6.1.0-fleet-bench", bootID: bootID, hostname: node.id),
        log: log.bytes, from: from, bootEventLog: nil, created: rfc3339Now()).encoded()
}

func checkPassed(_ node: Node, _ response: HTTPResponse, round: Int) throws -> AttestationResponse {
    guard response.status == 200 else {
        throw BenchError("\(node.id) round \(round): HTTP \(response.status): \(String(decoding: response.body.prefix(600), as: UTF8.self))")
    }
    let r: AttestationResponse
    do { r = try JSONDecoder().decode(AttestationResponse.self, from: Data(response.body)) } catch {
        throw BenchError("\(node.id) round \(round): the response does not decode: \(error)")
    }
    guard r.passed else { throw BenchError("\(node.id) round \(r.round): FAIL: \(r.firstFailure ?? "?")") }
    guard r.round == Int64(round) else { throw BenchError("\(node.id): the verifier recorded round \(r.round), expected \(round)") }
    return r
}

/// Boot every swtpm: boot_aggregate and batch 0 (E entries) extended into PCR 10.
func bootLogs(_ logs: [SwtpmLog], entries: Int) throws {
    try parallel(logs.count) { k in
        let log = logs[k]
        try log.append([LogEntry.bootAggregate] + LogEntry.batch(swtpm: k, batch: 0, entries: entries))
        log.batchStart.append(LogPosition(entryIndex: 1, byteOffset: LogEntry.bootAggregate.bytes.count))
    }
}

/// Every node of `nodesOf[k]` (k: its swtpm, one thread per swtpm) creates its own AK, enrols
/// through the API (EnrollmentRequest → ActivateCredential → ActivationRequest) and passes round 1
/// with its swtpm's full log.
func enrolAndAttest(_ nodesOf: [[Node]], _ logs: [SwtpmLog], base: String, keyType: TPMKeyType) throws {
    try parallel(logs.count) { k in
        let log = logs[k]
        let api = apiClient(base)
        let tpm = try TPMContext(tcti: log.tcti)
        let ek = try tpm.endorsementKey(keyType)
        for node in nodesOf[k] {
            let ak = try tpm.createAttestationKey(keyType)
            node.ak = ak
            let request = EnrollmentRequest(nodeID: node.id, endorsementKey: b64(ek.publicArea.tpm2bMarshaled),
                                            endorsementCertificate: ek.certificate.map(b64), attestationKey: b64(ak.publicBlob))
            let challenge: EnrollmentChallenge = try api.call("POST", APIPath.enrollments, token: nil, json: request)
            let credential = try tpm.activateCredential(
                attestationKey: ak, endorsementKeyType: keyType,
                challenge: CredentialChallenge(credentialBlob: try unb64(challenge.credentialBlob), encryptedSecret: try unb64(challenge.encryptedSecret)))
            let _: EnrollmentResult = try api.call("POST", APIPath.activation(challenge.enrollmentID), token: nil,
                                                   json: ActivationRequest(credential: b64(credential)))
            node.token = credential
            let evidence = try makeEvidence(node, tpm, log, from: .start, api: api)
            let r = try checkPassed(node, try api.raw("POST", APIPath.attestations(node.id), token: node.token, body: evidence), round: 1)
            guard r.nextEntry == log.count, r.nextOffset == log.bytes.count else {
                throw BenchError("\(node.id): verified through entry \(r.nextEntry)/\(r.nextOffset), the log has \(log.count)/\(log.bytes.count)")
            }
        }
    }
}

/// Resident and peak memory of `pid` (VmRSS, VmHWM from /proc), in kB.
func memoryKB(_ pid: Int32) -> (rss: Int, peak: Int) {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return (field("VmRSS"), field("VmHWM"))
}

// MARK: - rss

/// The verifier's memory per enrolled node: N nodes enrol and pass round 1 with the full log, then
/// every node attests once more incrementally (nonce, quote, E new entries); the verifier's RSS is
/// read before, after a warm-up of W nodes (reference verifier built, connections open, allocator
/// warm), after all N, and after the incremental round. Per node = (after N − after W) / (N − W).
func rss(_ o: Options) throws {
    let base = o.required("verifier")
    let tctis = o.all("tcti")
    guard !tctis.isEmpty else { fail("give at least one --tcti") }
    guard let pid = o.string("verifier-pid").flatMap({ Int32($0) }) else { fail("--verifier-pid is required") }
    let nodeCount = o.int("nodes", 10_000)
    let entries = o.int("entries", 100)
    let warm = min(o.int("warm", 200), max(1, nodeCount / 2))
    let label = o.string("label") ?? "verifier"
    let keyType = TPMKeyType.eccP256
    let logs = tctis.enumerated().map { SwtpmLog(index: $0.offset, tcti: $0.element) }
    let nodes = (0..<nodeCount).map { Node(id: "node-" + String(String(100_000 + $0).dropFirst()), swtpm: $0 % tctis.count) }
    func split(_ subset: ArraySlice<Node>) -> [[Node]] { (0..<logs.count).map { k in subset.filter { $0.swtpm == k } } }

    let start = memoryKB(pid)
    var t0 = monotonicSeconds()
    try bootLogs(logs, entries: entries)
    try enrolAndAttest(split(nodes[..<warm]), logs, base: base, keyType: keyType)
    let warmed = memoryKB(pid)
    say("[\(label)] warm-up: \(warm) nodes enrolled and passed round 1 in \(String(format: "%.1f", monotonicSeconds() - t0)) s; verifier RSS \(start.rss) kB before, \(warmed.rss) kB now")
    t0 = monotonicSeconds()
    var done = warm
    let step = max(1, (nodeCount - warm + 3) / 4)
    while done < nodeCount {
        let upTo = min(nodeCount, done + step)
        try enrolAndAttest(split(nodes[done..<upTo]), logs, base: base, keyType: keyType)
        done = upTo
        say("[\(label)] \(done) nodes enrolled and passed round 1 (\(String(format: "%.0f", monotonicSeconds() - t0)) s); verifier RSS \(memoryKB(pid).rss) kB")
    }
    let enrolled = memoryKB(pid)
    // One incremental round for every node: E new entries per swtpm, a nonce and a quote per node.
    t0 = monotonicSeconds()
    try parallel(logs.count) { k in
        let log = logs[k]
        let api = apiClient(base)
        let from = log.position
        try log.append(LogEntry.batch(swtpm: k, batch: 1, entries: entries))
        let tpm = try TPMContext(tcti: log.tcti)
        for node in nodes where node.swtpm == k {
            let evidence = try makeEvidence(node, tpm, log, from: from, api: api)
            _ = try checkPassed(node, try api.raw("POST", APIPath.attestations(node.id), token: node.token, body: evidence), round: 2)
        }
    }
    let attested = memoryKB(pid)
    say("[\(label)] round 2 (\(entries) new entries each) passed for all \(nodeCount) nodes in \(String(format: "%.1f", monotonicSeconds() - t0)) s; verifier RSS \(attested.rss) kB")
    let fleet: FleetStatus = try apiClient(base).call("GET", APIPath.fleet, token: try adminToken(o.required("admin-token-file")), body: nil)
    guard fleet.nodes.count == nodeCount, fleet.nodes.allSatisfy({ $0.status == "pass" && $0.round == 2 }) else {
        throw BenchError("/v1/fleet does not show all \(nodeCount) nodes passing at round 2")
    }
    let perNode = Double(enrolled.rss - warmed.rss) * 1024 / Double(nodeCount - warm)
    let perNodeAfterRound = Double(attested.rss - warmed.rss) * 1024 / Double(nodeCount - warm)
    say("[\(label)] verifier RSS: \(start.rss) kB at start, \(warmed.rss) kB after \(warm) nodes, \(enrolled.rss) kB after \(nodeCount), \(attested.rss) kB after round 2 (peak \(attested.peak) kB): "
        + "\(String(format: "%.0f", perNode)) bytes per node enrolled, \(String(format: "%.0f", perNodeAfterRound)) bytes per node after two rounds")
    say("RSS_RESULT label=\(label) nodes=\(nodeCount) warm=\(warm) rss_start_kb=\(start.rss) rss_warm_kb=\(warmed.rss) rss_enrolled_kb=\(enrolled.rss) "
        + "rss_round2_kb=\(attested.rss) peak_kb=\(attested.peak) per_node_bytes=\(String(format: "%.0f", perNode)) per_node_round2_bytes=\(String(format: "%.0f", perNodeAfterRound))")
}

// MARK: - run

func run(_ o: Options) throws {
    let base = o.required("verifier")
    let adminToken = try adminToken(o.required("admin-token-file"))
    let tctis = o.all("tcti")
    guard !tctis.isEmpty else { fail("give at least one --tcti") }
    let nodeCount = o.int("nodes", 200)
    let rounds = o.int("rounds", 5)
    let clients = o.int("clients", 8)
    let entries = o.int("entries", 100)
    let label = o.string("label") ?? "verifier"
    let keyType = TPMKeyType.eccP256

    let logs = tctis.enumerated().map { SwtpmLog(index: $0.offset, tcti: $0.element) }
    let nodes = (0..<nodeCount).map { Node(id: "node-" + String(String(10000 + $0).dropFirst()), swtpm: $0 % tctis.count) }
    let nodesOf = (0..<logs.count).map { k in nodes.filter { $0.swtpm == k } }

    // (1) Enrol, boot, first round with the full log.
    var t0 = monotonicSeconds()
    try bootLogs(logs, entries: entries)
    try enrolAndAttest(nodesOf, logs, base: base, keyType: keyType)
    say("[\(label)] setup: \(nodeCount) nodes over \(logs.count) swtpm(s) enrolled (ECC P-256 AK + ActivateCredential) and passed round 1 (full log, \(entries + 1) entries) in \(String(format: "%.1f", monotonicSeconds() - t0)) s")

    // (2) Extend the batches and prepare the evidence of every later round.
    t0 = monotonicSeconds()
    try parallel(logs.count) { k in
        let log = logs[k]
        let api = apiClient(base)
        for r in 1...rounds {
            let from = log.position
            try log.append(LogEntry.batch(swtpm: k, batch: r, entries: entries))
            let tpm = try TPMContext(tcti: log.tcti)
            for node in nodesOf[k] { node.evidence.append(try makeEvidence(node, tpm, log, from: from, api: api)) }
        }
    }
    let evidenceBytes = nodes.reduce(0) { $0 + $1.evidence.reduce(0) { $0 + $1.count } }
    say("[\(label)] prepared \(nodeCount * rounds) incremental rounds (\(entries) new entries each, nonce + quote per node per round) in \(String(format: "%.1f", monotonicSeconds() - t0)) s; \(evidenceBytes / nodeCount / rounds) bytes of evidence per round")

    // (3) Timed: submit everything, each node's rounds in order.
    final class Work: @unchecked Sendable {
        let lock = NSCondition()
        var next = 0
        var done: [Int]
        var latencies: [[Double]]
        init(nodes: Int, clients: Int) { done = Array(repeating: 0, count: nodes); latencies = Array(repeating: [], count: clients) }
    }
    let work = Work(nodes: nodeCount, clients: clients)
    let total = nodeCount * rounds
    let verifierPID = o.string("verifier-pid").flatMap { Int32($0) }
    let databasePID = o.string("database-pid").flatMap { Int32($0) }
    let verifierCPU0 = verifierPID.map { processCPUSeconds($0, children: false) } ?? 0
    let databaseCPU0 = databasePID.map { processCPUSeconds($0, children: true) } ?? 0
    let cpu0 = cpuSeconds()
    t0 = monotonicSeconds()
    try parallel(clients) { c in
        let api = apiClient(base)
        var mine: [Double] = []
        mine.reserveCapacity(total / clients + 1)
        while true {
            work.lock.lock()
            let item = work.next
            if item >= total { work.lock.unlock(); break }
            work.next += 1
            let round = item / nodeCount, n = item % nodeCount
            while work.done[n] < round { work.lock.wait() }   // this node's previous round is still in flight
            work.lock.unlock()
            let node = nodes[n]
            let start = monotonicSeconds()
            let response = try api.raw("POST", APIPath.attestations(node.id), token: node.token, body: node.evidence[round])
            let latency = monotonicSeconds() - start
            _ = try checkPassed(node, response, round: round + 2)
            mine.append(latency)
            work.lock.lock()
            work.done[n] = round + 1
            work.lock.broadcast()
            work.lock.unlock()
        }
        work.lock.lock(); work.latencies[c] = mine; work.lock.unlock()
    }
    let elapsed = monotonicSeconds() - t0
    let clientCPU = cpuSeconds() - cpu0
    let verifierCPU = verifierPID.map { processCPUSeconds($0, children: false) - verifierCPU0 }
    let databaseCPU = databasePID.map { processCPUSeconds($0, children: true) - databaseCPU0 }
    let latencies = work.latencies.flatMap { $0 }.sorted()
    guard latencies.count == total else { throw BenchError("\(latencies.count) latencies for \(total) submissions") }
    func percentile(_ p: Double) -> Double { latencies[max(0, Int((p * Double(latencies.count)).rounded(.up)) - 1)] * 1000 }

    // The fleet view must agree: every node passed, at round R+1.
    let fleet: FleetStatus = try apiClient(base).call("GET", APIPath.fleet, token: adminToken, body: nil)
    let mine = Dictionary(uniqueKeysWithValues: fleet.nodes.map { ($0.nodeID, $0) })
    for node in nodes {
        guard let s = mine[node.id] else { throw BenchError("/v1/fleet does not list \(node.id)") }
        guard s.status == "pass", s.round == Int64(rounds + 1) else {
            throw BenchError("/v1/fleet: \(node.id) is \(s.status) at round \(s.round), expected pass at round \(rounds + 1)")
        }
    }
    let rate = Double(total) / elapsed
    func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
    say("[\(label)] timed: \(total) attestations (\(nodeCount) nodes × \(rounds) rounds, \(entries) new entries each) from \(clients) clients in \(f(elapsed, 3)) s: "
        + "\(f(rate, 0)) attestations/s, latency p50 \(f(percentile(0.5), 1)) ms, p99 \(f(percentile(0.99), 1)) ms, max \(f(latencies.last! * 1000, 1)) ms; "
        + "CPU in the timed phase: bench client \(f(clientCPU, 2)) s"
        + (verifierCPU.map { ", verifier \(f($0, 2)) s (\(f($0 / Double(total) * 1000, 2)) ms per attestation)" } ?? "")
        + (databaseCPU.map { ", PostgreSQL \(f($0, 2)) s (\(f($0 / Double(total) * 1000, 2)) ms per attestation)" } ?? ""))
    say("[\(label)] /v1/fleet: all \(nodeCount) nodes pass at round \(rounds + 1)")
    say("RESULT label=\(label) nodes=\(nodeCount) rounds=\(rounds) entries=\(entries) clients=\(clients) swtpms=\(logs.count) "
        + "attestations=\(total) seconds=\(f(elapsed, 3)) rate=\(f(rate, 1)) p50_ms=\(f(percentile(0.5), 2)) p99_ms=\(f(percentile(0.99), 2)) "
        + "client_cpu_s=\(f(clientCPU, 2)) verifier_cpu_s=\(f(verifierCPU ?? -1, 2)) database_cpu_s=\(f(databaseCPU ?? -1, 2))")
}

// MARK: - main

// tpm2-tss logs to stderr (e.g. the EK certificate NV index swtpm does not have); quiet, as the agent is.
setenv("TSS2_LOG", "all+none", 0)
let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: signet-fleet-bench tree --out DIR --swtpms K --rounds R --entries E | run --verifier URL --admin-token-file F --tcti T… [--nodes N --rounds R --clients C --entries E --label NAME] | rss --verifier URL --admin-token-file F --tcti T… --verifier-pid P [--nodes N --warm W --entries E --label NAME]") }
let options = Options(arguments.dropFirst(2))
do {
    switch arguments[1] {
    case "tree":
        let swtpms = options.int("swtpms", 4), rounds = options.int("rounds", 5), entries = options.int("entries", 100)
        try Workload.writeTree(out: options.required("out"), swtpms: swtpms, batches: rounds + 1, entries: entries)
    case "run":
        try run(options)
    case "rss":
        try rss(options)
    case "extend-log":
        try extendLog(tcti: options.required("tcti"), log: options.required("log"))
    default:
        fail("unknown command '\(arguments[1])' (tree, run, rss or extend-log)")
    }
} catch {
    fail("\(error)")
}
