import XCTest
@testable import IMAFormat

final class PolicyParserTests: XCTestCase {
    // MARK: Accepted input

    func testParsesConditionsAndOptionsIntoTheModel() throws {
        let rule = try IMAPolicyRule(parsing:
            "appraise func=BPRM_CHECK mask=^MAY_EXEC fsmagic=0x9FA0 fsuuid=8BCBE394-4F13-4144-BE8E-5AA9EA2CE2F6 "
            + "fowner>999 egid<100 obj_type=bin_t appraise_type=imasig appraise_algos=sha512,sha256 permit_directio")
        XCTAssertEqual(rule.action, .appraise)
        XCTAssertEqual(rule.hook, .bprmCheck)
        XCTAssertEqual(rule.mask, IMAPolicyMask(.exec, inclusive: true))
        XCTAssertEqual(rule.fsmagic, 0x9fa0)
        XCTAssertEqual(rule.fsuuid?.description, "8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6")
        XCTAssertEqual(rule.fowner, IMAPolicyIDMatch(.greaterThan, 999))
        XCTAssertEqual(rule.egid, IMAPolicyIDMatch(.lessThan, 100))
        XCTAssertEqual(rule.lsmLabels, [.objType: "bin_t"])
        XCTAssertEqual(rule.appraiseType, .imasig)
        XCTAssertEqual(rule.appraiseAlgorithms, [.sha256, .sha512])
        XCTAssertTrue(rule.permitsDirectIO)
        XCTAssertEqual(rule.render(),
                       "appraise func=BPRM_CHECK mask=^MAY_EXEC fsmagic=0x9fa0 fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6 "
                       + "egid<100 fowner>999 obj_type=bin_t appraise_type=imasig appraise_algos=sha256,sha512 permit_directio")
    }

    func testLegacyFuncNamesMapToTheirCurrentHooks() throws {
        let policy = try IMAPolicy(parsing: "measure func=FILE_MMAP mask=MAY_EXEC\nmeasure func=PATH_CHECK mask=MAY_READ\n")
        XCTAssertEqual(policy.rules.map(\.hook), [.mmapCheck, .fileCheck])
        XCTAssertEqual(policy.render(), "measure func=MMAP_CHECK mask=MAY_EXEC\nmeasure func=FILE_CHECK mask=MAY_READ\n")
    }

    func testEveryHookNameIsAccepted() throws {
        for hook in IMAHook.allCases {
            XCTAssertEqual(IMAHook(policyName: hook.name), hook)
        }
        XCTAssertNil(IMAHook(policyName: "bprm_check"), "the kernel compares func names case-sensitively")
        XCTAssertEqual(IMAHook.allCases.count, 14)
    }

    func testCommentsBlankLinesAndLineNumbersAreKept() throws {
        let text = "# header\n\n  \t# indented comment\nmeasure func=BPRM_CHECK\n\t\ndont_appraise fsmagic=0x9fa0\n"
        let policy = try IMAPolicy(parsing: text)
        XCTAssertEqual(policy.entries.count, 6)
        XCTAssertEqual(policy.entries[0], .comment(" header"))
        XCTAssertEqual(policy.entries[1], .blank)
        XCTAssertEqual(policy.entries[2], .comment(" indented comment"))
        XCTAssertEqual(policy.entries[4], .blank)
        XCTAssertEqual(policy.numberedRules.map(\.line), [4, 6])
        XCTAssertEqual(policy.render(), "# header\n\n# indented comment\nmeasure func=BPRM_CHECK\n\ndont_appraise fsmagic=0x9fa0\n")
    }

    func testActionMayFollowConditionsAsInTheKernel() throws {
        let rule = try IMAPolicyRule(parsing: "func=BPRM_CHECK appraise appraise_type=imasig")
        XCTAssertEqual(rule.render(), "appraise func=BPRM_CHECK appraise_type=imasig")
    }

    func testFilesystemMagicAcceptsTheKernelsHexForms() throws {
        XCTAssertEqual(try IMAPolicyRule(parsing: "dont_appraise fsmagic=01021994").fsmagic, 0x0102_1994)
        XCTAssertEqual(try IMAPolicyRule(parsing: "dont_appraise fsmagic=0XDE5E81E4").fsmagic, 0xde5e_81e4)
        XCTAssertEqual(try IMAPolicyRule(parsing: "dont_appraise fsmagic=0xffffffffffffffff").fsmagic, UInt64.max)
    }

    func testVerityNeedsDigestTypeBeforeSigv3() throws {
        let rule = try IMAPolicyRule(parsing: "appraise func=BPRM_CHECK digest_type=verity appraise_type=sigv3")
        XCTAssertTrue(rule.usesVerityDigest)
        XCTAssertEqual(rule.appraiseType, .sigv3)
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=sigv3 digest_type=verity", .wrongOrder, column: 26)
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=sigv3", .missingRequired, column: 26)
        assertPolicyError("appraise func=BPRM_CHECK digest_type=verity appraise_type=imasig", .conflicting, column: 45)
        assertPolicyError("appraise func=BPRM_CHECK digest_type=verity", .missingRequired, column: 26)
        XCTAssertNoThrow(try IMAPolicyRule(parsing: "measure func=FILE_CHECK digest_type=verity template=ima-ngv2"))
    }

    // MARK: Refused input, one test per kind of mistake

    func testUnknownAction() {
        assertPolicyError("measure func=BPRM_CHECK\nmesure func=MMAP_CHECK", .unknownAction, line: 2, column: 1, token: "mesure")
        let error = try? XCTUnwrap(catchError { try IMAPolicy(parsing: "mesure func=MMAP_CHECK") })
        XCTAssertEqual(error?.suggestion, "measure")
        XCTAssertTrue(error?.expected?.hasPrefix("one of measure, dont_measure, appraise") == true)
    }

    func testUnknownFuncNamesLineColumnTokenAndExpectedValues() throws {
        let error = try XCTUnwrap(catchError { try IMAPolicy(parsing: "# exec\n\nmeasure func=BPRM_CHEK\n") })
        XCTAssertEqual(error.code, .unknownFunc)
        XCTAssertEqual(error.line, 3)
        XCTAssertEqual(error.column, 14)
        XCTAssertEqual(error.token, "BPRM_CHEK")
        XCTAssertTrue(error.description.hasPrefix(
            "line 3, column 14: unknown func 'BPRM_CHEK' (expected one of BPRM_CHECK, MMAP_CHECK,"), error.description)
        XCTAssertTrue(error.description.hasSuffix("did you mean 'BPRM_CHECK'?"), error.description)
    }

    func testUnknownOption() {
        assertPolicyError("appraise func=BPRM_CHECK apraise_type=imasig", .unknownKeyword, column: 26)
        XCTAssertEqual(catchError { try IMAPolicy(parsing: "appraise func=BPRM_CHECK apraise_type=imasig") }?.suggestion,
                       "appraise_type")
        assertPolicyError("measure func=BPRM_CHECK frobnicate", .unknownKeyword, column: 25, token: "frobnicate")
    }

    func testBadFilesystemMagic() {
        assertPolicyError("dont_appraise fsmagic=0xZZ", .invalidFilesystemMagic, column: 23, token: "0xZZ")
        assertPolicyError("dont_appraise fsmagic=0x", .invalidFilesystemMagic, column: 23)
        assertPolicyError("dont_appraise fsmagic=0x10000000000000000", .invalidFilesystemMagic, column: 23)
    }

    func testBadUUID() {
        assertPolicyError("appraise func=BPRM_CHECK fsuuid=1234", .invalidUUID, column: 33, token: "1234")
        assertPolicyError("appraise fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2fz", .invalidUUID, column: 17)
        assertPolicyError("appraise fsuuid=8bcbe3944f134144be8e5aa9ea2ce2f6", .invalidUUID, column: 17)
    }

    func testPCROutOfRange() {
        assertPolicyError("measure func=BPRM_CHECK pcr=64", .pcrOutOfRange, column: 29, token: "64")
        assertPolicyError("measure func=BPRM_CHECK pcr=-1", .pcrOutOfRange, column: 29)
        assertPolicyError("measure func=BPRM_CHECK pcr=ten", .invalidPCR, column: 29)
        XCTAssertNoThrow(try IMAPolicyRule(parsing: "measure func=BPRM_CHECK pcr=63"))
    }

    func testOptionWithWrongAction() {
        assertPolicyError("measure func=BPRM_CHECK appraise_type=imasig", .notAllowedWithAction, column: 25)
        assertPolicyError("appraise func=BPRM_CHECK pcr=11", .notAllowedWithAction, column: 26)
        assertPolicyError("dont_measure template=ima-ng", .notAllowedWithAction, column: 14)
        assertPolicyError("appraise func=KEY_CHECK keyrings=.ima", .notAllowedWithAction, column: 1)
        assertPolicyError("dont_appraise func=SETXATTR_CHECK appraise_algos=sha256", .notAllowedWithAction, column: 1)
    }

    func testOptionWithWrongFunc() {
        assertPolicyError("measure func=BPRM_CHECK keyrings=.ima", .notAllowedWithFunc, column: 25)
        assertPolicyError("measure keyrings=.ima", .notAllowedWithFunc, column: 9)
        assertPolicyError("measure func=KEY_CHECK label=selinux", .notAllowedWithFunc, column: 24)
        assertPolicyError("measure func=KEY_CHECK fsmagic=0x9fa0", .notAllowedWithFunc, column: 24)
        assertPolicyError("measure func=KEXEC_CMDLINE mask=MAY_READ", .notAllowedWithFunc, column: 28)
        assertPolicyError("measure func=CRITICAL_DATA obj_type=bin_t", .notAllowedWithFunc, column: 28)
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=imasig|modsig", .notAllowedWithFunc, column: 26)
        assertPolicyError("appraise func=MODULE_CHECK appraise_type=imasig appraise_flag=check_blacklist",
                          .missingRequired, column: 49)
        assertPolicyError("appraise func=SETXATTR_CHECK appraise_algos=sha256 appraise_type=imasig",
                          .notAllowedWithFunc, column: 52)
        assertPolicyError("appraise func=SETXATTR_CHECK", .missingRequired, column: 10)
        assertPolicyError("appraise func=MODULE_CHECK digest_type=verity appraise_type=sigv3", .notAllowedWithFunc,
                          column: 28)
    }

    func testDuplicatedCondition() {
        assertPolicyError("measure func=BPRM_CHECK func=MMAP_CHECK", .duplicate, column: 25, token: "func=MMAP_CHECK")
        assertPolicyError("dont_appraise fsmagic=0x9fa0 fsmagic=0x62656572", .duplicate, column: 30)
        assertPolicyError("appraise permit_directio func=BPRM_CHECK permit_directio", .duplicate, column: 42)
        assertPolicyError("measure func=BPRM_CHECK uid=0 euid=0", .conflicting, column: 31)
        assertPolicyError("measure func=BPRM_CHECK egid=0 gid<5", .conflicting, column: 32)
        assertPolicyError("measure appraise func=BPRM_CHECK", .multipleActions, column: 9)
    }

    func testEmptyValue() {
        assertPolicyError("measure func=", .emptyValue, column: 9, token: "func=")
        assertPolicyError("measure func=KEY_CHECK keyrings=.ima||_ima", .emptyListItem, column: 38)
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=imasig appraise_algos=sha256,", .emptyListItem, column: 69)
        assertPolicyError("measure func", .missingValue, column: 9)
    }

    func testBadIDsAndValues() {
        assertPolicyError("measure uid=-1", .invalidID, column: 13)
        assertPolicyError("measure fowner=4294967295", .invalidID, column: 16)
        assertPolicyError("measure mask=MAY_RUN", .unknownMask, column: 14)
        assertPolicyError("measure func=BPRM_CHECK template=ima-ngv3", .unknownTemplate, column: 34)
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=imasig appraise_algos=sha256,md5", .unknownHashAlgorithm,
                          column: 69, token: "md5")
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=imasig appraise_algos=SHA256", .unknownHashAlgorithm,
                          column: 62)
        assertPolicyError("appraise func=BPRM_CHECK appraise_type=sig", .unknownAppraiseType, column: 40)
        assertPolicyError("appraise func=MODULE_CHECK appraise_type=imasig|modsig appraise_flag=whitelist",
                          .unknownAppraiseFlag, column: 70)
        assertPolicyError("measure func=FILE_CHECK digest_type=ima", .unknownDigestType, column: 37)
        assertPolicyError("measure func=BPRM_CHECK pcr>3", .invalidOperator, column: 28)
        assertPolicyError("measure=1 func=BPRM_CHECK", .unexpectedValue, column: 1)
        assertPolicyError("appraise func=BPRM_CHECK permit_directio=1", .unexpectedValue, column: 26)
    }

    func testOrderAndLineSyntaxTheKernelRefuses() {
        assertPolicyError("template=ima-ng measure func=BPRM_CHECK", .wrongOrder, column: 1)
        assertPolicyError("measure func=BPRM_CHECK # programs", .inlineComment, column: 25)
        assertPolicyError("measure func=BPRM_CHECK\r\nmeasure func=MMAP_CHECK\r\n", .unexpectedCharacter, column: 24)
        assertPolicyError("func=BPRM_CHECK mask=MAY_EXEC", .missingAction, column: 1)
    }

    func testValidateRefusesInconsistentRulesBuiltInCode() {
        var rule = IMAPolicyRule(action: .measure, hook: .bprmCheck)
        rule.appraiseType = .imasig
        XCTAssertThrowsError(try rule.validate()) { error in
            let error = error as! PolicyError
            XCTAssertEqual(error.code, .notAllowedWithAction)
            XCTAssertNil(error.line)
            XCTAssertEqual(error.description, "appraise_type= only applies to appraise rules, not measure (expected action appraise)")
        }
        var names = IMAPolicyRule(action: .measure, hook: .keyCheck)
        names.keyrings = ["two words"]
        XCTAssertEqual(catchError { try names.validate() }?.code, .unexpectedCharacter)
        var both = IMAPolicyRule(action: .measure)
        both.uid = .equal(0)
        both.euid = .equal(0)
        XCTAssertEqual(catchError { try both.validate() }?.code, .conflicting)
    }

    private func catchError(_ body: () throws -> Any) -> PolicyError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? PolicyError
        }
    }
}
