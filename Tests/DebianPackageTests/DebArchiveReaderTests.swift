import Foundation
import XCTest
import DebianPackage
import Decompression
import SignetCrypto
import SignetTestSupport

/// The .deb reader against dpkg-deb itself: packages it builds with every compression read as
/// `dpkg-deb -x` unpacks them, Debian's own packages listed as dpkg-deb lists them, and hostile
/// archives refused with the member, the offset and the entry named.
final class DebArchiveReaderTests: TempDirTestCase {
    /// A package tree with the shapes that matter: sizes around the 512-byte block, an empty
    /// file, a hard link, symlinks, a name longer than 100 bytes (GNU long name), modes.
    func makeTree(_ dir: String, package: String = "signet-test", version: String = "1:2.0-1", architecture: String = "amd64") throws -> String {
        let root = dir + "/pkg-\(package)-\(architecture)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/DEBIAN", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        let deep = "/usr/share/\(package)/" + String(repeating: "a-rather-long-directory/", count: 5)
        try fm.createDirectory(atPath: root + deep, withIntermediateDirectories: true)
        try "Package: \(package)\nVersion: \(version)\nArchitecture: \(architecture)\nMaintainer: Signet <t@example.org>\nDescription: a test package\n"
            .write(toFile: root + "/DEBIAN/control", atomically: true, encoding: .utf8)
        var rng = SeededGenerator(seed: 42)
        for (name, size) in [("empty", 0), ("one", 1), ("b511", 511), ("b512", 512), ("b513", 513), ("big", 300_000)] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = fm.createFile(atPath: root + "/usr/bin/\(name)", contents: Data(bytes), attributes: [.posixPermissions: 0o755])
        }
        _ = fm.createFile(atPath: root + deep + "file-under-a-long-path", contents: Data("deep".utf8), attributes: [.posixPermissions: 0o644])
        XCTAssertEqual(link(root + "/usr/bin/b513", root + "/usr/bin/b513-hardlink"), 0)
        try fm.createSymbolicLink(atPath: root + "/usr/bin/sym", withDestinationPath: "big")
        try fm.createSymbolicLink(atPath: root + "/usr/bin/sym-abs", withDestinationPath: "/usr/bin/one")
        return root
    }

    func build(_ tree: String, _ compression: String, to deb: String) throws {
        try run("dpkg-deb", ["--root-owner-group", "-Z\(compression)", "--build", tree, deb], package: "dpkg")
    }

    /// Every regular file of an unpacked tree: installed path → SHA-256.
    func digests(ofTree root: String) throws -> [String: String] {
        var out = [String: String]()
        let fm = FileManager.default
        for case let rel as String in fm.enumerator(atPath: root)! {
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            out["/" + rel] = sha256Hex(readFileBytes(root + "/" + rel))
        }
        return out
    }

    func testEveryCompressionReadsAsDpkgDebUnpacks() throws {
        let dir = tempPath()
        let tree = try makeTree(dir)
        for compression in ["xz", "zstd", "gzip", "none"] {
            let deb = dir + "/p-\(compression).deb"
            try build(tree, compression, to: deb)
            let unpacked = dir + "/x-\(compression)"
            try run("dpkg-deb", ["-x", deb, unpacked], package: "dpkg")
            let expected = try digests(ofTree: unpacked)
            for chunk in [1 << 20, 4097, 61] {
                let (summary, handler) = try readDeb(readFileBytes(deb), chunk: chunk)
                XCTAssertEqual(handler.digests, expected.filter { $0.key != "/usr/bin/b513-hardlink" }, "\(compression) chunk \(chunk)")
                XCTAssertEqual(summary.control, DebControl(package: "signet-test", version: "1:2.0-1", architecture: "amd64"))
                XCTAssertEqual(summary.dataMember, compression == "none" ? "data.tar" : "data.tar.\(compression == "gzip" ? "gz" : compression == "zstd" ? "zst" : "xz")")
                XCTAssertEqual(summary.regularFiles, 7)
                XCTAssertEqual(summary.hardlinks, 1)
                XCTAssertEqual(summary.symlinks, 2)
                let link = try XCTUnwrap(handler.entries.first { $0.displayPath == "/usr/bin/b513-hardlink" })
                XCTAssertEqual(link.kind, .hardlink)
                XCTAssertEqual(String(decoding: link.linkTarget, as: UTF8.self), "/usr/bin/b513")
                XCTAssertEqual(expected["/usr/bin/b513-hardlink"], handler.digests["/usr/bin/b513"])
                let paths = Set(handler.entries.filter { $0.kind == .regular || $0.kind == .hardlink }.map(\.displayPath))
                XCTAssertEqual(paths, Set(expected.keys), compression)
            }
            // Control fields as dpkg-deb -f reads them.
            XCTAssertEqual(try run("dpkg-deb", ["-f", deb, "Version"], package: "dpkg").trimmingCharacters(in: .whitespacesAndNewlines), "1:2.0-1")
        }
    }

    /// xz with several blocks (as dpkg-deb writes big members) decoded on two threads gives the same content.
    func testMultiThreadedXZ() throws {
        let dir = tempPath()
        let tree = try makeTree(dir)
        let deb = dir + "/p.deb"
        try build(tree, "none", to: deb)
        // Re-compress data.tar into a multi-block xz and reassemble the .deb in the same order.
        let work = dir + "/ar"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let members = try runProgram("/usr/bin/ar", ["t", deb]).stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(members, ["debian-binary", "control.tar", "data.tar"])
        var ar = ArBuilder()
        _ = try runProgram("/bin/sh", ["-c", "cd '\(work)' && ar x '\(deb)' && xz -T2 --block-size=65536 -k data.tar"])
        ar.member("debian-binary", readFileBytes(work + "/debian-binary"))
        ar.member("control.tar", readFileBytes(work + "/control.tar"))
        ar.member("data.tar.xz", readFileBytes(work + "/data.tar.xz"))
        let robot = try runProgram("/usr/bin/xz", ["-l", "--robot", work + "/data.tar.xz"]).stdout
        let totals = try XCTUnwrap(robot.split(separator: "\n").first { $0.hasPrefix("totals") }).split(separator: "\t")
        XCTAssertGreaterThan(Int(totals[2]) ?? 0, 2, "expected several xz blocks: \(robot)")
        var options = DecompressionOptions()
        options.threads = 2
        options.threadsMinimumInput = 0
        let single = try readDeb(ar.bytes).1.digests
        let threaded = try readDeb(ar.bytes, chunk: 10_000, decompression: options).1.digests
        XCTAssertEqual(single, threaded)
        XCTAssertEqual(single.count, 7)
    }

    /// Debian's own packages (the image's, cached by tools/e2e-debian): every entry dpkg-deb lists,
    /// and, for a few, the content of every file as dpkg-deb unpacks it.
    func testRealDebianPackages() throws {
        let cache = "/var/cache/signet/debian/debs"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: cache).filter({ $0.hasSuffix(".deb") }).sorted(),
              !names.isEmpty else {
            throw XCTSkip("no Debian packages in \(cache) (tools/e2e-debian fetches them): skipped")
        }
        var files = 0
        for name in names {
            let deb = cache + "/" + name
            let (summary, handler) = try readDeb(readFileBytes(deb))
            // `dpkg-deb --fsys-tarfile | tar -t`: every name, in order.
            let listed = try XCTUnwrap(try runProgram("/bin/sh", ["-c", "dpkg-deb --fsys-tarfile '\(deb)' | tar -t --quoting-style=literal"]).stdout)
                .split(separator: "\n").map { line -> String in
                    var p = String(line)
                    while p.hasPrefix("./") { p.removeFirst(2) }
                    if p.hasSuffix("/") { p.removeLast() }
                    return "/" + p
                }
            XCTAssertEqual(handler.entries.map(\.displayPath), listed, name)
            let fields = try run("dpkg-deb", ["-f", deb, "Package", "Version", "Architecture"], package: "dpkg")
            XCTAssertEqual(fields, "Package: \(summary.control.package)\nVersion: \(summary.control.version)\nArchitecture: \(summary.control.architecture)\n", name)
            files += summary.regularFiles + summary.hardlinks
        }
        XCTAssertGreaterThan(files, 100)
        // Content: the smallest few, against dpkg-deb -x.
        let sized = names.map { ($0, (try? FileManager.default.attributesOfItem(atPath: cache + "/" + $0)[.size] as? Int) ?? 0) }
        for (name, _) in sized.sorted(by: { $0.1 < $1.1 }).prefix(6) {
            let dir = tempPath()
            try run("dpkg-deb", ["-x", cache + "/" + name, dir + "/x"], package: "dpkg")
            let expected = try digests(ofTree: dir + "/x")
            let (_, handler) = try readDeb(readFileBytes(cache + "/" + name))
            for (path, digest) in handler.digests { XCTAssertEqual(expected[path], digest, "\(name) \(path)") }
            let regular = Set(handler.entries.filter { $0.kind == .regular || $0.kind == .hardlink }.map(\.displayPath))
            XCTAssertEqual(regular, Set(expected.keys), name)
        }
    }

    // MARK: - Hostile packages

    /// A real .deb cut at every byte: refused each time, never a partial success.
    func testTruncatedAtEveryByte() throws {
        let dir = tempPath()
        let tree = try makeTree(dir)
        let deb = dir + "/p.deb"
        try FileManager.default.removeItem(atPath: tree + "/usr/bin/big")
        try build(tree, "xz", to: deb)
        let bytes = readFileBytes(deb)
        XCTAssertNoThrow(try readDeb(bytes))
        var codes = [DebianPackageError.Code: Int]()
        for cut in 0..<bytes.count {
            do {
                _ = try readDeb(Array(bytes[0..<cut]), chunk: 512)
                XCTFail("a .deb cut at \(cut) of \(bytes.count) bytes was accepted")
            } catch let error as DebianPackageError {
                codes[error.code, default: 0] += 1
                XCTAssertTrue([.truncated, .badStructure, .decompression].contains(error.code), "cut \(cut): \(error)")
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertGreaterThan(codes[.truncated] ?? 0, 0)
        XCTAssertGreaterThan(codes[.badStructure] ?? 0, 0)
        // Inside the data member: the ar level knows first (the size is in the header).
        let e = expectError(.truncated) { try readDeb(Array(bytes[0..<(bytes.count - 30)])) }
        XCTAssertTrue(e?.description.contains("data.tar.xz") == true, "\(String(describing: e))")
    }

    /// A corrupt byte inside the compressed data: the decoder's error, with the member and its offsets.
    func testCorruptCompressedData() throws {
        let dir = tempPath()
        let tree = try makeTree(dir)
        for (compression, member) in [("xz", "data.tar.xz"), ("zstd", "data.tar.zst"), ("gzip", "data.tar.gz")] {
            let deb = dir + "/c-\(compression).deb"
            try build(tree, compression, to: deb)
            var bytes = readFileBytes(deb)
            // Flip a byte in the middle of the data member.
            let members = try parseAr(bytes).members
            let data = try XCTUnwrap(members.last?.0)
            XCTAssertEqual(data.name, member)
            bytes[Int(data.dataOffset + data.size / 2)] ^= 0x55
            let e = expectError(.decompression) { try readDeb(bytes) }
            XCTAssertEqual(e?.member, member)
            XCTAssertEqual(e?.memberOffset, data.dataOffset)
            XCTAssertNotNil(e?.decompression)
            XCTAssertTrue(e?.description.contains("\(member) (member data at byte \(data.dataOffset)") == true, "\(String(describing: e))")
            // Fed in small pieces, tar may see the corrupt output before the decoder sees the bad
            // checksum (FuzzDeb found it): refused either way, naming the member.
            for chunk in [1, 7, 300] {
                do {
                    _ = try readDeb(bytes, chunk: chunk)
                    XCTFail("\(compression): a corrupt member accepted in chunks of \(chunk)")
                } catch let error as DebianPackageError {
                    XCTAssertEqual(error.member, member, "\(error)")
                }
            }
        }
    }

    func testPathTraversalAndUnsafeNames() {
        for (name, type) in [("../etc/passwd", "0"), ("./usr/../../etc/shadow", "0"), ("/etc/cron.d/evil", "0"), ("./usr//bin/x", "0"),
                             ("./usr/./bin/x", "0"), ("./usr/bin/..", "5"), ("./a\nb", "0")] {
            var t = TarBuilder()
            t.directory("./")
            t.entry(name, type: UInt8(ascii: Unicode.Scalar(type)!), content: type == "0" ? [1] : [])
            t.end()
            let e = expectError(.unsafePath) { try readDeb(DebBuilder.deb(data: t.bytes)) }
            XCTAssertEqual(e?.member, "data.tar", name)
            if !name.contains("\n") { XCTAssertEqual(e?.entry, name, name) }
            XCTAssertEqual(e?.offset, 512, name)
        }
        // Through a pax path or a GNU long name too.
        var pax = TarBuilder()
        pax.pax([("path", "./../../root/.ssh/authorized_keys")])
        pax.file("./innocent", "k")
        XCTAssertNotNil(expectError(.unsafePath) { try readDeb(DebBuilder.deb(data: pax.bytes)) })
        var gnu = TarBuilder()
        gnu.gnuLong("/etc/ld.so.preload")
        gnu.entry("./innocent", content: [1], magic: Array("ustar  \u{0}".utf8))
        XCTAssertNotNil(expectError(.unsafePath) { try readDeb(DebBuilder.deb(data: gnu.bytes)) })
        // A hard link whose target climbs out.
        var hl = TarBuilder()
        hl.hardlink("./usr/bin/x", to: "../../etc/shadow")
        XCTAssertNotNil(expectError(.unsafePath) { try readDeb(DebBuilder.deb(data: hl.bytes)) })
    }

    func testDuplicatesAndHardLinks() {
        var dup = TarBuilder()
        dup.file("./usr/bin/x", "one")
        dup.file("usr/bin/x", "two")  // the same installed path spelt differently
        XCTAssertEqual(expectError(.duplicatePath) { try readDeb(DebBuilder.deb(data: dup.bytes)) }?.entry, "usr/bin/x")
        var forward = TarBuilder()
        forward.hardlink("./usr/bin/a", to: "./usr/bin/b")
        forward.file("./usr/bin/b", "later")
        XCTAssertEqual(expectError(.badHardlink) { try readDeb(DebBuilder.deb(data: forward.bytes)) }?.field, "linkname")
        var toDir = TarBuilder()
        toDir.directory("./usr/")
        toDir.hardlink("./x", to: "./usr")
        XCTAssertNotNil(expectError(.badHardlink) { try readDeb(DebBuilder.deb(data: toDir.bytes)) })
        var toSymlink = TarBuilder()
        toSymlink.symlink("./s", to: "/etc/shadow")
        toSymlink.hardlink("./x", to: "./s")
        XCTAssertNotNil(expectError(.badHardlink) { try readDeb(DebBuilder.deb(data: toSymlink.bytes)) })
        var dirThenFile = TarBuilder()
        dirThenFile.directory("./usr/lib/")
        dirThenFile.file("./usr/lib", "shadowing a directory")
        XCTAssertNotNil(expectError(.duplicatePath) { try readDeb(DebBuilder.deb(data: dirThenFile.bytes)) })
    }

    func testDebStructure() {
        var data = TarBuilder()
        data.file("./usr/bin/x", "x")
        data.end()
        XCTAssertNoThrow(try readDeb(DebBuilder.deb(data: data.bytes)))
        // debian-binary
        XCTAssertEqual(expectError(.badStructure) { try readDeb(DebBuilder.deb(data: data.bytes, version: "3.0\n")) }?.field, "version")
        XCTAssertNotNil(expectError(.badStructure) { try readDeb(DebBuilder.deb(data: data.bytes, version: "2.0")) })
        // Order and names.
        var wrongFirst = ArBuilder()
        wrongFirst.member("control.tar", DebBuilder.control())
        XCTAssertNotNil(expectError(.badStructure) { try readDeb(wrongFirst.bytes) })
        var dataFirst = ArBuilder()
        dataFirst.member("debian-binary", Array("2.0\n".utf8))
        dataFirst.member("data.tar", data.bytes)
        XCTAssertNotNil(expectError(.badStructure) { try readDeb(dataFirst.bytes) })
        var noData = ArBuilder()
        noData.member("debian-binary", Array("2.0\n".utf8))
        noData.member("control.tar", DebBuilder.control())
        XCTAssertTrue(expectError(.badStructure) { try readDeb(noData.bytes) }?.description.contains("data.tar") == true)
        XCTAssertNotNil(expectError(.badStructure) { try readDeb(DebBuilder.deb(data: data.bytes) { $0.member("evil", [1]) }) })
        XCTAssertNotNil(expectError(.badStructure) {
            try readDeb(DebBuilder.deb(data: data.bytes) { $0.member("control.tar", DebBuilder.control()) })
        })
        XCTAssertNoThrow(try readDeb(DebBuilder.deb(data: data.bytes) { $0.member("_gpgorigin", Array("sig".utf8)) }))
        XCTAssertEqual(expectError(.unsupported) { try readDeb(DebBuilder.deb(data: data.bytes, dataName: "data.tar.bz2")) }?.entry,
                       "data.tar.bz2")
        // Control fields.
        for (control, field) in [(DebBuilder.control("A"), "Package"), (DebBuilder.control(version: "1.0 evil"), "Version"),
                                 (DebBuilder.control(architecture: "amd64/../x"), "Architecture"), (DebBuilder.control(version: "x:1"), "Version")] {
            let e = expectError(.badControl) { try readDeb(DebBuilder.deb(data: data.bytes, control: control)) }
            XCTAssertEqual(e?.field, field)
            XCTAssertEqual(e?.member, "control.tar")
        }
        var noControl = TarBuilder()
        noControl.file("./md5sums", "")
        XCTAssertNotNil(expectError(.badControl) { try readDeb(DebBuilder.deb(data: data.bytes, control: noControl.bytes)) })
    }

    /// A bomb: a tiny xz member that expands past the limit is stopped there.
    func testExpansionLimit() throws {
        let dir = tempPath()
        _ = FileManager.default.createFile(atPath: dir + "/zeros", contents: Data(count: 8 << 20))
        _ = try runProgram("/bin/sh", ["-c", "cd '\(dir)' && tar -cf data.tar zeros && xz -9 data.tar"])
        let deb = DebBuilder.deb(data: readFileBytes(dir + "/data.tar.xz"), dataName: "data.tar.xz")
        XCTAssertLessThan(deb.count, 10_000)
        var limits = DebianPackageLimits()
        limits.maxDataArchiveSize = 1 << 20
        let e = expectError(.decompression) { try readDeb(deb, limits: limits) }
        XCTAssertEqual(e?.decompression?.code, .outputLimit)
        limits.maxDataArchiveSize = 1 << 30
        limits.maxEntrySize = 1 << 20
        XCTAssertNotNil(expectError(.limitExceeded) { try readDeb(deb, limits: limits) })
    }
}
