import XCTest
import BootReference
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport
import TCGEventLog

/// `signet agent quote` + `signet attest verify` against a real swtpm: a log
/// whose entries the test extends into PCR 10 with tpm2_pcrextend, as the
/// kernel would, judged against a signed manifest.
final class AttestCLITests: SwtpmCLITestCase {

    /// An ima-ng entry as the kernel logs it, and what it extends into the sha256 bank.
    func entry(path: String, digest: [UInt8]) -> (bytes: [UInt8], sha256: [UInt8]) {
        let e = TestLogEntry.imaNG(path, digest: digest)
        return (TestLogEncoder.encode(e), TestLogEncoder.extendValue(e, bank: .sha256))
    }

    /// Appends entries to the log file and extends PCR 10 (sha256) with each, in order.
    func measure(_ entries: [(bytes: [UInt8], sha256: [UInt8])], into log: String) throws {
        var bytes = (try? FileBytes.read(log, limit: 1 << 24)) ?? []
        for e in entries {
            bytes += e.bytes
            try swtpm.tool("tpm2_pcrextend", ["10:sha256=\(Hex.encode(e.sha256))"])
        }
        try FileBytes.writeAtomically(bytes, to: log, mode: 0o644)
    }

    func signet(_ args: [String]) throws -> ProcessResult { try runProgram(signetBinary, args) }

    /// The reference and the node: keys, a tree with programs a and b signed with its manifest,
    /// and an agent enrolled on the swtpm.
    func signedTreeAndEnrolledAgent(file: StaticString = #filePath, line: UInt = #line) throws
        -> (keys: KeyFixture, a: String, manifest: String, agent: String) {
        let keys = try KeyFixture(in: dir)
        let a = dir.write("tree/usr/bin/a", "program a", mode: 0o755)
        dir.write("tree/usr/bin/b", "program b", mode: 0o755)
        let manifest = dir.url("m.jsonl")
        let sign = try signet(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--manifest", manifest, dir.url("tree")])
        XCTAssertEqual(sign.status, 0, sign.output, file: file, line: line)
        let agent = dir.url("agent")
        let enroll = try signet(["agent", "enroll", "--tcti", swtpm.tcti, "--out", agent])
        XCTAssertEqual(enroll.status, 0, enroll.output, file: file, line: line)
        return (keys, a, manifest, agent)
    }

    func testQuoteVerifyIncrementallyAndCatchAnUnknownProgram() throws {
        // Keys, a signed tree and its manifest: the reference.
        let (keys, a, manifest, agent) = try signedTreeAndEnrolledAgent()

        // The node boots: boot_aggregate over PCRs 0-9 (all zero on a fresh swtpm), then runs a and b.
        let log = dir.url("binary_runtime_measurements")
        let bootAggregate = Digester.hash([UInt8](repeating: 0, count: 32 * 10), .sha256)
        try measure([entry(path: "boot_aggregate", digest: bootAggregate),
                     entry(path: "/usr/bin/a", digest: Digester.hash(try FileBytes.read(a), .sha256)),
                     entry(path: "/usr/bin/b", digest: Digester.hash(Array("program b".utf8), .sha256))], into: log)
        let state = dir.url("node.state")
        let reference = ["--cert", keys.certPath, "--manifest", manifest]

        let nonce1 = "00112233445566778899"
        let q1 = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce1, "--log", log, "--out", dir.url("e1.json")])
        XCTAssertEqual(q1.status, 0, q1.output)
        let v1 = try signet(["attest", "verify", dir.url("e1.json"), "--nonce", nonce1, "--ak", "\(agent)/ak.pem", "--state", state, "--json"] + reference)
        XCTAssertEqual(v1.status, 0, v1.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: state), "a pass writes the node's state")
        var st = stat()
        XCTAssertEqual(stat(state, &st), 0)
        XCTAssertEqual(st.st_mode & 0o077, 0)

        // The same evidence checked against another nonce: a replayed quote.
        let replay = try signet(["attest", "verify", dir.url("e1.json"), "--nonce", "ffeeddccbbaa99887766", "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(replay.status, 1, replay.output)
        XCTAssertTrue(replay.stdout.contains("[nonce-mismatch]"), replay.stdout)

        // Later something not in the manifest runs; the agent sends only the new entries.
        try measure([entry(path: "/tmp/dropper", digest: Digester.hash(Array("evil".utf8), .sha256))], into: log)
        let nonce2 = "0a0b0c0d0e0f10111213"
        let q2 = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce2, "--log", log,
                             "--from-entry", "3", "--out", dir.url("e2.json")])
        XCTAssertEqual(q2.status, 0, q2.output)
        let v2 = try signet(["attest", "verify", dir.url("e2.json"), "--nonce", nonce2, "--ak", "\(agent)/ak.pem", "--state", state] + reference)
        XCTAssertEqual(v2.status, 1, v2.output)
        XCTAssertTrue(v2.stdout.contains("/tmp/dropper"), v2.stdout)
        XCTAssertFalse(v2.stdout.contains("/usr/bin/a"), "entries verified in the previous round are not judged again: \(v2.stdout)")
        // Without the state, an incremental log cannot be replayed from zero: refused, never a pass.
        let stateless = try signet(["attest", "verify", dir.url("e2.json"), "--nonce", nonce2, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(stateless.status, 1, stateless.output)
        // The whole log again, with the state: still only the new entry is judged (issue 13:
        // the help says so); --rounds repeats decode + verify in one process.
        let nonce3 = "1a1b1c1d1e1f20212223"
        let q3 = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce3, "--log", log, "--out", dir.url("e3.json")])
        XCTAssertEqual(q3.status, 0, q3.output)
        let v3 = try signet(["attest", "verify", dir.url("e3.json"), "--nonce", nonce3, "--ak", "\(agent)/ak.pem", "--state", state,
                             "--rounds", "2"] + reference)
        XCTAssertEqual(v3.status, 1, v3.output)
        XCTAssertTrue(v3.stdout.contains("/tmp/dropper"), v3.stdout)
        XCTAssertFalse(v3.stdout.contains("/usr/bin/a"), "the head the state covers is not judged again: \(v3.stdout)")
        XCTAssertTrue(v3.stdout.contains("round 2 FAIL: 1 entries decoded and verified"), v3.stdout)
        // The operator excludes /tmp: the same round passes.
        let excluded = try signet(["attest", "verify", dir.url("e2.json"), "--nonce", nonce2, "--ak", "\(agent)/ak.pem", "--state", state, "--exclude", "/tmp/*"] + reference)
        XCTAssertEqual(excluded.status, 0, excluded.output)

        // Evidence with a field missing: a clear input error, exit 2.
        var doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try FileBytes.read(dir.url("e1.json")))) as? [String: Any])
        doc.removeValue(forKey: "quote")
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: dir.url("broken.json")))
        let broken = try signet(["attest", "verify", dir.url("broken.json"), "--nonce", nonce1, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(broken.status, 2, broken.output)
        XCTAssertTrue(broken.stderr.contains("quote"), broken.stderr)
        // An unsigned manifest is not a reference.
        unlink(manifest + ".sig")
        let unsigned = try signet(["attest", "verify", dir.url("e1.json"), "--nonce", nonce1, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(unsigned.status, 2, unsigned.output)
        XCTAssertTrue(unsigned.stderr.contains("unsigned manifest"), unsigned.stderr)
    }

    /// `agent quote` sends the firmware event log and `attest verify --boot-reference` judges the
    /// boot before the IMA log. The swtpm's PCRs 0-9 get a real OVMF boot's events
    /// (Tests/TCGEventLogTests/Fixtures/secureboot-off.bin), extended as the firmware did.
    func testAttestVerifyJudgesTheMeasuredBootFirst() throws {
        let (keys, a, manifest, agent) = try signedTreeAndEnrolledAgent()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TCGEventLogTests/Fixtures/secureboot-off.bin").path
        let eventLog = try TCGEventLog.parse(try FileBytes.read(fixture))
        for event in eventLog.events where event.eventType != .noAction {
            let banks = [(TCGAlgorithm.sha1, "sha1"), (.sha256, "sha256")].compactMap { bank, name in
                event.digest(bank).map { "\(name)=\(Hex.encode($0))" }
            }
            try swtpm.tool("tpm2_pcrextend", ["\(event.pcrIndex):" + banks.joined(separator: ",")])
        }
        let replayed = try XCTUnwrap(TCGPCRReplay(eventLog, hashing: TCGHashing(IMALogHashing())).values[.sha256])
        let log = dir.url("binary_runtime_measurements")
        try measure([entry(path: "boot_aggregate", digest: Digester.hash((0...9).flatMap { replayed[UInt32($0)] ?? [UInt8](repeating: 0, count: 32) }, .sha256)),
                     entry(path: "/usr/bin/a", digest: Digester.hash(try FileBytes.read(a), .sha256))], into: log)

        // The boot reference: this boot's kernel (started by its EFI stub, Secure Boot off, no grub).
        let kernel = try XCTUnwrap(eventLog.events.first { $0.eventType == .efiBootServicesApplication }?.digest(.sha256))
        var boot = BootReference.signetDefault(chains: [BootChain(name: "stub", applications: [
            BootImage(name: "vmlinuz", role: .kernel, sha256: BootDigest(kernel)!)])])
        boot.commandLine.mustBeMeasured = false
        boot.secureBoot.required = false
        let lenient = dir.write("boot-lenient.json", Array(try JSONEncoder().encode(boot)))
        boot.secureBoot.required = true
        let strict = dir.write("boot-strict.json", Array(try JSONEncoder().encode(boot)))
        let reference = ["--cert", keys.certPath, "--manifest", manifest]

        let nonce = "00112233445566778899"
        let quote = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce, "--log", log,
                                "--event-log", fixture, "--out", dir.url("e.json")])
        XCTAssertEqual(quote.status, 0, quote.output)
        XCTAssertTrue(quote.stdout.contains("firmware event log \(try FileBytes.read(fixture).count) bytes"), quote.stdout)
        let pass = try signet(["attest", "verify", dir.url("e.json"), "--nonce", nonce, "--ak", "\(agent)/ak.pem", "--boot-reference", lenient] + reference)
        XCTAssertEqual(pass.status, 0, pass.output)
        XCTAssertTrue(pass.stdout.contains("  boot    chain stub matched, Secure Boot off"), pass.stdout)
        let json = try signet(["attest", "verify", dir.url("e.json"), "--nonce", nonce, "--ak", "\(agent)/ak.pem", "--boot-reference", lenient,
                               "--json"] + reference)
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], json.output)
        XCTAssertEqual((doc["boot"] as? [String: Any])?["matched_chain"] as? String, "stub")

        // Secure Boot required: the boot fails naming the SecureBoot variable's event, and the IMA log is not judged.
        let refused = try signet(["attest", "verify", dir.url("e.json"), "--nonce", nonce, "--ak", "\(agent)/ak.pem", "--boot-reference", strict] + reference)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stdout.contains("[secure-boot-off]") && refused.stdout.contains("PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG"), refused.stdout)
        XCTAssertFalse(refused.stdout.contains("  log     "), refused.stdout)

        // Evidence without the event log fails when the boot is judged, and passes when it is not.
        let bare = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce, "--log", log, "--no-event-log",
                               "--out", dir.url("bare.json")])
        XCTAssertEqual(bare.status, 0, bare.output)
        XCTAssertTrue(bare.stdout.contains("no firmware event log"), bare.stdout)
        let missing = try signet(["attest", "verify", dir.url("bare.json"), "--nonce", nonce, "--ak", "\(agent)/ak.pem", "--boot-reference", lenient] + reference)
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.stdout.contains("[boot-event-log-missing]"), missing.stdout)
        let unjudged = try signet(["attest", "verify", dir.url("bare.json"), "--nonce", nonce, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(unjudged.status, 0, unjudged.output)

        // Bad input: an unreadable event log, a broken boot reference, a boot reference where no quote is.
        let noFile = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce, "--log", log,
                                 "--event-log", dir.url("absent.bin"), "--out", dir.url("x.json")])
        XCTAssertEqual(noFile.status, 2, noFile.output)
        XCTAssertTrue(noFile.stderr.contains("absent.bin"), noFile.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("x.json")), "nothing written on an error")
        let broken = dir.write("boot-broken.json", "{\"format\": \"signet-boot-reference\", \"version\": 1, \"chains\": 3}")
        let bad = try signet(["attest", "verify", dir.url("e.json"), "--nonce", nonce, "--ak", "\(agent)/ak.pem", "--boot-reference", broken] + reference)
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(bad.stderr.contains("boot-broken.json") && bad.stderr.contains("chains"), bad.stderr)
        let offline = try signet(["attest", "check-log", log, "--boot-reference", lenient] + reference)
        XCTAssertEqual(offline.status, 2, offline.output)
        XCTAssertTrue(offline.stderr.contains("boot-reference check"), offline.stderr)
    }

    /// A program that runs while the agent reads the log leaves an honest node passing. The
    /// agent quotes first and reads the log after, so the log holds every entry the quote
    /// covers; one that read first would quote a PCR 10 ahead of its log. Made deterministic with
    /// a FIFO as the log: the test extends the new entry into PCR 10 after the agent has opened
    /// the log and before the agent can finish reading it.
    func testAProgramRunDuringTheLogReadLeavesAnHonestNodePassing() throws {
        let (keys, a, manifest, agent) = try signedTreeAndEnrolledAgent()
        let measured = dir.url("measured")
        let bootAggregate = Digester.hash([UInt8](repeating: 0, count: 32 * 10), .sha256)
        try measure([entry(path: "boot_aggregate", digest: bootAggregate),
                     entry(path: "/usr/bin/a", digest: Digester.hash(try FileBytes.read(a), .sha256))], into: measured)
        let live = dir.url("live_measurements")
        XCTAssertEqual(mkfifo(live, 0o600), 0, "mkfifo: \(errno)")

        let nonce = "5a5a5a5a0102030405"
        let signetPath = signetBinary, tcti = swtpm.tcti, evidence = dir.url("e.json")
        nonisolated(unsafe) var quoted: ProcessResult?
        let quoter = Thread {
            quoted = try? runProgram(signetPath, ["agent", "quote", "--tcti", tcti, "--ak", agent, "--nonce", nonce,
                                                  "--log", live, "--out", evidence])
        }
        quoter.start()
        let fd = openFIFOWriter(live, giveUpWhen: { quoter.isFinished })
        XCTAssertGreaterThanOrEqual(fd, 0, "the agent never opened its log: \(quoted?.output ?? "still running")")
        guard fd >= 0 else { return }
        let logged = try FileBytes.read(measured)
        let written = logged.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        XCTAssertEqual(written, logged.count)
        // /usr/bin/b runs now: extended into PCR 10; it reaches the log only after this read ends.
        let b = entry(path: "/usr/bin/b", digest: Digester.hash(Array("program b".utf8), .sha256))
        try swtpm.tool("tpm2_pcrextend", ["10:sha256=\(Hex.encode(b.sha256))"])
        close(fd)
        while !quoter.isFinished { usleep(10_000) }

        let quote = try XCTUnwrap(quoted, "agent quote did not run")
        XCTAssertEqual(quote.status, 0, quote.output)
        let reference = ["--cert", keys.certPath, "--manifest", manifest]
        let verdict = try signet(["attest", "verify", evidence, "--nonce", nonce, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(verdict.status, 0, "the quote must not be ahead of the log it was sent with: \(verdict.output)")
    }

    func testKeylimeExportOfASignedManifestImportsBack() throws {
        let keys = try KeyFixture(in: dir)
        dir.write("tree/usr/bin/a", "a", mode: 0o755)
        let manifest = dir.url("m.jsonl")
        XCTAssertEqual(try signet(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--manifest", manifest, dir.url("tree")]).status, 0)
        let out = dir.url("runtime-policy.json")
        let export = try signet(["reference", "export-keylime", "--cert", keys.certPath, "--manifest", manifest, "-o", out])
        XCTAssertEqual(export.status, 0, export.output)
        let policy = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try FileBytes.read(out))) as? [String: Any])
        let digests = try XCTUnwrap(policy["digests"] as? [String: [String]])
        XCTAssertEqual(digests["/usr/bin/a"], [Hex.encode(Digester.hash(Array("a".utf8), .sha256))])
        let back = try signet(["reference", "import-keylime", out])
        XCTAssertEqual(back.status, 0, back.output)
        XCTAssertTrue(back.stdout.contains("1 paths"), back.stdout)
        let junk = dir.write("junk.json", "{\"meta\": {}}")
        let bad = try signet(["reference", "import-keylime", junk])
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(export.stderr.contains("no boot_aggregate values"), export.stderr)

        // The keyrings the kernel logs (.ima and _ima by default, or --keyring) and boot_aggregate values.
        let aggregate = String(repeating: "ab", count: 32)
        let tuned = try signet(["reference", "export-keylime", "--cert", keys.certPath, "--manifest", manifest, "--keyring", "_ima",
                                "--boot-aggregate", "sha256:\(aggregate)", "-o", out])
        XCTAssertEqual(tuned.status, 0, tuned.output)
        XCTAssertFalse(tuned.stderr.contains("boot_aggregate"), tuned.stderr)
        let tunedPolicy = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try FileBytes.read(out))) as? [String: Any])
        XCTAssertEqual((tunedPolicy["keyrings"] as? [String: [String]])?.keys.sorted(), ["_ima"])
        XCTAssertEqual((tunedPolicy["digests"] as? [String: [String]])?["boot_aggregate"], [aggregate])
        XCTAssertEqual((policy["keyrings"] as? [String: [String]])?.keys.sorted(), [".ima", "_ima"])
        for bad in [["--boot-aggregate", "xyz"], ["--boot-aggregate", "abcd"], ["--keyring", ""]] {
            let refused = try signet(["reference", "export-keylime", "--cert", keys.certPath, "--manifest", manifest] + bad)
            XCTAssertEqual(refused.status, 2, "\(bad): \(refused.output)")
            XCTAssertTrue(refused.stderr.contains(bad[0]), refused.stderr)
        }
    }

    func testCheckLogJudgesALogOffline() throws {
        let keys = try KeyFixture(in: dir)
        let a = dir.write("tree/usr/bin/a", "program a", mode: 0o755)
        let manifest = dir.url("m.jsonl")
        XCTAssertEqual(try signet(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--manifest", manifest, dir.url("tree")]).status, 0)
        let good = entry(path: "/usr/bin/a", digest: Digester.hash(try FileBytes.read(a), .sha256))
        let log = dir.write("log.bin", good.bytes)
        // PCR 10 (sha256) after that one entry.
        let pcr10 = Digester.hash([UInt8](repeating: 0, count: 32) + good.sha256, .sha256)
        let ok = try signet(["attest", "check-log", log, "--cert", keys.certPath, "--manifest", manifest, "--pcr10", "sha256:\(Hex.encode(pcr10))"])
        XCTAssertEqual(ok.status, 0, ok.output)
        let wrongPCR = try signet(["attest", "check-log", log, "--cert", keys.certPath, "--manifest", manifest, "--pcr10", "sha256:\(String(repeating: "00", count: 32))"])
        XCTAssertEqual(wrongPCR.status, 1, wrongPCR.output)
        let evil = entry(path: "/tmp/evil", digest: Digester.hash(Array("evil".utf8), .sha256))
        let bad = dir.write("bad.bin", good.bytes + evil.bytes)
        let r = try signet(["attest", "check-log", bad, "--cert", keys.certPath, "--manifest", manifest])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("/tmp/evil"), r.output)
        XCTAssertFalse(r.output.contains("FAIL /usr/bin/a"), r.output)
        let truncated = dir.write("trunc.bin", Array(good.bytes.dropLast(3)))
        let t = try signet(["attest", "check-log", truncated, "--cert", keys.certPath, "--manifest", manifest])
        XCTAssertNotEqual(t.status, 0, t.output)
        XCTAssertTrue(t.output.contains("entry 0") && t.output.contains("log ends inside the entry"), t.output)
    }

    /// A real log starts with boot_aggregate: check-log must be usable on it
    /// without a quote (issue 13): counted as not checked by default, checked
    /// against a TPM's sysfs PCRs or a given value, skipped with --exclude.
    func testCheckLogOnALogWithBootAggregate() throws {
        let keys = try KeyFixture(in: dir)
        let a = dir.write("tree/usr/bin/a", "program a", mode: 0o755)
        let manifest = dir.url("m.jsonl")
        XCTAssertEqual(try signet(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--manifest", manifest, dir.url("tree")]).status, 0)
        // PCRs 0-9 as /sys/class/tpm/tpm0 shows them (upper-case hex, one file per PCR).
        var pcrs = [UInt32: [UInt8]]()
        for pcr in UInt32(0)...9 {
            pcrs[pcr] = Digester.hash(Array("pcr \(pcr)".utf8), .sha256)
            dir.write("tpm0/pcr-sha256/\(pcr)", Hex.encode(pcrs[pcr]!).uppercased() + "\n")
        }
        let aggregate = try BootAggregate.compute(bank: .sha256, pcrValues: pcrs, using: IMALogHashing())
        let boot = entry(path: "boot_aggregate", digest: aggregate)
        let good = entry(path: "/usr/bin/a", digest: Digester.hash(try FileBytes.read(a), .sha256))
        let log = dir.write("log.bin", boot.bytes + good.bytes)
        let reference = ["--cert", keys.certPath, "--manifest", manifest]

        let plain = try signet(["attest", "check-log", log] + reference)
        XCTAssertEqual(plain.status, 0, plain.output)
        XCTAssertTrue(plain.stdout.contains("boot-aggregate-not-checked 1"), plain.stdout)

        let checked = try signet(["attest", "check-log", log, "--tpm-pcrs", dir.url("tpm0")] + reference)
        XCTAssertEqual(checked.status, 0, checked.output)
        XCTAssertTrue(checked.stdout.contains("boot-aggregate 1"), checked.stdout)
        let given = try signet(["attest", "check-log", log, "--boot-aggregate", "sha256:\(Hex.encode(aggregate))"] + reference)
        XCTAssertEqual(given.status, 0, given.output)

        // Another boot's PCR 3: the aggregate no longer matches.
        dir.write("tpm0/pcr-sha256/3", String(repeating: "AB", count: 32) + "\n")
        let otherBoot = try signet(["attest", "check-log", log, "--tpm-pcrs", dir.url("tpm0")] + reference)
        XCTAssertEqual(otherBoot.status, 1, otherBoot.output)
        XCTAssertTrue(otherBoot.stdout.contains("FAIL entry 0") && otherBoot.stdout.contains("boot-aggregate-mismatch"), otherBoot.stdout)
        let wrong = "sha256:" + String(repeating: "00", count: 32)
        let wrongValue = try signet(["attest", "check-log", log, "--boot-aggregate", wrong] + reference)
        XCTAssertEqual(wrongValue.status, 1, wrongValue.output)
        XCTAssertTrue(wrongValue.stdout.contains("boot-aggregate-mismatch"), wrongValue.stdout)
        // --exclude boot_aggregate skips it, even against a wrong value.
        let excluded = try signet(["attest", "check-log", log, "--boot-aggregate", wrong, "--exclude", "boot_aggregate"] + reference)
        XCTAssertEqual(excluded.status, 0, excluded.output)
        XCTAssertTrue(excluded.stdout.contains("excluded 1"), excluded.stdout)

        // Bad input names what is wrong.
        dir.write("tpm0/pcr-sha256/4", "not hex\n")
        let badFile = try signet(["attest", "check-log", log, "--tpm-pcrs", dir.url("tpm0")] + reference)
        XCTAssertEqual(badFile.status, 2, badFile.output)
        XCTAssertTrue(badFile.stderr.contains("pcr-sha256/4"), badFile.stderr)
        let empty = try signet(["attest", "check-log", log, "--tpm-pcrs", dir.url("tree")] + reference)
        XCTAssertEqual(empty.status, 2, empty.output)
        XCTAssertTrue(empty.stderr.contains("no PCR 0-9 values"), empty.stderr)
        let short = try signet(["attest", "check-log", log, "--boot-aggregate", "sha256:abcd"] + reference)
        XCTAssertEqual(short.status, 2, short.output)
    }
}
