import XCTest
import IMAFormat
import Provenance
import Signing
import SignetTestSupport
@testable import Policy

/// The kernel parameters `image prepare` writes into an image's boot
/// configuration, and the settings in it that it refuses.
final class KernelParametersTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-kernel-parameters") }

    private func policy(_ text: String) throws -> IMAPolicy { try IMAPolicy(parsing: text) }

    func testAnAppraisingPolicyNeedsTheBlockDeviceOptionAndModulesNeedSignatureEnforcement() throws {
        let execOnly = try policy("appraise func=BPRM_CHECK appraise_type=imasig\n")
        XCTAssertEqual(KernelParameters.required(for: execOnly).map(\.text), ["bdev_allow_write_mounted=0"])
        let withModules = try policy("appraise func=BPRM_CHECK appraise_type=imasig\nappraise func=MODULE_CHECK appraise_type=imasig\n")
        XCTAssertEqual(KernelParameters.required(for: withModules).map(\.text), ["bdev_allow_write_mounted=0", "module.sig_enforce=1"])
        // Measurement refuses nothing: no parameter is needed for it.
        XCTAssertEqual(KernelParameters.required(for: try policy("measure func=BPRM_CHECK\n")), [])
    }

    func testTheGrubSnippetAppendsToWhatTheImageAlreadyHas() throws {
        let reqs = KernelParameters.required(for: try policy("appraise func=MODULE_CHECK appraise_type=imasig\n"))
        let text = KernelParameters.grubSnippetText(reqs)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.last, "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX bdev_allow_write_mounted=0 module.sig_enforce=1\"")
        XCTAssertTrue(lines.dropLast().allSatisfy { $0.hasPrefix("#") }, text)
    }

    func testKernelCmdlineKeepsItsWordsAndGetsTheRequirementsOnce() throws {
        let reqs = KernelParameters.required(for: try policy("appraise func=MODULE_CHECK appraise_type=imasig\n"))
        XCTAssertEqual(KernelParameters.updatedKernelCmdline("root=/dev/vda1 ro quiet\n", reqs),
                       "root=/dev/vda1 ro quiet bdev_allow_write_mounted=0 module.sig_enforce=1\n")
        // A parameter set the other way is replaced, not left beside ours (the kernel takes the last).
        XCTAssertEqual(KernelParameters.updatedKernelCmdline("root=/dev/vda1 bdev_allow_write_mounted=1 module.sig_enforce=1", reqs),
                       "root=/dev/vda1 module.sig_enforce=1 bdev_allow_write_mounted=0\n")
        // Already right: nothing to write.
        XCTAssertNil(KernelParameters.updatedKernelCmdline("root=/dev/vda1 bdev_allow_write_mounted=0 module.sig_enforce=1\n", reqs))
    }

    func testSettingsThatStopEnforcementAreRefusedNamingFileAndLine() throws {
        dir.write("root/etc/default/grub", "# ima_appraise=log in a comment is fine\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet ima_appraise=log\"\n")
        dir.write("root/etc/default/grub.d/50-local.cfg", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX lsm=apparmor,yama bdev_allow_write_mounted=1\"\n")
        dir.write("root/etc/default/grub.d/signet.cfg", "GRUB_CMDLINE_LINUX=\"ima_appraise=off\"\n")  // ours: rewritten, not read
        dir.write("root/etc/kernel/cmdline", "root=/dev/vda ima_appraise=fix integrity=0\n")
        let reqs = KernelParameters.required(for: try policy("appraise func=BPRM_CHECK appraise_type=imasig\n"))
        let problems = KernelParameters.conflicts(in: ImageRoot(dir.url("root")), requirements: reqs)
        XCTAssertTrue(problems.allSatisfy { $0.id == .bootParameterConflict && $0.severity == .failure })
        let messages = problems.map(\.message)
        guard messages.count == 5 else { return XCTFail("expected 5 conflicts:\n" + messages.joined(separator: "\n")) }
        XCTAssertTrue(messages[0].hasPrefix("/etc/default/grub line 3: ima_appraise=log"), messages[0])
        XCTAssertTrue(messages[1].hasPrefix("/etc/default/grub.d/50-local.cfg line 1: lsm=apparmor,yama leaves out 'integrity'"), messages[1])
        XCTAssertTrue(messages[2].hasPrefix("/etc/default/grub.d/50-local.cfg line 1: bdev_allow_write_mounted=1 undoes bdev_allow_write_mounted=0"), messages[2])
        XCTAssertTrue(messages[3].hasPrefix("/etc/kernel/cmdline: ima_appraise=fix"), messages[3])
        XCTAssertTrue(messages[4].hasPrefix("/etc/kernel/cmdline: integrity=0"), messages[4])
    }

    func testACleanBootConfigurationHasNoConflict() throws {
        dir.write("root/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet ima_appraise=enforce lsm=lockdown,integrity,apparmor module.sig_enforce=y\"\n")
        let reqs = KernelParameters.required(for: try policy("appraise func=MODULE_CHECK appraise_type=imasig\n"))
        XCTAssertEqual(KernelParameters.conflicts(in: ImageRoot(dir.url("root")), requirements: reqs), [])
        XCTAssertEqual(KernelParameters.conflicts(in: ImageRoot(dir.url("empty")), requirements: reqs), [])
    }

    func testFirmwareAndKexecImagesAreCodeByTheirPlace() {
        for path in ["lib/firmware/i915/tgl_guc.bin", "usr/lib/firmware/regulatory.db", "boot/vmlinuz-6.12.1-amd64", "boot/initrd.img-6.12.1-amd64"] {
            XCTAssertTrue(FileSelection.isKernelLoadedCode(FilePath(path)), path)
        }
        for path in ["etc/firmware.conf", "usr/share/doc/firmware/README", "boot/config-6.12.1-amd64", "boot/grub/grub.cfg", "boot/vmlinuz-x/y"] {
            XCTAssertFalse(FileSelection.isKernelLoadedCode(FilePath(path)), path)
        }
    }
}
