import Foundation
import XCTest
@testable import IMAFormat
import SignetCrypto
import SignetTestSupport

/// Logs written by our test encoder, PCR values from our replay, checked by
/// the reference tool: `evmctl ima_measurement` (ima-evm-utils) replays the
/// log itself and compares with the PCR values we give it in its `--pcrs`
/// file format ("PCR-NN <hex>" lines, PCR-00 upwards, read in order).
final class MeasurementLogEvmctlInteropTests: XCTestCase {
    let hashing = IMALogHashing()
    var directory: URL!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.evmctl) else {
            throw XCTSkip("evmctl (ima-evm-utils) is not installed")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlog-evmctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    static let evmctl = "/usr/bin/evmctl"

    /// Paths that do not exist here, so evmctl's signature check cannot find
    /// (and hash) a real file; it only affects its log output, not PCR matching.
    static let entries: [TestLogEntry] = [
        .imaNG("boot_aggregate", digest: TestLogEncoder.fakeDigest(1)),
        .imaNG("/nonexistent/signet/bin/a", digest: TestLogEncoder.fakeDigest(2)),
        .imaSig("/nonexistent/signet/bin/b", digest: TestLogEncoder.fakeDigest(3), signature: TestLogEncoder.evmctlSignature),
        TestLogEntry(templateName: "ima-sig", fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(4)),
                                                       TestLogEncoder.nng("/nonexistent/signet/unsigned"), []]),
        .imaNG("/nonexistent/signet/lib/c.so", digest: TestLogEncoder.fakeDigest(5, 64), algorithm: .sha512),
    ]

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A `--pcrs` file: PCR-00 … PCR-10, with `pcr10` as PCR 10 and zeros below.
    private func pcrFile(_ name: String, bank: HashAlgorithm, pcr10: [UInt8]) throws -> String {
        let lines = (0...10).map { i in
            "PCR-\(i < 10 ? "0" : "")\(i) \(Hex.encode(i == 10 ? pcr10 : [UInt8](repeating: 0, count: bank.digestLength)))\n"
        }
        return try write(name, Array(lines.joined().utf8))
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.evmctl)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func replay(_ log: [UInt8], mode: PCRExtendMode = .perBankTemplateHash) throws -> PCRReplay {
        var replay = PCRReplay(banks: [.sha1, .sha256], mode: mode, hashing: hashing)
        for entry in try BinaryMeasurementLogParser.parse(log) { try replay.extend(entry) }
        return replay
    }

    private func measure(_ log: [UInt8], sha1: [UInt8], sha256: [UInt8], extra: [String] = []) throws
        -> (status: Int32, output: String)
    {
        let logPath = try write("log.bin", log)
        let f1 = try pcrFile("pcrs-sha1", bank: .sha1, pcr10: sha1)
        let f2 = try pcrFile("pcrs-sha256", bank: .sha256, pcr10: sha256)
        return try run(["ima_measurement"] + extra + ["--pcrs", "sha1,\(f1)", "--pcrs", "sha256,\(f2)", logPath])
    }

    func testEvmctlAgreesWithOurPerBankReplay() throws {
        let log = TestLogEncoder.log(Self.entries)
        let replay = try replay(log)
        let result = try measure(log, sha1: replay.value(ofPCR: 10, bank: .sha1),
                                 sha256: replay.value(ofPCR: 10, bank: .sha256))
        XCTAssertTrue(result.output.contains("Matched per TPM bank calculated digest(s)."), result.output)
        XCTAssertFalse(result.output.contains("Failed to match"), result.output)
        XCTAssertFalse(result.output.contains("Failed to verify template data digest"), result.output)
        XCTAssertEqual(result.status, 0, result.output)
    }

    func testEvmctlRejectsAWrongPCR() throws {
        // The control that shows the check above can fail.
        let log = TestLogEncoder.log(Self.entries)
        let replay = try replay(log)
        var wrong = replay.value(ofPCR: 10, bank: .sha256)
        wrong[0] ^= 1
        let result = try measure(log, sha1: replay.value(ofPCR: 10, bank: .sha1).map { $0 ^ 0xff }, sha256: wrong)
        XCTAssertTrue(result.output.contains("Failed to match per TPM bank or SHA1 padded TPM digest(s)."), result.output)
        XCTAssertFalse(result.output.contains("Matched"), result.output)
    }

    func testEvmctlAgreesOnViolations() throws {
        let log = TestLogEncoder.log(Self.entries + [.violation("/nonexistent/signet/tomtou")]
            + [.imaNG("/nonexistent/signet/after", digest: TestLogEncoder.fakeDigest(9))])
        let replay = try replay(log)
        // evmctl extends violations with 0xFF only with --ignore-violations (else with zeros).
        let result = try measure(log, sha1: replay.value(ofPCR: 10, bank: .sha1),
                                 sha256: replay.value(ofPCR: 10, bank: .sha256), extra: ["--ignore-violations"])
        XCTAssertTrue(result.output.contains("Matched per TPM bank calculated digest(s)."), result.output)
        XCTAssertEqual(result.status, 0, result.output)
    }

    func testEvmctlAgreesWithOurPaddedSHA1Replay() throws {
        let log = TestLogEncoder.log(Self.entries + [.violation("/nonexistent/signet/tomtou")])
        let padded = try replay(log, mode: .paddedSHA1)
        let perBank = try replay(log)
        XCTAssertNotEqual(padded.value(ofPCR: 10, bank: .sha256), perBank.value(ofPCR: 10, bank: .sha256))
        let result = try measure(log, sha1: padded.value(ofPCR: 10, bank: .sha1),
                                 sha256: padded.value(ofPCR: 10, bank: .sha256), extra: ["--ignore-violations"])
        XCTAssertTrue(result.output.contains("Matched SHA1 padded TPM digest(s)."), result.output)
        XCTAssertEqual(result.status, 0, result.output)
    }

    func testEvmctlAgreesOnTheLegacyIMATemplate() throws {
        let log = TestLogEncoder.log([
            .legacy("boot_aggregate", digest: TestLogEncoder.fakeDigest(1, 20)),
            .legacy("/nonexistent/signet/" + String(repeating: "x", count: 200), digest: TestLogEncoder.fakeDigest(2, 20)),
            .legacy("/nonexistent/signet/y", digest: TestLogEncoder.fakeDigest(3, 20)),
        ])
        let replay = try replay(log)
        let result = try measure(log, sha1: replay.value(ofPCR: 10, bank: .sha1),
                                 sha256: replay.value(ofPCR: 10, bank: .sha256))
        XCTAssertTrue(result.output.contains("Matched per TPM bank calculated digest(s)."), result.output)
        XCTAssertEqual(result.status, 0, result.output)
    }

    func testEvmctlBootAggregateAgrees() throws {
        for bank in [HashAlgorithm.sha1, .sha256] {
            var pcrs = [UInt32: [UInt8]]()
            for i in 0..<10 { pcrs[UInt32(i)] = Digester.hash([UInt8(i), 0x5a], bank) }
            let lines = (0..<10).map { "PCR-0\($0) \(Hex.encode(pcrs[UInt32($0)]!))\n" }.joined()
            let file = try write("boot-\(bank.name)", Array(lines.utf8))
            let result = try run(["ima_boot_aggregate", "--pcrs", "\(bank.name),\(file)"])
            let ours = try BootAggregate.compute(bank: bank, pcrValues: pcrs, using: hashing)
            XCTAssertTrue(result.output.contains("\(bank.name):\(Hex.encode(ours))"), "\(bank.name): \(result.output)")
        }
    }
}
