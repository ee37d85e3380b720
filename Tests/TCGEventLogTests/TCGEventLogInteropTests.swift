import Foundation
import IMAFormat
import TCGEventLog
import XCTest

/// Both ways with tpm2_eventlog (tpm2-tools): it reads the real logs and the encoder's logs, and its
/// events (PCR, type, digests) and replay (`pcrs:`) equal ours.
final class TCGEventLogInteropTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "signet-tcg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testRealLogsParseAndReplayAsTpm2EventlogDoes() throws {
        for name in TCGFixtures.names {
            try assertMatchesReference(try TCGFixtures.log(name), in: dir, name)
        }
    }

    func testEncodedLogsParseAndReplayAsTpm2EventlogDoes() throws {
        try assertMatchesReference(TCGSampleLogs.boot(banks: [.sha256], locality: nil), in: dir, "boot sha256 only")
        try assertMatchesReference(TCGSampleLogs.boot(banks: [.sha1, .sha256, .sha384, .sha512], locality: nil), in: dir,
                                   "boot 4 banks")
        try assertMatchesReference(TCGSampleLogs.boot(), in: dir, "boot sha1+sha256, locality 3", pcr0Differs: true)
        try assertMatchesReference(TCGSampleLogs.legacy(), in: dir, "legacy SHA-1 log")
    }

    func testStartupLocalityReplaysByTheProfileNotAsTpm2Tools54Does() throws {
        // StartupLocality 3, then one separator in PCR 0.
        var e = TCGEventLogEncoder(banks: [.sha256])
        e.append(pcr: 0, type: .noAction, data: TCGEventData.startupLocality(3), hashing: tcgHashing)
        e.append(pcr: 0, type: .separator, data: TCGEventData.separator(), hashing: tcgHashing)
        let replay = TCGPCRReplay(try TCGEventLog.parse(e.bytes), hashing: tcgHashing)
        let separator = try XCTUnwrap(tcgHashing.hash(.sha256, [[0, 0, 0, 0]]))
        let byProfile = tcgHashing.hash(.sha256, [[UInt8](repeating: 0, count: 31) + [3], separator])
        XCTAssertEqual(replay.startupLocality, 3)
        XCTAssertEqual(replay.value(pcr: 0, bank: .sha256), byProfile)
        // tpm2-tools 5.4: PCR 0 = H(H(0 || 0) || separator), the EV_NO_ACTION digest extended, the locality ignored.
        let reference = try ReferenceEventLog.run(e.bytes, in: dir)
        let zeros = [UInt8](repeating: 0, count: 32)
        let asTools54 = tcgHashing.hash(.sha256, [try XCTUnwrap(tcgHashing.hash(.sha256, [zeros, zeros])), separator])
        let printed = try XCTUnwrap(reference.pcrs["sha256"]?[0])
        if printed != Hex.encode(try XCTUnwrap(asTools54)) {
            // A fixed tpm2_eventlog must agree with the profile.
            XCTAssertEqual(printed, byProfile.map { Hex.encode($0) })
        }
    }

    func testAnUnlistedAlgorithmIsRefusedWhereTpm2EventlogGuessesItsSize() throws {
        // tpm2_eventlog sizes a digest by its algorithm, not by the Spec ID event; we refuse a digest
        // of an algorithm the Spec ID event does not list (its size is unknown to the log).
        var e = TCGEventLogEncoder(banks: [.sha256])
        e.append(pcr: 0, type: .separator, digests: [TCGDigest(.sha1, [UInt8](repeating: 0, count: 20))], data: [0, 0, 0, 0])
        XCTAssertThrowsError(try TCGEventLog.parse(e.bytes)) { XCTAssertEqual(($0 as? TCGEventLogError)?.code, .unknownAlgorithm) }
        XCTAssertEqual(try ReferenceEventLog.run(e.bytes, in: dir).events.count, 2)
    }
}
