import IMAFormat
import TCGEventLog
import XCTest

/// Hostile and broken logs: typed errors naming the event, the offset and the field; never a crash.
final class TCGEventLogHostileTests: XCTestCase {
    private func error(_ bytes: [UInt8], options: TCGEventLogOptions = TCGEventLogOptions(),
                       file: StaticString = #filePath, line: UInt = #line) -> TCGEventLogError? {
        do {
            _ = try TCGEventLog.parse(bytes, options: options)
            XCTFail("parsed", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    private func small() -> [UInt8] {
        var e = TCGEventLogEncoder(banks: [.sha1, .sha256])
        e.append(pcr: 0, type: .sCRTMVersion, data: TCGEventData.crtmVersion("v"), hashing: tcgHashing)
        e.append(pcr: 7, type: .efiVariableDriverConfig,
                 data: TCGEventData.variable(vendor: .globalVariable, name: "SecureBoot", data: [1]), hashing: tcgHashing)
        e.append(pcr: 7, type: .separator, data: TCGEventData.separator(), hashing: tcgHashing)
        return e.bytes
    }

    func testTruncationAtEveryByteIsATypedError() throws {
        let whole = small()
        let full = try TCGEventLog.parse(whole)
        XCTAssertEqual(full.events.count, 4)
        let ends = Set(full.events.map { $0.offset + $0.encodedLength })
        for n in 0..<whole.count {
            do {
                let log = try TCGEventLog.parse(Array(whole[0..<n]))
                // Only a cut exactly between events parses, to the events before the cut.
                XCTAssertTrue(ends.contains(n), "cut at \(n) parsed")
                XCTAssertEqual(log.events.last.map { $0.offset + $0.encodedLength }, n)
            } catch {
                if n == 0 {
                    XCTAssertEqual(error.code, .emptyLog)
                    continue
                }
                XCTAssertTrue(error.code == .truncated, "cut at \(n): \(error)")
                let index = try XCTUnwrap(error.eventIndex, "cut at \(n)")
                let event = full.events[index]
                XCTAssertTrue((event.offset..<(event.offset + event.encodedLength)).contains(n - 1) || error.offset == n,
                              "cut at \(n): \(error)")
                XCTAssertLessThanOrEqual(try XCTUnwrap(error.offset), n)
                XCTAssertFalse(error.field.isEmpty)
            }
        }
    }

    func testEventSizeBeyondTheDataNamesTheField() throws {
        var bytes = small()
        let log = try TCGEventLog.parse(bytes)
        let last = log.events[3]
        let sizeAt = last.dataOffset - 4
        bytes[sizeAt] = 5  // separator claims 5 bytes, 4 present
        let e = try XCTUnwrap(error(bytes))
        XCTAssertEqual(e.code, .truncated)
        XCTAssertEqual(e.eventIndex, 3)
        XCTAssertEqual(e.offset, sizeAt)
        XCTAssertEqual(e.field, "TCG_PCR_EVENT2.eventSize")
        XCTAssertTrue(e.description.hasPrefix("event 3, byte \(sizeAt): TCG_PCR_EVENT2.eventSize"), e.description)
    }

    func testLyingSpecIDDigestSizes() throws {
        // sha256 listed with 20 bytes: refused where the Spec ID event says so.
        let lying = SpecIDEvent(algorithms: [(.sha1, 20), (.sha256, 20)])
        var e = TCGEventLogEncoder(specID: lying)
        e.append(pcr: 0, type: .separator, digests: [TCGDigest(.sha1, [UInt8](repeating: 0, count: 20)),
                                                    TCGDigest(.sha256, [UInt8](repeating: 0, count: 20))], data: [0, 0, 0, 0])
        let err = try XCTUnwrap(error(e.bytes))
        XCTAssertEqual(err.code, .digestSizeMismatch)
        XCTAssertEqual(err.eventIndex, 0)
        XCTAssertEqual(err.field, "TCG_EfiSpecIDEvent.digestSizes[1].digestSize")
        // 32 (header) + 16 signature + 4 + 4 + 4 count + 4 (sha1 entry) + 2 (sha256 id).
        XCTAssertEqual(err.offset, 32 + 16 + 8 + 4 + 4 + 2)
        // An unknown algorithm listed with size 0 or 65.
        for size in [0, 65] {
            let e2 = TCGEventLogEncoder(specID: SpecIDEvent(algorithms: [(TCGAlgorithm(rawValue: 0x7777), size)]))
            XCTAssertEqual(error(e2.bytes)?.code, .invalidSpecID)
        }
        // An event whose digests are shorter than the listed sizes: the frame slips and fails typed.
        var e3 = TCGEventLogEncoder(banks: [.sha256])
        e3.append(pcr: 0, type: .separator, digests: [TCGDigest(.sha256, [UInt8](repeating: 0, count: 20))], data: [0, 0, 0, 0])
        XCTAssertNotNil(error(e3.bytes))
        // A Spec ID event whose eventSize covers bytes after vendorInfo.
        var spec = TCGEventLogEncoder(banks: [.sha256]).bytes
        spec[28] &+= 1
        spec.append(0)
        XCTAssertEqual(error(spec)?.code, .invalidSpecID)
        // Duplicate algorithms, zero algorithms.
        XCTAssertEqual(error(TCGEventLogEncoder(specID: SpecIDEvent(algorithms: [(.sha256, 32), (.sha256, 32)])).bytes)?.code,
                       .invalidSpecID)
        XCTAssertEqual(error(TCGEventLogEncoder(specID: SpecIDEvent(algorithms: [])).bytes)?.code, .invalidSpecID)
    }

    func testUnknownAlgorithmsAndCounts() throws {
        var e = TCGEventLogEncoder(banks: [.sha256])
        let at = e.bytes.count
        e.append(pcr: 0, type: .separator, digests: [TCGDigest(TCGAlgorithm(rawValue: 0x0099), [1, 2])], data: [0, 0, 0, 0])
        let err = try XCTUnwrap(error(e.bytes))
        XCTAssertEqual(err.code, .unknownAlgorithm)
        XCTAssertEqual(err.eventIndex, 1)
        XCTAssertEqual(err.offset, at + 12)
        XCTAssertEqual(err.field, "TCG_PCR_EVENT2.digests[0].hashAlg")
        // More digests than listed algorithms.
        var many = TCGEventLogEncoder(banks: [.sha256])
        let digest = TCGDigest(.sha256, [UInt8](repeating: 0, count: 32))
        many.append(pcr: 0, type: .separator, digests: [digest, digest], data: [0, 0, 0, 0])
        let err2 = try XCTUnwrap(error(many.bytes))
        XCTAssertEqual(err2.code, .tooManyDigests)
        XCTAssertEqual(err2.field, "TCG_PCR_EVENT2.digests.count")
        // A duplicate within the listed count.
        var dup = TCGEventLogEncoder(banks: [.sha1, .sha256])
        dup.append(pcr: 0, type: .separator, digests: [digest, digest], data: [0, 0, 0, 0])
        XCTAssertEqual(error(dup.bytes)?.code, .duplicateDigest)
        // A count of 0xFFFFFFFF.
        var huge = TCGEventLogEncoder(banks: [.sha256])
        huge.appendRaw([0, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
        XCTAssertEqual(error(huge.bytes)?.code, .tooManyDigests)
    }

    func testHugeSizesAndLimits() throws {
        var e = TCGEventLogEncoder(banks: [.sha256])
        e.appendRaw([0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0x0b, 0] + [UInt8](repeating: 0, count: 32) + [0xff, 0xff, 0xff, 0xff])
        let err = try XCTUnwrap(error(e.bytes))
        XCTAssertEqual(err.code, .eventDataTooLong)
        XCTAssertEqual(err.field, "TCG_PCR_EVENT2.eventSize")
        XCTAssertTrue(err.reason.contains("maxEventDataLength"))
        XCTAssertEqual(error(small(), options: TCGEventLogOptions(maxLogLength: 100))?.code, .logTooLarge)
        XCTAssertEqual(error(small(), options: TCGEventLogOptions(maxEventDataLength: 8))?.code, .eventDataTooLong)
        XCTAssertEqual(error(small(), options: TCGEventLogOptions(maxPCRIndex: 6))?.code, .pcrOutOfRange)
        // A legacy first event with a 4 GB eventSize.
        XCTAssertEqual(error([0, 0, 0, 0, 1, 0, 0, 0] + [UInt8](repeating: 0, count: 20) + [0xff, 0xff, 0xff, 0x7f])?.code,
                       .eventDataTooLong)
    }

    func testSpecIDEventThatIsNotFirst() throws {
        var e = TCGEventLogEncoder(banks: [.sha256])
        e.append(pcr: 0, type: .noAction, data: SpecIDEvent(algorithms: [(.sha256, 32)]).encoded(), hashing: tcgHashing)
        let err = try XCTUnwrap(error(e.bytes))
        XCTAssertEqual(err.code, .specIDNotFirst)
        XCTAssertEqual(err.eventIndex, 1)
        var legacy = TCGEventLogEncoder(legacySHA1: ())
        legacy.append(pcr: 0, type: .separator, data: [0, 0, 0, 0], hashing: tcgHashing)
        legacy.append(pcr: 0, type: .noAction, data: SpecIDEvent(algorithms: [(.sha256, 32)]).encoded(), hashing: tcgHashing)
        XCTAssertEqual(error(legacy.bytes)?.code, .specIDNotFirst)
    }

    func testZeroLengthLog() {
        let err = error([])
        XCTAssertEqual(err?.code, .emptyLog)
        XCTAssertEqual(err?.offset, 0)
    }

    func testMalformedContentKeepsTheEventReplayable() throws {
        var e = TCGEventLogEncoder(banks: [.sha256])
        e.append(pcr: 7, type: .separator, data: TCGEventData.separator(), hashing: tcgHashing)
        // A variable whose VariableDataLength lies (says 9, 1 follows).
        var bad = TCGEventData.variable(vendor: .globalVariable, name: "SecureBoot", data: [1])
        bad[24] = 9
        e.append(pcr: 7, type: .efiVariableAuthority, data: bad, hashing: tcgHashing)
        let log = try TCGEventLog.parse(e.bytes)
        let event = log.events[2]
        let contentError = try XCTUnwrap(event.contentError)
        XCTAssertEqual(contentError.code, .malformedContent)
        XCTAssertEqual(contentError.eventIndex, 2)
        XCTAssertEqual(contentError.offset, event.dataOffset + 24)
        XCTAssertEqual(contentError.field, "UEFI_VARIABLE_DATA.VariableDataLength")
        XCTAssertEqual(log.contentErrors.count, 1)
        XCTAssertThrowsError(try event.strictContent())
        XCTAssertEqual(event.data, bad)
        // Replay extends it all the same.
        let replay = TCGPCRReplay(log, hashing: tcgHashing)
        var pcr7 = [UInt8](repeating: 0, count: 32)
        for ev in log.events.dropFirst() { pcr7 = try XCTUnwrap(tcgHashing.hash(.sha256, [pcr7, try XCTUnwrap(ev.digest(.sha256))])) }
        XCTAssertEqual(replay.value(pcr: 7, bank: .sha256), pcr7)
        // Strict decoding refuses the log with the same error.
        XCTAssertEqual(error(e.bytes, options: TCGEventLogOptions(strictContent: true))?.field, "UEFI_VARIABLE_DATA.VariableDataLength")
    }

    func testMalformedContentsOfEachKnownType() throws {
        let cases: [(TCGEventType, [UInt8], String)] = [
            (.separator, [0, 0, 0], "event"),
            (.efiAction, [0xc3, 0x28], "event"),
            (.efiPlatformFirmwareBlob, [1, 2, 3], "UEFI_PLATFORM_FIRMWARE_BLOB.BlobBase"),
            (.efiBootServicesApplication, [UInt8](repeating: 0, count: 24) + UInt64(99).bytesLE, "UEFI_IMAGE_LOAD_EVENT.LengthOfDevicePath"),
            (.efiGPTEvent, [UInt8](repeating: 0, count: 100), "UEFI_GPT_DATA.UEFIPartitionHeader.Signature"),
            (.efiHandoffTables, UInt64.max.bytesLE, "UEFI_HANDOFF_TABLE_POINTERS.NumberOfTables"),
            (.eventTag, [1, 0, 0, 0, 0xff, 0, 0, 0], "TCG_PCClientTaggedEvent.taggedEventData"),
            (.efiVariableDriverConfig, TCGEventData.variable(vendor: .imageSecurityDatabase, name: "db", data: [UInt8](repeating: 7, count: 30)),
             "EFI_SIGNATURE_LIST[0].SignatureListSize"),
            (.noAction, Array("StartupLocality".utf8) + [0], "StartupLocality"),
        ]
        for (type, data, field) in cases {
            var e = TCGEventLogEncoder(banks: [.sha256])
            e.append(pcr: 1, type: type, data: data, hashing: tcgHashing)
            let log = try TCGEventLog.parse(e.bytes)
            let err = try XCTUnwrap(log.events[1].contentError, "\(type)")
            XCTAssertEqual(err.field, field, "\(type): \(err)")
            XCTAssertEqual(err.eventIndex, 1)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(err.offset), log.events[1].dataOffset)
        }
    }
}

extension UInt64 {
    var bytesLE: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}

/// Device paths are read best-effort from untrusted bytes: short or lying nodes never trap.
final class TCGDevicePathTests: XCTestCase {
    func testShortAndLyingNodes() {
        // ACPI node with no data (once read 4 bytes past a 0-byte node), a HD node too short, a length of 2.
        let paths: [[UInt8]] = [
            [2, 1, 4, 0, 0x7f, 0xff, 4, 0],
            [2, 1, 6, 0, 0xd0, 0x41, 0x7f, 0xff, 4, 0],
            [4, 1, 8, 0, 1, 2, 3, 4, 0x7f, 0xff, 4, 0],
            [4, 6, 5, 0, 9],
            [1, 1, 2, 0],
            [4, 4, 0xff, 0xff, 0, 0],
        ]
        for p in paths {
            let path = EFIDevicePath(p)
            _ = path.description
            _ = path.filePath
        }
        XCTAssertEqual(EFIDevicePath([2, 1, 4, 0, 0x7f, 0xff, 4, 0]).description, "Path(2,1)")
        XCTAssertEqual(EFIDevicePath([1, 1, 2, 0]).description, "<malformed device path: 4 byte(s)>")
        XCTAssertEqual(EFIDevicePath.file("\\a.efi").filePath, "\\a.efi")
        XCTAssertEqual(EFIDevicePath([2, 1, 12, 0, 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0, 0x7f, 0xff, 4, 0]).description, "PciRoot(0x0)")
    }
}
