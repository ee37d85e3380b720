import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// A 1 GB measurement log is checked in bounded memory (streaming parse, 4 MiB reads, failures
/// capped), and a hostile 10 MB path name is refused with a limit error, not buffered.
final class LargeLogTests: XCTestCase {
    func testAOneGigabyteLogIsCheckedInBoundedMemory() throws {
        let dir = TempDir("signet-1g")
        let path = "/big/" + String(repeating: "p", count: 4000)
        let entry = TestLogEncoder.encode(.imaNG(path, digest: Digester.hash(Array("x".utf8), .sha256)))
        let logPath = dir.url("1g.log")
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let block = Data([UInt8]((0..<256).flatMap { _ in entry }))
        var written = 0
        while written < 1 << 30 {
            handle.write(block)
            written += block.count
        }
        try handle.close()
        let entries = written / entry.count

        // Every entry fails (no reference allows /big/…): the log streams through and the
        // failure list stays capped, so memory stays flat.
        let failing = try runProgram("/usr/bin/time", ["-f", "maxrss_kb=%M", signetBinary, "attest", "check-log", logPath])
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.stdout.contains("FAIL: \(entries) entries") && failing.stdout.contains("\(entries) failed"),
                      String(failing.stdout.suffix(500)))
        XCTAssertTrue(failing.stdout.contains("more failures"), String(failing.stdout.suffix(500)))
        let rss = try XCTUnwrap(failing.stderr.components(separatedBy: "maxrss_kb=").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        XCTAssertLessThan(rss, 256 * 1024, "checking a 1 GB log used \(rss / 1024) MB")
        unlink(logPath)
    }

    func testATenMegabytePathNameIsRefusedNotBuffered() throws {
        let dir = TempDir("signet-10m-path")
        let entry = TestLogEncoder.encode(.imaNG("/" + String(repeating: "a", count: 10 << 20), digest: [UInt8](repeating: 1, count: 32)))
        let logPath = dir.write("long.log", entry)
        let r = try runProgram("/usr/bin/time", ["-f", "maxrss_kb=%M", signetBinary, "attest", "check-log", logPath])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("LOG entry 0") && r.stdout.contains("template_data_len") && r.stdout.contains("bound is"), r.stdout)
        let rss = try XCTUnwrap(r.stderr.components(separatedBy: "maxrss_kb=").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        XCTAssertLessThan(rss, 128 * 1024, "a refused 10 MB name used \(rss / 1024) MB")
    }
}
