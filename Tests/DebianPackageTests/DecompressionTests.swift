import Foundation
import XCTest
import Decompression
import SignetTestSupport

/// The decoders against the reference compressors (xz, zstd, gzip): what they write decodes to the
/// same bytes in any chunking; truncated, corrupt, trailing and oversized streams are refused by kind.
final class DecompressionTests: TempDirTestCase {
    /// Compressible and incompressible data, so both stored and compressed blocks appear.
    func payload() -> [UInt8] {
        var rng = SeededGenerator(seed: 7)
        return Array(repeating: Array("signet bundles ".utf8), count: 20_000).flatMap { $0 } + rng.bytes(200_000)
    }

    func compress(_ data: [UInt8], _ command: String) throws -> [UInt8] {
        let dir = tempPath()
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/in", contents: Data(data)))
        let r = try runProgram("/bin/sh", ["-c", "\(command) < '\(dir)/in' > '\(dir)/out'"])
        XCTAssertEqual(r.status, 0, "\(command): \(r.output)")
        return readFileBytes(dir + "/out")
    }

    func decode(_ input: [UInt8], _ format: CompressionFormat, chunk: Int = 65536,
                options: DecompressionOptions = .init()) throws -> [UInt8] {
        let d = try Decompressor(format, options: options)
        var out = [UInt8]()
        var i = 0
        while i < input.count {
            let n = min(chunk, input.count - i)
            try input[i..<i + n].withUnsafeBytes { raw in
                var consumed = 0
                while true {
                    let piece = try d.decompress(raw, consumed: &consumed)
                    out += piece
                    if piece.isEmpty && consumed == raw.count { break }
                }
            }
            i += n
        }
        while true {
            let piece = try d.finish()
            if piece.isEmpty { break }
            out += piece
        }
        XCTAssertTrue(d.isFinished)
        return out
    }

    func expect(_ code: DecompressionError.Code, _ body: () throws -> [UInt8], _ message: String = "",
                file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected \(code): \(message)", file: file, line: line)
        } catch let error as DecompressionError {
            XCTAssertEqual(error.code, code, "\(message): \(error)", file: file, line: line)
        } catch {
            XCTFail("expected a DecompressionError \(code), got \(error)", file: file, line: line)
        }
    }

    static let tools: [(CompressionFormat, String, String)] = [
        (.xz, "xz -c", "xz-utils"), (.xz, "xz -c -T2 --block-size=100000", "xz-utils"), (.lzma, "xz -c --format=lzma", "xz-utils"),
        (.zstd, "zstd -q -c", "zstd"), (.zstd, "zstd -q -19 -c", "zstd"), (.gzip, "gzip -c", "gzip"), (.gzip, "gzip -9 -c -n", "gzip"),
    ]

    func testRoundTripsWithTheReferenceTools() throws {
        let data = payload()
        for (format, command, package) in Self.tools {
            _ = try requiredTool(String(command.split(separator: " ")[0]), package: package)
            let compressed = try compress(data, command)
            for chunk in [1 << 20, 4096, 333] {
                XCTAssertEqual(try decode(compressed, format, chunk: chunk), data, "\(command) chunk \(chunk)")
            }
            if format == .xz {
                var options = DecompressionOptions()
                options.threads = 2
                XCTAssertEqual(try decode(compressed, format, options: options), data, "\(command), 2 threads")
            }
        }
        XCTAssertEqual(try decode(data, .none, chunk: 1000), data)
        // Tiny inputs byte by byte, and empty content.
        for (format, command, _) in Self.tools {
            XCTAssertEqual(try decode(try compress(Array("x".utf8), command), format, chunk: 1), Array("x".utf8), command)
            XCTAssertEqual(try decode(try compress([], command), format, chunk: 1), [], command)
        }
    }

    func testConcatenatedStreams() throws {
        let a = Array("first ".utf8), b = Array("second".utf8)
        XCTAssertEqual(try decode(try compress(a, "gzip -c") + compress(b, "gzip -c"), .gzip, chunk: 3), a + b)
        XCTAssertEqual(try decode(try compress(a, "zstd -q -c") + compress(b, "zstd -q -c"), .zstd, chunk: 3), a + b)
        XCTAssertEqual(try decode(try compress(a, "xz -c") + compress(b, "xz -c"), .xz, chunk: 3), a + b)
    }

    func testTruncatedStreams() throws {
        let data = payload()
        for (format, command, _) in Self.tools {
            let compressed = try compress(data, command)
            for cut in [0, 1, 10, compressed.count / 2, compressed.count - 1] {
                expect(.truncated, { try decode(Array(compressed[0..<cut]), format) }, "\(command) cut at \(cut)")
            }
        }
    }

    func testCorruptAndTrailingData() throws {
        let data = payload()
        for (format, command, _) in Self.tools where format != .lzma {
            var compressed = try compress(data, command)
            compressed[compressed.count / 2] ^= 0xff
            expect(.corrupt, { try decode(compressed, format) }, command)
        }
        expect(.corrupt, { try decode(Array("not xz at all".utf8), .xz) })
        expect(.corrupt, { try decode(Array("not gzip".utf8), .gzip) })
        expect(.corrupt, { try decode(Array("not zstd".utf8), .zstd) })
        let gz = try compress(Array("payload".utf8), "gzip -c")
        expect(.trailingData, { try decode(gz + Array("junk".utf8), .gzip) })
        let zst = try compress(Array("payload".utf8), "zstd -q -c")
        expect(.trailingData, { try decode(zst + Array("junk".utf8), .zstd) })
        let lz = try compress(Array("payload".utf8), "xz -c --format=lzma")
        expect(.trailingData, { try decode(lz + Array("junk".utf8), .lzma) })
        let xz = try compress(Array("payload".utf8), "xz -c")
        // xz: four bytes could begin another stream (truncated); a whole header's worth cannot.
        expect(.truncated, { try decode(xz + Array("junk".utf8), .xz) })
        expect(.corrupt, { try decode(xz + Array("junk after the xz stream".utf8), .xz) })
    }

    /// A stream that needs more memory than allowed, or expands past the output limit.
    func testMemoryAndOutputLimits() throws {
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        var small = DecompressionOptions()
        small.xzMemoryLimit = 1 << 20
        expect(.memoryLimit, { try decode(try! compress(zeros, "xz -c -6"), .xz, options: small) })
        // zstd --long=30 asks for a 1 GiB window: refused at the 128 MiB default.
        let long = try compress(zeros, "zstd -q -c --long=30")
        expect(.memoryLimit, { try decode(long, .zstd) })
        var limited = DecompressionOptions()
        limited.maxOutput = 1 << 20
        for (format, command) in [(CompressionFormat.xz, "xz -c"), (.gzip, "gzip -c"), (.zstd, "zstd -q -c"), (.none, "cat")] {
            expect(.outputLimit, { try decode(try! compress(zeros, command), format, options: limited) }, command)
        }
    }

    func testErrorsNameTheFormatAndOffset() throws {
        var compressed = try compress(payload(), "xz -c")
        compressed[5000] ^= 0xff
        do {
            _ = try decode(compressed, .xz, chunk: 1000)
            XCTFail("accepted")
        } catch let error as DecompressionError {
            XCTAssertEqual(error.format, .xz)
            XCTAssertGreaterThan(error.offset, 0)
            XCTAssertTrue(error.description.hasPrefix("xz stream, compressed byte \(error.offset): "), error.description)
        } catch {
            XCTFail("\(error)")
        }
    }
}
