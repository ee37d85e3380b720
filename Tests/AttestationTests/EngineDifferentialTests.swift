import Foundation
import XCTest
@testable import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport
import TPM

/// Issue 13: one judge. Random logs — every template the kernel writes,
/// ima-sig entries with real signatures (trusted, foreign key, corrupted,
/// evmctl's), violations, hostile names and digests, forged template digests,
/// truncated tails — run through every entry point of the engine:
///
/// - `LogChecker` in place and on the general path, 1 and 3 threads, batches
///   of 2-5 entries, fed in random chunks and split at every byte;
/// - `LogChecker` stopping at the quoted PCR 10 (what `attest verify` does);
/// - `AttestationVerifier.verify` with a signed quote, with 1 thread (as
///   `verifier serve` runs it, via `References`) and 3 (as `attest verify`);
/// - an incremental round from a state, with only the new entries and with
///   the whole log again.
///
/// Each must equal `SequentialLogCheck`, the plain one-entry-at-a-time loop:
/// the same entries judged, acceptances, failures (entry, offset, code,
/// reason), the same error and the same PCR values. A failing case prints its
/// seed; `SIGNET_ENGINE_SEED=N` replays one case.
final class EngineDifferentialTests: XCTestCase {
    static let cases = 200

    func testEveryEntryPointAgreesWithTheSequentialOracle() throws {
        var seeds = (0..<Self.cases).map { 0xE9_1300_0000 &+ UInt64($0) }
        if let one = ProcessInfo.processInfo.environment["SIGNET_ENGINE_SEED"], let seed = UInt64(one) { seeds = [seed] }
        let cache = SignatureCache()
        var seen = Coverage()
        for (n, seed) in seeds.enumerated() {
            try runCase(seed: seed, cache: cache, splitAtEveryByte: n < 4, coverage: &seen)
        }
        guard seeds.count == Self.cases else { return }
        // The random cases must reach every outcome the engine has, or they prove little.
        for code in [EntryFailureCode.violation, .unexpectedPCR, .malformedEntry, .sha1NotAllowed, .digestMismatch,
                     .unsignedNotInManifest, .unknownKey, .badSignature, .bootAggregateMismatch] {
            XCTAssertGreaterThan(seen.failures[code, default: 0], 0, "no case produced \(code.rawValue)")
        }
        for acceptance in [Acceptance.signature, .manifest, .excluded, .bootAggregate, .trustedKey, .kernelVersion] {
            XCTAssertGreaterThan(seen.acceptances[acceptance, default: 0], 0, "no case produced \(acceptance.rawValue)")
        }
        XCTAssertGreaterThan(seen.templateDigestMismatches, 5)
        XCTAssertGreaterThan(seen.truncated, 5)
        XCTAssertGreaterThan(seen.passedWithQuote, 20)
        XCTAssertGreaterThan(seen.incremental, 150)
    }

    struct Coverage {
        var failures: [EntryFailureCode: Int] = [:]
        var acceptances: [Acceptance: Int] = [:]
        var templateDigestMismatches = 0
        var truncated = 0
        var passedWithQuote = 0
        var incremental = 0
    }

    // MARK: - One case

    private func runCase(seed: UInt64, cache: SignatureCache, splitAtEveryByte: Bool, coverage: inout Coverage) throws {
        var r = SeededGenerator(seed: seed)
        let node = NodeScenario()
        node.reference.excludes.append(try PathPattern.glob("/tmp/*"))
        node.reference.add(NodeScenario.manifest(entries: Self.listed))
        let judge = EntryJudge(reference: node.reference, cache: cache)
        let context = JudgeContext(bootAggregates: [.sha256: node.tpm.bootAggregate()], kernelRelease: node.kernelRelease)
        let label = "seed \(seed) (SIGNET_ENGINE_SEED=\(seed))"

        // A clean head, quoted: the previous round of the incremental check.
        node.append((0..<r.int(0...3)).map { _ in node.signed("/usr/bin/clean\(r.int(0...99))", r.bytes(32)) })
        let headEntries = node.entries.count
        let firstNonce = newNonce()
        let firstEvidence = node.evidence(nonce: firstNonce)
        node.tpm.clock += 1_000

        // Then anything, or (a quarter of the cases) only what the reference accepts.
        let clean = r.chance(25)
        node.append((0..<r.int(1...40)).map { _ in clean ? Self.acceptedEntry(&r, node: node) : Self.randomEntry(&r, node: node) })
        var log = node.logBytes
        if r.chance(12) {
            // Logged after the quote and cut off while being read: a partial entry.
            let extra = TestLogEncoder.encode(Self.randomEntry(&r, node: node))
            log += extra.prefix(r.int(1...(extra.count - 1)))
            coverage.truncated += 1
        }
        let target = PCRTarget(values: [.sha1: node.tpm.pcrs[.sha1]![10]!, .sha256: node.tpm.pcrs[.sha256]![10]!])

        // The oracle, over the whole log (check-log) and up to the quote (verify).
        let whole = SequentialLogCheck.check(log, judge: judge, context: context)
        let quoted = SequentialLogCheck.check(log, judge: judge, context: context, stopAt: target)
        for f in whole.failures { coverage.failures[f.code, default: 0] += 1 }
        for (a, n) in whole.acceptances { coverage.acceptances[a, default: 0] += n }
        if case .log(let e) = whole.problem, e.code == .templateDigestMismatch { coverage.templateDigestMismatches += 1 }

        // LogChecker: in place and general, threads, batches, chunks.
        for variant in Self.variants(&r) {
            for stop in [nil, target] {
                let expected = stop == nil ? whole : quoted
                let got = try check(log, judge: judge, context: context, target: stop, variant: variant,
                                    chunks: Self.chunks(log.count, &r))
                XCTAssertEqual(got, expected, "\(label): \(variant) \(stop == nil ? "whole log" : "to the quote")")
                if got != expected { return }
            }
        }
        if splitAtEveryByte {
            for split in 0...log.count {
                for variant in [Variant(inPlace: true, jobs: 1, batch: 4), Variant(inPlace: false, jobs: 1, batch: 4)]
                where variant.inPlace || split % 13 == 0 {
                    let got = try check(log, judge: judge, context: context, target: nil, variant: variant,
                                        chunks: [split, log.count - split])
                    XCTAssertEqual(got, whole, "\(label): \(variant) split at byte \(split)")
                    if got != whole { return }
                }
            }
        }

        // AttestationVerifier: the service's (1 thread) and the CLI's (3).
        let nonce = newNonce()
        var evidence = node.evidence(nonce: nonce)
        evidence.log.data = log
        for jobs in [1, 3] {
            let verifier = AttestationVerifier(reference: node.reference, cache: cache, jobs: jobs)
            let result = verifier.verify(evidence, expecting: node.expectations(nonce: nonce), previous: nil)
            assertVerdict(result, matches: quoted, label: "\(label): AttestationVerifier jobs \(jobs)")
            if clean { XCTAssertPasses(result.verdict) }
            if jobs == 1 && result.verdict.passed { coverage.passedWithQuote += 1 }
        }

        // Incremental: the head passed in an earlier round; this round resumes from its state.
        let verifier = AttestationVerifier(reference: node.reference, cache: cache, jobs: 2)
        let first = verifier.verify(firstEvidence, expecting: node.expectations(nonce: firstNonce), previous: nil)
        XCTAssertPasses(first.verdict)
        guard let state = first.state, let checkpoint = state.checkpoint else { return XCTFail("\(label): no state after the head") }
        XCTAssertEqual(state.nextEntry, headEntries)
        let fromState = SequentialLogCheck.check(Array(log[state.nextOffset...]), judge: judge, context: context,
                                                 resumingFrom: checkpoint, stopAt: target)
        var newOnly = node.evidence(nonce: nonce, fromEntry: headEntries)
        newOnly.log.data = Array(log[state.nextOffset...])
        for (name, sent) in [("new entries", newOnly), ("whole log", evidence)] {
            let result = verifier.verify(sent, expecting: node.expectations(nonce: nonce), previous: state)
            assertVerdict(result, matches: fromState, previous: state, label: "\(label): incremental round, \(name)")
            XCTAssertEqual(result.verdict.log?.firstEntry, headEntries, "\(label): \(name)")
        }
        coverage.incremental += 1
    }

    /// What a verdict must say given the oracle's outcome up to the quote.
    private func assertVerdict(_ result: AttestationResult, matches oracle: SequentialLogCheck.Outcome,
                               previous: AttestationState? = nil, label: String) {
        let verdict = result.verdict
        XCTAssertEqual(verdict.log?.judgedEntries, oracle.entries, label)
        XCTAssertEqual(verdict.log?.acceptances ?? [:], oracle.acceptances, label)
        if let problem = oracle.problem {
            XCTAssertFalse(verdict.passed, label)
            XCTAssertEqual(verdict.reasons.last?.entryIndex, problem.entryIndex, "\(label): \(verdict.textReport())")
            XCTAssertEqual(verdict.reasons.last?.offset, problem.offset, label)
            XCTAssertEqual(result.state, previous, "\(label): a failure keeps the previous state")
            return
        }
        XCTAssertTrue(oracle.reachedTarget, "\(label): the quote covers every entry the oracle read")
        XCTAssertEqual(verdict.entryFailures, oracle.failures, label)
        XCTAssertEqual(verdict.passed, oracle.failures.isEmpty, "\(label): \(verdict.textReport())")
        if verdict.passed {
            XCTAssertEqual(result.state?.checkpoint, oracle.checkpoint, label)
        } else {
            XCTAssertEqual(result.state, previous, "\(label): a failure keeps the previous state")
        }
    }

    // MARK: - Feeding a LogChecker

    struct Variant: CustomStringConvertible {
        var inPlace: Bool
        var jobs: Int
        var batch: Int
        var description: String { "LogChecker \(inPlace ? "in place" : "general path"), jobs \(jobs), batch \(batch)" }
    }

    static func variants(_ r: inout SeededGenerator) -> [Variant] {
        [Variant(inPlace: true, jobs: 1, batch: 4096), Variant(inPlace: true, jobs: 3, batch: r.int(2...5)),
         Variant(inPlace: false, jobs: 1, batch: 4096), Variant(inPlace: false, jobs: 3, batch: r.int(2...5))]
    }

    /// Chunk sizes adding up to `count`: one chunk, or random small ones.
    static func chunks(_ count: Int, _ r: inout SeededGenerator) -> [Int] {
        guard r.chance(70) else { return [count] }
        var sizes = [Int]()
        var left = count
        while left > 0 {
            let n = min(left, r.int(1...300))
            sizes.append(n)
            left -= n
        }
        return sizes
    }

    private func check(_ log: [UInt8], judge: EntryJudge, context: JudgeContext, target: PCRTarget?, variant: Variant,
                       chunks: [Int]) throws -> SequentialLogCheck.Outcome {
        var checker = try LogChecker(judge: judge, context: context, options: MeasurementLogOptions(), banks: [.sha1, .sha256],
                                     mode: .perBankTemplateHash, resumingFrom: nil, stopAt: target, jobs: variant.jobs,
                                     batchSize: variant.batch, maxStoredFailures: 1000, allowingInPlace: variant.inPlace)
        XCTAssertEqual(checker.isInPlace, variant.inPlace)
        var thrown: LogCheckError?
        var at = 0
        do throws(LogCheckError) {
            for n in chunks {
                try checker.append(log[at..<(at + n)])
                at += n
            }
            try checker.finish()
        } catch {
            thrown = error
        }
        XCTAssertEqual(thrown, checker.summary.problem, "what append/finish threw is the summary's problem")
        XCTAssertEqual(checker.summary.failureCount, checker.summary.failures.count)
        return SequentialLogCheck.Outcome(checker)
    }

    // MARK: - Random entries

    /// Paths a manifest lists, with their digests.
    static let listed: [(String, [UInt8])] = (0..<8).map { ("/usr/lib/listed\($0).so", Digester.hash([UInt8($0)], .sha256)) }

    /// A path: listed, excluded, plain, or hostile bytes (spaces, newlines, non-UTF-8, long).
    static func path(_ r: inout SeededGenerator) -> String {
        switch r.int(0...9) {
        case 0...2: return listed[r.int(0...(listed.count - 1))].0
        case 3: return "/tmp/x\(r.int(0...999))"
        case 4: return "/usr/bin/tool \(r.int(0...9))\nline"
        case 5: return "/opt/" + String(repeating: "long/", count: r.int(1...60)) + "end"
        default: return "/usr/bin/p\(r.int(0...999))"
        }
    }

    /// An entry the reference accepts: signed, listed at its path, or excluded.
    static func acceptedEntry(_ r: inout SeededGenerator, node: NodeScenario) -> TestLogEntry {
        switch r.int(0...2) {
        case 0: return node.signed(path(&r), r.bytes(32))
        case 1:
            let (path, digest) = listed[r.int(0...(listed.count - 1))]
            return .imaNG(path, digest: digest)
        default: return .imaNG("/tmp/x\(r.int(0...999))", digest: r.bytes(32))
        }
    }

    static func randomEntry(_ r: inout SeededGenerator, node: NodeScenario) -> TestLogEntry {
        let path = path(&r)
        let listedDigest = listed.first { $0.0 == path }?.1
        var entry: TestLogEntry
        switch r.int(0...29) {
        case 0...4:
            // Signed by the enterprise key (over the listed digest or another).
            entry = node.signed(path, listedDigest.map { r.chance(50) ? $0 : r.bytes(32) } ?? r.bytes(32))
        case 5:
            entry = node.signed(path, r.bytes(32), by: SharedKeys.rogue.key, certificate: SharedKeys.rogue.certificate)
        case 6:
            entry = node.signed(path, r.bytes(32))
            let last = entry.fields[2].count - 1 - r.int(0...10)
            entry.fields[2][last] ^= 0x01  // a corrupted signature
        case 7:
            entry = .imaSig(path, digest: r.bytes(32), signature: r.chance(50) ? TestLogEncoder.evmctlSignature : r.bytes(r.int(1...12)))
        case 8...11:
            entry = .imaNG(path, digest: listedDigest.map { r.chance(60) ? $0 : r.bytes(32) } ?? r.bytes(32))
        case 12:
            let algorithm: HashAlgorithm = [.sha1, .sha512, .sha384][r.int(0...2)]
            entry = .imaNG(path, digest: r.bytes(algorithm.digestLength), algorithm: algorithm)
        case 13:
            entry = .legacy(String(path.prefix(200)), digest: r.bytes(20))
        case 14:
            entry = TestLogEntry(templateName: r.chance(50) ? "ima-ngv2" : "ima-sigv2",
                                 fields: [TestLogEncoder.dngv2(r.chance(70) ? "ima" : "verity", .sha256, listedDigest ?? r.bytes(32)),
                                          TestLogEncoder.nng(path)])
            if entry.templateName == "ima-sigv2" { entry.fields.append([]) }
        case 15:
            entry = .violation(path)
        case 16:
            entry = .imaNG(path, digest: r.bytes(32), pcr: 11)
        case 17:
            entry = .bootAggregate(r.chance(50) ? node.tpm.bootAggregate() : r.bytes(32))
        case 18:
            entry = .imaBuf("kernel_version", buffer: Array((r.chance(70) ? node.kernelRelease : "5.10.0-evil").utf8))
        case 19:
            entry = .imaBuf(".ima", buffer: r.chance(60) ? SharedKeys.ima.certificate.der : r.bytes(r.int(1...64)))
        case 20:
            // A name with an embedded NUL, or without its terminating one, or empty.
            let name: [UInt8]
            switch r.int(0...2) {
            case 0: name = Array(path.utf8) + [0] + Array("/tmp/evil".utf8) + [0]
            case 1: name = Array(path.utf8)
            default: name = []
            }
            entry = TestLogEntry(templateName: "ima-ng", fields: [TestLogEncoder.dng(.sha256, listedDigest ?? r.bytes(32)), name])
        case 21:
            // A digest under a name IMA does not use, or of the wrong length.
            let (name, length) = [("foo", 20), ("sm3", 32), ("sha256", 20), ("sha1", 32), ("", 32)][r.int(0...4)]
            entry = TestLogEntry(templateName: r.chance(50) ? "ima-ng" : "ima-sig",
                                 fields: [Array("\(name):".utf8) + [0] + r.bytes(length), TestLogEncoder.nng(path)])
            if entry.templateName == "ima-sig" { entry.fields.append([]) }
        case 22:
            // Non-UTF-8 bytes in the name.
            entry = TestLogEntry(templateName: "ima-ng",
                                 fields: [TestLogEncoder.dng(.sha256, r.bytes(32)), Array("/usr/bin/".utf8) + r.bytes(r.int(1...20)).map { $0 | 0x80 } + [0]])
        default:
            entry = node.signed(path, listedDigest ?? r.bytes(32))
        }
        if r.chance(2) {
            entry.digestOverride = r.bytes(20)  // a forged template digest: the check stops there
        }
        return entry
    }
}
