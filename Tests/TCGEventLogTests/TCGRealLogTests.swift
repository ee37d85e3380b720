import Foundation
import IMAFormat
import TCGEventLog
import XCTest

/// Logs written by real firmware (OVMF + swtpm, see Fixtures/README.md).
final class TCGRealLogTests: XCTestCase {
    func testReplayEqualsThePCRsTheGuestRead() throws {
        for name in TCGFixtures.names {
            let log = try TCGEventLog.parse(try TCGFixtures.log(name), options: TCGEventLogOptions(strictContent: true))
            XCTAssertEqual(log.format, .cryptoAgile)
            XCTAssertEqual(log.algorithms, [.sha1, .sha256, .sha384, .sha512], name)
            let replay = TCGPCRReplay(log, hashing: tcgHashing)
            XCTAssertTrue(replay.unreplayedBanks.isEmpty, "\(name): \(replay.unreplayedBanks)")
            let guest = try TCGFixtures.guestPCRs(name)
            XCTAssertEqual(guest.count, 4)
            XCTAssertEqual(guest[.sha256]?.count, 23)
            XCTAssertNil(replay.firstMismatch(against: guest), name)
            // PCR 0 really is explained by the firmware's events, not by zeros.
            XCTAssertNotEqual(replay.value(pcr: 0, bank: .sha256), [UInt8](repeating: 0, count: 32))
        }
    }

    func testAChangedEventDigestNamesTheFirstPCRThatDisagrees() throws {
        let bytes = try TCGFixtures.log("secureboot-on")
        let log = try TCGEventLog.parse(bytes)
        // Flip one byte of the sha256 digest of the first PCR 7 event.
        let event = try XCTUnwrap(log.events.first(where: { $0.pcrIndex == 7 }))
        var changed = bytes
        // pcr, type, count, then (alg, digest) × 4: sha1 (2+20), sha256 (2+32).
        changed[event.offset + 12 + 22 + 2] ^= 1
        let replay = TCGPCRReplay(try TCGEventLog.parse(changed), hashing: tcgHashing)
        let mismatch = try XCTUnwrap(replay.firstMismatch(against: try TCGFixtures.guestPCRs("secureboot-on")))
        XCTAssertEqual(mismatch.pcr, 7)
        XCTAssertEqual(mismatch.bank, .sha256)
        XCTAssertTrue(mismatch.description.hasPrefix("PCR 7 (sha256): values differ"), mismatch.description)
        XCTAssertNotNil(replay.firstMismatch(against: [:]), "comparing nothing must not pass")
    }

    func testSecureBootOnContents() throws {
        let log = try TCGEventLog.parse(try TCGFixtures.log("secureboot-on"))
        var variables = [String: UEFIVariable]()
        for e in log.events {
            if case .variable(let v) = e.content { variables[v.name] = v }
        }
        XCTAssertEqual(variables["SecureBoot"]?.value, .boolean(true))
        guard case .signatureLists(let db) = variables["db"]?.value else { return XCTFail("db: \(String(describing: variables["db"]))") }
        XCTAssertTrue(db.allSatisfy(\.isX509))
        XCTAssertGreaterThanOrEqual(db.flatMap(\.signatures).count, 2)  // Microsoft's Windows and UEFI CAs
        // Microsoft's owner GUID.
        XCTAssertTrue(db.flatMap(\.signatures).allSatisfy { $0.owner == EFIGUID("77fa9abd-0359-4d32-bd60-28f4e78f784b") })
        // Each certificate is DER (a SEQUENCE with a two-byte length).
        XCTAssertTrue(db.flatMap(\.signatures).allSatisfy { $0.data.starts(with: [0x30, 0x82]) })
        guard case .signatureLists(let kek) = variables["KEK"]?.value, case .signatureLists(let pk) = variables["PK"]?.value,
              case .signatureLists(let dbx) = variables["dbx"]?.value else { return XCTFail("PK/KEK/dbx") }
        XCTAssertEqual(pk.flatMap(\.signatures).count, 1)
        XCTAssertFalse(kek.isEmpty)
        XCTAssertTrue(dbx.contains(where: \.isSHA256))
        XCTAssertTrue(dbx.filter(\.isSHA256).flatMap(\.signatures).allSatisfy { $0.data.count == 32 })
        XCTAssertEqual(log.events[1].content, .crtmVersion(""))
        XCTAssertTrue(log.events.contains { $0.content == .action("Exit Boot Services Returned with Success") })
        XCTAssertEqual(log.events.filter { $0.content == .separator(.normal) }.map(\.pcrIndex), [7, 0, 1, 2, 3, 4, 5, 6])
    }

    func testSecureBootOffContents() throws {
        let log = try TCGEventLog.parse(try TCGFixtures.log("secureboot-off"))
        var variables = [String: UEFIVariable]()
        var images = [UEFIImageLoad]()
        var bootVariables = [UEFIVariable]()
        for e in log.events {
            if case .variable(let v) = e.content {
                variables[v.name] = v
                if e.eventType == .efiVariableBoot { bootVariables.append(v) }
            }
            if case .imageLoad(let i) = e.content { images.append(i) }
        }
        XCTAssertEqual(variables["SecureBoot"]?.value, .boolean(false))
        XCTAssertEqual(variables["PK"]?.value, .signatureLists([]))
        XCTAssertEqual(variables["db"]?.data, [])
        XCTAssertEqual(images.count, 1)
        let image = try XCTUnwrap(images.first)
        XCTAssertGreaterThan(image.length, 1 << 20, "the kernel image")
        XCTAssertNotNil(image.devicePath.nodes)
        XCTAssertFalse(image.devicePath.description.contains("malformed"), image.devicePath.description)
        XCTAssertTrue(bootVariables.contains { $0.name == "BootOrder" })
        for v in bootVariables where v.name.hasPrefix("Boot0") {
            guard case .loadOption(let option) = v.value else { return XCTFail("\(v.name): \(v.value)") }
            XCTAssertFalse(option.description.isEmpty)
        }
    }
}
