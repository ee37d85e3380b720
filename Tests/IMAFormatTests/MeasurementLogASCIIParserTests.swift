import XCTest
@testable import IMAFormat
import SignetCrypto
import SignetTestSupport

final class MeasurementLogASCIIParserTests: XCTestCase {
    let hashing = IMALogHashing()

    /// Entries whose ASCII form is lossless (so the rebuilt template data must
    /// equal the binary one byte for byte).
    static func printable() -> [TestLogEntry] {
        MeasurementLogBinaryParserTests.everyTemplate() + [
            .violation("/var/log/tomtou"),
            TestLogEntry(pcr: 9, templateName: "ima-ng",
                         fields: [TestLogEncoder.dng(.sha1, TestLogEncoder.fakeDigest(4, 20)), TestLogEncoder.nng("/nine")]),
        ]
    }

    func testASCIIRebuildsTheBinaryTemplateData() throws {
        let source = Self.printable()
        let text = source.map { TestLogEncoder.asciiLine($0) }.joined()
        XCTAssertTrue(text.contains("\n 9 "), "single-digit PCRs are printed with %2d")
        let fromASCII = try ASCIIMeasurementLogParser.parse(text)
        let fromBinary = try BinaryMeasurementLogParser.parse(TestLogEncoder.log(source))
        XCTAssertEqual(fromASCII.count, source.count)
        for (i, (a, b)) in zip(fromASCII, fromBinary).enumerated() {
            XCTAssertEqual(a.pcrIndex, b.pcrIndex, "entry \(i)")
            XCTAssertEqual(a.templateName, b.templateName, "entry \(i)")
            XCTAssertEqual(a.templateDigest, b.templateDigest, "entry \(i)")
            XCTAssertEqual(a.templateData, b.templateData, "entry \(i)")
            XCTAssertEqual(a.fields, b.fields, "entry \(i)")
            XCTAssertNoThrow(try a.verifyTemplateDigest(using: hashing), "entry \(i)")
        }
        XCTAssertEqual(fromASCII.last?.pcrIndex, 9)
    }

    func testUnsignedIMASigLineEndsWithASpace() throws {
        let entry = TestLogEntry(templateName: "ima-sig",
                                 fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)), TestLogEncoder.nng("/x"), []])
        let line = TestLogEncoder.asciiLine(entry)
        XCTAssertTrue(line.hasSuffix(" /x \n"))
        let parsed = try XCTUnwrap(ASCIIMeasurementLogParser.parse(line).first)
        XCTAssertEqual(parsed.field(.signature)?.value, .empty)
        XCTAssertNoThrow(try parsed.verifyTemplateDigest(using: hashing))
        // Without the trailing space, the sig field is missing.
        XCTAssertThrowsError(try ASCIIMeasurementLogParser.parse(line.replacingOccurrences(of: " \n", with: "\n"))) {
            XCTAssertEqual(($0 as? MeasurementLogError)?.code, .malformedLine)
        }
    }

    func testFixtureASCIIEqualsFixtureBinary() throws {
        for stem in ["ima-ng-sig", "ima-legacy"] {
            let ascii = try ASCIIMeasurementLogParser.parse(LogFixtures.bytes("\(stem).ascii"))
            let binary = try BinaryMeasurementLogParser.parse(LogFixtures.bytes("\(stem).bin"))
            XCTAssertEqual(ascii.map(\.templateData), binary.map(\.templateData), stem)
            XCTAssertEqual(ascii.map(\.templateDigest), binary.map(\.templateDigest), stem)
            XCTAssertEqual(ascii.map(\.fields), binary.map(\.fields), stem)
        }
    }

    func testChunkedFeedingEqualsWholeText() throws {
        let bytes = Array(Self.printable().map { TestLogEncoder.asciiLine($0) }.joined().utf8)
        let whole = try ASCIIMeasurementLogParser.parse(bytes)
        for chunkSize in [1, 7, 4096] {
            var parser = ASCIIMeasurementLogParser()
            var entries = [MeasurementEntry]()
            var start = 0
            while start < bytes.count {
                parser.append(bytes[start..<min(start + chunkSize, bytes.count)])
                while let entry = try parser.next() { entries.append(entry) }
                start += chunkSize
            }
            try parser.finish()
            XCTAssertEqual(entries, whole, "chunk size \(chunkSize)")
        }
    }

    func testNonUTF8NamesAreKeptAsBytes() throws {
        let name: [UInt8] = Array("/tmp/caf".utf8) + [0xe9, 0xff]   // Latin-1, not UTF-8
        let entry = TestLogEntry(templateName: "ima-ng",
                                 fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(1)), name + [0]])
        let digest = Hex.encode(TestLogEncoder.templateHash(entry, .sha1, .littleEndian))
        let line = Array("10 \(digest) ima-ng sha256:\(Hex.encode(TestLogEncoder.fakeDigest(1))) ".utf8) + name + [0x0a]
        let parsed = try XCTUnwrap(ASCIIMeasurementLogParser.parse(line).first)
        XCTAssertEqual(parsed.eventName, name)
        XCTAssertNoThrow(try parsed.verifyTemplateDigest(using: hashing))
    }

    func testMalformedLines() {
        let good = TestLogEncoder.asciiLine(.imaNG("/x", digest: TestLogEncoder.fakeDigest(1)))
        let cases: [(String, MeasurementLogError.Code)] = [
            ("x" + good, .malformedLine),
            (good.replacingOccurrences(of: "ima-ng", with: "ima-zz"), .unknownTemplate),
            (good.replacingOccurrences(of: "sha256:", with: "sha256:zz"), .malformedLine),
            ("24" + good.dropFirst(2), .pcrOutOfRange),
            ("10 abcd ima-ng sha256:00 /x\n", .malformedLine),
            (good.replacingOccurrences(of: " /x", with: " /x extra"), .malformedLine),
            ("\n", .malformedLine),
        ]
        for (text, code) in cases {
            XCTAssertThrowsError(try ASCIIMeasurementLogParser.parse(text), text) { error in
                XCTAssertEqual((error as? MeasurementLogError)?.code, code, "\(text): \(error)")
                XCTAssertEqual((error as? MeasurementLogError)?.entryIndex, 0)
            }
        }
        XCTAssertThrowsError(try ASCIIMeasurementLogParser.parse(good + good.dropLast())) { error in
            XCTAssertEqual((error as? MeasurementLogError)?.code, .truncated)
            XCTAssertEqual((error as? MeasurementLogError)?.offset, good.utf8.count)
        }
    }

    func testOverlongLineIsRefused() {
        var parser = ASCIIMeasurementLogParser(options: MeasurementLogOptions(maxLineLength: 100))
        parser.append([UInt8](repeating: 0x41, count: 101))
        XCTAssertThrowsError(try parser.next()) { XCTAssertEqual(($0 as? MeasurementLogError)?.code, .dataTooLong) }
    }

    func testPerBankASCIIFile() throws {
        let entry = TestLogEntry.imaNG("/x", digest: TestLogEncoder.fakeDigest(1))
        let line = TestLogEncoder.asciiLine(entry, digestAlgorithm: .sha256)
        let options = MeasurementLogOptions(templateDigestAlgorithm: .sha256)
        let parsed = try XCTUnwrap(ASCIIMeasurementLogParser.parse(line, options: options).first)
        XCTAssertNoThrow(try parsed.verifyTemplateDigest(algorithm: .sha256, using: hashing))
        XCTAssertThrowsError(try ASCIIMeasurementLogParser.parse(line)) {
            XCTAssertEqual(($0 as? MeasurementLogError)?.field, "template_digest")
        }
    }
}
