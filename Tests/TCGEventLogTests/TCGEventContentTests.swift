import Foundation
import IMAFormat
import TCGEventLog
import XCTest

/// The encoder's events decode to what was encoded.
final class TCGEventContentTests: XCTestCase {
    func testEncodedBootDecodes() throws {
        let log = try TCGEventLog.parse(TCGSampleLogs.boot(), options: TCGEventLogOptions(strictContent: true))
        let contents = log.events.map(\.content)
        XCTAssertEqual(log.specID?.algorithms.map(\.algorithm), [.sha1, .sha256])
        XCTAssertEqual(contents[1], .startupLocality(3))
        XCTAssertEqual(contents[2], .crtmVersion("1.0"))
        XCTAssertEqual(contents[3], .firmwareBlob(FirmwareBlob(base: 0x82_0000, length: 0xe0_0000)))
        var values = [String: UEFIVariable.Value]()
        var images = [UEFIImageLoad]()
        var ipl = [IPLEvent.Kind]()
        var gpt: UEFIGPTData?
        for c in contents {
            switch c {
            case .variable(let v): values[v.name + (v.value == .raw ? "" : "")] = v.value
            case .imageLoad(let i): images.append(i)
            case .ipl(let i): ipl.append(i.kind)
            case .gpt(let g): gpt = g
            default: break
            }
        }
        XCTAssertEqual(values["SecureBoot"], .boolean(true))
        XCTAssertEqual(values["BootOrder"], .bootOrder([1, 0]))
        guard case .signatureLists(let dbx) = values["dbx"] else { return XCTFail("dbx") }
        XCTAssertEqual(dbx.first?.signatures.map(\.data), [[UInt8](repeating: 0xaa, count: 32), [UInt8](repeating: 0xbb, count: 32)])
        XCTAssertTrue(dbx.first?.isSHA256 == true)
        guard case .signature(let authority) = values["db"] else { return XCTFail("db authority: \(String(describing: values["db"]))") }
        XCTAssertEqual(authority.owner, TCGSampleLogs.microsoft)
        XCTAssertEqual(authority.data.prefix(2), [0x30, 0x82])
        XCTAssertEqual(values["SbatLevel"], .text("sbat,1,2022111500\nshim,2\ngrub,3\n"))
        XCTAssertEqual(images.first?.devicePath.filePath, "\\EFI\\BOOT\\BOOTX64.EFI")
        XCTAssertEqual(images.first?.length, 0x0015_0000)
        XCTAssertEqual(ipl, [.grubCommand("linux /boot/vmlinuz root=/dev/vda2 ro"), .kernelCommandLine("/boot/vmlinuz root=/dev/vda2 ro"),
                             .path("/boot/vmlinuz"), .text("MokList")])
        XCTAssertEqual(gpt?.partitions.map(\.name), ["EFI", "root"])
        XCTAssertEqual(gpt?.partitions.map(\.startingLBA), [2048, 206848])
        XCTAssertEqual(gpt?.diskGUID.description, "11111111-2222-3333-4444-555555555555")
        XCTAssertTrue(contents.contains(.eventTags([TaggedEvent(id: 0x8f3b_22ed, data: Array("initrd\0".utf8))])))
        XCTAssertTrue(contents.contains(.action("BOOT ATTEMPTS OMITTED")))
        XCTAssertEqual(contents.last, .raw)
        XCTAssertEqual(log.events.last?.data, [9, 9, 9])
        // Digests are each bank's hash of what the encoder measured.
        let image = try XCTUnwrap(log.events.first(where: { $0.eventType == .efiBootServicesApplication }))
        XCTAssertEqual(image.digest(.sha256), tcgHashing.hash(.sha256, [Array("shim".utf8)]))
    }

    func testLegacyLog() throws {
        let log = try TCGEventLog.parse(TCGSampleLogs.legacy())
        XCTAssertEqual(log.format, .sha1)
        XCTAssertNil(log.specID)
        XCTAssertEqual(log.algorithms, [.sha1])
        XCTAssertEqual(log.events.count, 11)
        XCTAssertEqual(log.events[1].content, .postCode(.blob(FirmwareBlob(base: 0xfff0_0000, length: 0x10_0000))))
        let replay = TCGPCRReplay(log, hashing: tcgHashing)
        XCTAssertEqual(replay.values[.sha1]?.count, 8)
    }

    func testGUIDText() {
        let guid = EFIGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
        XCTAssertEqual(guid?.bytes, [0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c])
        XCTAssertEqual(guid?.description, "8be4df61-93ca-11d2-aa0d-00e098032b8c")
        XCTAssertNil(EFIGUID("8be4df61-93ca-11d2-aa0d-00e098032b8"))
    }

    func testUnhashableBankIsNamedNotReplayed() throws {
        var e = TCGEventLogEncoder(banks: [.sha256, .sm3_256])
        e.append(pcr: 0, type: .separator, digests: [TCGDigest(.sha256, [UInt8](repeating: 1, count: 32)),
                                                    TCGDigest(.sm3_256, [UInt8](repeating: 2, count: 32))], data: [0, 0, 0, 0])
        let replay = TCGPCRReplay(try TCGEventLog.parse(e.bytes), hashing: tcgHashing)
        XCTAssertNotNil(replay.unreplayedBanks[.sm3_256])
        XCTAssertNotNil(replay.values[.sha256])
        let mismatch = replay.firstMismatch(against: [.sm3_256: [0: [UInt8](repeating: 0, count: 32)]])
        XCTAssertEqual(mismatch?.bank, .sm3_256)
        XCTAssertNil(mismatch?.replayed)
        // An event without a digest of a listed bank makes that bank unreplayable, named.
        var missing = TCGEventLogEncoder(banks: [.sha1, .sha256])
        missing.append(pcr: 0, type: .separator, digests: [TCGDigest(.sha256, [UInt8](repeating: 1, count: 32))], data: [0, 0, 0, 0])
        let r2 = TCGPCRReplay(try TCGEventLog.parse(missing.bytes), hashing: tcgHashing)
        XCTAssertEqual(r2.unreplayedBanks[.sha1], "event 1 (EV_SEPARATOR) has no sha1 digest")
    }
}

/// The encoded fuzz seeds in Tests/Fuzz/corpus/FuzzTCGEventLog are the sample logs;
/// SIGNET_WRITE_FUZZ_SEEDS=1 rewrites them.
final class TCGFuzzSeedTests: XCTestCase {
    func testEncodedSeedsAreTheSampleLogs() throws {
        let corpus = TCGFixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/FuzzTCGEventLog")
        let seeds: [String: [UInt8]] = [
            "encoded-boot.bin": TCGSampleLogs.boot(),
            "encoded-boot-4banks.bin": TCGSampleLogs.boot(banks: [.sha1, .sha256, .sha384, .sha512], locality: nil),
            "encoded-legacy.bin": TCGSampleLogs.legacy(),
        ]
        for (name, bytes) in seeds {
            let url = corpus.appendingPathComponent(name)
            if ProcessInfo.processInfo.environment["SIGNET_WRITE_FUZZ_SEEDS"] == "1" {
                try Data(bytes).write(to: url)
            }
            XCTAssertEqual(Array(try Data(contentsOf: url)), bytes, "\(name): run with SIGNET_WRITE_FUZZ_SEEDS=1")
        }
    }
}
