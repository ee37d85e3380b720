import XCTest
@testable import IMAFormat

/// parse(render(p)) == p, over every fixture and over generated rules.
final class PolicyRoundTripTests: XCTestCase {
    func testEveryFixtureAndShippedProfileRoundTrips() throws {
        let files = try PolicyFixtures.allFiles()
        XCTAssertGreaterThanOrEqual(files.count, 20, "fixtures missing")
        for file in files {
            let policy = try IMAPolicy(parsing: PolicyFixtures.text(file))
            let rendered = policy.render()
            XCTAssertEqual(try IMAPolicy(parsing: rendered), policy, file.lastPathComponent)
            XCTAssertEqual(try IMAPolicy(parsing: rendered).render(), rendered, "render is not stable: \(file.lastPathComponent)")
        }
    }

    func testCanonicalFilesRenderByteForByte() throws {
        for file in try PolicyFixtures.files(in: PolicyFixtures.shipped) {
            let text = try PolicyFixtures.text(file)
            XCTAssertEqual(try IMAPolicy(parsing: text).render(), text, file.lastPathComponent)
        }
    }

    func testLooseSyntaxIsNormalised() throws {
        let policy = try PolicyFixtures.policy("syntax/every-keyword.policy")
        let lines = policy.render().split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[4], "measure func=MMAP_CHECK mask=^MAY_EXEC")
        XCTAssertEqual(lines[5], "measure func=FILE_CHECK mask=MAY_READ uid=0")
        XCTAssertEqual(lines[9], "appraise func=BPRM_CHECK fsuuid=8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6 appraise_type=imasig permit_directio")
        XCTAssertEqual(lines[12], "appraise func=KEXEC_INITRAMFS_CHECK appraise_type=imasig|modsig appraise_flag=check_blacklist")
        XCTAssertEqual(lines[13], "appraise func=FIRMWARE_CHECK gid<10 appraise_algos=sha256,sha512")
        XCTAssertEqual(lines[15], "audit func=BPRM_CHECK fsmagic=0x1021994")
    }

    func testGeneratedRulesRoundTrip() throws {
        let rules = RandomRules.valid(600, seed: 0x5167_6e65_74)
        XCTAssertEqual(rules.count, 600, "the generator should find enough valid rules")
        for keyword in PolicyKeyword.allCases {
            XCTAssertTrue(rules.contains { $0.isPresent(keyword) }, "no generated rule uses \(keyword.rawValue)")
        }
        for hook in IMAHook.allCases {
            XCTAssertTrue(rules.contains { $0.hook == hook }, "no generated rule uses func=\(hook.name)")
        }
        for rule in rules {
            let line = rule.render()
            XCTAssertEqual(try IMAPolicyRule(parsing: line), rule, line)
        }
        let policy = IMAPolicy(entries: rules.flatMap { [IMAPolicy.Entry.comment(" rule"), .rule($0), .blank] })
        XCTAssertEqual(try IMAPolicy(parsing: policy.render()), policy)
    }

    func testEmptyTextIsAnEmptyPolicy() throws {
        XCTAssertEqual(try IMAPolicy(parsing: "").entries, [])
        XCTAssertEqual(IMAPolicy().render(), "")
        XCTAssertEqual(try IMAPolicy(parsing: "\n").entries, [.blank])
        XCTAssertEqual(try IMAPolicy(parsing: "measure func=BPRM_CHECK").render(), "measure func=BPRM_CHECK\n")
    }
}
