import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// Differential check (issue: hostile input): 1,000 random measurement logs replayed by Signet
/// and by `evmctl ima_measurement`. Every clean log: evmctl must match the PCR-10 values Signet
/// computed (both banks). Every log with a corrupted template digest: both must reject it. Any
/// disagreement is a bug; the failing case's seed is printed so it can be replayed.
final class LogDifferentialTests: XCTestCase {
    /// A path of random bytes: spaces, newlines and non-UTF-8 included, never NUL.
    static func path(_ r: inout SeededGenerator, max: Int) -> [UInt8] {
        let n = r.int(1...max)
        return Array("/nonexistent/".utf8) + (0..<n).map { _ in
            switch r.int(0...9) {
            case 0: return 0x20
            case 1: return 0x0a
            case 2: return UInt8(r.int(0x80...0xff))
            default: return UInt8(r.int(0x21...0x7e))
            }
        }
    }

    static func entry(_ r: inout SeededGenerator, legacyOnly: Bool) -> TestLogEntry {
        if legacyOnly {
            return TestLogEntry(templateName: "ima", fields: [r.bytes(20), path(&r, max: 200)])
        }
        switch r.int(0...9) {
        case 0:
            return .violation("/nonexistent/tomtou")
        case 1...4:
            let algorithm: HashAlgorithm = [.sha1, .sha256, .sha512][r.int(0...2)]
            return TestLogEntry(templateName: "ima-ng", fields: [TestLogEncoder.dng(algorithm, r.bytes(algorithm.digestLength)),
                                                                 path(&r, max: 300) + [0]])
        default:
            let signature: [UInt8] = r.chance(50) ? TestLogEncoder.evmctlSignature : []
            return TestLogEntry(templateName: "ima-sig", fields: [TestLogEncoder.dng(.sha256, r.bytes(32)), path(&r, max: 300) + [0], signature])
        }
    }

    func testThousandRandomLogsEvmctlAndSignetAgree() throws {
        let evmctl = try requiredTool("evmctl", package: "ima-evm-utils")
        let dir = TempDir("signet-logdiff")
        let hashing = IMALogHashing()
        var clean = 0, corrupted = 0
        for caseIndex in 0..<1000 {
            let seed = 0x5157_0000 &+ UInt64(caseIndex)
            var r = SeededGenerator(seed: seed)
            let legacyOnly = r.chance(10)
            let entries = (0..<r.int(1...20)).map { _ in Self.entry(&r, legacyOnly: legacyOnly) }
            var log = [UInt8]()
            var starts = [Int]()
            for e in entries { starts.append(log.count); log += TestLogEncoder.encode(e) }
            // Signet replays the log as the kernel wrote it: these are the PCR values a quote would hold.
            var replay = PCRReplay(banks: [.sha1, .sha256], mode: .perBankTemplateHash, hashing: hashing)
            do {
                for entry in try BinaryMeasurementLogParser.parse(log) { try replay.extend(entry) }
            } catch {
                XCTFail("case \(caseIndex) (seed \(seed)): Signet rejected a clean log: \(error)")
                continue
            }
            // One in five: an attacker then corrupts the stored template digest of a non-violation entry.
            let candidates = entries.indices.filter { !entries[$0].violation }
            var corruptedEntry: Int?
            var signetError: MeasurementLogError?
            if r.chance(20), let victim = candidates.isEmpty ? nil : candidates[r.int(0...(candidates.count - 1))] {
                log[starts[victim] + 4 + r.int(0...19)] ^= UInt8(r.int(1...255))
                corruptedEntry = victim
                var again = PCRReplay(banks: [.sha1, .sha256], mode: .perBankTemplateHash, hashing: hashing)
                do {
                    for entry in try BinaryMeasurementLogParser.parse(log) { try again.extend(entry) }
                } catch let error as MeasurementLogError {
                    signetError = error
                }
            }

            // evmctl, told the quoted PCR values (--verify-sig: evmctl 1.4 checks the template data digests
            // only then; the signature checks it also runs fail on these made-up paths and are not compared).
            let logPath = dir.write("log-\(caseIndex % 4).bin", log)
            var pcrFiles = [String]()
            for bank in [HashAlgorithm.sha1, .sha256] {
                let lines = (0...10).map { i in
                    "PCR-\(i < 10 ? "0" : "")\(i) \(Hex.encode(i == 10 ? replay.value(ofPCR: 10, bank: bank) : [UInt8](repeating: 0, count: bank.digestLength)))\n"
                }
                pcrFiles.append(dir.write("pcrs-\(bank.name)", lines.joined()))
            }
            let result = try runProgram(evmctl, ["-v", "ima_measurement", "--ignore-violations", "--verify-sig", "--pcrs", "sha1,\(pcrFiles[0])",
                                                      "--pcrs", "sha256,\(pcrFiles[1])", logPath])
            let evmctlMatched = result.output.contains("Matched per TPM bank calculated digest(s).")
            // With -v evmctl names each entry whose template data does not hash to its digest ("(line N)", 1-based).
            let evmctlDigestFailure = result.output.contains("Failed to verify template data digest")

            if let corruptedEntry {
                corrupted += 1
                guard let signetError, signetError.code == .templateDigestMismatch, let entry = signetError.entryIndex else {
                    XCTFail("case \(caseIndex) (seed \(seed)): Signet accepted a corrupted template digest at entry \(corruptedEntry): \(String(describing: signetError))")
                    continue
                }
                XCTAssertEqual(entry, corruptedEntry, "case \(caseIndex) (seed \(seed))")
                XCTAssertTrue(result.output.contains("Failed to verify template data digest(line \(corruptedEntry + 1))"),
                              "case \(caseIndex) (seed \(seed)): evmctl did not name the corrupted entry \(corruptedEntry): \(result.output.split(separator: "\n").filter { $0.contains("emplate data") || $0.contains("atch") })")
            } else {
                clean += 1
                XCTAssertTrue(evmctlMatched && !evmctlDigestFailure,
                              "case \(caseIndex) (seed \(seed)): evmctl disagrees with Signet's replay: \(result.output.prefix(2000))")
            }
        }
        XCTAssertEqual(clean + corrupted, 1000)
        XCTAssertGreaterThan(corrupted, 100, "the corrupted share must be exercised")
    }
}
