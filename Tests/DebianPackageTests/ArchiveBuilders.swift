import Foundation
import XCTest
import DebianPackage
import Decompression
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// Writes tar archives byte by byte, including the malformed ones real tools refuse to make.
struct TarBuilder {
    var bytes = [UInt8]()

    /// One header block. `size` is what the header says; `content` what follows (padded).
    mutating func entry(_ name: String, type: UInt8 = UInt8(ascii: "0"), size: Int? = nil, content: [UInt8] = [],
                        link: String = "", mode: Int = 0o644, prefix: String = "", magic: [UInt8] = Array("ustar\u{0}00".utf8),
                        sizeField: [UInt8]? = nil, checksumDelta: Int = 0, pad: Bool = true) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int, max: Int) {
            for (i, b) in value.prefix(max).enumerated() { h[offset + i] = b }
        }
        func octal(_ v: Int, width: Int) -> [UInt8] {
            Array(String(String(v, radix: 8).leftPadded(width - 1)).utf8) + [0]
        }
        put(Array(name.utf8), at: 0, max: 100)
        put(octal(mode, width: 8), at: 100, max: 8)
        put(octal(0, width: 8), at: 108, max: 8)
        put(octal(0, width: 8), at: 116, max: 8)
        put(sizeField ?? octal(size ?? content.count, width: 12), at: 124, max: 12)
        put(octal(1_700_000_000, width: 12), at: 136, max: 12)
        h[156] = type
        put(Array(link.utf8), at: 157, max: 100)
        put(magic, at: 257, max: 8)
        put(Array("root".utf8), at: 265, max: 32)
        put(Array("root".utf8), at: 297, max: 32)
        put(Array(prefix.utf8), at: 345, max: 155)
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) } + checksumDelta
        put(Array(String(String(sum, radix: 8).leftPadded(6)).utf8) + [0, 0x20], at: 148, max: 8)
        bytes += h
        bytes += content
        if pad && content.count % 512 != 0 { bytes += [UInt8](repeating: 0, count: 512 - content.count % 512) }
    }

    mutating func file(_ name: String, _ text: String, mode: Int = 0o644) { entry(name, content: Array(text.utf8), mode: mode) }
    mutating func directory(_ name: String) { entry(name, type: UInt8(ascii: "5"), mode: 0o755) }
    mutating func symlink(_ name: String, to target: String) { entry(name, type: UInt8(ascii: "2"), link: target, mode: 0o777) }
    mutating func hardlink(_ name: String, to target: String) { entry(name, type: UInt8(ascii: "1"), link: target) }

    /// A GNU long name ('L') or long link ('K') record, NUL-terminated as GNU tar writes it.
    mutating func gnuLong(_ value: String, type: UInt8 = UInt8(ascii: "L"), magic: [UInt8] = Array("ustar  \u{0}".utf8)) {
        entry("././@LongLink", type: type, content: Array(value.utf8) + [0], magic: magic)
    }

    /// A pax extended header with these records ("%d key=value\n", lengths computed).
    mutating func pax(_ records: [(String, String)], type: UInt8 = UInt8(ascii: "x")) {
        var body = [UInt8]()
        for (k, v) in records { body += Self.paxRecord(k, v) }
        entry("./PaxHeaders/x", type: type, content: body)
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let core = " \(key)=\(value)\n"
        var length = core.utf8.count + 1
        while String(length).utf8.count + core.utf8.count != length { length += 1 }
        return Array((String(length) + core).utf8)
    }

    mutating func end() { bytes += [UInt8](repeating: 0, count: 1024) }
}

/// Writes `ar` archives.
struct ArBuilder {
    var bytes = Array("!<arch>\n".utf8)

    mutating func member(_ name: String, _ data: [UInt8], sizeField: String? = nil, fmag: String = "`\n") {
        func field(_ s: String, _ width: Int) -> [UInt8] {
            Array(s.utf8.prefix(width)) + [UInt8](repeating: 0x20, count: max(0, width - s.utf8.count))
        }
        bytes += field(name, 16) + field("0", 12) + field("0", 6) + field("0", 6) + field("100644", 8)
        bytes += field(sizeField ?? String(data.count), 10) + Array(fmag.utf8)
        bytes += data
        if data.count % 2 == 1 { bytes.append(0x0a) }
    }
}

/// A .deb from parts: uncompressed members unless given compressed bytes.
enum DebBuilder {
    static func control(_ package: String = "hostile", version: String = "1.0", architecture: String = "amd64") -> [UInt8] {
        var t = TarBuilder()
        t.directory("./")
        t.file("./control", "Package: \(package)\nVersion: \(version)\nArchitecture: \(architecture)\nMaintainer: t <t@example.org>\nDescription: test\n")
        t.end()
        return t.bytes
    }

    static func deb(data: [UInt8], dataName: String = "data.tar", control: [UInt8] = control(), version: String = "2.0\n",
                    extra: (inout ArBuilder) -> Void = { _ in }) -> [UInt8] {
        var ar = ArBuilder()
        ar.member("debian-binary", Array(version.utf8))
        ar.member("control.tar", control)
        ar.member(dataName, data)
        extra(&ar)
        return ar.bytes
    }
}

/// Collects what a reader hands out: entries, and the SHA-256 of each regular file's content.
struct CollectingHandler: DebContentHandler {
    var control: DebControl?
    var entries = [DebEntry]()
    var digests = [String: String]()
    private var current: String?
    private let digester = Digester(.sha256)

    mutating func control(_ control: DebControl) { self.control = control }
    mutating func entry(_ entry: DebEntry) {
        entries.append(entry)
        current = entry.kind == .regular ? entry.displayPath : nil
    }
    mutating func data(_ bytes: UnsafeRawBufferPointer) { digester.update(bytes) }
    mutating func endOfEntry() {
        if let c = current { digests[c] = Hex.encode(digester.finalize()) }
        current = nil
    }
}

/// Receives tar events as plain values, for comparing runs.
struct RecordingTarSink: TarSink {
    enum Event: Equatable { case entry(TarEntry), data([UInt8]), end }
    var events = [Event]()

    mutating func entry(_ entry: TarEntry) throws(DebianPackageError) { events.append(.entry(entry)) }
    mutating func data(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) {
        // Coalesce, so that any chunking gives the same events.
        if case .data(let d)? = events.last { events[events.count - 1] = .data(d + Array(bytes)) } else { events.append(.data(Array(bytes))) }
    }
    mutating func endOfEntry() throws(DebianPackageError) { events.append(.end) }

    var entries: [TarEntry] { events.compactMap { if case .entry(let e) = $0 { return e } else { return nil } } }
}

struct RecordingArSink: ArSink {
    var members = [(ArMember, [UInt8])]()
    mutating func memberStart(_ member: ArMember) throws(DebianPackageError) { members.append((member, [])) }
    mutating func memberData(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError) { members[members.count - 1].1 += Array(bytes) }
    mutating func memberEnd() throws(DebianPackageError) {}
}

/// Calls `body` with `bytes` in consecutive pieces of at most `size` bytes (the last may be
/// shorter; none for empty input): how the streaming parsers are fed to test that a result does
/// not depend on where the input is cut.
func forEachChunk(of bytes: [UInt8], size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    var i = 0
    while i < bytes.count {
        let n = min(size, bytes.count - i)
        try bytes[i..<i + n].withUnsafeBytes(body)
        i += n
    }
}

/// Parsers fed in chunks of `size` bytes.
func parseTar(_ bytes: [UInt8], chunk: Int = .max, limits: DebianPackageLimits = .init()) throws -> RecordingTarSink {
    var parser = TarParser(limits: limits)
    var sink = RecordingTarSink()
    try forEachChunk(of: bytes, size: chunk) { raw in try parser.consume(raw, into: &sink) }
    try parser.finish()
    return sink
}

func parseAr(_ bytes: [UInt8], chunk: Int = .max, totalSize: Int64? = nil) throws -> RecordingArSink {
    var parser = ArParser(totalSize: totalSize)
    var sink = RecordingArSink()
    try forEachChunk(of: bytes, size: chunk) { raw in try parser.consume(raw, into: &sink) }
    try parser.finish()
    return sink
}

func readDeb(_ bytes: [UInt8], chunk: Int = 1 << 20, limits: DebianPackageLimits = .init(),
             decompression: DecompressionOptions = .init()) throws -> (DebArchiveSummary, CollectingHandler) {
    var reader = DebArchiveReader(handler: CollectingHandler(), limits: limits, totalSize: Int64(bytes.count), decompression: decompression)
    try forEachChunk(of: bytes, size: chunk) { raw in try reader.consume(raw) }
    let summary = try reader.finish()
    return (summary, reader.handler)
}

/// The error a throwing body threw, or a failure.
func expectError<T>(_ code: DebianPackageError.Code, file: StaticString = #filePath, line: UInt = #line,
                    _ body: () throws -> T) -> DebianPackageError? {
    do {
        _ = try body()
        XCTFail("expected \(code), no error", file: file, line: line)
        return nil
    } catch let error as DebianPackageError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a DebianPackageError \(code), got \(error)", file: file, line: line)
        return nil
    }
}

/// Temp directories (under $TMPDIR, removed when each test ends: `makeTempDir` of SignetTestSupport)
/// and the reference tools.
class TempDirTestCase: XCTestCase {
    /// A fresh directory's path, removed when the test ends.
    func tempPath(_ label: String = "signet-deb-test") -> String { makeTempDir(label).path }

    /// Runs a tool the tests compare against; fails the test when it is missing or fails.
    @discardableResult
    func run(_ tool: String, _ args: [String], package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = try requiredTool(tool, package: package, file: file, line: line)
        let r = try runProgram(path, args)
        XCTAssertEqual(r.status, 0, "\(tool) \(args.joined(separator: " ")): \(r.output)", file: file, line: line)
        return r.stdout
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

func readFileBytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(Digester.hash(bytes, .sha256)) }
