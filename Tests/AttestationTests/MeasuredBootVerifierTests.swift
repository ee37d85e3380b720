import BootReference
import Foundation
import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TCGEventLog
import TPM

/// The verifier judges the measured boot before the IMA log: real OVMF event logs
/// (Tests/TCGEventLogTests/Fixtures, made by tools/make-eventlog-fixtures) whose PCR values
/// the software TPM takes as its firmware PCRs, so the quote covers what the firmware measured.
final class MeasuredBootVerifierTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TCGEventLogTests/Fixtures")

    /// A node whose PCRs 0-9 are those the real boot `name` left, booted (IMA log from entry 0) on
    /// them, and that boot's event log.
    func node(booted name: String, log logName: String? = nil) throws -> (NodeScenario, [UInt8]) {
        let log = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("\(logName ?? name).bin")))
        let node = NodeScenario()
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("\(name).pcrs"), encoding: .utf8)
        var set = 0
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, let pcr = Int(f[1]), (0...9).contains(pcr), let value = Hex.decode(f[2].lowercased()) else { continue }
            let bank: HashAlgorithm
            switch f[0] { case "sha1": bank = .sha1; case "sha256": bank = .sha256; default: continue }
            node.tpm.pcrs[bank]![pcr] = value
            set += 1
        }
        XCTAssertEqual(set, 20, "\(name).pcrs: sha1 and sha256 values of PCRs 0-9")
        for bank in [HashAlgorithm.sha1, .sha256] { node.tpm.pcrs[bank]![10] = [UInt8](repeating: 0, count: bank.digestLength) }
        node.entries = []
        node.boot()
        return (node, log)
    }

    /// The fixtures are direct kernel boots (no shim, no grub): one chain with no PCR 4
    /// application; without grub the command line is not measured.
    func directBootReference(commandLineMeasured: Bool = false) -> BootReference {
        var reference = BootReference.signetDefault(chains: [BootChain(name: "ovmf-direct", applications: [])])
        reference.commandLine.mustBeMeasured = commandLineMeasured
        return reference
    }

    func verify(_ node: NodeScenario, bootLog: [UInt8]?, nonce: [UInt8] = newNonce()) -> Verdict {
        var evidence = node.evidence(nonce: nonce)
        evidence.bootEventLog = bootLog
        return AttestationVerifier(reference: node.reference).verify(evidence, expecting: node.expectations(nonce: nonce), previous: nil).verdict
    }

    func testAnAllowedBootIsJudgedFirstThenTheLog() throws {
        let (node, log) = try node(booted: "secureboot-on")
        node.reference.boot = directBootReference()
        let verdict = verify(node, bootLog: log)
        XCTAssertPasses(verdict)
        let boot = try XCTUnwrap(verdict.boot)
        XCTAssertEqual(boot.matchedChain, "ovmf-direct")
        XCTAssertEqual(boot.secureBoot, true)
        XCTAssertEqual(boot.events, try TCGEventLog.parse(log).events.count)
        XCTAssertEqual(verdict.log?.judgedEntries, 6)
        XCTAssertTrue(verdict.textReport().contains("  boot    chain ovmf-direct matched, Secure Boot on"), verdict.textReport())
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(verdict.jsonReport())) as? [String: Any])
        let bootJSON = try XCTUnwrap(json["boot"] as? [String: Any])
        XCTAssertEqual(bootJSON["passed"] as? Bool, true)
        XCTAssertEqual(bootJSON["matched_chain"] as? String, "ovmf-direct")
        XCTAssertEqual(bootJSON["secure_boot"] as? Bool, true)
    }

    func testABootTheReferenceRefusesStopsBeforeTheIMALog() throws {
        let (node, log) = try node(booted: "secureboot-on")
        node.reference.boot = directBootReference(commandLineMeasured: true)
        let verdict = verify(node, bootLog: log)
        XCTAssertFails(verdict, .bootRejected)
        XCTAssertEqual(verdict.boot?.failures.map(\.code), [.commandLineNotMeasured])
        XCTAssertNil(verdict.log, "the IMA log is not read after a rejected boot")
        XCTAssertTrue(verdict.textReport().contains("[cmdline-not-measured]"), verdict.textReport())
    }

    func testSecureBootOffIsNamed() throws {
        let (node, log) = try node(booted: "secureboot-off")
        var reference = directBootReference()
        // the Secure Boot off fixture's kernel is started by its EFI stub: allow that image, so only Secure Boot fails
        let parsed = try TCGEventLog.parse(log)
        let kernel = try XCTUnwrap(parsed.events.first { $0.eventType == .efiBootServicesApplication }?.digest(.sha256))
        reference.chains = [BootChain(name: "stub", applications: [BootImage(name: "vmlinuz", role: .kernel, sha256: BootDigest(kernel)!)])]
        node.reference.boot = reference
        let verdict = verify(node, bootLog: log)
        XCTAssertFails(verdict, .bootRejected)
        let failure = try XCTUnwrap(verdict.boot?.failures.first { $0.code == .secureBootOff }, verdict.textReport())
        XCTAssertEqual(failure.pcr, 7)
        XCTAssertTrue(verdict.reasons[0].message.contains("secure-boot-off"), verdict.reasons[0].message)
        // Secure Boot not required: the same boot passes.
        reference.secureBoot.required = false
        node.reference.boot = reference
        XCTAssertPasses(verify(node, bootLog: log))
    }

    func testNoEventLogFailsWhenTheBootIsJudged() throws {
        let (node, _) = try node(booted: "secureboot-on")
        node.reference.boot = directBootReference()
        let verdict = verify(node, bootLog: nil)
        XCTAssertFails(verdict, .bootEventLogMissing)
        XCTAssertEqual(verdict.reasons.first?.field, "boot_event_log")
        XCTAssertNil(verdict.log)
        // Without a boot reference the same evidence passes (boot_aggregate still checks PCRs 0-9).
        node.reference.boot = nil
        XCTAssertPasses(verify(node, bootLog: nil))
    }

    func testAnUnparsableEventLogIsNamed() throws {
        let (node, log) = try node(booted: "secureboot-on")
        node.reference.boot = directBootReference()
        let verdict = verify(node, bootLog: Array(log.prefix(100)))
        XCTAssertFails(verdict, .bootEventLogMalformed)
        XCTAssertEqual(verdict.reasons.first?.field, "boot_event_log.data")
        XCTAssertNotNil(verdict.reasons.first?.offset)
    }

    func testAnEditedEventFailsTheReplayNamingItsPCR() throws {
        let (node, log) = try node(booted: "secureboot-on")
        node.reference.boot = directBootReference()
        let parsed = try TCGEventLog.parse(log)
        // The SecureBoot variable event: flip a byte of its sha256 digest (TCG_PCR_EVENT2: pcr, type,
        // digest count, then each algorithm id and its digest). Only the sha256 bank of PCR 7 is
        // quoted: an edit of the sha1 digest changes nothing the verifier relies on.
        let event = try XCTUnwrap(parsed.events.first { $0.pcrIndex == 7 && $0.eventType == .efiVariableDriverConfig })
        let sizes: [UInt16: Int] = [0x0004: 20, 0x000B: 32, 0x000C: 48, 0x000D: 64]
        var at = event.offset + 12
        while UInt16(log[at]) | UInt16(log[at + 1]) << 8 != 0x000B {
            at += 2 + (try XCTUnwrap(sizes[UInt16(log[at]) | UInt16(log[at + 1]) << 8]))
        }
        var edited = log
        edited[at + 2] ^= 0x01
        let verdict = verify(node, bootLog: edited)
        XCTAssertFails(verdict, .bootRejected)
        let failure = try XCTUnwrap(verdict.boot?.failures.first, verdict.textReport())
        XCTAssertEqual(failure.code, .replayMismatch)
        XCTAssertEqual(failure.pcr, 7)
    }

    func testALogFromAnotherBootDoesNotExplainTheQuote() throws {
        // the TPM holds the Secure Boot off boot's PCRs; the node sends the Secure Boot on boot's log
        let (node, log) = try node(booted: "secureboot-off", log: "secureboot-on")
        node.reference.boot = directBootReference()
        let verdict = verify(node, bootLog: log)
        XCTAssertFails(verdict, .bootRejected)
        XCTAssertEqual(verdict.boot?.failures.first?.code, .replayMismatch)
        XCTAssertEqual(verdict.boot?.failures.first?.pcr, 0)
    }

    func testTheEventLogTravelsInTheEvidence() throws {
        let (node, log) = try node(booted: "secureboot-on")
        var evidence = node.evidence(nonce: newNonce())
        evidence.bootEventLog = log
        let decoded = try Evidence.decode(evidence.encoded())
        XCTAssertEqual(decoded.bootEventLog, log)
        XCTAssertNil(try Evidence.decode(node.evidence(nonce: newNonce()).encoded()).bootEventLog)
        // bad base64, empty, over the limit: refused naming the field
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evidence.encoded())) as? [String: Any])
        for (value, code) in [("not base64!", EvidenceError.Code.invalidField), ("", .invalidField)] {
            json["boot_event_log"] = ["data": value]
            let bytes = Array(try JSONSerialization.data(withJSONObject: json))
            XCTAssertThrowsError(try Evidence.decode(bytes)) { error in
                let e = error as? EvidenceError
                XCTAssertEqual(e?.code, code)
                XCTAssertEqual(e?.field, "boot_event_log.data")
            }
        }
        json["boot_event_log"] = ["data": Data(log).base64EncodedString()]
        XCTAssertThrowsError(try Evidence.decode(Array(try JSONSerialization.data(withJSONObject: json)),
                                                 limits: EvidenceLimits(maxBootEventLogBytes: 1000))) { error in
            XCTAssertEqual((error as? EvidenceError)?.code, .tooLarge)
            XCTAssertEqual((error as? EvidenceError)?.field, "boot_event_log.data")
        }
    }

    func testBootReferencesAreMergedForARolloutOnlyWhenTheirRulesAgree() throws {
        let encoder = JSONEncoder()
        let old = BootReference.signetDefault(chains: [BootChain(name: "6.12.1", applications: [])])
        let new = BootReference.signetDefault(chains: [BootChain(name: "6.12.2", applications: [])])
        var sources = ReferenceSources(bootReferences: [("old.json", Array(try encoder.encode(old))), ("new.json", Array(try encoder.encode(new))),
                                                        ("again.json", Array(try encoder.encode(old)))])
        XCTAssertEqual(try sources.build().boot?.chains.map(\.name), ["6.12.1", "6.12.2"])
        var lax = new
        lax.commandLine.mustBeMeasured = false
        sources.bootReferences = [("old.json", Array(try encoder.encode(old))), ("lax.json", Array(try encoder.encode(lax)))]
        XCTAssertThrowsError(try sources.build()) { error in
            let e = error as? BootReferenceError
            XCTAssertEqual(e?.code, .conflictingRules)
            XCTAssertEqual(e?.source, "lax.json")
            XCTAssertEqual(e?.field, "commandLine")
        }
        // Not a boot reference, another format, a key twice: refused naming the source.
        for (bytes, code) in [(Array("{\"format\":\"signet-evidence\",\"version\":1}".utf8), BootReferenceError.Code.unsupportedFormat),
                              (Array("{\"format\":\"signet-boot-reference\",\"version\":2}".utf8), .unsupportedVersion),
                              (Array("{\"format\":\"signet-boot-reference\",\"version\":1}".utf8), .missingField),
                              (Array("{\"format\":\"signet-boot-reference\",\"format\":\"x\"}".utf8), .invalidField),
                              (Array("[1,".utf8), .invalidJSON)] {
            sources.bootReferences = [("bad.json", bytes)]
            XCTAssertThrowsError(try sources.build()) { error in
                XCTAssertEqual((error as? BootReferenceError)?.code, code, "\(error)")
                XCTAssertTrue("\(error)".hasPrefix("bad.json"), "\(error)")
            }
        }
    }
}
