import XCTest
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `signet boot-reference create/check/show` on a temp image tree holding the real Debian kernel (cached by
/// the e2e download) and on the real OVMF event logs of Tests/TCGEventLogTests/Fixtures (direct-kernel boots).
final class BootReferenceCLITests: XCTestCase {
    static let version = "6.12.118+deb12-amd64"
    static let debianKernel = "/var/cache/signet/kernel/linux-image-\(version)/boot/vmlinuz-\(version)"
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TCGEventLogTests/Fixtures").path
    static let shimPath = "usr/lib/shim/shimx64.efi.signed"
    static let grubPath = "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"

    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-boot-reference-cli") }

    func run(_ args: [String]) throws -> ProcessResult { try runProgram(signetBinary, args) }

    func fixture(_ name: String) -> String { "\(Self.fixtures)/\(name)" }

    /// An image tree with the Debian kernel at boot/vmlinuz-VERSION, a small initrd and, unless told
    /// otherwise, the same kernel as the shim and grub stand-ins (a real signed PE). Skips when not cached.
    func imageTree(shim: Bool = true, grub: Bool = true) throws -> (root: String, kernel: [UInt8], initrd: [UInt8]) {
        guard FileManager.default.fileExists(atPath: Self.debianKernel) else {
            throw XCTSkip("\(Self.debianKernel) is not cached: run the e2e kernel download first")
        }
        let kernel = Array(try Data(contentsOf: URL(fileURLWithPath: Self.debianKernel)))
        let initrd = Array("a small initrd for \(Self.version)\n".utf8)
        dir.write("rootfs/boot/vmlinuz-\(Self.version)", kernel)
        dir.write("rootfs/boot/initrd.img-\(Self.version)", initrd)
        if shim { dir.write("rootfs/\(Self.shimPath)", kernel) }
        if grub { dir.write("rootfs/\(Self.grubPath)", kernel) }
        return (dir.url("rootfs"), kernel, initrd)
    }

    /// osslsigncode's "Calculated message digest" of a PE file (lowercase hex).
    func osslsigncodeDigest(_ path: String) throws -> String {
        let tool = try requiredTool("osslsigncode", package: "osslsigncode")
        let result = try runProgram(tool, ["verify", "-in", path])
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("Calculated message digest") {
            let digest = line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).lowercased()
            XCTAssertEqual(digest.count, 64, result.stdout)
            return digest
        }
        XCTFail("osslsigncode printed no calculated digest: \(result.stdout) \(result.stderr)")
        return ""
    }

    func jsonObject(_ text: String, _ context: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], context)
    }

    func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(Digester.hash(bytes, .sha256)) }

    // MARK: create / show

    func testCreateWritesOneChainWhoseDigestsAreOsslsigncodesAndTheFiles() throws {
        let (root, kernel, initrd) = try imageTree()
        let out = dir.url("ref.json")
        let r = try run(["boot-reference", "create", root, "-o", out, "--name", "debian12", "--json"])
        XCTAssertEqual(r.status, 0, r.output)
        let attributes = try FileManager.default.attributesOfItem(atPath: out)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o644)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") }, [], "no temp file left")

        let printed = try jsonObject(r.stdout, r.output)
        XCTAssertEqual(printed["output"] as? String, out)
        let written = try jsonObject(try String(contentsOfFile: out, encoding: .utf8), out)
        XCTAssertEqual(written["format"] as? String, "signet-boot-reference")
        XCTAssertEqual(written["version"] as? Int, 1)
        XCTAssertEqual(written["allowsUnlistedFiles"] as? Bool, false)
        XCTAssertEqual(NSDictionary(dictionary: try XCTUnwrap(printed["reference"] as? [String: Any])), NSDictionary(dictionary: written),
                       "--json prints the reference it wrote")

        let chains = try XCTUnwrap(written["chains"] as? [[String: Any]])
        XCTAssertEqual(chains.count, 1)
        XCTAssertEqual(chains[0]["name"] as? String, "debian12-\(Self.version)")
        let apps = try XCTUnwrap(chains[0]["applications"] as? [[String: Any]])
        XCTAssertEqual(apps.map { $0["role"] as? String }, ["shim", "grub", "kernel"])
        XCTAssertEqual(apps.map { $0["name"] as? String }, ["shimx64.efi.signed", "grubx64.efi.signed", "vmlinuz-\(Self.version)"])
        let authenticode = try osslsigncodeDigest(Self.debianKernel)
        XCTAssertEqual(apps[2]["sha256"] as? String, authenticode, "the kernel's Authenticode digest is osslsigncode's")
        XCTAssertEqual(apps[0]["sha256"] as? String, authenticode, "the shim stand-in is the same PE")
        XCTAssertNotEqual(authenticode, sha256Hex(kernel), "Authenticode is not the file hash")
        XCTAssertEqual(chains[0]["initrds"] as? [String], [sha256Hex(initrd)])
        XCTAssertEqual(chains[0]["kernelFiles"] as? [String], [sha256Hex(kernel)], "grub's PCR 9 read of the kernel: the file hash")
        XCTAssertNil(chains[0]["grubConfigs"], "grub.cfg is not judged")
        let commandLine = try XCTUnwrap(written["commandLine"] as? [String: Any])
        XCTAssertEqual(commandLine["required"] as? [String: String], ["bdev_allow_write_mounted": "0", "module.sig_enforce": "1"])
        XCTAssertEqual(commandLine["forbidden"] as? [String], ["init"])
        XCTAssertEqual((written["secureBoot"] as? [String: Any])?["required"] as? Bool, true)

        // The text summary and `show` name the version, the chain and its digests.
        let text = try run(["boot-reference", "create", root, "-o", out, "--allow-unlisted-files"])
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.stdout.contains("1 chain(s)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("kernel vmlinuz-\(Self.version): sha256:\(authenticode)"), text.stdout)
        let show = try run(["boot-reference", "show", out])
        XCTAssertEqual(show.status, 0, show.output)
        XCTAssertTrue(show.stdout.contains("kernels: \(Self.version)"), show.stdout)
        XCTAssertTrue(show.stdout.contains("chain \(Self.version):"), show.stdout)
        XCTAssertTrue(show.stdout.contains("PCR 9 initrd: sha256:\(sha256Hex(initrd))"), show.stdout)
        XCTAssertTrue(show.stdout.contains("required:          bdev_allow_write_mounted=0 module.sig_enforce=1"), show.stdout)
        XCTAssertTrue(show.stdout.contains("secure boot (PCR 7): required"), show.stdout)
        XCTAssertTrue(show.stdout.contains("unlisted PCR 9 files: accepted"), show.stdout)
    }

    func testCreateMakesOneChainPerKernelFoundOrGiven() throws {
        let (root, kernel, _) = try imageTree()
        // A second kernel version (same bytes) without an initrd: its chain allows no initrd.
        dir.write("rootfs/boot/vmlinuz-6.12.999-amd64", kernel)
        let out = dir.url("ref.json")
        let all = try run(["boot-reference", "create", root, "-o", out, "--json"])
        XCTAssertEqual(all.status, 0, all.output)
        XCTAssertTrue(all.stderr.contains("\(root)/boot/initrd.img-6.12.999-amd64: no initrd"), all.stderr)
        let chains = try XCTUnwrap((try jsonObject(all.stdout, all.output)["reference"] as? [String: Any])?["chains"] as? [[String: Any]])
        XCTAssertEqual(chains.compactMap { $0["name"] as? String }, ["6.12.118+deb12-amd64", "6.12.999-amd64"])
        XCTAssertEqual(chains[1]["initrds"] as? [String], [], "no initrd in the tree: the boot must load none")
        let one = try run(["boot-reference", "create", root, "-o", out, "--kernel-version", "6.12.999-amd64", "--json"])
        XCTAssertEqual(one.status, 0, one.output)
        let given = try XCTUnwrap((try jsonObject(one.stdout, one.output)["reference"] as? [String: Any])?["chains"] as? [[String: Any]])
        XCTAssertEqual(given.compactMap { $0["name"] as? String }, ["6.12.999-amd64"])
    }

    func testCreateRefusesMissingShimGrubOrKernelNamingThePathAndPackage() throws {
        let (root, _, _) = try imageTree(shim: false)
        let out = dir.url("ref.json")
        let r = try run(["boot-reference", "create", root, "-o", out])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("\(root)/\(Self.shimPath)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("shim-signed"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written")

        dir.write("rootfs/\(Self.shimPath)", try FileBytes.read(Self.debianKernel, limit: 64 << 20))
        try FileManager.default.removeItem(atPath: "\(root)/\(Self.grubPath)")
        let g = try run(["boot-reference", "create", root, "-o", out])
        XCTAssertEqual(g.status, 2, g.output)
        XCTAssertTrue(g.stderr.contains("\(root)/\(Self.grubPath)"), g.stderr)
        XCTAssertTrue(g.stderr.contains("grub-efi-amd64-signed"), g.stderr)

        // A version that is not in the tree; a grub that is not a PE image.
        dir.write("rootfs/\(Self.grubPath)", "not a PE image")
        let v = try run(["boot-reference", "create", root, "--kernel-version", "6.1.0-99-amd64", "-o", out])
        XCTAssertEqual(v.status, 2, v.output)
        XCTAssertTrue(v.stderr.contains("\(root)/boot/vmlinuz-6.1.0-99-amd64"), v.stderr)
        let pe = try run(["boot-reference", "create", root, "-o", out])
        XCTAssertEqual(pe.status, 2, pe.output)
        XCTAssertTrue(pe.stderr.contains("\(root)/\(Self.grubPath): not a valid PE/COFF"), pe.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written")
    }

    // MARK: check

    /// A direct-kernel reference (the kernel alone) for the tree.
    func directReference() throws -> String {
        let (root, _, _) = try imageTree(shim: false, grub: false)
        let out = dir.url("direct.json")
        let r = try run(["boot-reference", "create", root, "--direct-kernel", "-o", out])
        XCTAssertEqual(r.status, 0, r.output)
        return out
    }

    func check(_ reference: String, log: String, pcrs: String) throws -> (ProcessResult, [String: Any]) {
        let r = try run(["boot-reference", "check", reference, "--event-log", log, "--pcrs", pcrs, "--json"])
        return (r, try jsonObject(r.stdout, r.output))
    }

    func testCheckTheSecureBootOnFixtureAgainstADirectKernelReference() throws {
        let reference = try directReference()
        let (r, verdict) = try check(reference, log: fixture("secureboot-on.bin"), pcrs: fixture("secureboot-on.pcrs"))
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(verdict["passed"] as? Bool, false)
        XCTAssertEqual(verdict["exit_code"] as? Int, 1)
        XCTAssertEqual(verdict["secure_boot"] as? Bool, true, "the log measures SecureBoot=1: no secure-boot-off")
        XCTAssertEqual(verdict["applications"] as? [String], [], "OVMF started the kernel with its legacy loader: no PCR 4 application")
        let failures = try XCTUnwrap(verdict["failures"] as? [[String: Any]])
        // The replay holds; the chain's kernel is not in PCR 4; the EFI stub measured another initrd than the
        // tree's; no grub, so no PCR 8 command line for Signet's rules.
        XCTAssertEqual(failures.map { $0["code"] as? String }, ["kernel-not-allowed", "initrd-not-allowed", "cmdline-not-measured"], r.stdout)
        XCTAssertEqual(failures[0]["pcr"] as? Int, 4)
        XCTAssertEqual(failures[0]["measured"] as? String, "no such event")
        XCTAssertTrue((failures[0]["expected"] as? String ?? "").contains(try osslsigncodeDigest(Self.debianKernel)), "\(failures[0])")
        XCTAssertEqual(failures[1]["pcr"] as? Int, 9)
        XCTAssertEqual(failures[1]["event_type"] as? String, "EV_EVENT_TAG")
        XCTAssertNotNil(failures[1]["event_index"] as? Int)
        XCTAssertNotNil(failures[1]["offset"] as? Int)
        XCTAssertEqual(failures[2]["pcr"] as? Int, 8)

        // The text form says FAIL and prints every failure with what was measured and expected.
        let text = try run(["boot-reference", "check", reference, "--event-log", fixture("secureboot-on.bin"), "--pcrs", fixture("secureboot-on.pcrs")])
        XCTAssertEqual(text.status, 1, text.output)
        XCTAssertTrue(text.stdout.hasPrefix("FAIL: "), text.stdout)
        XCTAssertTrue(text.stdout.contains("3 failure(s)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("initrd-not-allowed: event \(failures[1]["event_index"]!) (byte \(failures[1]["offset"]!)), PCR 9 EV_EVENT_TAG"), text.stdout)
        XCTAssertTrue(text.stdout.contains("measured: no such event"), text.stdout)
    }

    func testCheckPassesAReferenceThatAllowsWhatTheLogShows() throws {
        // The direct-kernel reference, edited to what this boot did: no PCR 4 application, no initrd rule,
        // the command line not required (BootRealLogTests: the judge then passes the Secure-Boot-on log).
        let path = try directReference()
        var reference = try jsonObject(try String(contentsOfFile: path, encoding: .utf8), path)
        var chains = try XCTUnwrap(reference["chains"] as? [[String: Any]])
        chains[0]["applications"] = [Any]()
        chains[0].removeValue(forKey: "initrds")
        reference["chains"] = chains
        var commandLine = try XCTUnwrap(reference["commandLine"] as? [String: Any])
        commandLine["mustBeMeasured"] = false
        reference["commandLine"] = commandLine
        let edited = dir.write("edited.json", Array(try JSONSerialization.data(withJSONObject: reference)))
        let r = try run(["boot-reference", "check", edited, "--event-log", fixture("secureboot-on.bin"), "--pcrs", fixture("secureboot-on.pcrs")])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.hasPrefix("PASS: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("chain \(Self.version)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Secure Boot on"), r.stdout)
        // The same with the PCR values as tpm2_pcrread prints them.
        var yaml = "", bank = ""
        for line in try String(contentsOfFile: fixture("secureboot-on.pcrs"), encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            if f[0] != bank { bank = String(f[0]); yaml += "  \(bank):\n" }
            yaml += "    \(f[1]) : 0x\(f[2])\n"
        }
        let y = try run(["boot-reference", "check", edited, "--event-log", fixture("secureboot-on.bin"), "--pcrs", dir.write("pcrs.yaml", yaml)])
        XCTAssertEqual(y.status, 0, y.output)
        // With the Secure-Boot-off log, the same reference fails: Secure Boot off, and an unlisted kernel in PCR 4.
        let (off, verdict) = try check(edited, log: fixture("secureboot-off.bin"), pcrs: fixture("secureboot-off.pcrs"))
        XCTAssertEqual(off.status, 1, off.output)
        XCTAssertEqual((verdict["failures"] as? [[String: Any]])?.compactMap { $0["code"] as? String }, ["secure-boot-off", "unknown-boot-application"], off.stdout)
    }

    func testCheckAQuoteFromAnotherBootIsAReplayMismatch() throws {
        let reference = try directReference()
        let (r, verdict) = try check(reference, log: fixture("secureboot-on.bin"), pcrs: fixture("secureboot-off.pcrs"))
        XCTAssertEqual(r.status, 1, r.output)
        let failures = try XCTUnwrap(verdict["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.count, 1, r.stdout)
        XCTAssertEqual(failures[0]["code"] as? String, "boot-replay-mismatch")
        XCTAssertEqual(failures[0]["pcr"] as? Int, 0, "the boots differ from PCR 0 on")
        XCTAssertTrue((failures[0]["reason"] as? String ?? "").contains("PCR 0"), "\(failures[0])")
    }

    func testCheckBadInputExitsTwoNamingTheFileAndPlace() throws {
        let reference = try directReference()
        // A truncated event log: the error names the file, the event and the byte offset.
        let log = Array(try Data(contentsOf: URL(fileURLWithPath: fixture("secureboot-on.bin"))))
        let truncated = dir.write("truncated.bin", Array(log.prefix(3000)))
        let t = try run(["boot-reference", "check", reference, "--event-log", truncated, "--pcrs", fixture("secureboot-on.pcrs")])
        XCTAssertEqual(t.status, 2, t.output)
        XCTAssertTrue(t.stderr.contains("\(truncated): not a TCG event log: event "), t.stderr)
        let offset = try XCTUnwrap(t.stderr.range(of: #"byte (\d+)"#, options: .regularExpression).map { t.stderr[$0].dropFirst(5) }, t.stderr)
        XCTAssertLessThan(try XCTUnwrap(Int(offset)), 3000, "the offset is inside the truncated log")
        XCTAssertEqual(t.stdout, "")

        // A reference whose digest is not one, and one that is not JSON.
        var bad = try jsonObject(try String(contentsOfFile: reference, encoding: .utf8), reference)
        var chains = try XCTUnwrap(bad["chains"] as? [[String: Any]])
        var apps = try XCTUnwrap(chains[0]["applications"] as? [[String: Any]])
        apps[0]["sha256"] = "not-a-digest"
        chains[0]["applications"] = apps
        bad["chains"] = chains
        let badDigest = dir.write("bad-digest.json", Array(try JSONSerialization.data(withJSONObject: bad)))
        let d = try run(["boot-reference", "check", badDigest, "--event-log", fixture("secureboot-on.bin"), "--pcrs", fixture("secureboot-on.pcrs")])
        XCTAssertEqual(d.status, 2, d.output)
        XCTAssertTrue(d.stderr.contains("\(badDigest): boot reference field chains[0].applications[0].sha256: \"not-a-digest\""), d.stderr)
        let notJSON = dir.write("not.json", "{\"format\": ")
        let j = try run(["boot-reference", "check", notJSON, "--event-log", fixture("secureboot-on.bin"), "--pcrs", fixture("secureboot-on.pcrs")])
        XCTAssertEqual(j.status, 2, j.output)
        XCTAssertTrue(j.stderr.contains("\(notJSON): not a usable boot reference: not strict JSON"), j.stderr)
        bad = try jsonObject(try String(contentsOfFile: reference, encoding: .utf8), reference)
        bad["version"] = 2
        let v2 = dir.write("v2.json", Array(try JSONSerialization.data(withJSONObject: bad)))
        let s = try run(["boot-reference", "show", v2])
        XCTAssertEqual(s.status, 2, s.output)
        XCTAssertTrue(s.stderr.contains("\(v2): boot reference field version: is 2"), s.stderr)

        // A PCR file with a malformed value names its line.
        let pcrs = dir.write("pcrs.txt", "sha256 0 \(String(repeating: "00", count: 32))\nsha256 1 ABCD\n")
        let p = try run(["boot-reference", "check", reference, "--event-log", fixture("secureboot-on.bin"), "--pcrs", pcrs])
        XCTAssertEqual(p.status, 2, p.output)
        XCTAssertTrue(p.stderr.contains("\(pcrs) line 2: PCR 1 (sha256)"), p.stderr)
    }
}
