import XCTest
@testable import IMAFormat

final class PolicyGeneratorTests: XCTestCase {
    func testShippedFilesAreExactlyTheDefaultRendering() throws {
        for profile in PolicyProfile.allCases {
            let url = PolicyFixtures.shipped.appendingPathComponent(profile.fileName)
            let shipped = try PolicyFixtures.text(url)
            let generated = try PolicyGenerator.generate([profile]).render()
            XCTAssertEqual(shipped, generated, "ima-policy/\(profile.fileName) is stale: regenerate it")
        }
        XCTAssertEqual(try PolicyFixtures.files(in: PolicyFixtures.shipped).map(\.lastPathComponent).sorted(),
                       PolicyProfile.allCases.map(\.fileName).sorted())
    }

    func testExecSignedAppraisesExecAndMmapEverywhereExceptPseudoFilesystems() throws {
        let rules = try PolicyGenerator.generate([.execSigned]).rules
        let exempt = rules.filter { $0.action == .dontAppraise }
        XCTAssertEqual(exempt.compactMap(\.fsmagic), [
            0x9fa0, 0x6265_6572, 0x7363_6673, 0x6462_6720, 0x7472_6163, 0x1cd1, 0x27e0eb, 0x6367_7270,
            0xf97c_ff8c, 0x4341_5d53, 0x4249_4e4d, 0xde5e_81e4, 0xcafe_4a11, 0x6165_676c, 0x6265_6570, 0x6e73_6673,
        ])
        XCTAssertFalse(exempt.contains { $0.fsmagic == IMAFilesystem.tmpfs.magic || $0.fsmagic == IMAFilesystem.ramfs.magic })
        let appraised = rules.filter { $0.action == .appraise }
        XCTAssertEqual(appraised.map { $0.render() }, [
            "appraise func=BPRM_CHECK appraise_type=imasig",
            "appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig",
            "appraise func=POLICY_CHECK appraise_type=imasig",
            "appraise func=MODULE_CHECK appraise_type=imasig",
            "appraise func=FIRMWARE_CHECK appraise_type=imasig",
            "appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig",
            "appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig",
        ])
    }

    func testExecSignedCoversKernelCodeAndExplainsModuleSigEnforce() throws {
        let policy = try PolicyGenerator.generate([.execSigned])
        let rules = policy.rules.filter { $0.action == .appraise }
        XCTAssertEqual(rules.compactMap(\.hook), [
            .bprmCheck, .mmapCheck, .policyCheck, .moduleCheck, .firmwareCheck, .kexecKernelCheck, .kexecInitramfsCheck,
        ])
        XCTAssertTrue(rules.allSatisfy { $0.appraiseType == .imasig })
        let text = policy.render()
        for words in ["kmod 30", "init_module(2)", "module.sig_enforce=1", "signet image prepare"] {
            XCTAssertTrue(text.contains(words), words)
        }
        // The comment sits right above the MODULE_CHECK rule.
        let beforeModules = try XCTUnwrap(text.components(separatedBy: "appraise func=MODULE_CHECK").first)
        XCTAssertTrue(beforeModules.hasSuffix("# sets it.\n"), beforeModules)
    }

    func testMeasureTCBMeasuresFilesAndKeys() throws {
        let rules = try PolicyGenerator.generate([.measureTCB]).rules.filter { $0.action == .measure }
        XCTAssertEqual(rules.map { $0.render() }, [
            "measure func=BPRM_CHECK template=ima-sig",
            "measure func=MMAP_CHECK mask=MAY_EXEC template=ima-sig",
            "measure func=MODULE_CHECK template=ima-sig",
            "measure func=FIRMWARE_CHECK template=ima-sig",
            "measure func=POLICY_CHECK template=ima-sig",
            "measure func=KEY_CHECK keyrings=_ima|.ima template=ima-buf",
        ])
    }

    func testCombinedProfilesPutEveryExemptionFirstAndIgnoreInputOrder() throws {
        let combined = try PolicyGenerator.generate([.measureTCB, .execSigned])
        XCTAssertEqual(combined, try PolicyGenerator.generate([.execSigned, .measureTCB, .execSigned]))
        let actions = combined.rules.map(\.action)
        let lastExemption = actions.lastIndex { $0.isExclusion }!
        let firstRule = actions.firstIndex { !$0.isExclusion }!
        XCTAssertLessThan(lastExemption, firstRule)
        XCTAssertEqual(combined.rules.filter { $0.action == .dontMeasure }.count, IMAFilesystem.pseudo.count)
        XCTAssertTrue(combined.render().hasPrefix("# Signet IMA policy: exec-signed + measure-tcb\n"))
        XCTAssertEqual(PolicyLinter.lint(combined), [])
    }

    func testModulesAliasRendersExactlyExecSigned() throws {
        XCTAssertEqual(try PolicyGenerator.generate([.execSignedWithModules]).render(),
                       try PolicyGenerator.generate([.execSigned]).render())
        XCTAssertEqual(try PolicyGenerator.generate([.execSigned, .execSignedWithModules]),
                       try PolicyGenerator.generate([.execSigned]))
        XCTAssertEqual(PolicyProfile(rawValue: "exec-signed+modules")?.canonical, .execSigned)
        XCTAssertTrue(PolicyProfile.execSignedWithModules.isDeprecatedAlias)
        XCTAssertFalse(PolicyProfile.allCases.contains(.execSignedWithModules), "no shipped file for the alias")
        XCTAssertThrowsError(try PolicyGenerator.generate([])) { error in
            XCTAssertEqual((error as? PolicyError)?.code, .noProfile)
        }
    }

    func testFilesystemUUIDsRestrictEveryAppraiseAndMeasureRule() throws {
        let root = try XCTUnwrap(IMAFilesystemUUID("8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6"))
        let boot = try XCTUnwrap(IMAFilesystemUUID("0d5e6f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6"))
        let options = PolicyGeneratorOptions(filesystemUUIDs: [root, boot])
        let policy = try PolicyGenerator.generate([.execSigned, .measureTCB], options: options)
        let positive = policy.rules.filter { ($0.action == .appraise || $0.action == .measure) && $0.hook != .keyCheck }
        XCTAssertEqual(positive.count, 2 * 12)
        XCTAssertTrue(positive.allSatisfy { $0.fsuuid == root || $0.fsuuid == boot })
        XCTAssertEqual(positive.filter { $0.hook == .bprmCheck && $0.action == .appraise }.map(\.fsuuid), [root, boot])
        XCTAssertNil(policy.rules.first { $0.hook == .keyCheck }?.fsuuid, "fsuuid= is not valid with KEY_CHECK")
        XCTAssertTrue(policy.rules.filter(\.action.isExclusion).allSatisfy { $0.fsuuid == nil })
        // The trade-off is real: exec elsewhere (tmpfs, memfd) is not appraised, and the linter says so.
        XCTAssertEqual(Set(PolicyLinter.lint(policy).map(\.id)), [.execAppraisalRestricted])
    }

    func testAlgorithmsTemplateAndExtraExemptions() throws {
        let options = PolicyGeneratorOptions(extraExemptFilesystemMagics: [0x5a3c_69f0, 0x9fa0],
                                             appraiseAlgorithms: [.sha512, .sha256], measurementTemplate: nil)
        let policy = try PolicyGenerator.generate([.execSigned, .measureTCB], options: options)
        let rendered = policy.render()
        XCTAssertTrue(rendered.contains("# added by generator options\ndont_appraise fsmagic=0x5a3c69f0\n"))
        XCTAssertTrue(rendered.contains("\ndont_measure fsmagic=0x5a3c69f0\n"))
        XCTAssertEqual(policy.rules.filter { $0.fsmagic == 0x9fa0 }.count, 2, "already-exempt magics are not repeated")
        XCTAssertTrue(rendered.contains("\nappraise func=BPRM_CHECK appraise_type=imasig appraise_algos=sha256,sha512\n"))
        XCTAssertTrue(rendered.contains("\nappraise func=SETXATTR_CHECK appraise_algos=sha256,sha512\n"))
        XCTAssertTrue(rendered.contains("\nmeasure func=BPRM_CHECK\n"), "no template= without a template option")
        XCTAssertTrue(rendered.contains("\nmeasure func=KEY_CHECK keyrings=_ima|.ima template=ima-buf\n"))
        // Exempting a filesystem Signet does not know to be a pseudo filesystem is a hole, and said so.
        let exemptLine = try XCTUnwrap(rendered.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0 == "dont_appraise fsmagic=0x5a3c69f0" }) + 1
        let findings = PolicyLinter.lint(policy)
        XCTAssertEqual(findings.map(\.id), [.dontAppraiseExecBypass], "\(findings)")
        XCTAssertEqual(findings.map(\.line), [exemptLine])
        XCTAssertEqual(PolicyLinter.lint(policy, kernel: KernelVersion(5, 10)).filter { $0.id == .kernelUnsupported }.count,
                       9, "appraise_algos= (8 appraise rules) and SETXATTR_CHECK need 5.15")
        // A pseudo filesystem magic is fine to exempt.
        let pseudo = try PolicyGenerator.generate([.execSigned], options: PolicyGeneratorOptions(extraExemptFilesystemMagics: [0x6e73_6673]))
        XCTAssertEqual(PolicyLinter.lint(pseudo), [])
    }

    func testEveryGeneratedCommentIsOneLineAndEveryRuleValid() throws {
        for profile in PolicyProfile.allCases {
            let policy = try PolicyGenerator.generate([profile])
            for entry in policy.entries {
                if case .comment(let text) = entry { XCTAssertFalse(text.contains("\n")) }
                if case .rule(let rule) = entry { XCTAssertNoThrow(try rule.validate()) }
            }
            XCTAssertEqual(try PolicyGenerator.generate([profile]).render(), policy.render(), "not deterministic")
        }
    }
}
