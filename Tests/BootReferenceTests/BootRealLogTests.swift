import BootReference
import Foundation
import IMAFormat
import TCGEventLog
import XCTest

/// The judge on real OVMF logs (Tests/TCGEventLogTests/Fixtures: direct-kernel boots, no shim or grub).
final class BootRealLogTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TCGEventLogTests/Fixtures")

    func load(_ name: String) throws -> (TCGEventLog, [UInt32: [TCGAlgorithm: [UInt8]]]) {
        let log = try TCGEventLog.parse(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).bin"))))
        var quoted = [UInt32: [TCGAlgorithm: [UInt8]]]()
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("\(name).pcrs"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, let pcr = UInt32(f[1]), pcr != 10, let value = Hex.decode(f[2].lowercased()),
                  let bank = TCGAlgorithm.known.first(where: { $0.name == f[0] }) else { continue }
            quoted[pcr, default: [:]][bank] = value
        }
        return (log, quoted)
    }

    func testSecureBootOnDirectKernelBoot() throws {
        let (log, quoted) = try load("secureboot-on")
        // OVMF refused the Debian-signed kernel and started it with its legacy loader: no PCR 4 application.
        let reference = BootReference.signetDefault(chains: [BootChain(name: "ovmf-direct", applications: [])])
        let v = BootJudge.judge(log: log, quotedPCRs: quoted, reference: reference, hashing: bootHashing)
        XCTAssertEqual(v.secureBoot, true)
        XCTAssertEqual(v.applications, [])
        // No grub: the command line is not in PCR 8, so the default rules cannot be checked.
        XCTAssertEqual(v.codes, [.commandLineNotMeasured])
        var lenient = reference
        lenient.commandLine.mustBeMeasured = false
        let v2 = BootJudge.judge(log: log, quotedPCRs: quoted, reference: lenient, hashing: bootHashing)
        XCTAssertEqual(v2.failures, [])
        XCTAssertEqual(v2.matchedChain, "ovmf-direct")
        // The real db holds Microsoft's two CAs: pinning only one of them fails naming the db event.
        var pinned = lenient
        pinned.secureBoot.db = SignatureDatabaseRule(allowedEntries: [BootDigest([UInt8](repeating: 0, count: 32))!])
        let v3 = BootJudge.judge(log: log, quotedPCRs: quoted, reference: pinned, hashing: bootHashing)
        XCTAssertEqual(Set(v3.codes), [.dbNotAllowed])
        XCTAssertEqual(Set(v3.failures.compactMap(\.pcr)), [7])
        // A quote from another boot (the Secure Boot off one) is not explained by this log.
        let (_, otherQuote) = try load("secureboot-off")
        let v4 = BootJudge.judge(log: log, quotedPCRs: otherQuote, reference: lenient, hashing: bootHashing)
        XCTAssertEqual(v4.codes, [.replayMismatch])
        XCTAssertEqual(v4.failures[0].pcr, 0)
    }

    func testSecureBootOffDirectKernelBoot() throws {
        let (log, quoted) = try load("secureboot-off")
        let kernelEvent = try XCTUnwrap(log.events.first { $0.eventType == .efiBootServicesApplication })
        let kernelDigest = try XCTUnwrap(BootDigest(try XCTUnwrap(kernelEvent.digest(.sha256))))
        var reference = BootReference.signetDefault(chains: [BootChain(name: "stub", applications: [
            BootImage(name: "vmlinuz", role: .kernel, sha256: kernelDigest),
        ])])
        reference.commandLine.mustBeMeasured = false
        let v = BootJudge.judge(log: log, quotedPCRs: quoted, reference: reference, hashing: bootHashing)
        XCTAssertEqual(v.secureBoot, false)
        XCTAssertEqual(v.codes, [.secureBootOff])
        let secureBootEvent = try XCTUnwrap(log.events.first { if case .variable(let x) = $0.content { return x.name == "SecureBoot" }; return false })
        XCTAssertEqual(v.failures[0].eventIndex, secureBootEvent.index)
        XCTAssertEqual(v.failures[0].measured, "SecureBoot=0")
        XCTAssertEqual(v.applications, [kernelDigest])
        // With Secure Boot not required, the kernel chain matches; another kernel does not.
        reference.secureBoot.required = false
        XCTAssertEqual(BootJudge.judge(log: log, quotedPCRs: quoted, reference: reference, hashing: bootHashing).matchedChain, "stub")
        reference.chains[0].applications[0].sha256 = BootDigest([UInt8](repeating: 7, count: 32))!
        let v2 = BootJudge.judge(log: log, quotedPCRs: quoted, reference: reference, hashing: bootHashing)
        XCTAssertEqual(v2.codes, [.kernelNotAllowed])
        XCTAssertEqual(v2.failures[0].eventIndex, kernelEvent.index)
        // The EFI stub measured the initrd (tag 0x8F3B22EC) in PCR 9: pinning another initrd fails.
        reference.chains[0].applications[0].sha256 = kernelDigest
        reference.chains[0].initrds = [BootDigest([UInt8](repeating: 1, count: 32))!]
        XCTAssertEqual(BootJudge.judge(log: log, quotedPCRs: quoted, reference: reference, hashing: bootHashing).codes, [.initrdNotAllowed])
    }
}
