import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import Signing
import SignetTestSupport

/// Issue 13 findings 4 and 5: entries whose digest algorithm or name is not
/// what the kernel writes are malformed entries (`malformed-entry`), on every
/// path: `LogChecker`'s in-place path (one thread and several, any batch
/// size, any read-chunk boundary), its general path, and
/// `AttestationVerifier.verify`. The rest of the log is still judged.
final class MalformedEntryTests: XCTestCase {
    // MARK: - Running a log through every path

    /// What a check gives: compared between paths.
    struct Outcome: Equatable, CustomStringConvertible {
        var entries: Int
        var acceptances: [Acceptance: Int]
        var failures: [EntryFailure]
        var failureCount: Int
        var problem: LogCheckError?
        var sha256: [UInt8]

        var description: String {
            "entries \(entries), acceptances \(acceptances), problem \(problem.map(String.init(describing:)) ?? "none"), failures:\n"
                + failures.map { "  #\($0.entryIndex) \($0.code.rawValue) \($0.displayPath): \($0.reason)" }.joined(separator: "\n")
        }
    }

    private func check(_ log: [UInt8], reference: Reference, banks: [HashAlgorithm] = [.sha1, .sha256], jobs: Int = 1,
                       batchSize: Int = 4096, chunk: Int? = nil) -> Outcome {
        var checker: LogChecker
        do {
            checker = try LogChecker(judge: EntryJudge(reference: reference), banks: banks, jobs: jobs, batchSize: batchSize)
        } catch {
            XCTFail("\(error)")
            return Outcome(entries: -1, acceptances: [:], failures: [], failureCount: -1, problem: error, sha256: [])
        }
        do throws(LogCheckError) {
            let step = max(1, chunk ?? log.count)
            var offset = 0
            while offset < log.count {
                try checker.append(log[offset..<min(log.count, offset + step)])
                offset += step
            }
            try checker.finish()
        } catch {
            // Recorded in the summary as well.
        }
        let s = checker.summary
        return Outcome(entries: s.entries, acceptances: s.acceptances, failures: s.failures, failureCount: s.failureCount,
                       problem: s.problem, sha256: checker.pcrValue(bank: .sha256))
    }

    /// Runs `log` through the in-place path (1 and 4 threads, batches of 1,
    /// 3 and 4096, whole and in 7-byte chunks) and the general path (a
    /// sha384 bank forces it), requires identical outcomes and returns one.
    private func checkEveryWay(_ log: [UInt8], reference: Reference, file: StaticString = #filePath,
                               line: UInt = #line) -> Outcome {
        let base = check(log, reference: reference)
        var variants: [(String, Outcome)] = [
            ("jobs 4", check(log, reference: reference, jobs: 4)),
            ("jobs 4, batch 3", check(log, reference: reference, jobs: 4, batchSize: 3)),
            ("jobs 1, batch 1", check(log, reference: reference, batchSize: 1)),
            ("jobs 2, chunks of 7", check(log, reference: reference, jobs: 2, batchSize: 2, chunk: 7)),
        ]
        var general = check(log, reference: reference, banks: [.sha256, .sha384], jobs: 1)
        variants.append(("general path", general))
        general = check(log, reference: reference, banks: [.sha256, .sha384], jobs: 3, batchSize: 2, chunk: 11)
        variants.append(("general path, jobs 3", general))
        for (name, outcome) in variants {
            XCTAssertEqual(outcome, base, "\(name) differs from the in-place path with one thread:\n\(outcome)\nvs\n\(base)",
                           file: file, line: line)
        }
        return base
    }

    /// Judged in log order: entry index → failure code.
    private func codes(_ outcome: Outcome) -> [Int: EntryFailureCode] {
        Dictionary(uniqueKeysWithValues: outcome.failures.map { ($0.entryIndex, $0.code) })
    }

    private static let okDigest = TestLogEncoder.fakeDigest(41)

    /// A reference listing `/usr/bin/ok` with `okDigest` (SHA-256).
    private func reference() -> Reference {
        var reference = Reference()
        reference.add(NodeScenario.manifest(entries: [("/usr/bin/ok", Self.okDigest)]))
        return reference
    }

    private func nameEntry(_ name: [UInt8], template: String = "ima-ng") -> TestLogEntry {
        var fields = [TestLogEncoder.dng(.sha256, Self.okDigest), name]
        if template == "ima-sig" { fields.append([]) }
        return TestLogEntry(templateName: template, fields: fields)
    }

    // MARK: - Finding 5: the n-ng name

    func testNameWithAnEmbeddedNULIsMalformedNotItsPrefix() {
        let good = TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest)
        let hidden = Array("/usr/bin/ok".utf8) + [0] + Array("/tmp/evil".utf8) + [0]
        for template in ["ima-ng", "ima-sig"] {
            let log = TestLogEncoder.log([good, nameEntry(hidden, template: template), good])
            let outcome = checkEveryWay(log, reference: reference())
            XCTAssertNil(outcome.problem, "\(outcome)")
            XCTAssertEqual(outcome.entries, 3)
            XCTAssertEqual(codes(outcome), [1: .malformedEntry], "\(template): \(outcome)")
            XCTAssertEqual(outcome.acceptances[.manifest], 2)
            let failure = try? XCTUnwrap(outcome.failures.first)
            XCTAssertEqual(failure?.path, Array(hidden.dropLast()), "the whole name is reported, not its prefix")
            XCTAssertTrue(failure?.reason.contains("n-ng") == true && failure?.reason.contains("NUL at byte 11") == true,
                          failure?.reason ?? "")
        }
    }

    func testNameWithoutItsTerminatingNULIsMalformed() {
        let good = TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest)
        for template in ["ima-ng", "ima-sig"] {
            let log = TestLogEncoder.log([nameEntry(Array("/usr/bin/ok".utf8), template: template), good])
            let outcome = checkEveryWay(log, reference: reference())
            XCTAssertEqual(outcome.entries, 2)
            XCTAssertEqual(codes(outcome), [0: .malformedEntry], "\(template): \(outcome)")
            XCTAssertTrue(outcome.failures.first?.reason.contains("terminating NUL") == true, "\(outcome)")
        }
    }

    func testMalformedNamesOfOtherEntriesAreMalformedToo() {
        var reference = reference()
        reference.excludes = [try! PathPattern.glob("/usr/bin/*")]
        let badBoot = TestLogEntry(templateName: "ima-ng",
                                   fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(9)),
                                            Array("boot_aggregate".utf8) + [0, 0]])
        let badBuffer = TestLogEntry(templateName: "ima-buf",
                                     fields: [TestLogEncoder.dng(.sha256, Digester.hash([1, 2], .sha256)),
                                              Array("kernel_version".utf8), [1, 2]])
        let excludedButHidden = nameEntry(Array("/usr/bin/x".utf8) + [0] + Array("/tmp/evil".utf8) + [0])
        let legacy = TestLogEntry(templateName: "ima", fields: [TestLogEncoder.fakeDigest(1, 20), Array("/usr/bin/a".utf8) + [0]])
        reference.allowsSHA1 = true
        let outcome = checkEveryWay(TestLogEncoder.log([badBoot, badBuffer, excludedButHidden, legacy]), reference: reference)
        XCTAssertEqual(codes(outcome), [0: .malformedEntry, 1: .malformedEntry, 2: .malformedEntry, 3: .malformedEntry],
                       "\(outcome)")
    }

    func testWellFormedNamesStillPass() {
        let log = TestLogEncoder.log([TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest),
                                      nameEntry(Array("/usr/bin/ok".utf8) + [0], template: "ima-sig")])
        let outcome = checkEveryWay(log, reference: reference())
        XCTAssertEqual(outcome.failures, [])
        XCTAssertEqual(outcome.acceptances[.manifest], 2)
    }

    // MARK: - Through AttestationVerifier.verify

    func testVerifierRefusesMalformedNamesWithTheCheckersFailures() {
        let node = NodeScenario()
        node.reference.add(NodeScenario.manifest(entries: [("/usr/bin/ok", Self.okDigest)]))
        let hidden = nameEntry(Array("/usr/bin/ok".utf8) + [0] + Array("/tmp/evil".utf8) + [0], template: "ima-sig")
        let unterminated = nameEntry(Array("/usr/bin/ok".utf8))
        node.append([hidden, unterminated, .imaNG("/usr/bin/ok", digest: Self.okDigest)])
        let nonce = newNonce()
        for jobs in [1, 4] {
            let result = AttestationVerifier(reference: node.reference, jobs: jobs)
                .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil)
            XCTAssertFalse(result.verdict.passed)
            XCTAssertEqual(result.verdict.entryFailures.map(\.entryIndex), [6, 7], result.verdict.textReport())
            XCTAssertEqual(Set(result.verdict.entryFailures.map(\.code)), [.malformedEntry])
            XCTAssertEqual(result.verdict.log?.judgedEntries, 9, "the rest of the log is judged")
            var context = JudgeContext()
            context.bootAggregates = [.sha256: node.tpm.bootAggregate()]
            context.kernelRelease = node.kernelRelease
            var checker = try! LogChecker(judge: EntryJudge(reference: node.reference), context: context, jobs: jobs)
            try? checker.append(node.logBytes)
            try? checker.finish()
            XCTAssertEqual(result.verdict.entryFailures, checker.summary.failures)
        }
    }
}
