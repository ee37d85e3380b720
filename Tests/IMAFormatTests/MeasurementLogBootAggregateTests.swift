import XCTest
@testable import IMAFormat
import SignetCrypto

final class MeasurementLogBootAggregateTests: XCTestCase {
    let hashing = IMALogHashing()

    /// PCR i holds bytes of value i+1, as in make_fixtures.py.
    static func pcrs(_ bank: HashAlgorithm) -> [UInt32: [UInt8]] {
        Dictionary(uniqueKeysWithValues: (0..<24).map {
            (UInt32($0), [UInt8](repeating: UInt8($0 + 1), count: bank.digestLength))
        })
    }

    func testSHA1CoversPCR0To7AndOthersPCR0To9() throws {
        let sha1 = try BootAggregate.compute(bank: .sha1, pcrValues: Self.pcrs(.sha1), using: hashing)
        XCTAssertEqual(sha1, Digester.hash((0..<8).flatMap { [UInt8](repeating: UInt8($0 + 1), count: 20) }, .sha1))
        let sha256 = try BootAggregate.compute(bank: .sha256, pcrValues: Self.pcrs(.sha256), using: hashing)
        XCTAssertEqual(sha256, Digester.hash((0..<10).flatMap { [UInt8](repeating: UInt8($0 + 1), count: 32) }, .sha256))
        XCTAssertEqual(BootAggregate.pcrIndices(for: .sha384), 0...9)
    }

    func testKnownValues() throws {
        // Written by make_fixtures.py (hashlib) and confirmed by `evmctl ima_boot_aggregate`.
        XCTAssertEqual(Hex.encode(try BootAggregate.compute(bank: .sha256, pcrValues: Self.pcrs(.sha256), using: hashing)),
                       "65155bfea1fbc8fb48c859e4fd61838a6ff6f215fc10e3a9ef71529c2ab77371")
        XCTAssertEqual(Hex.encode(try BootAggregate.compute(bank: .sha1, pcrValues: Self.pcrs(.sha1), using: hashing)),
                       "b2488ad744b2db6363562caabef0cf64df623ea6")
        // All-zero PCRs 0-7 in SHA-1: SHA-1 of 160 zero bytes.
        let zeros = Dictionary(uniqueKeysWithValues: (0..<8).map { (UInt32($0), [UInt8](repeating: 0, count: 20)) })
        XCTAssertEqual(Hex.encode(try BootAggregate.compute(bank: .sha1, pcrValues: zeros, using: hashing)),
                       "9797edf8d0eed36b1cf92547816051c8af4e45ee")  // python3 hashlib.sha1(bytes(160))
    }

    func testMatchesTheFixtureBootAggregateEntry() throws {
        let entry = try XCTUnwrap(BinaryMeasurementLogParser.parse(LogFixtures.bytes("ima-ng-sig.bin")).first)
        XCTAssertEqual(entry.eventName, Array(BootAggregate.eventName.utf8))
        let digest = try XCTUnwrap(entry.eventDigest)
        let bank = try XCTUnwrap(digest.algorithm)
        XCTAssertEqual(try BootAggregate.compute(bank: bank, pcrValues: Self.pcrs(bank), using: hashing), digest.digest)

        let legacy = try XCTUnwrap(BinaryMeasurementLogParser.parse(LogFixtures.bytes("ima-legacy.bin")).first)
        XCTAssertEqual(try BootAggregate.compute(bank: .sha1, pcrValues: Self.pcrs(.sha1), using: hashing),
                       legacy.eventDigest?.digest)
    }

    func testMissingOrWrongSizedPCRs() {
        var pcrs = Self.pcrs(.sha256)
        pcrs[9] = nil
        XCTAssertThrowsError(try BootAggregate.compute(bank: .sha256, pcrValues: pcrs, using: hashing)) { error in
            XCTAssertEqual((error as? MeasurementLogError)?.code, .invalidPCRValue)
            XCTAssertEqual((error as? MeasurementLogError)?.field, "PCR-9 (sha256)")
        }
        // SHA-1 does not need PCR 9.
        XCTAssertNoThrow(try BootAggregate.compute(bank: .sha1, pcrValues: Self.pcrs(.sha1).filter { $0.key < 8 },
                                                   using: hashing))
        XCTAssertThrowsError(try BootAggregate.compute(bank: .sha1, pcrValues: Self.pcrs(.sha256), using: hashing)) {
            XCTAssertEqual(($0 as? MeasurementLogError)?.code, .invalidPCRValue)
        }
    }

    func testKernelBankChoice() {
        XCTAssertEqual(BootAggregate.kernelBank(imaHashAlgorithm: .sha256, allocatedBanks: [.sha1, .sha256]), .sha256)
        XCTAssertEqual(BootAggregate.kernelBank(imaHashAlgorithm: .sha512, allocatedBanks: [.sha1, .sha256, .sha384]), .sha256)
        XCTAssertEqual(BootAggregate.kernelBank(imaHashAlgorithm: .sha512, allocatedBanks: [.sha1, .sha384]), .sha1)
        XCTAssertEqual(BootAggregate.kernelBank(imaHashAlgorithm: .sha384, allocatedBanks: [.sha1, .sha384]), .sha384)
        XCTAssertNil(BootAggregate.kernelBank(imaHashAlgorithm: .sha256, allocatedBanks: [.sha384]))
    }
}
