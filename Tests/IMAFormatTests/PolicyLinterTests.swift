import XCTest
@testable import IMAFormat

final class PolicyLinterTests: XCTestCase {
    /// What each deliberately weak fixture must produce: (line, id), sorted as the linter sorts.
    static let weakExpectations: [String: [(Int?, PolicyFindingID)]] = [
        "empty.policy": [(nil, .emptyPolicy)],
        "exec-without-mmap.policy": [(3, .execWithoutMmap)],
        "mmap-reqprot-only.policy": [(2, .execWithoutMmap)],
        "mmap-without-exec-mask.policy": [(3, .mmapWithoutExecMask)],
        "mask-never-matches.policy": [(3, .execWithoutMmap), (4, .maskNeverMatches)],
        "tmpfs-exempt.policy": [(4, .tmpfsExecBypass), (5, .tmpfsExecBypass)],
        "tmpfs-unmeasured.policy": [(nil, .measurementOnly), (2, .tmpfsExecUnmeasured)],
        "exemptions-too-late.policy": [(6, .dontRuleShadowed), (8, .dontRuleAfterOverlappingRule)],
        "shadowed-rules.policy": [(3, .appraiseWithoutSignature), (4, .ruleShadowed), (6, .redundantRule),
                                  (7, .ruleShadowed)],
        "hash-only.policy": [(2, .appraiseWithoutSignature), (3, .appraiseWithoutSignature)],
        "no-policy-check.policy": [(nil, .noPolicyCheck)],
        "no-exec-appraisal.policy": [(nil, .noExecAppraisal)],
        "owner-restricted.policy": [(2, .ownerRestrictedAppraisal), (3, .ownerRestrictedAppraisal)],
        "filesystem-restricted.policy": [(2, .execAppraisalRestricted), (3, .execAppraisalRestricted)],
        "kernel-appraise-tcb.policy": [(nil, .noPolicyCheck), (5, .tmpfsExecBypass), (6, .tmpfsExecBypass),
                                       (16, .ownerRestrictedAppraisal), (16, .appraiseWithoutSignature),
                                       (16, .appraiseAllHooks)],
        "new-kernel-features.policy": [],
        "misc-options.policy": [(6, .setxattrCheckIgnored), (7, .pcrBeyondTPM)],
        "kernel-code-unappraised.policy": Array(repeating: (nil, .kernelCodeUnappraised), count: 4),
        "dont-appraise-exec-bypass.policy": [(3, .dontAppraiseExecBypass), (4, .dontAppraiseExecBypass),
                                             (5, .dontAppraiseExecBypass)],
    ]

    func testEachWeakFixtureProducesExactlyItsFindings() throws {
        let files = try PolicyFixtures.files(in: PolicyFixtures.policies.appendingPathComponent("weak"))
        XCTAssertEqual(Set(files.map(\.lastPathComponent)), Set(Self.weakExpectations.keys))
        for file in files {
            let findings = PolicyLinter.lint(try IMAPolicy(parsing: PolicyFixtures.text(file)))
            let expected = Self.weakExpectations[file.lastPathComponent]!
            XCTAssertEqual(findings.map(\.line), expected.map(\.0), file.lastPathComponent + ": \(findings)")
            XCTAssertEqual(findings.map(\.id), expected.map(\.1), file.lastPathComponent + ": \(findings)")
        }
    }

    func testEveryFindingKindIsExercisedByAWeakFixture() throws {
        var seen = Set<PolicyFindingID>()
        for file in try PolicyFixtures.files(in: PolicyFixtures.policies.appendingPathComponent("weak")) {
            let policy = try IMAPolicy(parsing: PolicyFixtures.text(file))
            seen.formUnion(PolicyLinter.lint(policy, kernel: KernelVersion(5, 4)).map(\.id))
        }
        XCTAssertEqual(seen, Set(PolicyFindingID.allCases))
    }

    func testShippedProfilesAndGoodFixturesAreClean() throws {
        let weakIDs = Set(Self.weakExpectations.values.flatMap { $0.map(\.1) })
        XCTAssertEqual(PolicyLinter.lint(try PolicyGenerator.generate([.execSigned])), [])
        XCTAssertEqual(PolicyLinter.lint(try PolicyGenerator.generate([.execSignedWithModules])), [])
        XCTAssertEqual(PolicyLinter.lint(try PolicyGenerator.generate([.execSigned]), kernel: KernelVersion(6, 12)), [])
        // measure-tcb alone enforces nothing by design: the one finding says so, as a warning.
        let measureOnly = PolicyLinter.lint(try PolicyGenerator.generate([.measureTCB]))
        XCTAssertEqual(measureOnly.map(\.id), [.measurementOnly])
        XCTAssertEqual(measureOnly.map(\.severity), [.warning])
        for file in try PolicyFixtures.files(in: PolicyFixtures.shipped) {
            let ids = Set(PolicyLinter.lint(try IMAPolicy(parsing: PolicyFixtures.text(file)), kernel: KernelVersion(6, 1))
                .map(\.id))
            XCTAssertTrue(ids.isSubset(of: [.measurementOnly]), "\(file.lastPathComponent): \(ids)")
            XCTAssertTrue(ids.subtracting([.measurementOnly]).isDisjoint(with: weakIDs))
        }
        for file in try PolicyFixtures.files(in: PolicyFixtures.policies.appendingPathComponent("good")) {
            let findings = PolicyLinter.lint(try IMAPolicy(parsing: PolicyFixtures.text(file)), kernel: KernelVersion(6, 1))
            XCTAssertEqual(findings, [], file.lastPathComponent)
        }
    }

    func testFindingsNameLinesAndFixes() throws {
        let findings = PolicyLinter.lint(try PolicyFixtures.policy("weak/exemptions-too-late.policy"))
        XCTAssertEqual(findings[0].severity, .warning)
        XCTAssertEqual(findings[0].message,
                       "dont_appraise at line 6 never takes effect: appraise at line 2 matches everything it matches, "
                       + "and the first matching rule wins")
        XCTAssertEqual(findings[0].fix, "move line 6 above line 2")
        XCTAssertTrue(findings[1].message.contains("(func=BPRM_CHECK fsmagic=0x62656572)"), findings[1].message)
        XCTAssertTrue(findings[0].description.hasPrefix("line 6: warning [dont-rule-shadowed] "))
    }

    func testFirstMatchModelHasNoFalsePositivesForDisjointRules() throws {
        let policy = try IMAPolicy(parsing: """
            appraise func=BPRM_CHECK fowner=0 appraise_type=imasig
            dont_appraise func=BPRM_CHECK fowner>0
            appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig
            appraise func=POLICY_CHECK appraise_type=imasig
            dont_appraise func=FILE_CHECK fsmagic=0x9fa0
            dont_appraise func=MMAP_CHECK mask=MAY_READ
            dont_appraise func=MMAP_CHECK uid<0
            dont_measure func=BPRM_CHECK
            measure func=KEY_CHECK keyrings=.ima
            dont_measure func=KEY_CHECK keyrings=_ima
            dont_measure fsmagic=0x9fa0
            appraise func=BPRM_CHECK appraise_type=imasig
            appraise func=MODULE_CHECK appraise_type=imasig
            appraise func=FIRMWARE_CHECK appraise_type=imasig
            appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig
            appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig
            """)
        // fowner=0 and fowner>0 are disjoint; FILE_CHECK is not BPRM_CHECK or MMAP_CHECK;
        // measure and appraise are separate decisions; keyrings .ima and _ima differ;
        // a rule without func= never matches KEY_CHECK. Lines 6 and 7 match nothing,
        // which only the mask finding reports. No ordering finding, but line 2 is a
        // real hole: line 12 would appraise the files not owned by root that it exempts.
        let findings = PolicyLinter.lint(policy)
        XCTAssertEqual(findings.map(\.id), [.dontAppraiseExecBypass, .maskNeverMatches], "\(findings)")
        XCTAssertEqual(findings.map(\.line), [2, 6])
    }

    func testOverlapNeedsProofBeforeReporting() throws {
        // fsmagic against fsuuid, and different LSM labels: cannot be decided from the text.
        let policy = try IMAPolicy(parsing: """
            appraise func=BPRM_CHECK fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6 appraise_type=imasig
            appraise func=BPRM_CHECK obj_type=bin_t appraise_type=imasig
            appraise func=BPRM_CHECK appraise_type=imasig
            appraise func=MMAP_CHECK mask=MAY_EXEC appraise_type=imasig
            appraise func=POLICY_CHECK appraise_type=imasig
            dont_appraise fsmagic=0x9fa0 subj_type=init_t
            appraise func=MODULE_CHECK appraise_type=imasig
            appraise func=FIRMWARE_CHECK appraise_type=imasig
            appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig
            appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig
            """)
        let findings = PolicyLinter.lint(policy)
        // Line 6 provably overlaps line 3, which has no filesystem or LSM condition;
        // against lines 1 and 2 the overlap is undecidable and not reported.
        XCTAssertEqual(findings.map(\.id), [.dontRuleAfterOverlappingRule])
        let finding = try XCTUnwrap(findings.first)
        XCTAssertTrue(finding.message.contains("after appraise at line 3"), finding.message)
    }

    func testKernelVersionFindingsCiteTheFirstRelease() throws {
        let policy = try PolicyFixtures.policy("weak/new-kernel-features.policy")
        let old = PolicyLinter.lint(policy, kernel: KernelVersion(5, 4))
        XCTAssertEqual(old.map(\.line), [2, 3, 6, 6, 7, 7, 8, 8, 9, 9])
        XCTAssertTrue(old.allSatisfy { $0.id == .kernelUnsupported && $0.severity == .error })
        XCTAssertTrue(old[1].message.hasPrefix("func=MMAP_CHECK_REQPROT needs Linux 6.3 or later; Linux 5.4 refuses"))
        XCTAssertEqual(PolicyLinter.lint(policy, kernel: KernelVersion("6.2.16")!).map(\.line), [3])
        XCTAssertEqual(PolicyLinter.lint(policy, kernel: KernelVersion("6.3")!), [])
        XCTAssertEqual(PolicyLinter.lint(try PolicyGenerator.generate([.measureTCB]), kernel: KernelVersion(5, 5))
            .filter { $0.id == .kernelUnsupported }.count, 2, "KEY_CHECK and keyrings= need 5.6")
    }

    func testExitCodeFollowsTheWorstSeverity() throws {
        XCTAssertEqual(PolicyLinter.exitCode(for: []), 0)
        XCTAssertEqual(PolicyLinter.exitCode(for: PolicyLinter.lint(try PolicyFixtures.policy("weak/mmap-without-exec-mask.policy"))), 0,
                       "info findings do not fail")
        XCTAssertEqual(PolicyLinter.exitCode(for: PolicyLinter.lint(try PolicyGenerator.generate([.measureTCB]))), 1,
                       "measurement only: the kernel refuses nothing")
        XCTAssertEqual(PolicyLinter.exitCode(for: PolicyLinter.lint(try PolicyFixtures.policy("weak/hash-only.policy"))), 1)
        XCTAssertEqual(PolicyLinter.exitCode(for: PolicyLinter.lint(try PolicyFixtures.policy("weak/tmpfs-exempt.policy"))), 2)
    }
}
