import XCTest
import DebianPackage

/// The ar reader: members in any chunking, cut at every byte, and hostile headers.
final class ArParserTests: XCTestCase {
    func sample() -> [UInt8] {
        var ar = ArBuilder()
        ar.member("debian-binary", Array("2.0\n".utf8))
        ar.member("odd/", Array("odd".utf8))
        ar.member("_extra", [])
        ar.member("data.tar", [UInt8](repeating: 9, count: 1000))
        return ar.bytes
    }

    func testMembersInAnyChunking() throws {
        let bytes = sample()
        let whole = try parseAr(bytes)
        XCTAssertEqual(whole.members.map(\.0.name), ["debian-binary", "odd", "_extra", "data.tar"])
        XCTAssertEqual(whole.members.map(\.0.size), [4, 3, 0, 1000])
        XCTAssertEqual(whole.members[1].1, Array("odd".utf8))
        XCTAssertEqual(whole.members[1].0.headerOffset, 8 + 60 + 4)
        for chunk in [1, 2, 3, 59, 60, 61, 127] {
            let got = try parseAr(bytes, chunk: chunk)
            XCTAssertEqual(got.members.map(\.0), whole.members.map(\.0), "chunk \(chunk)")
            XCTAssertEqual(got.members.map(\.1), whole.members.map(\.1), "chunk \(chunk)")
        }
    }

    /// Cut anywhere but between members: `.truncated` naming the member and what is missing.
    func testTruncatedAtEveryByte() {
        let bytes = sample()
        var boundaries = 0
        for cut in 0..<bytes.count {
            do {
                _ = try parseAr(Array(bytes[0..<cut]))
                boundaries += 1
            } catch let error as DebianPackageError {
                XCTAssertEqual(error.code, .truncated, "cut \(cut): \(error)")
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertEqual(boundaries, 4, "the magic and after each of the first three members (the padding byte is part of its member)")
        let e = expectError(.truncated) { try parseAr(Array(bytes[0..<(bytes.count - 10)])) }
        XCTAssertTrue(e?.description.contains("ar member 'data.tar': 10 of its 1000 bytes are missing") == true, "\(String(describing: e))")
        // With the file size known, a lying size is refused at the header, before any read.
        var ar = ArBuilder()
        ar.member("debian-binary", Array("2.0\n".utf8), sizeField: "999999")
        let lying = expectError(.truncated) { try parseAr(ar.bytes, totalSize: Int64(ar.bytes.count)) }
        XCTAssertEqual(lying?.field, "size")
        XCTAssertEqual(lying?.offset, 8 + 48)
    }

    func testHostileHeaders() {
        XCTAssertEqual(expectError(.badMagic) { try parseAr(Array("!<arch>\r".utf8) + [UInt8](repeating: 0x20, count: 60)) }?.field, "magic")
        XCTAssertEqual(expectError(.truncated) { try parseAr([]) }?.offset, 0)
        var fmag = ArBuilder()
        fmag.member("debian-binary", Array("2.0\n".utf8), fmag: "``")
        XCTAssertEqual(expectError(.badHeader) { try parseAr(fmag.bytes) }?.field, "fmag")
        for size in ["12a", "-1", " 12", "", "0x10"] {
            var ar = ArBuilder()
            ar.member("debian-binary", Array("2.0\n".utf8), sizeField: size)
            XCTAssertEqual(expectError(.badHeader) { try parseAr(ar.bytes) }?.field, "size", "size field '\(size)'")
        }
        var huge = ArBuilder()
        huge.member("data.tar", [], sizeField: "9999999999")
        var limits = DebianPackageLimits()
        limits.maxMemberSize = 1 << 30
        var parser = ArParser(limits: limits)
        var sink = RecordingArSink()
        XCTAssertEqual(expectError(.limitExceeded) { try huge.bytes.withUnsafeBytes { raw in try parser.consume(raw, into: &sink) } }?.field,
                       "size")
    }
}
