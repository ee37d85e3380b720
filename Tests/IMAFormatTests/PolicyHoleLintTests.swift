import XCTest
@testable import IMAFormat

/// Issue 14: `policy lint` was silent on policies whose dont_appraise rules let
/// programs run unappraised, on measurement-only policies and on unappraised
/// kernel code. One deliberately weak policy per kind of hole.
final class PolicyHoleLintTests: XCTestCase {
    /// exec-signed's appraise rules, kernel code included, after line 1 and 2.
    static let enforcing = """
        appraise func=BPRM_CHECK appraise_type=imasig
        appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig
        appraise func=POLICY_CHECK appraise_type=imasig
        appraise func=MODULE_CHECK appraise_type=imasig
        appraise func=FIRMWARE_CHECK appraise_type=imasig
        appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig
        appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig
        """

    /// `exemption` on line 2 (line 1 exempts proc, which is fine), then the appraise rules.
    func lint(_ exemption: String) throws -> [PolicyFinding] {
        PolicyLinter.lint(try IMAPolicy(parsing: "dont_appraise fsmagic=0x9fa0\n\(exemption)\n\(Self.enforcing)\n"))
    }

    func assertHole(_ exemption: String, _ words: [String], hooks: String = "BPRM_CHECK, MMAP_CHECK",
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let findings = try lint(exemption)
        XCTAssertEqual(findings.count, 1, "\(exemption): \(findings)", file: file, line: line)
        guard let f = findings.first else { return }
        XCTAssertEqual(f.id, .dontAppraiseExecBypass, exemption, file: file, line: line)
        XCTAssertEqual(f.id.rawValue, "dont-appraise-exec-bypass", file: file, line: line)
        XCTAssertEqual(f.severity, .error, exemption, file: file, line: line)
        XCTAssertEqual(f.line, 2, exemption, file: file, line: line)
        let shown = exemption.split(separator: " ").dropFirst().joined(separator: " ")
        XCTAssertTrue(f.message.hasPrefix("dont_appraise \(shown) at line 2: "), f.message, file: file, line: line)
        XCTAssertTrue(f.message.hasSuffix("(\(hooks) not appraised there)"), f.message, file: file, line: line)
        for w in words { XCTAssertTrue(f.message.contains(w), "\(w) not in: \(f.message)", file: file, line: line) }
        XCTAssertTrue(f.fix.contains("remove line 2"), f.fix, file: file, line: line)
        XCTAssertEqual(PolicyLinter.exitCode(for: findings), 2, file: file, line: line)
    }

    func testSubjectLabels() throws {
        try assertHole("dont_appraise subj_type=unconfined_t",
                       ["programs run by processes with that SELinux (LSM) type run unsigned"])
        try assertHole("dont_appraise subj_user=staff_u", ["processes with that SELinux (LSM) user"])
        try assertHole("dont_appraise subj_role=sysadm_r", ["processes with that SELinux (LSM) role"])
    }

    func testObjectLabels() throws {
        try assertHole("dont_appraise obj_type=bin_t", ["whose file label has that type run unsigned"])
        try assertHole("dont_appraise obj_user=user_u", ["whose file label has that user"])
        try assertHole("dont_appraise obj_role=object_r", ["whose file label has that role"])
    }

    func testOwnersAndGroups() throws {
        try assertHole("dont_appraise fowner=1000", ["owned by a user matching fowner=1000 run unsigned"])
        try assertHole("dont_appraise fgroup=100", ["whose group matches fgroup=100 run unsigned"])
        try assertHole("dont_appraise func=BPRM_CHECK fowner>0", ["fowner>0"], hooks: "BPRM_CHECK")
    }

    func testProcessIDs() throws {
        try assertHole("dont_appraise uid=1000", ["processes whose uid matches uid=1000 runs unsigned"])
        try assertHole("dont_appraise euid=0", ["processes whose euid matches euid=0"])
        try assertHole("dont_appraise gid=27", ["processes whose gid matches gid=27"])
        try assertHole("dont_appraise egid=27", ["processes whose egid matches egid=27"])
        try assertHole("dont_appraise uid>999", ["uid>999"])
        try assertHole("dont_appraise func=MMAP_CHECK euid<1000", ["euid<1000"], hooks: "MMAP_CHECK")
    }

    func testFilesystemUUID() throws {
        try assertHole("dont_appraise fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6",
                       ["every program on the filesystem with that UUID runs unsigned"])
    }

    func testTheRootFilesystemsType() throws {
        for exemption in ["dont_appraise fsname=ext4", "dont_appraise fsmagic=0xef53", "dont_appraise fsname=ext3"] {
            try assertHole(exemption, ["is the root filesystem's type: nothing on it is appraised"])
        }
    }

    func testOtherFilesystemsThatHoldPrograms() throws {
        for (name, magic) in [("xfs", "0x58465342"), ("btrfs", "0x9123683e"), ("vfat", "0x4d44"), ("squashfs", "0x73717368"),
                              ("erofs", "0xe0f5e1e2"), ("overlay", "0x794c7630"), ("nfs", "0x6969"), ("fuse", "0x65735546")] {
            let expected = "\(name) holds programs: every program and library on a \(name) filesystem runs unsigned"
            try assertHole("dont_appraise fsname=\(name)", [expected])
            try assertHole("dont_appraise fsmagic=\(magic)", [expected])
        }
        // A magic Signet does not know is not assumed harmless.
        try assertHole("dont_appraise fsmagic=0x12345678", ["not one of the pseudo filesystems"])
    }

    func testTmpfsKeepsItsOwnFindingOnce() throws {
        for exemption in ["dont_appraise fsmagic=0x1021994", "dont_appraise fsname=tmpfs", "dont_appraise fsname=ramfs uid=0"] {
            let findings = try lint(exemption)
            XCTAssertEqual(findings.map(\.id), [.tmpfsExecBypass], "\(exemption): \(findings)")
            XCTAssertEqual(findings.map(\.line), [2])
            XCTAssertEqual(findings.map(\.severity), [.error])
        }
    }

    func testSeveralConditionsAreEachNamed() throws {
        let findings = try lint("dont_appraise func=BPRM_CHECK fsname=xfs subj_type=unconfined_t")
        let f = try XCTUnwrap(findings.first)
        XCTAssertEqual(findings.count, 1, "\(findings)")
        XCTAssertTrue(f.message.contains("fsname=xfs: xfs holds programs"), f.message)
        XCTAssertTrue(f.message.contains("subj_type=unconfined_t: programs run by processes"), f.message)
    }

    func testWhatIsNotAHole() throws {
        // Pseudo filesystems, with or without other conditions; hooks that run no code;
        // an exemption an earlier appraise rule pre-empts for every exec hook; and one
        // with no appraise rule after it for the hook.
        for exemption in ["dont_appraise fsmagic=0x62656572", "dont_appraise fsname=proc", "dont_appraise fsname=cgroup2 uid=0",
                          "dont_appraise fsmagic=0x73636673 subj_type=init_t", "dont_appraise func=FILE_CHECK obj_type=var_log_t",
                          "dont_appraise func=MODULE_CHECK fowner=0", "dont_appraise func=MMAP_CHECK mask=MAY_READ uid=0"] {
            let findings = try lint(exemption).filter { $0.id != .maskNeverMatches }
            XCTAssertEqual(findings, [], exemption)
        }
        let late = PolicyLinter.lint(try IMAPolicy(parsing: Self.enforcing + "\ndont_appraise uid=1000\n"))
        XCTAssertFalse(late.contains { $0.id == .dontAppraiseExecBypass }, "\(late)")
        XCTAssertTrue(late.contains { $0.id == .dontRuleShadowed || $0.id == .dontRuleAfterOverlappingRule }, "\(late)")
        // Before BPRM_CHECK's rule but after MMAP_CHECK's: only BPRM_CHECK is exempt.
        let between = PolicyLinter.lint(try IMAPolicy(parsing: """
            appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig
            dont_appraise uid=1000
            appraise func=BPRM_CHECK appraise_type=imasig
            appraise func=MODULE_CHECK appraise_type=imasig
            appraise func=FIRMWARE_CHECK appraise_type=imasig
            appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig
            appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig
            appraise func=POLICY_CHECK appraise_type=imasig
            """)).filter { $0.id == .dontAppraiseExecBypass }
        XCTAssertEqual(between.map(\.line), [2])
        XCTAssertTrue(between.first?.message.hasSuffix("(BPRM_CHECK not appraised there)") == true, "\(between)")
        // A policy that appraises nothing has no holes to report beyond being measurement only.
        let noAppraise = PolicyLinter.lint(try IMAPolicy(parsing: "dont_appraise uid=1000\nmeasure func=BPRM_CHECK\nmeasure func=POLICY_CHECK\n"))
        XCTAssertEqual(noAppraise.map(\.id), [.measurementOnly])
    }

    func testMeasurementOnlySaysTheKernelRefusesNothing() throws {
        let findings = PolicyLinter.lint(try IMAPolicy(parsing: "measure func=BPRM_CHECK\nmeasure func=MMAP_CHECK mask=MAY_EXEC\nmeasure func=POLICY_CHECK\n"))
        XCTAssertEqual(findings.map(\.id), [.measurementOnly])
        let f = try XCTUnwrap(findings.first)
        XCTAssertEqual(f.id.rawValue, "measurement-only")
        XCTAssertEqual(f.severity, .warning)
        XCTAssertNil(f.line)
        XCTAssertTrue(f.message.hasPrefix("measurement only: the kernel refuses nothing (no file is ever refused)"), f.message)
        XCTAssertEqual(PolicyLinter.exitCode(for: findings), 1)
    }

    func testKernelCodeUnappraised() throws {
        let execOnly = try PolicyFixtures.policy("weak/kernel-code-unappraised.policy")
        let findings = PolicyLinter.lint(execOnly)
        XCTAssertTrue(findings.allSatisfy { $0.id.rawValue == "kernel-code-unappraised" && $0.line == nil }, "\(findings)")
        func finding(_ hook: String, _ list: [PolicyFinding]) -> PolicyFinding? {
            list.first { $0.message.contains("func=\(hook):") || $0.message.contains("func=\(hook);") }
        }
        let module = try XCTUnwrap(finding("MODULE_CHECK", findings))
        XCTAssertEqual(module.severity, .error)
        XCTAssertTrue(module.message.contains("unsigned kernel modules load"), module.message)
        XCTAssertTrue(module.message.contains("unless module.sig_enforce=1 or lockdown is on"), module.message)
        XCTAssertTrue(module.fix.contains("appraise func=MODULE_CHECK appraise_type=imasig"), module.fix)
        XCTAssertEqual(try XCTUnwrap(finding("KEXEC_KERNEL_CHECK", findings)).severity, .error)
        XCTAssertEqual(try XCTUnwrap(finding("FIRMWARE_CHECK", findings)).severity, .warning)
        XCTAssertEqual(try XCTUnwrap(finding("KEXEC_INITRAMFS_CHECK", findings)).severity, .warning)
        XCTAssertEqual(findings.count, 4)
        XCTAssertEqual(PolicyLinter.exitCode(for: findings), 2)

        // The kernel checks module signatures itself: MODULE_CHECK is info, kexec still an error.
        let enforced = PolicyLinter.lint(execOnly, context: PolicyLintContext(moduleSignaturesEnforced: true))
        let moduleInfo = try XCTUnwrap(finding("MODULE_CHECK", enforced))
        XCTAssertEqual(moduleInfo.id, .kernelCodeUnappraised)
        XCTAssertEqual(moduleInfo.severity, .info)
        XCTAssertTrue(moduleInfo.message.contains("module.sig_enforce=1"), moduleInfo.message)
        XCTAssertEqual(try XCTUnwrap(finding("KEXEC_KERNEL_CHECK", enforced)).severity, .error)
        XCTAssertEqual(PolicyLinter.lint(execOnly, context: PolicyLintContext(moduleSignaturesEnforced: false)), findings)

        // Only modules missing, module signatures enforced: the policy passes (info only).
        let noModules = try IMAPolicy(parsing: Self.enforcing.replacingOccurrences(of: "appraise func=MODULE_CHECK appraise_type=imasig\n", with: ""))
        XCTAssertEqual(PolicyLinter.exitCode(for: PolicyLinter.lint(noModules)), 2)
        XCTAssertEqual(PolicyLinter.exitCode(for: PolicyLinter.lint(noModules, context: PolicyLintContext(moduleSignaturesEnforced: true))), 0)
        // An exemption ahead of MODULE_CHECK's rule that takes all of it leaves modules unappraised.
        let exempted = try IMAPolicy(parsing: "dont_appraise func=MODULE_CHECK\n" + Self.enforcing)
        XCTAssertNotNil(finding("MODULE_CHECK", PolicyLinter.lint(exempted)))
        // A policy that does not appraise exec is not asked about kernel code.
        XCTAssertFalse(PolicyLinter.lint(try IMAPolicy(parsing: "appraise func=POLICY_CHECK appraise_type=imasig\n"))
            .contains { $0.id == .kernelCodeUnappraised })
    }
}
