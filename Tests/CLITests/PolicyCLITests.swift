import XCTest
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `signet policy …`, `signet image prepare` and `signet keyring …` as users run them,
/// with the shipped profiles and the good/weak fixture policies.
final class PolicyCLITests: XCTestCase {
    var dir: TempDir!
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    override func setUp() { dir = makeTempDir("signet-policy-cli") }

    func run(_ args: [String]) throws -> ProcessResult { try runProgram(signetBinary, args) }

    func testGenerateReproducesTheShippedProfiles() throws {
        for profile in ["exec-signed", "measure-tcb"] {
            let r = try run(["policy", "generate", "--profile", profile])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertEqual(r.stdout, String(decoding: try FileBytes.read("\(repo)/ima-policy/\(profile).policy"), as: UTF8.self), profile)
        }
        // The deprecated alias still parses and renders exactly exec-signed; it has no file of its own.
        let alias = try run(["policy", "generate", "--profile", "exec-signed+modules"])
        XCTAssertEqual(alias.status, 0, alias.output)
        XCTAssertEqual(alias.stdout, String(decoding: try FileBytes.read("\(repo)/ima-policy/exec-signed.policy"), as: UTF8.self))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/ima-policy/exec-signed+modules.policy"))
        let out = dir.url("combined.policy")
        let r = try run(["policy", "generate", "--profile", "exec-signed", "--profile", "measure-tcb",
                         "--fsuuid", "8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6", "--appraise-algos", "sha256,sha512", "-o", out])
        XCTAssertEqual(r.status, 0, r.output)
        let text = String(decoding: try FileBytes.read(out), as: UTF8.self)
        XCTAssertTrue(text.contains("fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6"))
        XCTAssertTrue(text.contains("appraise_algos="))
        XCTAssertTrue(text.contains("measure func=BPRM_CHECK"))
        XCTAssertNoThrow(try IMAPolicy(parsing: text))
        let bad = try run(["policy", "generate", "--profile", "exec-signed", "--fsuuid", "not-a-uuid"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("not a UUID"), bad.stderr)
    }

    func testGenerateReadsTheUUIDOfAnExt4Image() throws {
        guard let mkfs = which("mkfs.ext4") else { return XCTFail("mkfs.ext4 missing: run tools/setup (e2fsprogs)") }
        let image = dir.url("fs.img")
        let uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
        XCTAssertEqual(try runProgram(mkfs, ["-q", "-F", "-U", uuid, image, "4M"]).status, 0)
        let r = try run(["policy", "generate", "--profile", "exec-signed", "--fsuuid-from", image])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("fsuuid=\(uuid)"), r.stdout)
        let notExt4 = dir.write("zeros.img", [UInt8](repeating: 0, count: 4096))
        let e = try run(["policy", "generate", "--profile", "exec-signed", "--fsuuid-from", notExt4])
        XCTAssertEqual(e.status, 2)
        XCTAssertTrue(e.stderr.contains("not an ext2/3/4 filesystem"), e.stderr)
    }

    func testLintExitCodesAndFindingIDs() throws {
        let shipped = try run(["policy", "lint", "--kernel", "6.12", "\(repo)/ima-policy/exec-signed.policy"])
        XCTAssertEqual(shipped.status, 0, shipped.output)
        let weak = "\(repo)/Tests/IMAFormatTests/Fixtures/policies/weak"
        let cases: [(String, Int32, String)] = [
            ("exec-without-mmap", 2, "exec-without-mmap"),
            ("tmpfs-exempt", 2, "tmpfs-exec-bypass"),
            ("hash-only", 1, "appraise-without-imasig"),
            ("exemptions-too-late", 1, "dont-rule-shadowed"),
            ("no-policy-check", 1, "no-policy-check"),
        ]
        for (file, code, id) in cases {
            let r = try run(["policy", "lint", "--json", "\(weak)/\(file).policy"])
            XCTAssertEqual(r.status, code, "\(file): \(r.output)")
            let findings = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], file)
            XCTAssertTrue(findings.contains { $0["id"] as? String == id }, "\(file): \(r.stdout)")
            XCTAssertTrue(findings.allSatisfy { $0["line"] is Int || $0["line"] is NSNull }, file)
        }
        // A rule this kernel version lacks.
        let newer = dir.write("new.policy", "appraise func=MMAP_CHECK_REQPROT appraise_type=imasig\nappraise func=BPRM_CHECK appraise_type=imasig\nappraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig\nappraise func=POLICY_CHECK appraise_type=imasig\nappraise func=MODULE_CHECK appraise_type=imasig\nappraise func=FIRMWARE_CHECK appraise_type=imasig\nappraise func=KEXEC_KERNEL_CHECK appraise_type=imasig\nappraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig\n")
        let old = try run(["policy", "lint", "--kernel", "6.1", newer])
        XCTAssertNotEqual(old.status, 0, old.output)
        XCTAssertTrue(old.stdout.contains("MMAP_CHECK_REQPROT"), old.stdout)
        XCTAssertEqual(try run(["policy", "lint", "--kernel", "6.12", newer]).status, 0)
        // Syntax errors: exit 2, line and column named.
        let syntax = dir.write("syntax.policy", "# ok\nappraise func=BPRM_CHECK\nmeasure func=BPRM_CHEK\n")
        let s = try run(["policy", "lint", syntax])
        XCTAssertEqual(s.status, 2)
        XCTAssertTrue(s.stderr.contains("line 3, column"), s.stderr)
        XCTAssertTrue(s.stderr.contains("did you mean 'BPRM_CHECK'"), s.stderr)
    }

    /// Issue 14: policies whose holes lint used to pass. Exit 2 for an error finding, 1 for a warning.
    func testLintFailsEveryKindOfHole() throws {
        let appraise = try String(decoding: FileBytes.read("\(repo)/ima-policy/exec-signed.policy"), as: UTF8.self)
        let cases: [(String, Int32, String)] = [
            ("dont_appraise subj_type=unconfined_t", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise obj_type=bin_t", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise fowner=1000", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise euid>0", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise fsname=ext4", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise fsmagic=0x58465342", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6", 2, "dont-appraise-exec-bypass"),
            ("dont_appraise fsmagic=0x1021994", 2, "tmpfs-exec-bypass"),
        ]
        for (exemption, code, id) in cases {
            let file = dir.write("hole.policy", exemption + "\n" + appraise)
            let r = try run(["policy", "lint", "--json", file])
            XCTAssertEqual(r.status, code, "\(exemption): \(r.output)")
            let findings = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], exemption)
            XCTAssertTrue(findings.contains { $0["id"] as? String == id && $0["line"] as? Int == 1 && $0["severity"] as? String == "error" },
                          "\(exemption): \(r.stdout)")
        }
        // Measurement only: a warning that says the kernel refuses nothing.
        let measure = try run(["policy", "lint", "\(repo)/ima-policy/measure-tcb.policy"])
        XCTAssertEqual(measure.status, 1, measure.output)
        XCTAssertTrue(measure.stdout.contains("warning [measurement-only] measurement only: the kernel refuses nothing"), measure.stdout)
        // Kernel code: an error, unless the kernel enforces module signatures (then only kexec is left).
        let weak = "\(repo)/Tests/IMAFormatTests/Fixtures/policies/weak/kernel-code-unappraised.policy"
        let noModules = try run(["policy", "lint", weak])
        XCTAssertEqual(noModules.status, 2, noModules.output)
        XCTAssertTrue(noModules.stdout.contains("error [kernel-code-unappraised] no appraise rule covers func=MODULE_CHECK: unsigned kernel modules load"), noModules.stdout)
        let modulesOnly = dir.write("modules.policy", appraise.replacingOccurrences(of: "appraise func=MODULE_CHECK appraise_type=imasig\n", with: ""))
        XCTAssertEqual(try run(["policy", "lint", modulesOnly]).status, 2)
        let enforced = try run(["policy", "lint", "--module-sig-enforced", modulesOnly])
        XCTAssertEqual(enforced.status, 0, enforced.output)
        XCTAssertTrue(enforced.stdout.contains("info [kernel-code-unappraised]"), enforced.stdout)
    }

    /// Issue 14: `policy check` printed "0 appraised, 0 would be refused — the image will run" for
    /// policies that exempt everything. The exemption on ext4 fails; the same image checked as xfs passes.
    func testCheckFailsAPolicyThatAppraisesNothingHere() throws {
        let keys = try KeyFixture(in: dir)
        let elf = try FileBytes.read("/bin/true")
        dir.write("root/usr/bin/a", elf, mode: 0o755)
        dir.write("root/usr/bin/b", elf, mode: 0o755)
        dir.write("root/lib64/ld-linux-x86-64.so.2", elf, mode: 0o755)
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, dir.url("root")]).status, 0)
        let appraise = try String(decoding: FileBytes.read("\(repo)/ima-policy/exec-signed.policy"), as: UTF8.self)
        let weak = dir.write("ext4.policy", "dont_appraise fsname=ext4\n" + appraise)
        let ext4 = try run(["policy", "check", dir.url("root"), "--policy", weak, "--cert", keys.certPath])
        XCTAssertEqual(ext4.status, 1, ext4.output)
        XCTAssertTrue(ext4.stdout.contains("FAIL [appraises-nothing] the policy appraises programs, yet 3 of the image's 3 executable files would run unappraised"), ext4.stdout)
        XCTAssertTrue(ext4.stdout.contains("dont_appraise fsname=ext4 (line 1) exempts 3"), ext4.stdout)
        XCTAssertFalse(ext4.stdout.contains("the image will run"), ext4.stdout)
        let fsmagic = try run(["policy", "check", dir.url("root"), "--policy", weak, "--cert", keys.certPath, "--fsmagic", "0xef53"])
        XCTAssertEqual(fsmagic.status, 1, "fsname follows a known magic: \(fsmagic.output)")
        let xfs = try run(["policy", "check", dir.url("root"), "--policy", weak, "--cert", keys.certPath, "--fs-type", "xfs"])
        XCTAssertEqual(xfs.status, 0, xfs.output)
        XCTAssertTrue(xfs.stdout.contains("3 executable files, 3 appraised, 0 would be refused, 0 boot problem(s) — the image will run under this policy"), xfs.stdout)
        let bad = try run(["policy", "check", dir.url("root"), "--policy", weak, "--cert", keys.certPath, "--fs-type", "proc"])
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(bad.stderr.contains("--fs-type 'proc'"), bad.stderr)
        let clash = try run(["policy", "check", dir.url("root"), "--policy", weak, "--cert", keys.certPath, "--fs-type", "xfs", "--fsmagic", "0xef53"])
        XCTAssertEqual(clash.status, 2, clash.output)
        // Measurement only: exit 0, but never "the image will run".
        let measure = try run(["policy", "check", dir.url("root"), "--policy", "\(repo)/ima-policy/measure-tcb.policy", "--cert", keys.certPath])
        XCTAssertEqual(measure.status, 0, measure.output)
        XCTAssertTrue(measure.stdout.contains("measurement only: the kernel will refuse nothing"), measure.stdout)
        XCTAssertFalse(measure.stdout.contains("the image will run"), measure.stdout)
        let json = try run(["policy", "check", dir.url("root"), "--policy", "\(repo)/ima-policy/measure-tcb.policy", "--cert", keys.certPath, "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["verdict"] as? String, "measurement-only")
        XCTAssertEqual(report["enforcing"] as? Bool, false)
    }

    /// The loader found through the programs' PT_INTERP, installed under a versioned name behind a symlink.
    func testCheckFindsAVersionedLoaderThroughPTInterp() throws {
        let keys = try KeyFixture(in: dir)
        dir.write("root/usr/bin/a", try FileBytes.read("/bin/true"), mode: 0o755)
        dir.write("root/lib/x86_64-linux-gnu/ld-2.36-custom.so", try FileBytes.read("/lib64/ld-linux-x86-64.so.2"), mode: 0o755)
        dir.mkdir("root/lib64")
        XCTAssertEqual(symlink("../lib/x86_64-linux-gnu/ld-2.36-custom.so", dir.url("root/lib64/ld-linux-x86-64.so.2")), 0)
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--include", "usr/bin/a", dir.url("root")]).status, 0)
        let policy = dir.url("p.policy")
        XCTAssertEqual(try run(["policy", "generate", "--profile", "exec-signed", "-o", policy]).status, 0)
        let r = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("FAIL [loader-refused] the dynamic loader /lib/x86_64-linux-gnu/ld-2.36-custom.so would be refused"), r.stdout)
        XCTAssertTrue(r.stdout.contains("(PT_INTERP of 1 program, e.g. /usr/bin/a)"), r.stdout)
    }

    func testCheckListsWhatTheKernelWouldRefuse() throws {
        let keys = try KeyFixture(in: dir)
        let elf = try FileBytes.read("/bin/true")
        dir.write("root/usr/bin/good", elf, mode: 0o755)
        dir.write("root/usr/bin/unsigned", elf, mode: 0o755)
        dir.write("root/usr/lib/libunsigned.so", elf, mode: 0o644)          // ELF: mmap
        dir.write("root/lib64/ld-linux-x86-64.so.2", elf, mode: 0o755)     // the loader, unsigned
        dir.write("root/usr/bin/script", "#!/bin/sh\n", mode: 0o755)        // exec bit
        dir.write("root/etc/data", "not code", mode: 0o644)                 // neither: not reported
        let policy = dir.url("p.policy")
        XCTAssertEqual(try run(["policy", "generate", "--profile", "exec-signed", "-o", policy]).status, 0)
        let sign = try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--include", "usr/bin/good", dir.url("root")])
        XCTAssertEqual(sign.status, 0, sign.output)

        let r = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath, "--json"])
        XCTAssertEqual(r.status, 1, r.output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let refused = try XCTUnwrap(report["refused"] as? [[String: Any]])
        let paths = Set(refused.compactMap { $0["path"] as? String })
        XCTAssertEqual(paths, ["/usr/bin/unsigned", "/usr/lib/libunsigned.so", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/script"])
        let lib = try XCTUnwrap(refused.first { $0["path"] as? String == "/usr/lib/libunsigned.so" })
        XCTAssertEqual(lib["hooks"] as? [String], ["MMAP_CHECK"])
        XCTAssertEqual(lib["status"] as? String, "unsigned")
        let exe = try XCTUnwrap(refused.first { $0["path"] as? String == "/usr/bin/unsigned" })
        XCTAssertEqual(exe["hooks"] as? [String], ["BPRM_CHECK", "MMAP_CHECK"])
        let problems = try XCTUnwrap(report["problems"] as? [[String: Any]])
        XCTAssertTrue(problems.contains { $0["id"] as? String == "loader-refused" && $0["severity"] as? String == "fail"
                                          && $0["path"] as? String == "/lib64/ld-linux-x86-64.so.2"
                                          && ($0["message"] as? String ?? "").contains("no dynamically linked program would start") }, r.stdout)
        XCTAssertEqual(report["code_files"] as? Int, 5)

        // Sign everything: nothing refused.
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, dir.url("root")]).status, 0)
        let ok = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath])
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertTrue(ok.stdout.contains("0 would be refused"), ok.stdout)
        // Trusting another certificate instead: everything is an unknown key.
        let other = try KeyFixture(in: dir, name: "other")
        let foreign = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", other.certPath])
        XCTAssertEqual(foreign.status, 1)
        XCTAssertTrue(foreign.stdout.contains("unknown-key"), foreign.stdout)
        // A policy restricted to another filesystem UUID appraises nothing on this one…
        let restricted = dir.url("r.policy")
        XCTAssertEqual(try run(["policy", "generate", "--profile", "exec-signed", "--fsuuid", "8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6", "-o", restricted]).status, 0)
        dir.write("root/usr/bin/new", elf, mode: 0o755)
        let undecided = try run(["policy", "check", dir.url("root"), "--policy", restricted, "--cert", keys.certPath])
        XCTAssertTrue(undecided.stdout.contains("undecided") && undecided.stdout.contains("fsuuid"), undecided.stdout)
        let elsewhere = try run(["policy", "check", dir.url("root"), "--policy", restricted, "--cert", keys.certPath, "--fsuuid", "11111111-2222-3333-4444-555555555555"])
        // …so on a filesystem with another UUID nothing is refused, and that is the failure (issue 14).
        XCTAssertEqual(elsewhere.status, 1, elsewhere.output)
        XCTAssertTrue(elsewhere.stdout.contains("FAIL [appraises-nothing]") && elsewhere.stdout.contains("fsuuid=8bcbe394"), elsewhere.stdout)
        XCTAssertTrue(elsewhere.stdout.contains("0 would be refused") && elsewhere.stdout.contains("FIX BEFORE ENFORCING"), elsewhere.stdout)
        let here = try run(["policy", "check", dir.url("root"), "--policy", restricted, "--cert", keys.certPath, "--fsuuid", "8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6"])
        XCTAssertEqual(here.status, 1, here.output)
        XCTAssertTrue(here.stdout.contains("refused /usr/bin/new"), here.stdout)
    }

    func testImagePrepareInstallsSignsAndPassesItsOwnDryRun() throws {
        let keys = try KeyFixture(in: dir)
        let extra = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "next")
        dir.write("rootfs/usr/bin/app", try FileBytes.read("/bin/true"), mode: 0o755)
        // An image with initramfs-tools (and no initramfs yet): prepare installs the boot integration.
        dir.write("rootfs/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)
        dir.write("boot-files/usr/share/initramfs-tools/hooks/signet", "#!/bin/sh\n", mode: 0o755)
        dir.write("boot-files/usr/share/initramfs-tools/scripts/init-bottom/signet", "#!/bin/sh\n", mode: 0o755)
        let policy = dir.url("p.policy")
        XCTAssertEqual(try run(["policy", "generate", "--profile", "exec-signed", "-o", policy]).status, 0)
        let manifest = dir.url("m.jsonl")
        let r = try run(["image", "prepare", dir.url("rootfs"), "--key", keys.keyPath, "--cert", keys.certPath,
                         "--trust", extra.certPath, "--policy", policy, "--manifest", manifest, "--boot-files", dir.url("boot-files"), "--no-progress"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try FileBytes.read(dir.url("rootfs/etc/ima/ima-policy")), try FileBytes.read(policy))
        let certs = try FileManager.default.contentsOfDirectory(atPath: dir.url("rootfs/etc/keys/ima")).sorted()
        XCTAssertEqual(certs, ["ima-\(KeyID.hex(keys.certificate.imaKeyID)).der", "ima-\(KeyID.hex(extra.certificate.imaKeyID)).der"].sorted())
        let m = String(decoding: try FileBytes.read(manifest), as: UTF8.self)
        XCTAssertTrue(m.contains("\"path\":\"/etc/ima/ima-policy\"") && m.contains("\"path\":\"/usr/bin/app\""), m)
        XCTAssertEqual(try run(["verify", "--cert", keys.certPath, dir.url("rootfs")]).status, 0)
        let check = try run(["policy", "check", dir.url("rootfs"), "--policy", dir.url("rootfs/etc/ima/ima-policy"),
                             "--cert", dir.url("rootfs/etc/keys/ima/\(certs[0])"), "--cert", dir.url("rootfs/etc/keys/ima/\(certs[1])")])
        XCTAssertEqual(check.status, 0, check.output)
        // A malformed policy is refused before anything is installed or signed.
        let bad = dir.write("bad.policy", "appraise func=NOPE\n")
        dir.write("rootfs2/x", "x")
        let b = try run(["image", "prepare", dir.url("rootfs2"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", bad])
        XCTAssertEqual(b.status, 2, b.output)
        XCTAssertTrue(b.stderr.contains("line 1"), b.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("rootfs2/etc/ima/ima-policy")))
        XCTAssertNil(Xattr.get(dir.url("rootfs2/x")))
    }

    func testKeyringLoadAndListAgainstTheRealKernelKeyring() throws {
        let keys = try KeyFixture(in: dir)
        let ring = "_signet_cli_\(getpid())"
        defer { _ = try? runProgram("/bin/keyctl", ["unlink", "%keyring:\(ring)", "@u"]) }
        // A missing file stops the run before anything is loaded.
        let missing = try run(["keyring", "load", "--keyring", ring, keys.certPath, dir.url("missing.der")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("missing.der"), missing.stderr)
        let none = try run(["keyring", "list", "--keyring", ring])
        XCTAssertEqual(none.status, 2, "the keyring was not even created")
        let load = try run(["keyring", "load", "--keyring", ring, keys.certDERPath])
        XCTAssertEqual(load.status, 0, load.output)
        let list = try run(["keyring", "list", "--keyring", ring])
        XCTAssertEqual(list.status, 0, list.output)
        XCTAssertTrue(list.stdout.contains("keyid \(KeyID.hex(keys.certificate.imaKeyID))"), list.stdout)
        // The CA certificate is not a signing certificate.
        let ca = try run(["keyring", "load", "--keyring", ring, keys.caCertPath])
        XCTAssertEqual(ca.status, 2)
        XCTAssertTrue(ca.stderr.contains("not a signing certificate"), ca.stderr)
    }
}
