import Foundation
import Synchronization
import XCTest
@testable import IMAFormat
import SignetCrypto
import SignetTestSupport

final class MeasurementLogReplayTests: XCTestCase {
    let hashing = IMALogHashing()

    static let source: [TestLogEntry] = [
        .imaNG("boot_aggregate", digest: TestLogEncoder.fakeDigest(1)),
        .imaSig("/usr/bin/x", digest: TestLogEncoder.fakeDigest(2), signature: TestLogEncoder.evmctlSignature),
        .violation("/var/log/y"),
        .imaNG("/usr/bin/z", digest: TestLogEncoder.fakeDigest(3)),
        .imaNG("/other-pcr", digest: TestLogEncoder.fakeDigest(4), pcr: 11),
    ]

    /// PCR values computed independently: Digester over hand-made extend values.
    static func expectedPCR(_ entries: [TestLogEntry], pcr: UInt32 = 10, bank: HashAlgorithm, padded: Bool) -> [UInt8] {
        var value = [UInt8](repeating: 0, count: bank.digestLength)
        for entry in entries where entry.pcr == pcr {
            var extend: [UInt8]
            if entry.violation {
                extend = padded ? [UInt8](repeating: 0xff, count: 20) : [UInt8](repeating: 0xff, count: bank.digestLength)
            } else {
                extend = TestLogEncoder.templateHash(entry, padded ? .sha1 : bank, .littleEndian)
            }
            extend += [UInt8](repeating: 0, count: bank.digestLength - extend.count)
            value = Digester.hash(value + extend, bank)
        }
        return value
    }

    private func entries() throws -> [MeasurementEntry] {
        try BinaryMeasurementLogParser.parse(TestLogEncoder.log(Self.source))
    }

    func testPerBankReplayWithViolation() throws {
        var replay = PCRReplay(banks: [.sha1, .sha256, .sha384, .sha512], hashing: hashing)
        for entry in try entries() { try replay.extend(entry) }
        for bank in [HashAlgorithm.sha1, .sha256, .sha384, .sha512] {
            XCTAssertEqual(replay.value(ofPCR: 10, bank: bank), Self.expectedPCR(Self.source, bank: bank, padded: false), bank.name)
            XCTAssertEqual(replay.value(ofPCR: 11, bank: bank),
                           Self.expectedPCR(Self.source, pcr: 11, bank: bank, padded: false), bank.name)
        }
        XCTAssertEqual(replay.value(ofPCR: 12, bank: .sha256), [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(replay.entryCount, Self.source.count)
    }

    func testViolationExtendsAllFF() throws {
        let violation = try XCTUnwrap(BinaryMeasurementLogParser.parse(TestLogEncoder.log([.violation("/x")])).first)
        var replay = PCRReplay(banks: [.sha1, .sha256], hashing: hashing)
        try replay.extend(violation)
        XCTAssertEqual(replay.value(ofPCR: 10, bank: .sha256),
                       Digester.hash([UInt8](repeating: 0, count: 32) + [UInt8](repeating: 0xff, count: 32), .sha256))
        XCTAssertEqual(replay.value(ofPCR: 10, bank: .sha1),
                       Digester.hash([UInt8](repeating: 0, count: 20) + [UInt8](repeating: 0xff, count: 20), .sha1))
        XCTAssertEqual(PCRExtendMode.paddedSHA1.extendValue(for: violation, bank: .sha256, using: hashing),
                       [UInt8](repeating: 0xff, count: 20) + [UInt8](repeating: 0, count: 12))
    }

    func testPaddedSHA1Mode() throws {
        var replay = PCRReplay(banks: [.sha1, .sha256], mode: .paddedSHA1, hashing: hashing)
        for entry in try entries() { try replay.extend(entry) }
        XCTAssertEqual(replay.value(ofPCR: 10, bank: .sha256), Self.expectedPCR(Self.source, bank: .sha256, padded: true))
        XCTAssertEqual(replay.value(ofPCR: 10, bank: .sha1), Self.expectedPCR(Self.source, bank: .sha1, padded: false))
        XCTAssertNotEqual(replay.value(ofPCR: 10, bank: .sha256),
                          Self.expectedPCR(Self.source, bank: .sha256, padded: false))
    }

    func testTemplateDigestMismatchNamesTheEntry() throws {
        var forged = Self.source
        forged[1].digestOverride = [UInt8](repeating: 0x42, count: 20)
        let entries = try BinaryMeasurementLogParser.parse(TestLogEncoder.log(forged))
        var replay = PCRReplay(hashing: hashing)
        try replay.extend(entries[0])
        XCTAssertThrowsError(try replay.extend(entries[1])) { error in
            let e = error as? MeasurementLogError
            XCTAssertEqual(e?.code, .templateDigestMismatch)
            XCTAssertEqual(e?.entryIndex, 1)
            XCTAssertEqual(e?.offset, entries[1].position.byteOffset)
            XCTAssertEqual(e?.field, "template_digest")
        }
        XCTAssertEqual(replay.entryCount, 1, "a rejected entry is not replayed")
    }

    func testFindsTheEntryCountWhereTheQuoteMatches() throws {
        let entries = try entries()
        // A quote taken after 3 entries; the log has grown by 2 more since.
        let target = PCRTarget(values: [
            .sha1: Self.expectedPCR(Array(Self.source.prefix(3)), bank: .sha1, padded: false),
            .sha256: Self.expectedPCR(Array(Self.source.prefix(3)), bank: .sha256, padded: false),
        ])
        var replay = PCRReplay(hashing: hashing)
        XCTAssertEqual(try replay.replay(entries, until: target), 3)
        XCTAssertEqual(replay.entryCount, 3)
        XCTAssertTrue(replay.matches(target))

        var noMatch = PCRReplay(hashing: hashing)
        let wrong = PCRTarget(values: [.sha256: [UInt8](repeating: 7, count: 32)])
        XCTAssertNil(try noMatch.replay(entries, until: wrong))
        XCTAssertEqual(noMatch.entryCount, entries.count)

        // A bank that is not replayed never matches.
        var sha1Only = PCRReplay(banks: [.sha1], hashing: hashing)
        XCTAssertNil(try sha1Only.replay(entries, until: target))

        // An empty log matches an unextended PCR at count 0.
        var empty = PCRReplay(hashing: hashing)
        XCTAssertEqual(try empty.replay([], until: PCRTarget(values: [.sha1: [UInt8](repeating: 0, count: 20)])), 0)
    }

    func testResumeFromCheckpointEqualsFullReplay() throws {
        let log = TestLogEncoder.log(Self.source)
        var full = PCRReplay(hashing: hashing)
        for entry in try BinaryMeasurementLogParser.parse(log) { try full.extend(entry) }

        // First pass: the first 2 entries only, then save.
        var parser = BinaryMeasurementLogParser()
        parser.append(log)
        var first = PCRReplay(hashing: hashing)
        for _ in 0..<2 { try first.extend(XCTUnwrap(try parser.next())) }
        let checkpoint = first.checkpoint
        XCTAssertEqual(checkpoint.position.entryIndex, 2)

        // Second pass, later: new parser and replay from the checkpoint, fed only the rest.
        var resumedParser = BinaryMeasurementLogParser(resumingAt: checkpoint.position)
        resumedParser.append(log[checkpoint.position.byteOffset...])
        var resumed = try PCRReplay(resumingFrom: checkpoint, hashing: hashing)
        while let entry = try resumedParser.next() { try resumed.extend(entry) }
        try resumedParser.finish()

        XCTAssertEqual(resumed.checkpoint, full.checkpoint)
        XCTAssertEqual(resumed.value(ofPCR: 10, bank: .sha256), full.value(ofPCR: 10, bank: .sha256))
        XCTAssertEqual(resumed.value(ofPCR: 11, bank: .sha1), full.value(ofPCR: 11, bank: .sha1))
        XCTAssertEqual(resumed.checkpoint.position, LogPosition(entryIndex: Self.source.count, byteOffset: log.count))
    }

    func testOutOfSequenceEntriesAreRefused() throws {
        let entries = try entries()
        var replay = PCRReplay(hashing: hashing)
        XCTAssertThrowsError(try replay.extend(entries[1])) {
            XCTAssertEqual(($0 as? MeasurementLogError)?.code, .outOfSequence)
        }
        var bad = PCRReplay(hashing: hashing).checkpoint
        bad.pcrValues[.sha256] = [10: [1, 2, 3]]
        XCTAssertThrowsError(try PCRReplay(resumingFrom: bad, hashing: hashing)) {
            XCTAssertEqual(($0 as? MeasurementLogError)?.code, .invalidPCRValue)
        }
    }

    func testFixturePCRsMatchPythonComputation() throws {
        for stem in ["ima-ng-sig", "ima-legacy"] {
            let entries = try BinaryMeasurementLogParser.parse(LogFixtures.bytes("\(stem).bin"))
            var perBank = PCRReplay(hashing: hashing)
            var padded = PCRReplay(mode: .paddedSHA1, hashing: hashing)
            for entry in entries {
                try perBank.extend(entry)
                try padded.extend(entry)
            }
            XCTAssertEqual(perBank.value(ofPCR: 10, bank: .sha1), try LogFixtures.pcr10("\(stem).pcrs-sha1"), stem)
            XCTAssertEqual(perBank.value(ofPCR: 10, bank: .sha256), try LogFixtures.pcr10("\(stem).pcrs-sha256"), stem)
            XCTAssertEqual(padded.value(ofPCR: 10, bank: .sha256), try LogFixtures.hexFile("\(stem).padded-pcr10-sha256"), stem)
            XCTAssertEqual(padded.value(ofPCR: 10, bank: .sha1), try LogFixtures.hexFile("\(stem).padded-pcr10-sha1"), stem)

            // The ASCII file replays to the same values.
            var fromASCII = PCRReplay(hashing: hashing)
            for entry in try ASCIIMeasurementLogParser.parse(LogFixtures.bytes("\(stem).ascii")) {
                try fromASCII.extend(entry)
            }
            XCTAssertEqual(fromASCII.value(ofPCR: 10, bank: .sha256), perBank.value(ofPCR: 10, bank: .sha256), stem)
        }
    }

    func testPerBankFileReplay() throws {
        // binary_runtime_measurements_sha256: stored digests are the sha256 template hashes.
        let log = TestLogEncoder.log(Self.source, digestAlgorithm: .sha256)
        let entries = try BinaryMeasurementLogParser.parse(log, options: MeasurementLogOptions(templateDigestAlgorithm: .sha256))
        var replay = PCRReplay(banks: [.sha256], storedDigestAlgorithm: .sha256, hashing: hashing)
        for entry in entries { try replay.extend(entry) }
        XCTAssertEqual(replay.value(ofPCR: 10, bank: .sha256), Self.expectedPCR(Self.source, bank: .sha256, padded: false))
        // Checking those digests as SHA-1 fails on the first non-violation entry.
        var wrong = PCRReplay(banks: [.sha256], storedDigestAlgorithm: .sha1, hashing: hashing)
        XCTAssertThrowsError(try wrong.extend(entries[0])) {
            XCTAssertEqual(($0 as? MeasurementLogError)?.code, .templateDigestMismatch)
        }
    }

    func testSharedHashingIsCorrectAcrossThreads() {
        // One IMALogHashing value reuses its digesters; concurrent callers must still get their own results.
        let shared = IMALogHashing()
        let algorithms: [HashAlgorithm] = [.sha1, .sha256, .sha384, .sha512, .sha224]
        let correct = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let algorithm = algorithms[i % algorithms.count]
            let input = [UInt8](repeating: UInt8(i), count: 1000 + i)
            let expected = Digester.hash(input + [UInt8(i)], algorithm)
            if (0..<50).allSatisfy({ _ in shared.hash(algorithm, [input, [UInt8(i)]]) == expected }) {
                correct.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(correct.withLock { $0 }, 64)
    }
}
