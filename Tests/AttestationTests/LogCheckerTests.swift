import Foundation
import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `LogChecker` used directly, as `check-log` and `AttestationVerifier` use
/// it: fail-closed, sticky errors, stopping at a target, resuming from a
/// checkpoint, the failure cap. Each case runs on both paths.
final class LogCheckerTests: XCTestCase {
    private func checkers(_ judge: EntryJudge, context: JudgeContext = JudgeContext(), target: PCRTarget? = nil,
                          checkpoint: MeasurementLogCheckpoint? = nil, maxStoredFailures: Int = 1000) throws -> [LogChecker] {
        try [true, false].map { inPlace in
            try LogChecker(judge: judge, context: context, options: MeasurementLogOptions(), banks: [.sha1, .sha256],
                           mode: .perBankTemplateHash, resumingFrom: checkpoint, stopAt: target, jobs: 2, batchSize: 2,
                           maxStoredFailures: maxStoredFailures, allowingInPlace: inPlace)
        }
    }

    private var node: NodeScenario {
        let node = NodeScenario()
        node.append([.imaNG("/usr/sbin/tool", digest: node.toolDigest), .imaNG("/usr/lib/libfoo.so", digest: node.libDigest)])
        return node
    }

    /// A malformed entry ends the check there: the entries before it are
    /// judged, none after, and every later call throws the same error.
    func testAMalformedEntryStopsTheCheckAndTheErrorSticks() throws {
        let node = self.node
        var forged = TestLogEntry.imaNG("/usr/bin/x", digest: TestLogEncoder.fakeDigest(9))
        forged.digestOverride = [UInt8](repeating: 7, count: 20)
        let good = TestLogEncoder.log(node.entries)
        let log = good + TestLogEncoder.encode(forged) + TestLogEncoder.encode(.imaNG("/tmp/never", digest: TestLogEncoder.fakeDigest(8)))
        for var checker in try checkers(EntryJudge(reference: node.reference)) {
            XCTAssertThrowsError(try checker.append(log)) { error in
                guard case .log(let e) = error as? LogCheckError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.code, .templateDigestMismatch)
                XCTAssertEqual(e.entryIndex, node.entries.count)
                XCTAssertEqual(e.offset, good.count)
            }
            XCTAssertEqual(checker.summary.entries, node.entries.count, "the entries before it are judged")
            XCTAssertEqual(checker.replayedThrough, LogPosition(entryIndex: node.entries.count, byteOffset: good.count))
            XCTAssertThrowsError(try checker.append([UInt8]())) { XCTAssertEqual($0 as? LogCheckError, checker.summary.problem) }
            XCTAssertThrowsError(try checker.finish()) { XCTAssertEqual($0 as? LogCheckError, checker.summary.problem) }
            XCTAssertTrue(checker.stopped)
        }
    }

    /// A log that ends inside an entry fails at `finish`, naming it.
    func testALogCutInsideAnEntryFailsAtFinish() throws {
        let node = self.node
        let log = node.logBytes
        for var checker in try checkers(EntryJudge(reference: node.reference)) {
            try checker.append(log.dropLast(5))
            XCTAssertThrowsError(try checker.finish()) { error in
                XCTAssertEqual((error as? LogCheckError)?.entryIndex, node.entries.count - 1, "\(error)")
            }
            XCTAssertEqual(checker.summary.entries, node.entries.count - 1)
        }
    }

    /// With a target, the check stops at the entry after which the PCR
    /// equals it; later entries are neither judged nor replayed.
    func testATargetStopsTheCheckAtTheQuotedValue() throws {
        let node = self.node
        let quoted = PCRTarget(values: [.sha1: node.tpm.pcrs[.sha1]![10]!, .sha256: node.tpm.pcrs[.sha256]![10]!])
        node.appendUnextended([.imaNG("/tmp/after-the-quote", digest: TestLogEncoder.fakeDigest(5))])
        let log = node.logBytes
        for var checker in try checkers(EntryJudge(reference: node.reference), target: quoted) {
            try checker.append(log)
            try checker.finish()
            XCTAssertTrue(checker.reachedTarget)
            XCTAssertEqual(checker.summary.entries, node.entries.count - 1)
            XCTAssertEqual(checker.pcrValue(bank: .sha256), quoted.values[.sha256])
            XCTAssertEqual(checker.replayedThrough.entryIndex, node.entries.count - 1)
        }
        // A target the log never reaches: every entry judged, not reached.
        let never = PCRTarget(values: [.sha256: [UInt8](repeating: 1, count: 32)])
        for var checker in try checkers(EntryJudge(reference: node.reference), target: never) {
            try checker.append(log)
            try checker.finish()
            XCTAssertFalse(checker.reachedTarget)
            XCTAssertEqual(checker.summary.entries, node.entries.count)
        }
        // Starting values equal to the target: reached before any entry.
        let zeros = PCRTarget(values: [.sha256: [UInt8](repeating: 0, count: 32)])
        for var checker in try checkers(EntryJudge(reference: node.reference), target: zeros) {
            XCTAssertTrue(checker.reachedTarget)
            try checker.append(log)
            XCTAssertEqual(checker.summary.entries, 0)
        }
    }

    /// Resuming from a checkpoint gives the PCR values and judgements of
    /// one pass over the whole log; a checkpoint without a bank is refused.
    func testResumingFromACheckpointEqualsOnePass() throws {
        let node = self.node
        let judge = EntryJudge(reference: node.reference)
        let split = 4
        let head = TestLogEncoder.log(Array(node.entries.prefix(split)))
        let log = node.logBytes
        for (index, var whole) in try checkers(judge).enumerated() {
            try whole.append(log)
            try whole.finish()
            var first = try checkers(judge)[index]
            try first.append(head)
            try first.finish()
            var second = try checkers(judge, checkpoint: first.checkpoint)[index]
            try second.append(log[head.count...])
            try second.finish()
            XCTAssertEqual(second.checkpoint, whole.checkpoint)
            XCTAssertEqual(first.summary.entries + second.summary.entries, whole.summary.entries)
            XCTAssertEqual(first.summary.failures + second.summary.failures, whole.summary.failures)
        }
        let sha256Only = MeasurementLogCheckpoint(position: LogPosition(entryIndex: split, byteOffset: head.count),
                                                  pcrValues: [.sha256: [10: [UInt8](repeating: 0, count: 32)]])
        XCTAssertThrowsError(try checkers(judge, checkpoint: sha256Only)) { error in
            guard case .checkpoint(let why) = error as? LogCheckError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("sha1"), why)
        }
        let shortValue = MeasurementLogCheckpoint(position: .start, pcrValues: [.sha1: [10: [1, 2]], .sha256: [10: [1]]])
        XCTAssertThrowsError(try checkers(judge, checkpoint: shortValue))
    }

    /// Failures beyond the cap are counted, not stored.
    func testFailuresBeyondTheCapAreCounted() throws {
        let node = self.node
        let unknown = (0..<7).map { TestLogEntry.imaNG("/tmp2/u\($0)", digest: TestLogEncoder.fakeDigest(UInt8(40 + $0))) }
        let log = node.logBytes + TestLogEncoder.log(unknown)
        let context = JudgeContext(bootAggregates: [.sha256: node.tpm.bootAggregate()], kernelRelease: node.kernelRelease)
        for var checker in try checkers(EntryJudge(reference: node.reference), context: context, maxStoredFailures: 3) {
            try checker.append(log)
            try checker.finish()
            XCTAssertEqual(checker.summary.failureCount, 7)
            XCTAssertEqual(checker.summary.failures.map(\.entryIndex), Array(node.entries.count..<(node.entries.count + 3)))
            XCTAssertNil(checker.summary.problem)
        }
    }
}
