import Foundation
import XCTest
@testable import IMAFormat
import SignetCrypto
import SignetTestSupport

/// Fixture files under Fixtures/logs, written by make_fixtures.py (hashlib).
enum LogFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/logs")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    static func text(_ name: String) throws -> String { try String(contentsOf: url(name), encoding: .utf8) }

    /// PCR-10 from an evmctl-format `--pcrs` file.
    static func pcr10(_ name: String) throws -> [UInt8] {
        let line = try text(name).split(separator: "\n").first { $0.hasPrefix("PCR-10 ") }!
        return Hex.decode(line.dropFirst(7))!
    }

    static func hexFile(_ name: String) throws -> [UInt8] {
        Hex.decode(try text(name).trimmingCharacters(in: .whitespacesAndNewlines))!
    }
}
