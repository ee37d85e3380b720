import BootReference
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TCGEventLog
import XCTest

/// The service judges the measured boot first: a group's reference carries boot references, the
/// agent sends the firmware event log (`--event-log`), and the real TPM's PCRs 0-9 hold what that
/// log says (a real OVMF boot's events, extended into swtpm as the firmware extended them).
final class MeasuredBootServiceTests: FleetTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TCGEventLogTests/Fixtures")

    func testTheBootIsJudgedBeforeTheLogAndARolloutAllowsBothKernels() throws {
        let verifier = VerifierProcess(dir: dir, database: dir.url("v.db"))
        try verifier.start()
        defer { verifier.stop() }
        let eventLogPath = Self.fixtures.appendingPathComponent("secureboot-off.bin").path
        let log = try TCGEventLog.parse(Array(try Data(contentsOf: URL(fileURLWithPath: eventLogPath))))
        let kernel = try XCTUnwrap(log.events.first { $0.eventType == .efiBootServicesApplication }?.digest(.sha256))

        // Image v1's kernel is another one; v2's is the one this node booted (by its EFI stub, no grub:
        // the command line is not measured). Secure Boot is off in this boot, so the references allow that.
        func reference(_ name: String, kernel digest: [UInt8]) throws -> String {
            var r = BootReference.signetDefault(chains: [BootChain(name: name, applications: [
                BootImage(name: "vmlinuz-\(name)", role: .kernel, sha256: BootDigest(digest)!)])])
            r.commandLine.mustBeMeasured = false
            r.secureBoot.required = false
            return dir.write("boot-\(name).json", Array(try JSONEncoder().encode(r)))
        }
        let v1 = try reference("6.12.1", kernel: [UInt8](repeating: 0x11, count: 32))
        let v2 = try reference("6.12.2", kernel: kernel)
        func upload(_ boots: [String]) throws {
            let r = try signet(["fleet", "upload-reference", "--verifier", verifier.url, "--admin-token-file", verifier.adminTokenFile,
                                "--cert", keys.certPath, "--manifest", dir.url("m.jsonl")] + boots.flatMap { ["--boot-reference", $0] })
            XCTAssertEqual(r.status, 0, r.output)
        }

        let node = try SimulatedNode(id: "uefi-node", dir: dir)
        try firmwareBoot(node, log)
        try node.run(programs)

        // Before the rollout: only v1's kernel is allowed; the node runs v2's.
        try upload([v1])
        let refused = try node.attest(verifier.url, extra: ["--event-log", eventLogPath])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stdout.contains("boot-rejected") && refused.stdout.contains("kernel-not-allowed"), refused.stdout)
        // The stored verdict carries the boot judgement, naming the PCR 4 event.
        let record = try XCTUnwrap(try history(verifier, node.id).first)
        XCTAssertFalse(record.passed)
        XCTAssertTrue(record.firstFailure?.contains("PCR 4") ?? false, record.firstFailure ?? "no first failure")

        // During the rollout both kernels are allowed: the node passes, judged on boot and log.
        try upload([v1, v2])
        let passed = try node.attest(verifier.url, extra: ["--event-log", eventLogPath])
        XCTAssertEqual(passed.status, 0, passed.output)
        XCTAssertTrue(passed.stdout.contains("reference v2"), passed.stdout)

        // The same node without its event log fails: the reference judges the boot.
        try node.run([programs[0]])
        let silent = try node.attest(verifier.url, extra: ["--no-event-log"])
        XCTAssertEqual(silent.status, 1, silent.output)
        XCTAssertTrue(silent.stdout.contains("boot-event-log-missing"), silent.stdout)

        // Another boot's log (Secure Boot on) does not explain this TPM's PCRs.
        let other = Self.fixtures.appendingPathComponent("secureboot-on.bin").path
        let mismatch = try node.attest(verifier.url, extra: ["--event-log", other])
        XCTAssertEqual(mismatch.status, 1, mismatch.output)
        XCTAssertTrue(mismatch.stdout.contains("boot-replay-mismatch"), mismatch.stdout)

        // After the rollout only v2: still passing, incrementally.
        try upload([v2])
        let after = try node.attest(verifier.url, extra: ["--event-log", eventLogPath])
        XCTAssertEqual(after.status, 0, after.output)
        XCTAssertTrue(after.stdout.contains("reference v3"), after.stdout)

        // A reference whose boot references disagree on their rules is refused at upload.
        var strict = try BootReference.decode(Array(try Data(contentsOf: URL(fileURLWithPath: v2))), source: v2)
        strict.secureBoot.required = true
        let strictPath = dir.write("boot-strict.json", Array(try JSONEncoder().encode(strict)))
        let conflict = try signet(["fleet", "upload-reference", "--verifier", verifier.url, "--admin-token-file", verifier.adminTokenFile,
                                   "--cert", keys.certPath, "--boot-reference", v2, "--boot-reference", strictPath])
        XCTAssertEqual(conflict.status, 2, conflict.output)
        XCTAssertTrue(conflict.stderr.contains("boot-strict.json") && conflict.stderr.contains("secureBoot"), conflict.stderr)
    }

    /// The firmware's part of a boot on the node's swtpm: every event of `log` extended into its
    /// PCR in the sha1 and sha256 banks, then IMA's boot_aggregate over the PCRs that result.
    func firmwareBoot(_ node: SimulatedNode, _ log: TCGEventLog) throws {
        let replay = TCGPCRReplay(log, hashing: TCGHashing(IMALogHashing()))
        XCTAssertEqual(replay.startupLocality, 0, "swtpm starts PCR 0 at locality 0")
        for event in log.events where event.eventType != .noAction {
            let banks = [(TCGAlgorithm.sha1, "sha1"), (.sha256, "sha256")].compactMap { bank, name in
                event.digest(bank).map { "\(name)=\(Hex.encode($0))" }
            }
            try node.swtpm.tool("tpm2_pcrextend", ["\(event.pcrIndex):" + banks.joined(separator: ",")])
        }
        let pcrs = try XCTUnwrap(replay.values[.sha256])
        let aggregate = Digester.hash((0...9).flatMap { pcrs[UInt32($0)] ?? [UInt8](repeating: 0, count: 32) }, .sha256)
        try node.measure([.bootAggregate(aggregate)])
    }
}
