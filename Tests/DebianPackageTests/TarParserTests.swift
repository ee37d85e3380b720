import Foundation
import XCTest
import DebianPackage
import SignetTestSupport

/// The tar reader on archives written byte by byte (every kind of entry and extension, and
/// hostile headers) and on archives GNU tar writes in its gnu, ustar and pax formats.
final class TarParserTests: TempDirTestCase {
    func sample() -> [UInt8] {
        var t = TarBuilder()
        t.directory("./")
        t.directory("./usr/bin/")
        t.file("./usr/bin/hello", String(repeating: "x", count: 700), mode: 0o755)
        t.hardlink("./usr/bin/hello-again", to: "./usr/bin/hello")
        t.symlink("./usr/bin/hi", to: "hello")
        t.entry("./dev/fifo", type: UInt8(ascii: "6"))
        t.entry("./empty", content: [])
        t.entry("hello.txt", content: Array("in a prefix".utf8), prefix: "./usr/share/doc/pkg")
        t.file("./usr/lib/exact", String(repeating: "y", count: 512))
        t.end()
        return t.bytes
    }

    func testEveryKindOfEntry() throws {
        let entries = try parseTar(sample()).entries
        XCTAssertEqual(entries.map(\.displayName), [".", "./usr/bin", "./usr/bin/hello", "./usr/bin/hello-again", "./usr/bin/hi",
                                                     "./dev/fifo", "./empty", "./usr/share/doc/pkg/hello.txt", "./usr/lib/exact"])
        XCTAssertEqual(entries.map(\.kind), [.directory, .directory, .regular, .hardlink, .symlink, .fifo, .regular, .regular, .regular])
        XCTAssertEqual(entries[2].size, 700)
        XCTAssertEqual(entries[2].mode, 0o755)
        XCTAssertEqual(String(decoding: entries[3].linkName, as: UTF8.self), "./usr/bin/hello")
        XCTAssertEqual(String(decoding: entries[4].linkName, as: UTF8.self), "hello")
        XCTAssertEqual(entries[2].headerOffset, 1024)
    }

    /// Any chunking gives the same entries and content, down to one byte at a time.
    func testAnyChunkingGivesTheSameEvents() throws {
        let bytes = sample()
        let whole = try parseTar(bytes).events
        for chunk in [1, 2, 3, 7, 100, 511, 512, 513, 1000, 4096] {
            XCTAssertEqual(try parseTar(bytes, chunk: chunk).events, whole, "chunk \(chunk)")
        }
    }

    /// Cut anywhere: an error naming the offset, except exactly between entries (dpkg accepts an
    /// archive without its end blocks) and inside the end blocks.
    func testTruncatedAtEveryByte() throws {
        let bytes = sample()
        let full = try parseTar(bytes).entries
        var boundaries = Set<Int>()
        var ok = 0
        for cut in 0..<bytes.count {
            do {
                let got = try parseTar(Array(bytes[0..<cut])).entries
                XCTAssertEqual(got, Array(full.prefix(got.count)), "cut \(cut)")
                // Inside the end blocks everything after the first one is ignored, as dpkg does.
                XCTAssertTrue(cut % 512 == 0 || cut > bytes.count - 1024, "a cut inside a block parsed at \(cut)")
                boundaries.insert(cut)
                ok += 1
            } catch let error as DebianPackageError {
                XCTAssertEqual(error.code, .truncated, "cut \(cut): \(error)")
                XCTAssertTrue(error.description.contains("truncated"), "\(error)")
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertTrue(ok > 512 && ok < bytes.count / 512 + 512, "\(ok) cuts parsed")
        let e = expectError(.truncated) { try parseTar(Array(bytes[0..<(1024 + 512 + 100)])) }
        XCTAssertEqual(e?.entry, "./usr/bin/hello")
        XCTAssertTrue(e?.description.contains("600 of its 700 bytes are missing") == true, "\(String(describing: e))")
    }

    func testGNULongNamesAndLinks() throws {
        let long = "./usr/share/" + String(repeating: "d/", count: 80) + "file"
        let target = "../" + String(repeating: "t", count: 150)
        var t = TarBuilder()
        t.gnuLong(long)
        t.entry("./usr/share/truncated-name", content: Array("gnu".utf8), magic: Array("ustar  \u{0}".utf8))
        t.gnuLong(target, type: UInt8(ascii: "K"))
        t.gnuLong(long + "-link")
        t.entry("./short", type: UInt8(ascii: "2"), link: "short-target", magic: Array("ustar  \u{0}".utf8))
        t.end()
        let entries = try parseTar(t.bytes).entries
        XCTAssertEqual(entries.map(\.displayName), [long, long + "-link"])
        XCTAssertEqual(String(decoding: entries[1].linkName, as: UTF8.self), target)
        XCTAssertEqual(entries[0].headerOffset, 0, "the entry starts at its long-name header")
    }

    func testPaxPathLinkpathAndSize() throws {
        var t = TarBuilder()
        t.pax([("path", "./usr/bin/from-pax"), ("mtime", "1700000000.5"), ("SCHILY.xattr.user.x", "y")])
        t.entry("./usr/bin/header-name", content: Array("pax".utf8))
        t.pax([("linkpath", "./usr/bin/from-pax"), ("path", "./usr/bin/link")])
        t.entry("./x", type: UInt8(ascii: "1"), link: "./wrong")
        // A size that only pax can say (the header's field says 0).
        t.pax([("size", "5")])
        t.entry("./sized", size: 0, content: Array("12345".utf8))
        t.pax([("comment", "global")], type: UInt8(ascii: "g"))
        t.file("./after-global", "g")
        t.end()
        let entries = try parseTar(t.bytes).entries
        XCTAssertEqual(entries.map(\.displayName), ["./usr/bin/from-pax", "./usr/bin/link", "./sized", "./after-global"])
        XCTAssertEqual(String(decoding: entries[1].linkName, as: UTF8.self), "./usr/bin/from-pax")
        XCTAssertEqual(entries[2].size, 5)
    }

    /// GNU tar's own gnu, ustar and pax archives of long names and link targets read as it lists them.
    func testArchivesWrittenByGNUTar() throws {
        let dir = tempPath()
        let tree = dir + "/tree"
        let deep = "usr/share/" + String(repeating: "long-directory-name/", count: 6)
        try FileManager.default.createDirectory(atPath: tree + "/" + deep, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: tree + "/" + deep + "a-file-with-a-long-name-" + String(repeating: "n", count: 60),
                                       contents: Data(repeating: 7, count: 3000))
        _ = FileManager.default.createFile(atPath: tree + "/plain", contents: Data("plain".utf8))
        try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: String(repeating: "../x/", count: 30))
        _ = link(tree + "/plain", tree + "/" + deep + "hard")
        for format in ["gnu", "ustar", "pax"] {
            let archive = dir + "/t-\(format).tar"
            if format == "ustar" {
                // ustar cannot hold the 150-byte link targets: leave them out.
                try run("tar", ["--format=ustar", "-C", tree, "--exclude=./link", "--exclude=hard", "-cf", archive, "."], package: "tar")
            } else {
                try run("tar", ["--format=\(format)", "-C", tree, "-cf", archive, "."], package: "tar")
            }
            let listed = try run("tar", ["--quoting-style=literal", "-tf", archive], package: "tar").split(separator: "\n").map(String.init)
            let entries = try parseTar(readFileBytes(archive), chunk: 4096).entries
            // tar -t prints directories with their trailing '/'.
            XCTAssertEqual(entries.map(\.displayName), listed.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
                           format)
            if format != "ustar" {
                let link = try XCTUnwrap(entries.first { $0.displayName == "./link" })
                XCTAssertEqual(String(decoding: link.linkName, as: UTF8.self), String(repeating: "../x/", count: 30), format)
            }
            let file = try XCTUnwrap(entries.first { $0.displayName.hasSuffix(String(repeating: "n", count: 60)) })
            XCTAssertEqual(file.size, 3000, format)
        }
    }

    // MARK: - Hostile headers

    func testChecksumMismatchNamesTheFieldAndOffset() {
        var t = TarBuilder()
        t.file("./ok", "ok")
        t.entry("./bad", content: Array("x".utf8), checksumDelta: 1)
        t.end()
        let e = expectError(.badChecksum) { try parseTar(t.bytes) }
        XCTAssertEqual(e?.offset, 1024 + 148)
        XCTAssertEqual(e?.field, "chksum")
        XCTAssertEqual(e?.entry, "./bad")
    }

    /// As dpkg: a block with an empty name that fails its checksum ends the archive; later bytes are ignored.
    func testEmptyNameWithBadChecksumEndsTheArchive() throws {
        var t = TarBuilder()
        t.file("./a", "a")
        var junk = [UInt8](repeating: 0, count: 512)
        junk[200] = 0x41
        t.bytes += junk + Array("trailing garbage".utf8)
        XCTAssertEqual(try parseTar(t.bytes).entries.map(\.displayName), ["./a"])
    }

    func testLyingSizes() {
        // Says 10000 bytes, has 10.
        var t = TarBuilder()
        t.entry("./liar", size: 10000, content: Array("0123456789".utf8))
        XCTAssertNotNil(expectError(.truncated) { try parseTar(t.bytes) })

        var limits = DebianPackageLimits()
        limits.maxEntrySize = 1 << 20
        var big = TarBuilder()
        big.entry("./big", size: 1 << 30, content: [])
        let e = expectError(.limitExceeded) { try parseTar(big.bytes, limits: limits) }
        XCTAssertEqual(e?.field, "size")

        // Base-256: 2^62 bytes, then a negative size.
        var b256 = TarBuilder()
        b256.entry("./huge", sizeField: [0x80, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0], pad: false)
        XCTAssertNotNil(expectError(.limitExceeded) { try parseTar(b256.bytes) })
        var negative = TarBuilder()
        negative.entry("./negative", sizeField: [0xff] + [UInt8](repeating: 0xff, count: 11), pad: false)
        XCTAssertEqual(expectError(.badHeader) { try parseTar(negative.bytes) }?.field, "size")
        var notOctal = TarBuilder()
        notOctal.entry("./nine", sizeField: Array("00000000009\u{0}".utf8), pad: false)
        XCTAssertEqual(expectError(.badHeader) { try parseTar(notOctal.bytes) }?.field, "size")

        // A directory or link with content: dpkg would read its data as the next header.
        var dirData = TarBuilder()
        dirData.entry("./dir/", type: UInt8(ascii: "5"), content: Array("smuggled".utf8))
        XCTAssertEqual(expectError(.badHeader) { try parseTar(dirData.bytes) }?.field, "size")
        var linkData = TarBuilder()
        linkData.entry("./l", type: UInt8(ascii: "1"), content: Array("smuggled".utf8), link: "./a")
        XCTAssertNotNil(expectError(.badHeader) { try parseTar(linkData.bytes) })
    }

    func testHugeAndMalformedPaxHeaders() {
        func pax(_ records: [(String, String)]) -> [UInt8] {
            var t = TarBuilder()
            t.pax(records)
            t.file("./f", "f")
            t.end()
            return t.bytes
        }
        XCTAssertEqual(expectError(.limitExceeded) { try parseTar(pax([("size", "99999999999999999999999")])) }?.field, "pax size")
        XCTAssertNotNil(expectError(.limitExceeded) { try parseTar(pax([("size", "1099511627776")])) })
        XCTAssertNotNil(expectError(.badPax) { try parseTar(pax([("size", "-1")])) })
        XCTAssertNotNil(expectError(.badPax) { try parseTar(pax([("size", "1e9")])) })
        XCTAssertNotNil(expectError(.badPax) { try parseTar(pax([("path", "./a"), ("path", "./b")])) })
        XCTAssertNotNil(expectError(.unsupported) { try parseTar(pax([("GNU.sparse.map", "0,10")])) })
        XCTAssertNotNil(expectError(.limitExceeded) { try parseTar(pax([("path", String(repeating: "p", count: 5000))])) })

        // A record whose length lies, and one without its newline.
        for body in ["99 path=./a\n", "12 path=./a", "5 x=1\n", "0012 path=a\n", "path=./a\n"] {
            var t = TarBuilder()
            t.entry("./PaxHeaders/x", type: UInt8(ascii: "x"), content: Array(body.utf8))
            t.file("./f", "f")
            XCTAssertNotNil(expectError(.badPax) { try parseTar(t.bytes) }, body)
        }
        // A pax header (or long name) claiming a gigabyte is refused before anything is read.
        var t = TarBuilder()
        t.entry("./PaxHeaders/x", type: UInt8(ascii: "x"), size: 1 << 30, content: [], pad: false)
        XCTAssertEqual(expectError(.limitExceeded) { try parseTar(t.bytes) }?.offset, 124)
        var l = TarBuilder()
        l.entry("././@LongLink", type: UInt8(ascii: "L"), size: 1 << 30, content: [], magic: Array("ustar  \u{0}".utf8), pad: false)
        XCTAssertNotNil(expectError(.limitExceeded) { try parseTar(l.bytes) })
        // A global header may not rename every later entry.
        var g = TarBuilder()
        g.pax([("path", "./everything")], type: UInt8(ascii: "g"))
        XCTAssertNotNil(expectError(.unsupported) { try parseTar(g.bytes) })
        // A long name with no entry after it.
        var dangling = TarBuilder()
        dangling.gnuLong("./dangling")
        XCTAssertNotNil(expectError(.truncated) { try parseTar(dangling.bytes) })
        dangling.end()
        XCTAssertNotNil(expectError(.truncated) { try parseTar(dangling.bytes) })
    }

    func testUnsupportedTypesAndMagic() {
        for type in ["S", "7", "V", "Z"] {
            var t = TarBuilder()
            t.entry("./x", type: UInt8(ascii: Unicode.Scalar(type)!))
            let e = expectError(.unsupported) { try parseTar(t.bytes) }
            XCTAssertEqual(e?.field, "typeflag", type)
        }
        var v7 = TarBuilder()
        v7.entry("./old", content: [1], magic: [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(expectError(.badMagic) { try parseTar(v7.bytes) }?.offset, 257)
        var empty = TarBuilder()
        empty.entry("", content: [1])
        XCTAssertNotNil(expectError(.badHeader) { try parseTar(empty.bytes) })
    }

    func testEntryCountLimit() {
        var limits = DebianPackageLimits()
        limits.maxEntries = 10
        var t = TarBuilder()
        for i in 0..<11 { t.file("./f\(i)", "x") }
        XCTAssertNotNil(expectError(.limitExceeded) { try parseTar(t.bytes, limits: limits) })
    }
}
