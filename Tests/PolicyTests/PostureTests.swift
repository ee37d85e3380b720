import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetTestSupport
@testable import Policy

/// `signet posture`'s evaluator, item by item and state by state, over snapshots
/// built here; and its reader over fake /proc, /sys, /boot and /etc trees.
final class PostureTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-posture-tests") }

    static let config = """
        CONFIG_IMA=y
        CONFIG_IMA_APPRAISE=y
        CONFIG_IMA_APPRAISE_BOOTPARAM=y
        # CONFIG_IMA_READ_POLICY is not set
        # CONFIG_IMA_WRITE_POLICY is not set
        CONFIG_BLK_DEV_WRITE_MOUNTED=y
        CONFIG_MODULES=y
        CONFIG_LSM="landlock,lockdown,yama,loadpin,safesetid,integrity,apparmor,selinux,smack,tomoyo,bpf,ipe"

        """

    static let execSigned = try! PolicyGenerator.generate([.execSigned], options: PolicyGeneratorOptions()).render()
    /// Exec and mmap appraised, kernel code not (exec-signed before it covered modules).
    static let execOnly = "appraise func=BPRM_CHECK appraise_type=imasig\nappraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig\nappraise func=POLICY_CHECK appraise_type=imasig\n"

    static let procKeys = """
        1625db8d I--Q---     2 perm 1f3f0000     0 65534 keyring   _uid.0: 1
        2a6c1f0e I--Q---     1 perm 3f010000     0     0 keyring   _ima: 1
        3b7d2f1f I--Q---     1 perm 3f010000     0     0 asymmetri Signet IMA: 0123456789abcdef: X509.rsa 89abcdef []

        """

    /// A Debian 12 machine on 6.12 that enforces: a policy was loaded by systemd (its file is gone).
    func hardened() -> PostureSnapshot {
        var s = PostureSnapshot()
        s.cmdline = .value("BOOT_IMAGE=/boot/vmlinuz-6.12.12-amd64 root=UUID=0f1e ro quiet lockdown=integrity bdev_allow_write_mounted=0\n")
        s.kernelRelease = .value("6.12.12-amd64\n")
        s.kernelConfig = .value(Self.config)
        s.uidMap = .value("         0          0 4294967295\n")
        s.securityfs = .value(["evm", "ima", "lockdown", "lsm"])
        s.lsm = .value("lockdown,capability,landlock,yama,apparmor,ima,evm")
        s.lockdown = .value("none [integrity] confidentiality\n")
        s.imaDirectory = .value(["ascii_runtime_measurements", "binary_runtime_measurements", "runtime_measurements_count", "violations"])
        s.kernelPolicy = .absent
        s.configuredPolicy = .value(Self.execSigned)
        s.sigEnforce = .value("Y\n")
        s.evm = .value("2")
        s.secureBoot = .value([6, 0, 0, 0, 1])
        s.procKeys = .value(Self.procKeys)
        return s
    }

    func item(_ s: PostureSnapshot, _ id: String, file: StaticString = #filePath, line: UInt = #line) -> PostureItem {
        guard let item = PostureEvaluator.evaluate(s).item(id) else {
            XCTFail("no item \(id)", file: file, line: line)
            return PostureItem(id, .unknown, .info, "")
        }
        return item
    }

    func assertItem(_ s: PostureSnapshot, _ id: String, _ state: PostureState, _ severity: PostureSeverity, _ needle: String? = nil,
                    file: StaticString = #filePath, line: UInt = #line) {
        let i = item(s, id, file: file, line: line)
        XCTAssertEqual(i.state, state, "\(id): \(i.message)", file: file, line: line)
        XCTAssertEqual(i.severity, severity, "\(id): \(i.message)", file: file, line: line)
        if let needle { XCTAssertTrue(i.message.contains(needle), "\(id): '\(needle)' not in: \(i.message)", file: file, line: line) }
    }

    // MARK: - The whole report

    func testAHardenedMachineHasNothingOpenButInfo() {
        let report = PostureEvaluator.evaluate(hardened())
        let ids = report.items.map(\.id)
        for id in ["ima-appraise-mode", "ima-policy-param", "ima-template", "lsm", "lockdown", "module-signatures",
                   "bdev-write-mounted", "ima-policy", "keyrings", "evm", "secure-boot"] {
            XCTAssertTrue(ids.contains(id), id)
        }
        for id in ["ima-appraise-mode", "ima-template", "lsm", "lockdown", "module-signatures", "bdev-write-mounted", "keyrings", "evm", "secure-boot"] {
            XCTAssertEqual(report.item(id)?.state, .enforced, "\(id): \(report.item(id)?.message ?? "")")
        }
        XCTAssertTrue(report.items.filter(\.counts).allSatisfy { $0.severity == .info }, "\(report.items.filter(\.counts))")
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertEqual(report.worst, "info")
    }

    func testExitCodeFollowsTheWorstOpenOrUnknownItem() {
        XCTAssertEqual(PostureReport(items: [PostureItem("a", .enforced, .error, "")]).exitCode, 0, "an enforced item does not count")
        XCTAssertEqual(PostureReport(items: [PostureItem("a", .enforced, .error, "")]).worst, "none")
        XCTAssertEqual(PostureReport(items: [PostureItem("a", .open, .info, "")]).exitCode, 0)
        XCTAssertEqual(PostureReport(items: [PostureItem("a", .open, .info, ""), PostureItem("b", .unknown, .warning, "")]).exitCode, 1)
        let r = PostureReport(items: [PostureItem("a", .unknown, .warning, ""), PostureItem("b", .open, .error, ""), PostureItem("c", .open, .info, "")])
        XCTAssertEqual(r.exitCode, 2)
        XCTAssertEqual(r.worst, "error")
        var s = hardened()
        s.lockdown = .value("[none] integrity confidentiality\n")
        XCTAssertEqual(PostureEvaluator.evaluate(s).exitCode, 1, "lockdown none is a warning")
        s.cmdline = .value("root=/dev/vda1 ima_appraise=log bdev_allow_write_mounted=0")
        s.secureBoot = .value([6, 0, 0, 0, 0])
        XCTAssertEqual(PostureEvaluator.evaluate(s).exitCode, 2)
    }

    func testJSONHasTheDocumentedKeys() throws {
        let data = try JSONEncoder().encode(PostureEvaluator.evaluate(hardened()))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["items", "worst", "exit_code"])
        let items = try XCTUnwrap(object["items"] as? [[String: Any]])
        XCTAssertTrue(items.allSatisfy { Set($0.keys) == ["id", "state", "severity", "message", "fix"] })
    }

    // MARK: - ima-appraise-mode

    func testAppraiseModeLogFixOffAreOpenErrors() {
        for mode in ["log", "fix", "off"] {
            var s = hardened()
            s.cmdline = .value("root=/dev/vda1 ima_appraise=\(mode) quiet")
            s.secureBoot = .absent
            assertItem(s, "ima-appraise-mode", .open, .error, "ima_appraise=\(mode) on the kernel command line (/proc/cmdline)")
            XCTAssertTrue(item(s, "ima-appraise-mode").message.contains("every unsigned program still runs"))
            XCTAssertTrue(item(s, "ima-appraise-mode").fix.contains("remove ima_appraise=\(mode)"))
            s.secureBoot = .value([6, 0, 0, 0, 0])
            assertItem(s, "ima-appraise-mode", .open, .error)
        }
    }

    func testAppraiseModeSecureBootMakesTheKernelIgnoreIt() {
        var s = hardened()
        s.cmdline = .value("ima_appraise=log")
        s.secureBoot = .value([6, 0, 0, 0, 1])
        assertItem(s, "ima-appraise-mode", .enforced, .info, "Secure Boot is on")
    }

    func testAppraiseModeEnforcedAbsentOrUnreadable() {
        var s = hardened()
        assertItem(s, "ima-appraise-mode", .enforced, .info, "no ima_appraise=")
        s.cmdline = .value("ima_appraise=enforce")
        assertItem(s, "ima-appraise-mode", .enforced, .info)
        s.cmdline = .value("ima_appraise=log ima_appraise=enforce")
        assertItem(s, "ima-appraise-mode", .enforced, .info, "ima_appraise=enforce")
        s.cmdline = .value("ima_appraise=enforce ima_appraise=log")
        s.secureBoot = .absent
        assertItem(s, "ima-appraise-mode", .open, .error, "ima_appraise=log")  // the last one counts
        s.cmdline = .value("quiet -- ima_appraise=log")
        assertItem(s, "ima-appraise-mode", .enforced, .info, "no ima_appraise=")  // words after -- are init's
        s.cmdline = .unreadable("Permission denied")
        assertItem(s, "ima-appraise-mode", .unknown, .error, "Permission denied")
        s.cmdline = .value("ima_appraise=log")
        s.kernelConfig = .value(Self.config.replacingOccurrences(of: "CONFIG_IMA_APPRAISE_BOOTPARAM=y", with: "# CONFIG_IMA_APPRAISE_BOOTPARAM is not set"))
        assertItem(s, "ima-appraise-mode", .enforced, .info, "CONFIG_IMA_APPRAISE_BOOTPARAM")
        s.kernelConfig = .value("CONFIG_IMA=y\n")
        assertItem(s, "ima-appraise-mode", .open, .error, "without CONFIG_IMA_APPRAISE")
    }

    // MARK: - Command line and kernel items

    func testPolicyParameterTemplateAndLSM() {
        var s = hardened()
        assertItem(s, "ima-policy-param", .open, .info, "no ima_policy=")
        s.cmdline = .value("ima_policy=tcb|appraise_tcb ima_template=ima lsm=lockdown,yama,apparmor")
        assertItem(s, "ima-policy-param", .enforced, .info, "tcb, appraise_tcb")
        assertItem(s, "ima-template", .open, .warning, "legacy")
        // The active list decides when it can be read…
        assertItem(s, "lsm", .enforced, .info, "/sys/kernel/security/lsm")
        s.lsm = .value("lockdown,capability,yama,apparmor")
        assertItem(s, "lsm", .open, .error, "IMA and EVM are off")
        // …else lsm= on the command line.
        s.lsm = .absent
        assertItem(s, "lsm", .open, .error, "leaves out integrity")
        s.cmdline = .value("lsm=lockdown,integrity,apparmor")
        assertItem(s, "lsm", .enforced, .info)
        s.cmdline = .value("quiet")
        assertItem(s, "lsm", .enforced, .info, "CONFIG_LSM")
        s.kernelConfig = .unreadable("Permission denied")
        assertItem(s, "lsm", .unknown, .warning)
    }

    func testLockdown() {
        var s = hardened()
        assertItem(s, "lockdown", .enforced, .info, "integrity")
        s.lockdown = .value("none integrity [confidentiality]")
        assertItem(s, "lockdown", .enforced, .info, "confidentiality")
        s.lockdown = .value("[none] integrity confidentiality\n")
        assertItem(s, "lockdown", .open, .warning, "lockdown is none")
        XCTAssertTrue(item(s, "lockdown").fix.contains("lockdown=integrity"))
        s.lockdown = .absent
        assertItem(s, "lockdown", .open, .warning, "not active")
        s.securityfs = .value([])
        assertItem(s, "lockdown", .unknown, .warning, "securityfs is not mounted")
        s.lockdown = .unreadable("Permission denied")
        assertItem(s, "lockdown", .unknown, .warning, "Permission denied")
    }

    func testModuleSignatures() {
        var s = hardened()
        assertItem(s, "module-signatures", .enforced, .info, "sig_enforce is Y")
        s.sigEnforce = .value("N\n")
        assertItem(s, "module-signatures", .enforced, .info, "lockdown is integrity")
        s.lockdown = .value("[none] integrity confidentiality")
        // A policy that does not appraise MODULE_CHECK: unsigned modules load, an error.
        s.configuredPolicy = .value(Self.execOnly)
        assertItem(s, "module-signatures", .open, .error, "does not appraise MODULE_CHECK")
        // exec-signed appraises it: closed by IMA, but every buffer load (kmod 30's .ko.xz) is refused.
        s.configuredPolicy = .value(Self.execSigned)
        assertItem(s, "module-signatures", .open, .warning, "every module loaded from a buffer")
        s.sigEnforce = .absent
        assertItem(s, "module-signatures", .unknown, .warning)
        s.configuredPolicy = .value(Self.execOnly)
        assertItem(s, "module-signatures", .unknown, .error)
        s.configuredPolicy = .value(Self.execSigned)
        s.kernelConfig = .value(Self.config + "CONFIG_MODULE_SIG_FORCE=y\n")
        assertItem(s, "module-signatures", .enforced, .info, "CONFIG_MODULE_SIG_FORCE")
    }

    func testUnappraisedModulesInThePolicyAreInfoOnlyWhenTheKernelEnforcesModuleSignatures() {
        var s = hardened()
        // Kexec, firmware and policy appraised; modules not.
        s.configuredPolicy = .value("""
            appraise func=BPRM_CHECK appraise_type=imasig
            appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig
            appraise func=POLICY_CHECK appraise_type=imasig
            appraise func=FIRMWARE_CHECK appraise_type=imasig
            appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig
            appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig

            """)
        assertItem(s, "ima-policy/kernel-code-unappraised", .open, .info, "module signatures are enforced by the kernel")
        s.sigEnforce = .value("N\n")
        s.lockdown = .value("[none] integrity confidentiality")
        assertItem(s, "ima-policy/kernel-code-unappraised", .open, .error, "MODULE_CHECK")
        // Enforced module signatures do not excuse an unappraised kexec kernel.
        s.sigEnforce = .value("Y\n")
        s.configuredPolicy = .value("appraise func=BPRM_CHECK appraise_type=imasig\nappraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig\nappraise func=POLICY_CHECK appraise_type=imasig\n")
        assertItem(s, "ima-policy/kernel-code-unappraised", .open, .error, "KEXEC_KERNEL_CHECK")
    }

    func testBlockDeviceWritesUnderAMountedFilesystem() {
        var s = hardened()
        assertItem(s, "bdev-write-mounted", .enforced, .info, "bdev_allow_write_mounted=0")
        s.cmdline = .value("root=/dev/vda1 quiet")
        assertItem(s, "bdev-write-mounted", .open, .error, "root can rewrite signed files' blocks through the raw device")
        XCTAssertTrue(item(s, "bdev-write-mounted").fix.contains("bdev_allow_write_mounted=0"))
        s.kernelConfig = .unreadable("no such file")
        assertItem(s, "bdev-write-mounted", .open, .error, "assuming CONFIG_BLK_DEV_WRITE_MOUNTED=y")
        s.kernelConfig = .value(Self.config.replacingOccurrences(of: "CONFIG_BLK_DEV_WRITE_MOUNTED=y", with: "# CONFIG_BLK_DEV_WRITE_MOUNTED is not set"))
        assertItem(s, "bdev-write-mounted", .enforced, .info, "without CONFIG_BLK_DEV_WRITE_MOUNTED")
        s.cmdline = .value("bdev_allow_write_mounted=1")
        assertItem(s, "bdev-write-mounted", .open, .error, "bdev_allow_write_mounted=1")
        s.cmdline = .value("bdev_allow_write_mounted=n")
        assertItem(s, "bdev-write-mounted", .enforced, .info)
        // Before 6.8 there is no such option.
        s.kernelRelease = .value("6.1.0-28-amd64")
        assertItem(s, "bdev-write-mounted", .open, .warning, "predates")
        XCTAssertTrue(item(s, "bdev-write-mounted").fix.contains("dm-verity"))
        s.kernelRelease = .unreadable("Permission denied")
        assertItem(s, "bdev-write-mounted", .unknown, .error)
    }

    // MARK: - ima-policy

    /// How the kernel prints its policy (ima_policy_show): a trailing space after each rule.
    static let kernelForm = """
        dont_appraise fsmagic=0x9fa0 \n\
        appraise func=BPRM_CHECK mask=MAY_EXEC appraise_type=imasig \n\
        measure func=FILE_CHECK mask=^MAY_READ uid=0 \n\
        appraise func=POLICY_CHECK appraise_type=imasig \n\
        appraise func=MODULE_CHECK appraise_type=imasig|modsig \n
        """

    func testAReadablePolicyIsLintedInTheKernelsOwnForm() {
        var s = hardened()
        s.kernelPolicy = .value(Self.kernelForm)
        s.imaDirectory = .value(["ascii_runtime_measurements", "policy"])
        assertItem(s, "ima-policy", .enforced, .info, "custom policy loaded")
        // execve appraised, mmap not: the linter's error is reported as an item.
        assertItem(s, "ima-policy/exec-without-mmap", .open, .error, "loaded policy")
        XCTAssertEqual(PostureEvaluator.evaluate(s).exitCode, 2)
        s.kernelPolicy = .value("measure func=BPRM_CHEK \n")
        assertItem(s, "ima-policy", .unknown, .error, "does not parse")
        s.kernelPolicy = .value("measure func=BPRM_CHECK \n")
        assertItem(s, "ima-policy", .open, .error, "appraises nothing")
        s.kernelPolicy = .value("")
        assertItem(s, "ima-policy", .open, .error, "no rules")
    }

    func testAWriteOnlyPolicyFileMeansNothingIsLoadedYet() {
        var s = hardened()
        s.imaDirectory = .value(["ascii_runtime_measurements", "policy"])
        s.kernelPolicy = .unreadable("cannot open /sys/kernel/security/ima/policy: Permission denied")
        assertItem(s, "ima-policy", .open, .error, "no custom policy loaded yet")
        XCTAssertNil(PostureEvaluator.evaluate(s).items.first { $0.id.hasPrefix("ima-policy/") }, "nothing loaded: nothing to lint")
        // A kernel that keeps the file after a load (WRITE_POLICY), or whose configuration is unknown: cannot tell.
        s.kernelConfig = .value(Self.config.replacingOccurrences(of: "# CONFIG_IMA_WRITE_POLICY is not set", with: "CONFIG_IMA_WRITE_POLICY=y"))
        assertItem(s, "ima-policy", .unknown, .warning, "not known")
        s.kernelConfig = .absent
        assertItem(s, "ima-policy", .unknown, .warning)
    }

    func testAnAbsentPolicyFileMeansTheConfiguredPolicyIsLinted() {
        var s = hardened()
        s.configuredPolicy = .value("appraise func=BPRM_CHECK appraise_type=imasig\nappraise func=POLICY_CHECK appraise_type=imasig\n")
        assertItem(s, "ima-policy", .unknown, .info, "does not let it be read")
        assertItem(s, "ima-policy/exec-without-mmap", .open, .error, "configured policy /etc/ima/ima-policy (the kernel's copy is not readable)")
        s.configuredPolicy = .value("appraise func=NOPE\n")
        assertItem(s, "ima-policy", .unknown, .error, "does not parse")
        s.configuredPolicy = .absent
        assertItem(s, "ima-policy", .unknown, .info)
        assertItem(s, "ima-policy/configured", .unknown, .warning, "no /etc/ima/ima-policy")
    }

    func testNoSecurityfsOrNoIMAIsUnknown() {
        var s = hardened()
        s.securityfs = .value([])
        assertItem(s, "ima-policy", .unknown, .error, "securityfs is not mounted")
        s.securityfs = .absent
        assertItem(s, "ima-policy", .unknown, .error)
        s.securityfs = .value(["lsm"])
        s.imaDirectory = .absent
        assertItem(s, "ima-policy", .unknown, .error, "no /sys/kernel/security/ima")
        // Nothing read is ever enforced.
        let empty = PostureEvaluator.evaluate(PostureSnapshot())
        XCTAssertEqual(empty.items.filter { $0.state == .enforced }.map(\.id), [])
        XCTAssertEqual(empty.exitCode, 2)
    }

    // MARK: - Keys, EVM, Secure Boot

    func testKeyrings() {
        var s = hardened()
        assertItem(s, "keyrings", .enforced, .info, "_ima (serial 2a6c1f0e): 1 key(s)")
        s.keyringContents["_ima"] = .value(["asymmetric 'Signet IMA: 0123456789abcdef' keyid 89abcdef"])
        assertItem(s, "keyrings", .enforced, .info, "Signet IMA: 0123456789abcdef")
        s.procKeys = .value(Self.procKeys.replacingOccurrences(of: "_ima: 1", with: "_ima: empty"))
        assertItem(s, "keyrings", .open, .error, "is empty")
        s.procKeys = .value("1625db8d I--Q---     2 perm 1f3f0000     0 65534 keyring   _uid.0: empty\n")
        assertItem(s, "keyrings", .open, .error, "no IMA keyring")
        s.procKeys = .unreadable("Permission denied")
        assertItem(s, "keyrings", .unknown, .error, "Permission denied")
        s.procKeys = .absent
        assertItem(s, "keyrings", .unknown, .error)
        // Count not shown and the keyring itself unreadable (a service without KeyringMode=shared): unknown.
        s.procKeys = .value("2a6c1f0e I--Q---     1 perm 3f010000     0     0 keyring   _ima\n")
        s.keyringContents["_ima"] = .unreadable("cannot read keyring '_ima': Permission denied; set KeyringMode=shared in the unit")
        assertItem(s, "keyrings", .unknown, .error, "KeyringMode=shared")
        s.procKeys = .value(Self.procKeys)
        s.uidMap = .value("0 100000 65536")
        assertItem(s, "keyrings", .unknown, .error, "user namespace")
    }

    func testEVM() {
        var s = hardened()
        assertItem(s, "evm", .enforced, .info, "X509")
        s.evm = .value("3\n")
        assertItem(s, "evm", .enforced, .info, "HMAC+X509")
        s.evm = .value("0")
        assertItem(s, "evm", .open, .info, "EVM is off")
        s.procKeys = .value(Self.procKeys + "4c8e3f20 I--Q---     1 perm 3f010000     0     0 keyring   _evm: 1\n")
        assertItem(s, "evm", .open, .warning, "EVM keyring holds 1 key(s)")
        s.evm = .value("6")
        assertItem(s, "evm", .open, .warning, "metadata writes")
        s.evm = .unreadable("Permission denied")
        assertItem(s, "evm", .unknown, .info)
        s.evm = .value("x")
        assertItem(s, "evm", .unknown, .info)
    }

    func testSecureBoot() {
        var s = hardened()
        assertItem(s, "secure-boot", .enforced, .info)
        s.secureBoot = .value([6, 0, 0, 0, 0])
        assertItem(s, "secure-boot", .open, .warning, "Secure Boot is off")
        s.secureBoot = .absent
        assertItem(s, "secure-boot", .unknown, .warning, "BIOS boot")
        s.secureBoot = .value([6, 0, 0, 0])
        assertItem(s, "secure-boot", .unknown, .warning)
    }

    // MARK: - Parsing

    func testCommandLineAndProcKeysParsing() {
        let c = KernelCommandLine("BOOT_IMAGE=/vmlinuz root=UUID=1 dyndbg=\"file a.c +p\" ima_policy=tcb ima_policy=appraise_tcb -- ima_appraise=log\n")
        XCTAssertEqual(c.words, ["BOOT_IMAGE=/vmlinuz", "root=UUID=1", "dyndbg=file a.c +p", "ima_policy=tcb", "ima_policy=appraise_tcb"])
        XCTAssertEqual(c.values("ima_policy"), ["tcb", "appraise_tcb"])
        XCTAssertNil(c.last("ima_appraise"))
        let keys = ProcKey.parse(Self.procKeys + "garbage\n")
        XCTAssertEqual(keys.count, 3)
        XCTAssertEqual(keys[1], ProcKey(serial: "2a6c1f0e", type: "keyring", name: "_ima", linkedKeys: 1))
        XCTAssertEqual(keys[0].linkedKeys, 1)
        XCTAssertNil(keys[2].linkedKeys)
    }

    // MARK: - Reader

    /// A fake Debian 6.12 tree: policy file write-only (not loaded yet), no efivars.
    func fakeTree(policyWriteOnly: Bool = true) -> String {
        dir.write("root/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro ima_appraise=log\n")
        dir.write("root/proc/sys/kernel/osrelease", "6.12.12-amd64\n")
        dir.write("root/proc/self/uid_map", "         0          0 4294967295\n")
        dir.write("root/proc/keys", Self.procKeys)
        dir.write("root/boot/config-6.12.12-amd64", Self.config)
        dir.write("root/sys/kernel/security/lsm", "lockdown,capability,landlock,yama,apparmor,ima,evm")
        dir.write("root/sys/kernel/security/lockdown", "[none] integrity confidentiality\n")
        dir.write("root/sys/kernel/security/evm", "0")
        dir.write("root/sys/kernel/security/ima/ascii_runtime_measurements", "")
        dir.write("root/sys/module/module/parameters/sig_enforce", "N\n")
        dir.write("root/etc/ima/ima-policy", Self.execSigned)
        if policyWriteOnly {
            // Root reads any file whatever its mode, so a mode-0200 file would read fine here:
            // a directory in its place makes read(2) fail (EISDIR), as the kernel's EACCES does.
            dir.mkdir("root/sys/kernel/security/ima/policy")
        }
        return dir.url("root")
    }

    func testReaderFillsTheSnapshotFromAFakeTree() {
        let s = PostureReader(root: fakeTree() + "/").read()
        XCTAssertEqual(s.cmdline.value, "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro ima_appraise=log\n")
        XCTAssertEqual(s.kernelConfig.value, Self.config)
        XCTAssertEqual(s.securityfs.value, ["evm", "ima", "lockdown", "lsm"])
        guard case .unreadable(let why) = s.kernelPolicy else { return XCTFail("\(s.kernelPolicy)") }
        XCTAssertTrue(why.contains("is a directory"), why)
        guard case .absent = s.secureBoot else { return XCTFail("\(s.secureBoot)") }
        XCTAssertEqual(s.sigEnforce.value, "N\n")

        let report = PostureEvaluator.evaluate(s)
        XCTAssertEqual(report.item("ima-appraise-mode")?.state, .open)
        XCTAssertEqual(report.item("ima-policy")?.state, .open)
        XCTAssertTrue(report.item("ima-policy")?.message.contains("no custom policy loaded yet") ?? false)
        XCTAssertEqual(report.item("secure-boot")?.state, .unknown)
        XCTAssertEqual(report.item("lockdown")?.state, .open)
        XCTAssertEqual(report.item("keyrings")?.state, .enforced)
        XCTAssertEqual(report.exitCode, 2)
    }

    func testReaderOnAnEmptyTreeReportsNothingEnforced() {
        dir.mkdir("empty")
        let s = PostureReader(root: dir.url("empty")).read()
        guard case .absent = s.cmdline else { return XCTFail("\(s.cmdline)") }
        guard case .unreadable = s.kernelConfig else { return XCTFail("\(s.kernelConfig)") }
        let report = PostureEvaluator.evaluate(s)
        XCTAssertEqual(report.items.filter { $0.state == .enforced }.map(\.id), [])
        XCTAssertEqual(report.exitCode, 2)
    }

    func testReaderLoadedPolicyAndSecureBoot() {
        let root = fakeTree(policyWriteOnly: false)
        dir.write("root/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", [6, 0, 0, 0, 1])
        let s = PostureReader(root: root).read()
        XCTAssertEqual(s.secureBoot.value, [6, 0, 0, 0, 1])
        let report = PostureEvaluator.evaluate(s)
        XCTAssertEqual(report.item("secure-boot")?.state, .enforced)
        XCTAssertEqual(report.item("ima-appraise-mode")?.state, .enforced, "Secure Boot overrides ima_appraise=log")
        XCTAssertEqual(report.item("ima-policy")?.state, .unknown)
        // exec-signed lints clean on 6.12 except its info findings: no error among ima-policy/*.
        XCTAssertFalse(report.items.contains { $0.id.hasPrefix("ima-policy/") && $0.severity == .error }, "\(report.items)")
    }
}
