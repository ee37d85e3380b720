import Attestation
import FuzzSupport
import IMAFormat
import Provenance
import SignetCrypto

/// Issue 13's one judge, under libFuzzer: the input is a small program that
/// writes a measurement log — ima-sig entries with real signatures (valid, on
/// another digest, or raw bytes), listed and unlisted ima-ng entries, raw
/// hostile name and digest fields, violations, boot_aggregate, key and
/// kernel_version buffers, the legacy template, forged template digests and
/// raw garbage. The log then goes through `LogChecker` in place and on the
/// general path, on 1 and 3 threads, in data-chosen chunks, with and without
/// a PCR target, and every run must equal `SequentialLogCheck` exactly.
/// A difference is a crash (precondition) with the input saved.

/// The enterprise's key, its certificate, a manifest and eight files signed once per process.
final class World: @unchecked Sendable {
    let judge: EntryJudge
    let context: JudgeContext
    let signed: [(path: String, digest: [UInt8], signature: [UInt8])]
    let listed: [(path: String, digest: [UInt8])]
    let certificateDER: [UInt8]
    let bootAggregate: [UInt8]

    init() {
        let caKey = try! PrivateKey.generate(.ecdsa(curve: .p256))
        let ca = try! CertificateAuthority.makeRoot(key: caKey, profile: .init(subject: "CN=Fuzz CA", validityDays: 365))
        let key = try! PrivateKey.generate(.rsa(bits: 2048))
        let certificate = try! CertificateAuthority.issueSigningCertificate(
            for: key.publicKey, profile: .init(subject: "CN=Fuzz IMA", validityDays: 365), ca: ca, caKey: caKey)
        signed = (0..<8).map { i in
            let digest = Digester.hash([UInt8(i), 1], .sha256)
            let signature = IMASignature(hashAlgorithm: .sha256, keyID: certificate.imaKeyID,
                                         signature: try! key.sign(digest: digest, algorithm: .sha256))
            return ("/usr/bin/s\(i)", digest, signature.encoded())
        }
        listed = (0..<8).map { ("/usr/lib/l\($0).so", Digester.hash([UInt8($0), 2], .sha256)) }
        let header = Manifest.Header(buildID: "fuzz", created: "2026-12-07T00:00:00Z", tool: "FuzzLogEngines",
                                     hashAlgorithm: .sha256, signer: .init(certificate: certificate), detached: true)
        let manifest = Manifest(header: header, entries: listed.map { path, digest in
            Manifest.Entry(path: FilePath(path), size: 1, mode: 0o100755, uid: 0, gid: 0, digestAlgorithm: .sha256, digest: digest,
                           keyID: certificate.imaKeyID, signer: "sha256:" + Hex.encode(certificate.fingerprintSHA256), imaXattr: [])
        })
        var reference = Reference(trustStore: TrustStore([certificate]))
        reference.add(manifest)
        reference.excludes.append(try! PathPattern.glob("/tmp/*"))
        judge = EntryJudge(reference: reference)
        certificateDER = certificate.der
        bootAggregate = Digester.hash([0x42], .sha256)
        context = JudgeContext(bootAggregates: [.sha256: bootAggregate], kernelRelease: "6.12.9-amd64")
    }
}

let world = World()

/// Reads the input as the log-writing program's operands.
struct Cursor {
    let bytes: [UInt8]
    var at = 0
    var isAtEnd: Bool { at >= bytes.count }
    mutating func byte() -> UInt8 {
        guard at < bytes.count else { return 0 }
        defer { at += 1 }
        return bytes[at]
    }
    mutating func take(_ n: Int) -> [UInt8] {
        let end = min(bytes.count, at + n)
        defer { at = end }
        return Array(bytes[at..<end])
    }
}

func u32(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)] }

/// One entry as the kernel writes it: PCR, SHA-1 template digest, name, data.
func encode(template: String, fields: [[UInt8]], pcr: Int = 10, violation: Bool = false, forged: Bool = false) -> [UInt8] {
    let data: [UInt8]
    let digest: [UInt8]
    if template == "ima" {
        let name = fields[1].prefix(255)
        data = fields[0] + u32(name.count) + name
        digest = Digester.hash(fields[0] + name + [UInt8](repeating: 0, count: 256 - name.count), .sha1)
    } else {
        data = fields.flatMap { u32($0.count) + $0 }
        digest = Digester.hash(data, .sha1)
    }
    var out = u32(pcr)
    out += forged ? Digester.hash(digest, .sha1) : violation ? [UInt8](repeating: 0, count: 20) : digest
    out += u32(template.utf8.count) + Array(template.utf8)
    if template != "ima" { out += u32(data.count) }
    return out + data
}

func dng(_ algorithm: String, _ digest: [UInt8]) -> [UInt8] { Array("\(algorithm):".utf8) + [0] + digest }
func nng(_ path: String) -> [UInt8] { Array(path.utf8) + [0] }

func writeLog(_ input: [UInt8]) -> [UInt8] {
    var c = Cursor(bytes: input)
    var log = [UInt8]()
    var forgeNext = false
    var entries = 0
    while !c.isAtEnd && entries < 64 {
        entries += 1
        let op = c.byte() % 14
        let i = Int(c.byte() % 8)
        var template = "ima-ng"
        var fields: [[UInt8]]
        var pcr = 10
        var violation = false
        switch op {
        case 0:
            template = "ima-sig"
            fields = [dng("sha256", world.signed[i].digest), nng(world.signed[i].path), world.signed[i].signature]
        case 1:
            template = "ima-sig"
            fields = [dng("sha256", world.signed[(i + 1) % 8].digest), nng(world.signed[i].path), world.signed[i].signature]
        case 2:
            fields = [dng("sha256", world.listed[i].digest), nng(world.listed[i].path)]
        case 3:
            fields = [dng("sha256", c.take(32)), nng(c.byte() & 1 == 0 ? world.listed[i].path : "/tmp/t\(i)")]
        case 4:
            // Raw digest and name fields: hostile names, unknown algorithms, wrong lengths.
            fields = [c.take(Int(c.byte() % 72)), c.take(Int(c.byte()))]
            template = ["ima-ng", "ima-sig", "ima-ngv2", "ima-sigv2"][Int(c.byte() % 4)]
            if template.hasPrefix("ima-sig") { fields.append(c.take(Int(c.byte() % 16))) }
        case 5:
            template = "ima-sig"
            fields = [dng("sha256", world.signed[i].digest), nng(world.signed[i].path), c.take(Int(c.byte()))]
        case 6:
            fields = [dng("sha256", [UInt8](repeating: 0, count: 32)), nng("/usr/bin/v\(i)")]
            violation = true
        case 7:
            fields = [dng("sha256", c.byte() & 1 == 0 ? world.bootAggregate : c.take(32)), nng("boot_aggregate")]
        case 8:
            template = "ima-buf"
            let buffer = c.byte() & 1 == 0 ? Array("6.12.9-amd64".utf8) : c.take(Int(c.byte() % 32))
            fields = [dng("sha256", Digester.hash(buffer, .sha256)), nng("kernel_version"), buffer]
        case 9:
            template = "ima-buf"
            let buffer = c.byte() & 1 == 0 ? world.certificateDER : c.take(Int(c.byte() % 64))
            fields = [dng("sha256", Digester.hash(buffer, .sha256)), nng(".ima"), buffer]
        case 10:
            template = "ima"
            fields = [c.take(20), Array(world.listed[i].path.utf8)]
        case 11:
            log += c.take(Int(c.byte()))  // raw bytes: garbage, a partial entry
            continue
        case 12:
            forgeNext = true
            continue
        default:
            fields = [dng(["sha1", "sha512", "sm3", "foo", "sha256"][i % 5], c.take(Int(c.byte() % 72))), nng("/usr/bin/x\(i)")]
            pcr = Int(c.byte() % 3) + 9
        }
        log += encode(template: template, fields: fields, pcr: pcr, violation: violation, forged: forgeNext)
        forgeNext = false
    }
    return log
}

/// Feeds `log` to a checker in chunks that end at the given cut points.
func run(_ log: [UInt8], inPlace: Bool, jobs: Int, batch: Int, cuts: [Int], target: PCRTarget?) -> SequentialLogCheck.Outcome {
    var checker = try! LogChecker(judge: world.judge, context: world.context, options: MeasurementLogOptions(),
                                  banks: [.sha1, .sha256], mode: .perBankTemplateHash, resumingFrom: nil, stopAt: target,
                                  jobs: jobs, batchSize: batch, maxStoredFailures: 1000, allowingInPlace: inPlace)
    precondition(checker.isInPlace == inPlace)
    var thrown: LogCheckError?
    var from = 0
    do throws(LogCheckError) {
        for cut in cuts.map({ min(max($0, 0), log.count) }).sorted() + [log.count] where cut >= from {
            try checker.append(log[from..<cut])
            from = cut
        }
        try checker.finish()
    } catch {
        thrown = error
    }
    precondition(thrown == checker.summary.problem, "thrown \(String(describing: thrown)) but summary says \(String(describing: checker.summary.problem))")
    return SequentialLogCheck.Outcome(checker)
}

let body: FuzzBody = { data, size in
    let input = fuzzInput(data, size)
    guard !input.isEmpty else { return 0 }
    let log = writeLog(input)
    let cuts = input.suffix(4).map { Int($0) * max(1, log.count / 256) }
    let whole = SequentialLogCheck.check(log, judge: world.judge, context: world.context)
    // Stop at the PCR values the whole log ends with, as a quote would hold them.
    let target = PCRTarget(values: [.sha1: whole.checkpoint.pcrValues[.sha1]?[10] ?? [UInt8](repeating: 0, count: 20),
                                    .sha256: whole.checkpoint.pcrValues[.sha256]?[10] ?? [UInt8](repeating: 0, count: 32)])
    let quoted = SequentialLogCheck.check(log, judge: world.judge, context: world.context, stopAt: target)
    for (inPlace, jobs, batch) in [(true, 1, 64), (true, 3, 3), (false, 1, 64), (false, 3, 2)] {
        for (stop, expected) in [(nil, whole), (target, quoted)] as [(PCRTarget?, SequentialLogCheck.Outcome)] {
            let got = run(log, inPlace: inPlace, jobs: jobs, batch: batch, cuts: batch == 64 ? [] : cuts, target: stop)
            precondition(got == expected, """
                LogChecker (\(inPlace ? "in place" : "general"), jobs \(jobs), batch \(batch), \(stop == nil ? "whole log" : "to a target")) \
                disagrees with SequentialLogCheck:
                got      \(got)
                expected \(expected)
                """)
        }
    }
    return 0
}

@_cdecl("FuzzLogEngines_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, body)
}
