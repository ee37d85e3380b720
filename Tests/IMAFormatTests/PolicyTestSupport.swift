import Foundation
import SignetTestSupport
import XCTest
@testable import IMAFormat

/// Policy files the tests read: fixtures next to this file, and the shipped
/// profiles in the repository's ima-policy/ folder.
enum PolicyFixtures {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let policies = testsDirectory.appendingPathComponent("Fixtures/policies")
    static let shipped = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ima-policy")

    static func text(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    /// A fixture by path under Fixtures/policies, e.g. "weak/hash-only.policy".
    static func policy(_ relativePath: String) throws -> IMAPolicy {
        try IMAPolicy(parsing: text(policies.appendingPathComponent(relativePath)))
    }

    /// `*.policy` files in a folder, sorted by name.
    static func files(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory.resolvingSymlinksInPath(), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "policy" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Every fixture and shipped profile.
    static func allFiles() throws -> [URL] {
        try ["good", "weak", "syntax"].flatMap { try files(in: policies.appendingPathComponent($0)) }
            + files(in: shipped)
    }
}

/// Random rules covering every keyword; callers keep the ones that validate.
enum RandomRules {
    static func candidate(_ rng: inout SeededGenerator) -> IMAPolicyRule {
        func maybe(_ odds: Int = 4) -> Bool { Int.random(in: 0..<odds, using: &rng) == 0 }
        func id() -> IMAPolicyIDMatch {
            IMAPolicyIDMatch(IMAPolicyIDMatch.Comparison.allCases.randomElement(using: &rng)!,
                             UInt32.random(in: 0...IMAPolicyIDMatch.maximumID, using: &rng))
        }
        let hook: IMAHook? = maybe(3) ? nil : IMAHook.allCases.randomElement(using: &rng)!
        // Mostly keywords the kernel allows with this func, sometimes any keyword.
        let scope = HookScope(hook)
        let actions = scope.allowedActions.map { Array($0) } ?? IMAPolicyAction.allCases
        var rule = IMAPolicyRule(action: actions.randomElement(using: &rng)!, hook: hook)
        let keywords = maybe(10) ? Set(PolicyKeyword.allCases) : scope.allowedKeywords
        for keyword in PolicyKeyword.allCases where keywords.contains(keyword) && maybe(3) {
            switch keyword {
            case .function: break // chosen above
            case .mask:
                rule.mask = IMAPolicyMask(IMAPolicyMask.Permission.allCases.randomElement(using: &rng)!,
                                          inclusive: Bool.random(using: &rng))
            case .fsmagic: rule.fsmagic = maybe(2) ? UInt64.random(in: 0...0xffff, using: &rng) : rng.next()
            case .fsname: rule.fsname = ["ext4", "xfs", "btrfs", "tmpfs"].randomElement(using: &rng)!
            case .fsuuid:
                let hex = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }
                rule.fsuuid = IMAFilesystemUUID(hex.enumerated().map { [4, 6, 8, 10].contains($0.offset) ? "-" + $0.element : $0.element }
                    .joined())
            case .uid: rule.uid = id()
            case .euid: if rule.uid == nil { rule.euid = id() }
            case .gid: rule.gid = id()
            case .egid: if rule.gid == nil { rule.egid = id() }
            case .fowner: rule.fowner = id()
            case .fgroup: rule.fgroup = id()
            case .objUser, .objRole, .objType, .subjUser, .subjRole, .subjType:
                rule.lsmLabels[keyword.lsmField!] = ["system_u", "object_r", "bin_t", "unconfined_t"].randomElement(using: &rng)!
            case .keyrings:
                rule.keyrings = Array([".ima", "_ima", ".builtin_trusted_keys", "key_import_test"]
                    .shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng)))
            case .label:
                rule.labels = Array(["selinux", "kernel_version", "dm_crypt"].shuffled(using: &rng)
                    .prefix(Int.random(in: 1...3, using: &rng)))
            case .digestType: rule.usesVerityDigest = true
            case .appraiseType:
                let types: [IMAAppraiseType] = scope.allowsModsig ? [.imasig, .imasigOrModsig] : [.imasig, .sigv3]
                rule.appraiseType = types.randomElement(using: &rng)!
            case .appraiseFlag: rule.checksBlacklist = true
            case .appraiseAlgos:
                rule.appraiseAlgorithms = Set(HashAlgorithm.allCases.shuffled(using: &rng)
                    .prefix(Int.random(in: 1...5, using: &rng)))
            case .pcr: rule.pcr = Int.random(in: 0...63, using: &rng)
            case .template: rule.template = IMATemplate.allCases.randomElement(using: &rng)!
            case .permitDirectio: rule.permitsDirectIO = true
            }
        }
        // Pair the options the kernel only accepts together.
        if rule.appraiseType == .sigv3 { rule.usesVerityDigest = true }
        if rule.usesVerityDigest, rule.action == .appraise, rule.appraiseType != .imasigOrModsig { rule.appraiseType = .sigv3 }
        if rule.checksBlacklist { rule.appraiseType = .imasigOrModsig }
        if hook == .setxattrCheck, rule.appraiseAlgorithms == nil { rule.appraiseAlgorithms = [.sha256] }
        return rule
    }

    /// `count` distinct valid rules.
    static func valid(_ count: Int, seed: UInt64) -> [IMAPolicyRule] {
        var rng = SeededGenerator(seed: seed)
        var rules: [IMAPolicyRule] = []
        var seen = Set<IMAPolicyRule>()
        for _ in 0..<(count * 200) where rules.count < count {
            let rule = candidate(&rng)
            if (try? rule.validate()) != nil, seen.insert(rule).inserted { rules.append(rule) }
        }
        return rules
    }
}

/// Asserts that parsing `text` fails with `code` at `line`/`column`.
func assertPolicyError(
    _ text: String, _ code: PolicyError.Code, line: Int = 1, column: Int,
    token: String? = nil, file: StaticString = #filePath, lineNumber: UInt = #line
) {
    XCTAssertThrowsError(try IMAPolicy(parsing: text), file: file, line: lineNumber) { error in
        guard let error = error as? PolicyError else {
            return XCTFail("expected PolicyError, got \(error)", file: file, line: lineNumber)
        }
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: lineNumber)
        XCTAssertEqual(error.line, line, "\(error)", file: file, line: lineNumber)
        XCTAssertEqual(error.column, column, "\(error)", file: file, line: lineNumber)
        if let token { XCTAssertEqual(error.token, token, "\(error)", file: file, line: lineNumber) }
    }
}
