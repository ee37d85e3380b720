import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `signet image prepare` and `signet policy check` on images that would not
/// boot: no key loader before the policy (the issue-12 brick), critical files
/// refused, no certificates, certificates the image's kernel cannot use.
final class ImageSafetyCLITests: XCTestCase {
    var dir: TempDir!
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    override func setUp() { dir = makeTempDir("signet-image-safety") }

    func run(_ args: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProgram(signetBinary, args, environment: environment)
    }

    static let kernelConfig = """
        CONFIG_IMA=y
        CONFIG_IMA_APPRAISE=y
        CONFIG_INTEGRITY_ASYMMETRIC_KEYS=y
        CONFIG_CRYPTO_RSA=y
        CONFIG_CRYPTO_ECDSA=y

        """

    /// A systemd-like Debian layout (merged /usr, /sbin/init -> /lib/systemd/systemd)
    /// whose programs are copies of a real ELF executable.
    func makeSystemdTree(_ name: String) throws {
        let elf = try FileBytes.read("/bin/true")
        for path in ["usr/lib/systemd/systemd", "usr/lib/systemd/systemd-udevd", "usr/lib/systemd/systemd-journald",
                     "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/libc.so.6",
                     "usr/bin/bash", "usr/sbin/sshd"] {
            dir.write("\(name)/\(path)", elf, mode: 0o755)
        }
        dir.write("\(name)/usr/lib/x86_64-linux-gnu/libssl.so.3", elf, mode: 0o644)
        dir.write("\(name)/etc/os-release", "ID=debian\n")
        for (link, target) in [("lib", "usr/lib"), ("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib64", "usr/lib64")] {
            XCTAssertEqual(symlink(target, dir.url("\(name)/\(link)")), 0)
        }
        dir.mkdir("\(name)/usr/lib64")
        XCTAssertEqual(symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", dir.url("\(name)/usr/lib64/ld-linux-x86-64.so.2")), 0)
        XCTAssertEqual(symlink("/lib/systemd/systemd", dir.url("\(name)/usr/sbin/init")), 0)
        dir.write("\(name)/boot/config-6.12.12-amd64", Self.kernelConfig)
    }

    /// The boot files as dist/signet-root lays them out (stand-ins: the copying is what is tested here).
    func makeBootFiles(_ name: String = "boot-files") -> String {
        dir.write("\(name)/usr/share/initramfs-tools/hooks/signet", "#!/bin/sh\nexit 0\n", mode: 0o755)
        dir.write("\(name)/usr/share/initramfs-tools/scripts/init-bottom/signet", "#!/bin/sh\nexit 0\n", mode: 0o755)
        dir.write("\(name)/usr/lib/dracut/modules.d/98signet/module-setup.sh", "#!/bin/bash\ncheck() { return 255; }\n", mode: 0o755)
        dir.write("\(name)/usr/lib/signet/load-keys", "#!/bin/sh\nexit 0\n", mode: 0o755)
        dir.write("\(name)/usr/lib/signet/ima-init", "#!/bin/sh\nexit 0\n", mode: 0o755)
        return dir.url(name)
    }

    /// A real initramfs (newc cpio, gzip) holding `files`, as lsinitramfs reads it.
    func makeInitramfs(_ path: String, files: [String]) throws {
        let cpio = try requiredTool("cpio", package: "cpio")
        let staging = dir.url("initramfs-staging-\(UUID().uuidString)")
        for f in files { dir.write("\((staging as NSString).lastPathComponent)/\(f)", "#!/bin/sh\n", mode: 0o755) }
        let r = try runProgram("/bin/sh", ["-c", "cd '\(staging)' && find . | '\(cpio)' -o -H newc --quiet | gzip -n > '\(path)'"])
        XCTAssertEqual(r.status, 0, r.output)
        try FileManager.default.removeItem(atPath: staging)
    }

    func generate(_ profile: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let r = try run(["policy", "generate", "--profile", profile, "-o", path])
        XCTAssertEqual(r.status, 0, r.output)
    }

    func problems(_ r: ProcessResult) throws -> [[String: Any]] {
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.output)
        return try XCTUnwrap(report["problems"] as? [[String: Any]])
    }

    // MARK: - policy check

    /// Issue 12: on a real Debian image `policy check` said "0 would be refused — the image will run
    /// under this policy" while the node was bricked: systemd loaded /etc/ima/ima-policy, nothing had
    /// loaded /etc/keys/ima/*.der. The same situation, in small: it must fail and say why.
    func testCheckFailsTheImageThatBrickedTheNode() throws {
        _ = try requiredTool("lsinitramfs", package: "initramfs-tools-core")
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)    // initramfs-tools, without our hook
        dir.write("root/usr/sbin/mkinitramfs", "#!/bin/sh\n", mode: 0o755)
        try generate("exec-signed", to: dir.url("root/etc/ima/ima-policy"))
        dir.write("root/etc/keys/ima/ima-\(KeyID.hex(keys.certificate.imaKeyID)).der", keys.certificate.der)
        try makeInitramfs(dir.url("root/boot/initrd.img-6.12.12-amd64"), files: ["init", "scripts/init-bottom/udev", "usr/bin/keyctl"])
        let sign = try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--no-progress", dir.url("root")])
        XCTAssertEqual(sign.status, 0, sign.output)

        let r = try run(["policy", "check", dir.url("root"), "--policy", dir.url("root/etc/ima/ima-policy"), "--cert", keys.certPath])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains(" 0 would be refused"), r.stdout)       // every file is signed…
        XCTAssertTrue(r.stdout.contains("FAIL [no-key-loader] /etc/ima/ima-policy appraises, but nothing in the image loads the keys"), r.stdout)
        XCTAssertFalse(r.stdout.contains("the image will run"), r.stdout)
        XCTAssertTrue(r.stdout.contains("FIX BEFORE ENFORCING"), r.stdout)
        // The image's own policy and certificates by default; JSON names the reason by id.
        let j = try run(["policy", "check", dir.url("root"), "--json"])
        XCTAssertEqual(j.status, 1, j.output)
        XCTAssertEqual(try problems(j).filter { $0["severity"] as? String == "fail" }.compactMap { $0["id"] as? String }, ["no-key-loader"])

        // The hook installed, the initramfs not rebuilt: stale.
        let boot = makeBootFiles()
        for f in ["usr/share/initramfs-tools/hooks/signet", "usr/share/initramfs-tools/scripts/init-bottom/signet", "usr/lib/signet/load-keys"] {
            dir.write("root/\(f)", try FileBytes.read("\(boot)/\(f)"), mode: 0o755)
        }
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--no-progress", dir.url("root")]).status, 0)
        let stale = try run(["policy", "check", dir.url("root")])
        XCTAssertEqual(stale.status, 1, stale.output)
        XCTAssertTrue(stale.stdout.contains("FAIL [stale-initramfs] boot/initrd.img-6.12.12-amd64 does not contain scripts/init-bottom/signet"), stale.stdout)
        XCTAssertFalse(stale.stdout.contains("no-key-loader"), stale.stdout)

        // Rebuilt with the boot script: the image is safe.
        try makeInitramfs(dir.url("root/boot/initrd.img-6.12.12-amd64"), files: ["init", "scripts/init-bottom/udev", "scripts/init-bottom/signet", "usr/bin/keyctl"])
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--no-progress", dir.url("root")]).status, 0)
        let ok = try run(["policy", "check", dir.url("root")])
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertTrue(ok.stdout.contains("the image will run under this policy"), ok.stdout)
    }

    func testCheckFailsWhenLoaderLibcPID1OrSystemdWouldBeRefused() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        // Sign everything but the files every boot needs.
        let sign = try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--no-progress",
                            "--exclude", "usr/lib/systemd/systemd", "--exclude", "usr/lib/systemd/systemd-udevd",
                            "--exclude", "usr/lib/systemd/systemd-journald", "--exclude", "usr/lib/x86_64-linux-gnu/l*", dir.url("root")])
        XCTAssertEqual(sign.status, 0, sign.output)
        let r = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath])
        XCTAssertEqual(r.status, 1, r.output)
        for line in [
            "FAIL [loader-refused] the dynamic loader /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 would be refused",
            "FAIL [libc-refused] libc /usr/lib/x86_64-linux-gnu/libc.so.6 would be refused",
            "FAIL [init-refused] PID 1 (/sbin/init -> /usr/lib/systemd/systemd) would be refused",
            "FAIL [systemd-refused] /usr/lib/systemd/systemd-udevd would be refused",
            "FAIL [systemd-refused] /usr/lib/systemd/systemd-journald would be refused",
        ] {
            XCTAssertTrue(r.stdout.contains(line), "missing '\(line)' in:\n\(r.stdout)")
        }
        // Each file once (its FAIL line, no second "refused" line); 8 code files, 6 refused (libssl too), 5 boot problems.
        XCTAssertEqual(r.stdout.components(separatedBy: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").count, 2, r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "/usr/lib/x86_64-linux-gnu/libc.so.6").count, 2, r.stdout)
        XCTAssertTrue(r.stdout.contains("refused /usr/lib/x86_64-linux-gnu/libssl.so.3 at MMAP_CHECK"), r.stdout)
        XCTAssertTrue(r.stdout.contains("8 executable files, 8 appraised, 6 would be refused, 5 boot problem(s)"), r.stdout)
        let j = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath, "--json"])
        let ids = try problems(j).compactMap { $0["id"] as? String }
        XCTAssertEqual(ids, ["loader-refused", "libc-refused", "init-refused", "systemd-refused", "systemd-refused"])
    }

    /// The summary counts files: a program with two hard links is one refused file (it was
    /// counted per path, against code files counted per file), and the loader is reported once
    /// (it was listed as refused and again in a warning).
    func testCheckCountsEachFileOnce() throws {
        let keys = try KeyFixture(in: dir)
        let elf = try FileBytes.read("/bin/true")
        dir.write("root/usr/bin/signed", elf, mode: 0o755)
        dir.write("root/usr/bin/unsigned", elf, mode: 0o755)
        XCTAssertEqual(link(dir.url("root/usr/bin/unsigned"), dir.url("root/usr/bin/unsigned-too")), 0)
        dir.write("root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", elf, mode: 0o755)
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--include", "usr/bin/signed", dir.url("root")]).status, 0)
        let r = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("3 executable files, 3 appraised, 2 would be refused, 1 boot problem(s)"), r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "ld-linux-x86-64.so.2").count, 2, r.stdout)
        XCTAssertTrue(r.stdout.contains("refused /usr/bin/unsigned at") && r.stdout.contains("refused /usr/bin/unsigned-too at"), r.stdout)
        let j = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath, "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["code_files"] as? Int, 3)
        XCTAssertEqual(report["refused_files"] as? Int, 2)
        XCTAssertEqual((report["refused"] as? [Any])?.count, 3, "one entry per path")
    }

    func testCheckRefusesAnImageWithoutCertificates() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        try generate("exec-signed", to: dir.url("root/etc/ima/ima-policy"))
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--no-progress", dir.url("root")]).status, 0)
        let r = try run(["policy", "check", dir.url("root"), "--json"])
        XCTAssertEqual(r.status, 1, r.output)
        let fails = try problems(r).filter { $0["severity"] as? String == "fail" }
        XCTAssertTrue(fails.contains { $0["id"] as? String == "no-certificates" }, r.stdout)
        let t = try run(["policy", "check", dir.url("root")])
        XCTAssertTrue(t.stdout.contains("FAIL [no-certificates] no certificate for the kernel's keyring"), t.stdout)
    }

    func testCheckRefusesAnECDSACertificateTheKernelCannotUse() throws {
        let keys = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "ec")
        try makeSystemdTree("root")
        dir.write("root/boot/config-6.1.0-28-amd64", Self.kernelConfig.replacingOccurrences(of: "CONFIG_CRYPTO_ECDSA=y", with: "# CONFIG_CRYPTO_ECDSA is not set"))
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        XCTAssertEqual(try run(["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--no-progress", dir.url("root")]).status, 0)
        let r = try run(["policy", "check", dir.url("root"), "--policy", policy, "--cert", keys.certPath])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("FAIL [kernel-lacks-key-type] \(keys.certPath)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ECDSA P-256 key, which kernel 6.1.0-28-amd64 cannot verify: CONFIG_CRYPTO_ECDSA is not set"), r.stdout)
        XCTAssertFalse(r.stdout.contains("6.12.12-amd64 cannot"), r.stdout)
    }

    func testCheckRefusesAPolicyThatDoesNotParse() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/etc/ima/ima-policy", "appraise func=BPRM_CHEK appraise_type=imasig\n")
        let r = try run(["policy", "check", dir.url("root"), "--cert", keys.certPath])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("ima-policy") && r.stderr.contains("line 1"), r.stderr)
        let none = try run(["policy", "check", dir.url("root/usr"), "--cert", keys.certPath])
        XCTAssertEqual(none.status, 2, none.output)
        XCTAssertTrue(none.stderr.contains("no /etc/ima/ima-policy: give the policy to check with --policy"), none.stderr)
    }

    // MARK: - image prepare

    /// Everything under the tree that carries security.ima.
    func signedFiles(_ root: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: root)
        var out = [String]()
        while let p = e?.nextObject() as? String { if Xattr.get("\(root)/\(p)") != nil { out.append(p) } }
        return out
    }

    func testPrepareRefusesAnAppraisingPolicyWhenNothingCanLoadTheKeys() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        let r = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", makeBootFiles(), "--no-progress"])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("has neither initramfs-tools nor dracut"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--no-boot-integration"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/ima")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/keys")))
        XCTAssertEqual(signedFiles(dir.url("root")), [])

        // The user says the keys are loaded another way: a warning, and the image is prepared.
        let w = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--no-boot-integration", "--no-progress"])
        XCTAssertEqual(w.status, 0, w.output)
        XCTAssertTrue(w.stderr.contains("warning: --no-boot-integration: the keys in /etc/keys/ima must be loaded into the kernel keyring"), w.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/usr/share/initramfs-tools")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.url("root/etc/ima/ima-policy")))

        // A measure-only policy needs no key loader.
        try makeSystemdTree("measured")
        let measure = dir.url("m.policy")
        try generate("measure-tcb", to: measure)
        let m = try run(["image", "prepare", dir.url("measured"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", measure, "--no-progress"])
        XCTAssertEqual(m.status, 0, m.output)
    }

    func testPrepareInstallsTheBootIntegrationForInitramfsTools() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        let boot = makeBootFiles()
        dir.write("boot-files/usr/lib/dracut/modules.d/98signet/extra-file.sh", "#!/bin/sh\n", mode: 0o755)   // whatever the module holds
        let p = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", boot, "--no-progress"])
        XCTAssertEqual(p.status, 0, p.output)
        for f in ["usr/share/initramfs-tools/hooks/signet", "usr/share/initramfs-tools/scripts/init-bottom/signet",
                  "usr/lib/dracut/modules.d/98signet/module-setup.sh", "usr/lib/dracut/modules.d/98signet/extra-file.sh",
                  "usr/lib/signet/load-keys", "usr/lib/signet/ima-init"] {
            XCTAssertEqual(try FileBytes.read(dir.url("root/\(f)")), try FileBytes.read("\(boot)/\(f)"), f)
            var st = stat()
            XCTAssertEqual(stat(dir.url("root/\(f)"), &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o755, f)
            XCTAssertNotNil(Xattr.get(dir.url("root/\(f)")), "\(f) is signed")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/dracut.conf.d/signet.conf")), "not a dracut image")
        XCTAssertTrue(p.stderr.contains("no initramfs (boot/initrd.img-*): none regenerated"), p.stderr)
        // Its own check passes (no initramfs in the image: a warning).
        let check = try run(["policy", "check", dir.url("root")])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.stdout.contains("WARNING [no-initramfs]"), check.stdout)
    }

    func testPrepareEnablesTheDracutModule() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/usr/bin/dracut", "#!/bin/sh\n", mode: 0o755)
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        // The data directory of an installed package: $SIGNET_DATA_DIR/image-boot.
        _ = makeBootFiles("data/image-boot")
        let r = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--no-progress"], environment: ["SIGNET_DATA_DIR": dir.url("data")])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("installed Signet's boot integration from \(dir.url("data/image-boot"))"), r.stderr)
        XCTAssertEqual(String(decoding: try FileBytes.read(dir.url("root/etc/dracut.conf.d/signet.conf")), as: UTF8.self),
                       "# Written by signet image prepare: load the IMA/EVM certificates before switch_root.\nadd_dracutmodules+=\" signet \"\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.url("root/usr/lib/dracut/modules.d/98signet/module-setup.sh")))
        XCTAssertEqual(try run(["policy", "check", dir.url("root")]).status, 0)
    }

    /// The image has the boot integration from its own signet package: prepare leaves those files
    /// alone (needs no boot files of its own) and, for dracut, only enables the module.
    func testPrepareLeavesThePackagedBootFilesAlone() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/usr/bin/dracut", "#!/bin/sh\n", mode: 0o755)
        dir.write("root/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)
        let packaged = ["usr/share/initramfs-tools/hooks/signet", "usr/share/initramfs-tools/scripts/init-bottom/signet",
                        "usr/lib/dracut/modules.d/98signet/module-setup.sh", "usr/lib/signet/load-keys"]
        for f in packaged { dir.write("root/\(f)", "#!/bin/sh\n# from the package: \(f)\n", mode: 0o755) }
        dir.write("root/var/lib/dpkg/info/signet.list", (["/.", "/usr"] + packaged.map { "/" + $0 }).joined(separator: "\n") + "\n")
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        let r = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", dir.url("nowhere"), "--no-progress"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("the image has Signet's boot integration from its signet package"), r.stderr)
        for f in packaged {
            XCTAssertEqual(String(decoding: try FileBytes.read(dir.url("root/\(f)")), as: UTF8.self), "#!/bin/sh\n# from the package: \(f)\n", f)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.url("root/etc/dracut.conf.d/signet.conf")))
        XCTAssertEqual(try run(["policy", "check", dir.url("root")]).status, 0)
    }

    func testPrepareRefusesBootFilesThatLackWhatTheImageNeeds() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/usr/bin/dracut", "#!/bin/sh\n", mode: 0o755)
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        dir.write("partial/usr/share/initramfs-tools/hooks/signet", "#!/bin/sh\n", mode: 0o755)
        let r = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", dir.url("partial"), "--no-progress"])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("lack usr/lib/dracut/modules.d/98signet/module-setup.sh"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing was written"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/keys")))
        let missing = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                               "--boot-files", dir.url("nowhere"), "--no-progress"])
        XCTAssertEqual(missing.status, 2, missing.output)
        XCTAssertTrue(missing.stderr.contains("--boot-files \(dir.url("nowhere")) is not a directory"), missing.stderr)
        XCTAssertEqual(signedFiles(dir.url("root")), [])
    }

    func testPrepareRefusesAnECDSACertificateTheImagesKernelLacks() throws {
        let keys = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "ec")
        try makeSystemdTree("root")
        dir.write("root/usr/sbin/update-initramfs", "#!/bin/sh\n", mode: 0o755)
        dir.write("root/boot/config-6.1.0", Self.kernelConfig.replacingOccurrences(of: "CONFIG_CRYPTO_ECDSA=y\n", with: ""))
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        let r = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", makeBootFiles(), "--no-progress"])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("[kernel-lacks-key-type] \(keys.certPath)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("ECDSA P-256 key, which kernel 6.1.0 cannot verify"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing was written"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/keys")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/usr/share/initramfs-tools")))
        XCTAssertEqual(signedFiles(dir.url("root")), [])
        // Without any kernel configuration: a warning that nothing could be checked.
        unlink(dir.url("root/boot/config-6.1.0"))
        unlink(dir.url("root/boot/config-6.12.12-amd64"))
        let w = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", makeBootFiles(), "--no-progress"])
        XCTAssertEqual(w.status, 0, w.output)
        XCTAssertTrue(w.stderr.contains("WARNING [no-kernel-config]"), w.stderr)
    }

    /// An initramfs to rebuild, and a builder that cannot run in the image (this tree has no
    /// shell for its update-initramfs): prepare fails with the builder's output, removes what it
    /// installed, signs nothing, and leaves nothing mounted.
    func testPrepareSignsNothingWhenTheInitramfsCannotBeRebuilt() throws {
        let keys = try KeyFixture(in: dir)
        try makeSystemdTree("root")
        dir.write("root/usr/sbin/update-initramfs", "#!/bin/sh-that-is-not-there\n", mode: 0o755)
        dir.write("root/boot/initrd.img-6.12.12-amd64", "old initramfs")
        dir.mkdir("root/proc")
        dir.mkdir("root/dev")
        let policy = dir.url("p.policy")
        try generate("exec-signed", to: policy)
        let r = try run(["image", "prepare", dir.url("root"), "--key", keys.keyPath, "--cert", keys.certPath, "--policy", policy,
                         "--boot-files", makeBootFiles(), "--no-progress"])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("rebuilding the image's initramfs failed: chroot \(dir.url("root")) update-initramfs -u -k all exited with"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--- output of chroot"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing signed"), r.stderr)
        XCTAssertEqual(signedFiles(dir.url("root")), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/ima/ima-policy")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/etc/keys/ima/ima-\(KeyID.hex(keys.certificate.imaKeyID)).der")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/usr/share/initramfs-tools")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/usr/lib/signet")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("root/sys")), "the mount point it made is gone")
        let mounts = String(decoding: try FileBytes.read("/proc/self/mountinfo"), as: UTF8.self)
        XCTAssertFalse(mounts.contains(dir.url("root")), mounts)
    }
}
