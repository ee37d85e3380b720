import XCTest
@testable import IMAFormat
import SignetCrypto
import SignetTestSupport

/// Untrusted bytes must end in a typed error naming entry, offset and field,
/// never in a crash or an unbounded allocation.
final class MeasurementLogHostileInputTests: XCTestCase {
    static let threeEntries: [TestLogEntry] = [
        .imaNG("boot_aggregate", digest: TestLogEncoder.fakeDigest(1)),
        .imaSig("/usr/bin/x", digest: TestLogEncoder.fakeDigest(2), signature: TestLogEncoder.evmctlSignature),
        .legacy("/usr/bin/y", digest: TestLogEncoder.fakeDigest(3, 20)),
    ]

    private func parseError(_ bytes: [UInt8], options: MeasurementLogOptions = MeasurementLogOptions(),
                            file: StaticString = #filePath, line: UInt = #line) -> MeasurementLogError? {
        do {
            _ = try BinaryMeasurementLogParser.parse(bytes, options: options)
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch let error as MeasurementLogError {
            return error
        } catch {
            XCTFail("untyped error \(error)", file: file, line: line)
            return nil
        }
    }

    func testTruncationAtEveryOffsetIsTypedAndNamesTheEntry() throws {
        let log = TestLogEncoder.log(Self.threeEntries)
        let boundaries = try BinaryMeasurementLogParser.parse(log).map(\.position)
        for cut in 0..<log.count {
            let bytes = Array(log[..<cut])
            if let boundary = boundaries.firstIndex(where: { $0.byteOffset == cut }) {
                // A cut between entries is a shorter, valid log.
                XCTAssertEqual(try BinaryMeasurementLogParser.parse(bytes).count, boundary, "cut \(cut)")
                continue
            }
            guard let error = parseError(bytes) else { continue }
            XCTAssertEqual(error.code, .truncated, "cut \(cut): \(error)")
            let entry = boundaries.lastIndex { $0.byteOffset < cut }!
            XCTAssertEqual(error.entryIndex, entry, "cut \(cut)")
            let offset = try XCTUnwrap(error.offset)
            XCTAssertTrue((boundaries[entry].byteOffset...cut).contains(offset), "cut \(cut): offset \(offset)")
            XCTAssertFalse(error.field.isEmpty)
        }
    }

    func testHugeTemplateNameLength() {
        var log: [UInt8] = [10, 0, 0, 0] + [UInt8](repeating: 1, count: 20) + [0xff, 0xff, 0xff, 0xff]
        log += [UInt8](repeating: 0x41, count: 64)
        let error = parseError(log)
        XCTAssertEqual(error?.code, .nameTooLong)
        XCTAssertEqual(error?.offset, 24)
        XCTAssertEqual(error?.field, "template_name_len")
        XCTAssertEqual(error?.entryIndex, 0)
    }

    func testHugeTemplateDataLengthFailsWithoutWaitingForData() throws {
        var log: [UInt8] = [10, 0, 0, 0] + [UInt8](repeating: 1, count: 20) + [6, 0, 0, 0] + Array("ima-ng".utf8)
        log += [0xff, 0xff, 0xff, 0xff]
        // Streaming: the header alone is enough to refuse; no 4 GB buffer is awaited.
        var parser = BinaryMeasurementLogParser()
        parser.append(log)
        XCTAssertThrowsError(try parser.next()) { error in
            let e = error as? MeasurementLogError
            XCTAssertEqual(e?.code, .dataTooLong)
            XCTAssertEqual(e?.offset, 34)
            XCTAssertEqual(e?.field, "template_data_len")
        }
        // Errors are sticky.
        XCTAssertThrowsError(try parser.next()) { XCTAssertEqual(($0 as? MeasurementLogError)?.code, .dataTooLong) }
        // A raised bound lets the same length through to truncation instead.
        XCTAssertEqual(parseError(log, options: MeasurementLogOptions(maxTemplateDataLength: Int(UInt32.max)))?.code,
                       .truncated)
    }

    func testFieldLengthPastTheEndOfTemplateData() {
        // ima-ng whose n-ng field claims 0xFFFFFFF0 bytes inside 50 bytes of data.
        let dng = TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1))  // 40 bytes
        let data = TestLogEncoder.u32(40, .littleEndian) + dng + [0xf0, 0xff, 0xff, 0xff] + [0x2f, 0x78]
        var log: [UInt8] = [10, 0, 0, 0] + [UInt8](repeating: 1, count: 20) + [6, 0, 0, 0] + Array("ima-ng".utf8)
        log += TestLogEncoder.u32(UInt32(data.count), .littleEndian) + data
        let error = parseError(log)
        XCTAssertEqual(error?.code, .fieldOverflow)
        XCTAssertEqual(error?.field, "n-ng")
        XCTAssertEqual(error?.offset, 38 + 44)  // data starts at 38; the n-ng length sits after d-ng
        XCTAssertEqual(error?.entryIndex, 0)
    }

    func testMissingFieldAndTrailingBytes() {
        let short = TestLogEntry(templateName: "ima-sig",
                                 fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)), TestLogEncoder.nng("/x")])
        let missing = parseError(TestLogEncoder.log([short]))
        XCTAssertEqual(missing?.code, .fieldOverflow)
        XCTAssertEqual(missing?.field, "sig")

        let long = TestLogEntry(templateName: "ima-ng",
                                fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)), TestLogEncoder.nng("/x"), [1]])
        let trailing = parseError(TestLogEncoder.log([long]))
        XCTAssertEqual(trailing?.code, .trailingBytes)
        XCTAssertEqual(trailing?.field, "template_data")
    }

    func testLegacyNameLongerThan255() {
        var log: [UInt8] = [10, 0, 0, 0] + [UInt8](repeating: 1, count: 20) + [3, 0, 0, 0] + Array("ima".utf8)
        log += [UInt8](repeating: 2, count: 20) + [0, 1, 0, 0] + [UInt8](repeating: 0x61, count: 256)
        let error = parseError(log)
        XCTAssertEqual(error?.code, .nameTooLong)
        XCTAssertEqual(error?.field, "n_len")
        XCTAssertEqual(error?.offset, 51)
    }

    func testUnknownTemplateIsNamedOrKeptRaw() throws {
        let entry = TestLogEntry(templateName: "my-template", fields: [[1, 2, 3], [4]])
        let log = TestLogEncoder.log([.imaNG("/a", digest: TestLogEncoder.fakeDigest(1)), entry])
        let error = parseError(log)
        XCTAssertEqual(error?.code, .unknownTemplate)
        XCTAssertEqual(error?.entryIndex, 1)
        XCTAssertTrue(error?.reason.contains("\"my-template\"") ?? false, error?.reason ?? "")

        let kept = try BinaryMeasurementLogParser.parse(log, options: MeasurementLogOptions(keepsUnknownTemplates: true))
        XCTAssertEqual(kept.count, 2)
        XCTAssertNil(kept[1].template)
        XCTAssertTrue(kept[1].fields.isEmpty)
        XCTAssertEqual(kept[1].templateData, TestLogEncoder.templateData(entry, .littleEndian))
        // The template hash still covers the raw data, so it can be verified and replayed.
        XCTAssertNoThrow(try kept[1].verifyTemplateDigest(using: IMALogHashing()))
    }

    func testPCR24IsRefused() {
        let error = parseError(TestLogEncoder.log([.imaNG("/a", digest: TestLogEncoder.fakeDigest(1), pcr: 24)]))
        XCTAssertEqual(error?.code, .pcrOutOfRange)
        XCTAssertEqual(error?.offset, 0)
        XCTAssertEqual(error?.field, "pcr")
        XCTAssertNoThrow(try BinaryMeasurementLogParser.parse(
            TestLogEncoder.log([.imaNG("/a", digest: TestLogEncoder.fakeDigest(1), pcr: 23)])))
    }

    func testTemplateNameMustBePrintable() {
        var log: [UInt8] = [10, 0, 0, 0] + [UInt8](repeating: 1, count: 20) + [4, 0, 0, 0] + [0x69, 0x6d, 0x61, 0x0a]
        log += [0, 0, 0, 0]
        XCTAssertEqual(parseError(log)?.code, .invalidTemplateName)
        let empty: [UInt8] = [10, 0, 0, 0] + [UInt8](repeating: 1, count: 20) + [0, 0, 0, 0]
        XCTAssertEqual(parseError(empty)?.code, .invalidTemplateName)
    }

    func testMalformedFieldsAreNamed() {
        let cases: [(TestLogEntry, String)] = [
            (TestLogEntry(templateName: "ima-ng", fields: [Array("sha256".utf8) + TestLogEncoder.fakeDigest(1), TestLogEncoder.nng("/x")]), "d-ng"),
            (TestLogEntry(templateName: "ima-ngv2", fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)), TestLogEncoder.nng("/x")]), "d-ngv2"),
            (TestLogEntry(templateName: "d-ng|n-ng|imode", fields: [TestLogEncoder.dng(.sha1, TestLogEncoder.fakeDigest(1, 20)), TestLogEncoder.nng("/x"), [1, 2, 3]]), "imode"),
            (TestLogEntry(templateName: "d-ng|n-ng|xattrlengths", fields: [TestLogEncoder.dng(.sha1, TestLogEncoder.fakeDigest(1, 20)), TestLogEncoder.nng("/x"), [1, 2, 3, 4, 5]]), "xattrlengths"),
            (TestLogEntry(templateName: "ima-ng", fields: [Array("sha256:".utf8) + [0], TestLogEncoder.nng("/x")]), "d-ng"),
        ]
        for (entry, field) in cases {
            let error = parseError(TestLogEncoder.log([entry]))
            XCTAssertEqual(error?.code, .malformedField, "\(field): \(String(describing: error))")
            XCTAssertEqual(error?.field, field)
        }
    }

    // Issue 13 finding 5: a name is never cut at a NUL; a name the kernel
    // would not write is framed (the log goes on) and reported as malformed.

    func testNameWithAnEmbeddedNULIsKeptWholeAndMalformed() throws {
        let name = Array("/usr/bin/ok".utf8) + [0] + Array("/tmp/evil".utf8) + [0]
        for template in ["ima-ng", "ima-sig"] {
            var fields = [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)), name]
            if template == "ima-sig" { fields.append([]) }
            let entries = try BinaryMeasurementLogParser.parse(TestLogEncoder.log([
                TestLogEntry(templateName: template, fields: fields), .imaNG("/usr/bin/ok", digest: TestLogEncoder.fakeDigest(1)),
            ]))
            XCTAssertEqual(entries.count, 2)
            XCTAssertEqual(entries[0].eventName, Array(name.dropLast()), "not cut at the first NUL")
            XCTAssertEqual(entries[0].malformation?.field, .nameNG)
            XCTAssertTrue(entries[0].malformation?.reason.contains("NUL at byte 11") == true, "\(String(describing: entries[0].malformation))")
            XCTAssertNil(entries[1].malformation)
            XCTAssertEqual(entries[1].eventName, Array("/usr/bin/ok".utf8))
        }
    }

    func testNameWithoutItsTerminatingNULIsMalformed() throws {
        let entry = TestLogEntry(templateName: "ima-ng", fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)),
                                                                   Array("/usr/bin/ok".utf8)])
        let parsed = try XCTUnwrap(BinaryMeasurementLogParser.parse(TestLogEncoder.log([entry])).first)
        XCTAssertEqual(parsed.eventName, Array("/usr/bin/ok".utf8))
        XCTAssertEqual(parsed.malformation?.field, .nameNG)
        XCTAssertTrue(parsed.malformation?.reason.contains("terminating NUL") == true, "\(String(describing: parsed.malformation))")
        // Two NULs at the end: one inside the name.
        let doubled = TestLogEntry(templateName: "ima-ng", fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)),
                                                                     Array("/usr/bin/ok".utf8) + [0, 0]])
        let parsedDoubled = try XCTUnwrap(BinaryMeasurementLogParser.parse(TestLogEncoder.log([doubled])).first)
        XCTAssertEqual(parsedDoubled.malformation?.field, .nameNG)
    }

    func testLegacyNameHasNoNUL() throws {
        let withNUL = TestLogEntry(templateName: "ima", fields: [TestLogEncoder.fakeDigest(3, 20), Array("/usr/bin/y".utf8) + [0]])
        let parsed = try BinaryMeasurementLogParser.parse(TestLogEncoder.log([withNUL, .legacy("/usr/bin/y", digest: TestLogEncoder.fakeDigest(3, 20))]))
        XCTAssertEqual(parsed[0].malformation?.field, .name)
        XCTAssertEqual(parsed[0].eventName, Array("/usr/bin/y".utf8) + [0])
        XCTAssertNil(parsed[1].malformation)
    }

    func testKernelWrittenLogsAreNotMalformed() throws {
        for name in ["ima-ng-sig.bin", "ima-legacy.bin"] {
            for entry in try BinaryMeasurementLogParser.parse(LogFixtures.bytes(name)) {
                XCTAssertNil(entry.malformation, "\(name) entry \(entry.position.entryIndex)")
            }
        }
        for entry in try BinaryMeasurementLogParser.parse(TestLogEncoder.log(Self.threeEntries)) {
            XCTAssertNil(entry.malformation)
        }
        let ascii = Self.threeEntries.map { TestLogEncoder.asciiLine($0) }.joined()
        for entry in try ASCIIMeasurementLogParser.parse(ascii) { XCTAssertNil(entry.malformation) }
    }

    // Issue 13 finding 4: a digest is compared as (algorithm, digest); an
    // algorithm this code does not know, or a length that is not the
    // algorithm's, is a malformed entry.

    func testDigestAlgorithmMustBeKnownAndItsLengthRight() throws {
        func entry(_ prefix: String, _ digest: [UInt8], template: String = "ima-ng") -> TestLogEntry {
            TestLogEntry(templateName: template, fields: [Array(prefix.utf8) + [0] + digest, TestLogEncoder.nng("/usr/bin/ok")])
        }
        let cases: [(TestLogEntry, TemplateFieldID, String)] = [
            (entry("foo:", TestLogEncoder.fakeDigest(1, 20)), .digestNG, "\"foo\""),
            (entry("sm3:", TestLogEncoder.fakeDigest(1)), .digestNG, "\"sm3\""),
            (entry("foo:", TestLogEncoder.fakeDigest(1)), .digestNG, "\"foo\""),
            (entry("SHA256:", TestLogEncoder.fakeDigest(1)), .digestNG, "\"SHA256\""),
            (entry(":", TestLogEncoder.fakeDigest(1)), .digestNG, "\"\" (a 32-byte digest)"),
            (entry("sha1:", TestLogEncoder.fakeDigest(1)), .digestNG, "sha1 digest of 32 byte(s)"),
            (entry("sha256:", TestLogEncoder.fakeDigest(1, 20)), .digestNG, "sha256 digest of 20 byte(s)"),
            (entry("sha512:", TestLogEncoder.fakeDigest(1, 48)), .digestNG, "sha512 digest of 48 byte(s)"),
            (entry("ima:sm3:", TestLogEncoder.fakeDigest(1), template: "ima-ngv2"), .digestNGv2, "\"sm3\""),
            (entry("foo:sha256:", TestLogEncoder.fakeDigest(1), template: "ima-ngv2"), .digestNGv2, "type \"foo\""),
            (TestLogEntry(templateName: "d|n-ng", fields: [TestLogEncoder.fakeDigest(1, 32), TestLogEncoder.nng("/x")]), .digest,
             "32 byte(s)"),
        ]
        for (bad, field, reason) in cases {
            // Framed and decoded, the next entry read: not a parser abort.
            let entries = try BinaryMeasurementLogParser.parse(TestLogEncoder.log([bad, Self.threeEntries[0]]))
            XCTAssertEqual(entries.count, 2)
            let malformation = try XCTUnwrap(entries[0].malformation, "\(reason)")
            XCTAssertEqual(malformation.field, field, "\(malformation)")
            XCTAssertTrue(malformation.reason.contains(reason), "\(malformation) should say \(reason)")
            XCTAssertNil(entries[0].eventDigest?.algorithmDigest)
            XCTAssertNil(entries[1].malformation)
        }
        let good: [(String, HashAlgorithm)] = [("sha1:", .sha1), ("sha224:", .sha224), ("sha256:", .sha256), ("sha384:", .sha384),
                                               ("sha512:", .sha512), (":", .sha1)]
        for (prefix, algorithm) in good {
            let digest = TestLogEncoder.fakeDigest(1, algorithm.digestLength)
            let parsed = try XCTUnwrap(BinaryMeasurementLogParser.parse(TestLogEncoder.log([entry(prefix, digest)])).first)
            XCTAssertNil(parsed.malformation, prefix)
            XCTAssertEqual(parsed.eventDigest?.algorithmDigest, AlgorithmDigest(algorithm, digest))
        }
        // A digest with another algorithm is another digest, whatever its bytes.
        XCTAssertNotEqual(AlgorithmDigest(.sha256, TestLogEncoder.fakeDigest(1)), AlgorithmDigest(.sha512, TestLogEncoder.fakeDigest(1)))
    }

    func testMalformedSignatureDoesNotFailTheLog() throws {
        // The sig bytes come from a file's xattr: record the decoding failure, keep going.
        let entry = TestLogEntry.imaSig("/x", digest: TestLogEncoder.fakeDigest(1), signature: [0x03, 0x02, 0x04, 0, 0])
        let parsed = try XCTUnwrap(BinaryMeasurementLogParser.parse(TestLogEncoder.log([entry])).first)
        guard case .xattr(let raw, .failure(let failure))? = parsed.field(.signature)?.value else {
            return XCTFail("expected a recorded decoding failure")
        }
        XCTAssertEqual(raw, [0x03, 0x02, 0x04, 0, 0])
        XCTAssertEqual(failure.code, .truncated)
        XCTAssertNil(parsed.signature)
    }

    func testRandomGarbageNeverCrashes() {
        var generator = SeededGenerator(seed: 0x1a2b_3c4d)
        let valid = TestLogEncoder.log(Self.threeEntries)
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int(generator.next() % 6 + 1) {
                let i = Int(generator.next() % UInt64(bytes.count))
                bytes[i] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                _ = try BinaryMeasurementLogParser.parse(bytes)
            } catch {
                XCTAssertTrue(error is MeasurementLogError, "\(error)")
            }
        }
    }
}
