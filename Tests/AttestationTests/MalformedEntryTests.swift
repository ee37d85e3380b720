import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Issue 13 findings 4 and 5: entries whose digest algorithm or name is not
/// what the kernel writes are malformed entries (`malformed-entry`), on every
/// path: `LogChecker`'s in-place path (one thread and several, any batch
/// size, any read-chunk boundary), its general path, and
/// `AttestationVerifier.verify`. The rest of the log is still judged.
final class MalformedEntryTests: XCTestCase {
    // MARK: - Running a log through every path

    /// What a check gives: compared between paths.
    struct Outcome: Equatable, CustomStringConvertible {
        var entries: Int
        var acceptances: [Acceptance: Int]
        var failures: [EntryFailure]
        var failureCount: Int
        var problem: LogCheckError?
        var sha256: [UInt8]

        var description: String {
            "entries \(entries), acceptances \(acceptances), problem \(problem.map(String.init(describing:)) ?? "none"), failures:\n"
                + failures.map { "  #\($0.entryIndex) \($0.code.rawValue) \($0.displayPath): \($0.reason)" }.joined(separator: "\n")
        }
    }

    private func check(_ log: [UInt8], reference: Reference, banks: [HashAlgorithm] = [.sha1, .sha256], jobs: Int = 1,
                       batchSize: Int = 4096, chunk: Int? = nil) -> Outcome {
        var checker: LogChecker
        do {
            checker = try LogChecker(judge: EntryJudge(reference: reference), banks: banks, jobs: jobs, batchSize: batchSize)
        } catch {
            XCTFail("\(error)")
            return Outcome(entries: -1, acceptances: [:], failures: [], failureCount: -1, problem: error, sha256: [])
        }
        do throws(LogCheckError) {
            let step = max(1, chunk ?? log.count)
            var offset = 0
            while offset < log.count {
                try checker.append(log[offset..<min(log.count, offset + step)])
                offset += step
            }
            try checker.finish()
        } catch {
            // Recorded in the summary as well.
        }
        let s = checker.summary
        return Outcome(entries: s.entries, acceptances: s.acceptances, failures: s.failures, failureCount: s.failureCount,
                       problem: s.problem, sha256: checker.pcrValue(bank: .sha256))
    }

    /// Runs `log` through the in-place path (1 and 4 threads, batches of 1,
    /// 3 and 4096, whole and in 7-byte chunks) and the general path (a
    /// sha384 bank forces it), requires identical outcomes and returns one.
    private func checkEveryWay(_ log: [UInt8], reference: Reference, file: StaticString = #filePath,
                               line: UInt = #line) -> Outcome {
        let base = check(log, reference: reference)
        var variants: [(String, Outcome)] = [
            ("jobs 4", check(log, reference: reference, jobs: 4)),
            ("jobs 4, batch 3", check(log, reference: reference, jobs: 4, batchSize: 3)),
            ("jobs 1, batch 1", check(log, reference: reference, batchSize: 1)),
            ("jobs 2, chunks of 7", check(log, reference: reference, jobs: 2, batchSize: 2, chunk: 7)),
        ]
        var general = check(log, reference: reference, banks: [.sha256, .sha384], jobs: 1)
        variants.append(("general path", general))
        general = check(log, reference: reference, banks: [.sha256, .sha384], jobs: 3, batchSize: 2, chunk: 11)
        variants.append(("general path, jobs 3", general))
        for (name, outcome) in variants {
            XCTAssertEqual(outcome, base, "\(name) differs from the in-place path with one thread:\n\(outcome)\nvs\n\(base)",
                           file: file, line: line)
        }
        return base
    }

    /// Judged in log order: entry index → failure code.
    private func codes(_ outcome: Outcome) -> [Int: EntryFailureCode] {
        Dictionary(uniqueKeysWithValues: outcome.failures.map { ($0.entryIndex, $0.code) })
    }

    private static let okDigest = TestLogEncoder.fakeDigest(41)

    /// A reference listing `/usr/bin/ok` with `okDigest` (SHA-256).
    private func reference() -> Reference {
        var reference = Reference()
        reference.add(NodeScenario.manifest(entries: [("/usr/bin/ok", Self.okDigest)]))
        return reference
    }

    private func nameEntry(_ name: [UInt8], template: String = "ima-ng") -> TestLogEntry {
        var fields = [TestLogEncoder.dng(.sha256, Self.okDigest), name]
        if template == "ima-sig" { fields.append([]) }
        return TestLogEntry(templateName: template, fields: fields)
    }

    // MARK: - Finding 5: the n-ng name

    func testNameWithAnEmbeddedNULIsMalformedNotItsPrefix() {
        let good = TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest)
        let hidden = Array("/usr/bin/ok".utf8) + [0] + Array("/tmp/evil".utf8) + [0]
        for template in ["ima-ng", "ima-sig"] {
            let log = TestLogEncoder.log([good, nameEntry(hidden, template: template), good])
            let outcome = checkEveryWay(log, reference: reference())
            XCTAssertNil(outcome.problem, "\(outcome)")
            XCTAssertEqual(outcome.entries, 3)
            XCTAssertEqual(codes(outcome), [1: .malformedEntry], "\(template): \(outcome)")
            XCTAssertEqual(outcome.acceptances[.manifest], 2)
            let failure = try? XCTUnwrap(outcome.failures.first)
            XCTAssertEqual(failure?.path, Array(hidden.dropLast()), "the whole name is reported, not its prefix")
            XCTAssertTrue(failure?.reason.contains("n-ng") == true && failure?.reason.contains("NUL at byte 11") == true,
                          failure?.reason ?? "")
        }
    }

    func testNameWithoutItsTerminatingNULIsMalformed() {
        let good = TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest)
        for template in ["ima-ng", "ima-sig"] {
            let log = TestLogEncoder.log([nameEntry(Array("/usr/bin/ok".utf8), template: template), good])
            let outcome = checkEveryWay(log, reference: reference())
            XCTAssertEqual(outcome.entries, 2)
            XCTAssertEqual(codes(outcome), [0: .malformedEntry], "\(template): \(outcome)")
            XCTAssertTrue(outcome.failures.first?.reason.contains("terminating NUL") == true, "\(outcome)")
        }
    }

    func testMalformedNamesOfOtherEntriesAreMalformedToo() {
        var reference = reference()
        reference.excludes = [try! PathPattern.glob("/usr/bin/*")]
        let badBoot = TestLogEntry(templateName: "ima-ng",
                                   fields: [TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(9)),
                                            Array("boot_aggregate".utf8) + [0, 0]])
        let badBuffer = TestLogEntry(templateName: "ima-buf",
                                     fields: [TestLogEncoder.dng(.sha256, Digester.hash([1, 2], .sha256)),
                                              Array("kernel_version".utf8), [1, 2]])
        let excludedButHidden = nameEntry(Array("/usr/bin/x".utf8) + [0] + Array("/tmp/evil".utf8) + [0])
        let legacy = TestLogEntry(templateName: "ima", fields: [TestLogEncoder.fakeDigest(1, 20), Array("/usr/bin/a".utf8) + [0]])
        reference.allowsSHA1 = true
        let outcome = checkEveryWay(TestLogEncoder.log([badBoot, badBuffer, excludedButHidden, legacy]), reference: reference)
        XCTAssertEqual(codes(outcome), [0: .malformedEntry, 1: .malformedEntry, 2: .malformedEntry, 3: .malformedEntry],
                       "\(outcome)")
    }

    func testWellFormedNamesStillPass() {
        let log = TestLogEncoder.log([TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest),
                                      nameEntry(Array("/usr/bin/ok".utf8) + [0], template: "ima-sig")])
        let outcome = checkEveryWay(log, reference: reference())
        XCTAssertEqual(outcome.failures, [])
        XCTAssertEqual(outcome.acceptances[.manifest], 2)
    }

    // MARK: - Through AttestationVerifier.verify

    func testVerifierRefusesMalformedNamesWithTheCheckersFailures() {
        let node = NodeScenario()
        node.reference.add(NodeScenario.manifest(entries: [("/usr/bin/ok", Self.okDigest)]))
        let hidden = nameEntry(Array("/usr/bin/ok".utf8) + [0] + Array("/tmp/evil".utf8) + [0], template: "ima-sig")
        let unterminated = nameEntry(Array("/usr/bin/ok".utf8))
        node.append([hidden, unterminated, .imaNG("/usr/bin/ok", digest: Self.okDigest)])
        let nonce = newNonce()
        for jobs in [1, 4] {
            let result = AttestationVerifier(reference: node.reference, jobs: jobs)
                .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil)
            XCTAssertFalse(result.verdict.passed)
            XCTAssertEqual(result.verdict.entryFailures.map(\.entryIndex), [6, 7], result.verdict.textReport())
            XCTAssertEqual(Set(result.verdict.entryFailures.map(\.code)), [.malformedEntry])
            XCTAssertEqual(result.verdict.log?.judgedEntries, 9, "the rest of the log is judged")
            var context = JudgeContext()
            context.bootAggregates = [.sha256: node.tpm.bootAggregate()]
            context.kernelRelease = node.kernelRelease
            var checker = try! LogChecker(judge: EntryJudge(reference: node.reference), context: context, jobs: jobs)
            try? checker.append(node.logBytes)
            try? checker.finish()
            XCTAssertEqual(result.verdict.entryFailures, checker.summary.failures)
        }
    }

    // MARK: - Finding 4: (algorithm, digest) pairs

    private func entry(_ prefix: String, _ digest: [UInt8], path: String = "/usr/bin/ok", template: String = "ima-ng") -> TestLogEntry {
        var fields = [Array(prefix.utf8) + [0] + digest, TestLogEncoder.nng(path)]
        if template == "ima-sig" { fields.append([]) }
        return TestLogEntry(templateName: template, fields: fields)
    }

    private static let oldDigest = TestLogEncoder.fakeDigest(42, 20)

    /// `reference()` plus `/usr/bin/old` listed with a SHA-1 digest, as a manifest made with SHA-1 lists it.
    private func referenceWithSHA1(allowsSHA1: Bool) -> Reference {
        var reference = reference()
        let header = Manifest.Header(buildID: "test", created: "2026-11-26T23:00:00Z", tool: "signet test", hashAlgorithm: .sha1,
                                     signer: .init(certificate: SharedKeys.ima.certificate), detached: true)
        reference.add(Manifest(header: header, entries: [
            Manifest.Entry(path: FilePath("/usr/bin/old"), size: 1, mode: 0o100755, uid: 0, gid: 0, digestAlgorithm: .sha1,
                           digest: Self.oldDigest, keyID: SharedKeys.ima.certificate.imaKeyID, signer: "test", imaXattr: []),
        ]))
        reference.allowsSHA1 = allowsSHA1
        return reference
    }

    func testFooDigestMatchingASHA1ManifestDigestIsMalformedNotSHA1() {
        for template in ["ima-ng", "ima-sig"] {
            let log = TestLogEncoder.log([entry("foo:", Self.oldDigest, path: "/usr/bin/old", template: template),
                                          entry("sha1:", Self.oldDigest, path: "/usr/bin/old", template: template),
                                          TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest)])
            let strict = checkEveryWay(log, reference: referenceWithSHA1(allowsSHA1: false))
            XCTAssertEqual(codes(strict), [0: .malformedEntry, 1: .sha1NotAllowed], "\(template): \(strict)")
            XCTAssertTrue(strict.failures.first?.reason.contains("\"foo\"") == true, "\(strict)")
            XCTAssertEqual(strict.entries, 3)
            // Allowing SHA-1 admits the real SHA-1 measurement, never the unknown algorithm.
            let loose = checkEveryWay(log, reference: referenceWithSHA1(allowsSHA1: true))
            XCTAssertEqual(codes(loose), [0: .malformedEntry], "\(template): \(loose)")
            XCTAssertEqual(loose.acceptances[.manifest], 2)
        }
    }

    func testUnknownAlgorithmsWithASHA256ManifestDigestAreMalformed() {
        for template in ["ima-ng", "ima-sig"] {
            let log = TestLogEncoder.log([entry("sm3:", Self.okDigest, template: template),
                                          entry("foo:", Self.okDigest, template: template),
                                          entry("SHA256:", Self.okDigest, template: template),
                                          entry(":", Self.okDigest, template: template),
                                          entry("sha256:", Self.okDigest, template: template)])
            for anyPath in [false, true] {
                var reference = reference()
                if anyPath { reference.manifestScope = .anyPath }
                let outcome = checkEveryWay(log, reference: reference)
                XCTAssertEqual(codes(outcome), [0: .malformedEntry, 1: .malformedEntry, 2: .malformedEntry, 3: .malformedEntry],
                               "\(template): \(outcome)")
                XCTAssertEqual(outcome.acceptances, [.manifest: 1])
                XCTAssertTrue(outcome.failures[0].reason.contains("\"sm3\""), outcome.failures[0].reason)
            }
        }
    }

    func testDigestOfTheWrongLengthIsMalformed() {
        let log = TestLogEncoder.log([entry("sha256:", Array(Self.okDigest.prefix(20))),
                                      entry("sha1:", Self.okDigest),
                                      entry("sha512:", Self.okDigest + Self.okDigest.prefix(16)),
                                      TestLogEntry.imaNG("/usr/bin/ok", digest: Self.okDigest)])
        let outcome = checkEveryWay(log, reference: referenceWithSHA1(allowsSHA1: true))
        XCTAssertNil(outcome.problem, "an entry-level failure, not the end of the check")
        XCTAssertEqual(codes(outcome), [0: .malformedEntry, 1: .malformedEntry, 2: .malformedEntry], "\(outcome)")
        XCTAssertTrue(outcome.failures[0].reason.contains("sha256 digest of 20 byte(s)"), outcome.failures[0].reason)
        XCTAssertTrue(outcome.failures[1].reason.contains("sha1 digest of 32 byte(s)"), outcome.failures[1].reason)
        XCTAssertEqual(outcome.acceptances, [.manifest: 1])
    }

    func testBufferKeyringAndPolicyDigestsAreComparedWithTheirAlgorithm() {
        var reference = reference()
        let buffer = Array("enforcing=1".utf8)
        let bufferDigest = Digester.hash(buffer, .sha256)
        reference.buffers["selinux-state"] = [AlgorithmDigest(.sha256, bufferDigest)]
        let keyData = Array("not a certificate".utf8)
        reference.keyrings.digests[".ima"] = [AlgorithmDigest(.sha256, Digester.hash(keyData, .sha256))]
        let policy = Array("measure func=BPRM_CHECK\n".utf8)
        reference.imaPolicy = ExpectedIMAPolicy(policyFile: policy)
        func buf(_ prefix: String, _ name: String, _ digest: [UInt8], _ data: [UInt8]) -> TestLogEntry {
            TestLogEntry(templateName: "ima-buf", fields: [Array(prefix.utf8) + [0] + digest, TestLogEncoder.nng(name), data])
        }
        let log = TestLogEncoder.log([
            // Known digests under another algorithm name, with any buffer: not checked against the buffer before.
            buf("foo:", "selinux-state", bufferDigest, Array("enforcing=0".utf8)),
            buf("sm3:", ".ima", Digester.hash(keyData, .sha256), [1, 2, 3]),
            entry("foo:", Digester.hash(policy, .sha256), path: "/etc/ima/ima-policy"),
            // The real ones pass.
            .imaBuf("selinux-state", buffer: buffer),
            .imaBuf(".ima", buffer: keyData),
            .imaNG("/etc/ima/ima-policy", digest: Digester.hash(policy, .sha256)),
        ])
        let outcome = checkEveryWay(log, reference: reference)
        XCTAssertEqual(codes(outcome), [0: .malformedEntry, 1: .malformedEntry, 2: .malformedEntry], "\(outcome)")
        XCTAssertEqual(outcome.acceptances, [.knownBuffer: 1, .trustedKey: 1, .imaPolicy: 1])
    }

    func testAllowlistComparesAlgorithmAndDigest() {
        var allowlist = DigestAllowlist()
        let digest = TestLogEncoder.fakeDigest(7)
        allowlist.allow(AlgorithmDigest(.sha256, digest), at: FilePath("/usr/bin/a"))
        let path = Array("/usr/bin/a".utf8)
        XCTAssertEqual(allowlist.allows(AlgorithmDigest(.sha256, digest), at: path), true)
        XCTAssertEqual(allowlist.allows(AlgorithmDigest(.sha512, digest), at: path), false, "same bytes, another algorithm")
        XCTAssertNil(allowlist.allows(AlgorithmDigest(.sha256, digest), at: Array("/usr/bin/b".utf8)))
        path.withUnsafeBytes { p in
            digest.withUnsafeBytes { d in
                XCTAssertTrue(allowlist.contains(.sha256, d, at: p))
                for other in HashAlgorithm.allCases where other != .sha256 { XCTAssertFalse(allowlist.contains(other, d, at: p)) }
            }
        }
        // Many pairs, so that the table rehashes with the algorithms kept.
        for i in 0..<5000 {
            allowlist.allow(AlgorithmDigest(i % 2 == 0 ? .sha256 : .sha1, TestLogEncoder.fakeDigest(UInt8(i % 251), i % 2 == 0 ? 32 : 20)),
                            at: FilePath("/f/\(i)"))
        }
        XCTAssertEqual(allowlist.allows(AlgorithmDigest(.sha256, digest), at: path), true)
        XCTAssertEqual(allowlist.allows(AlgorithmDigest(.sha1, TestLogEncoder.fakeDigest(UInt8(4999 % 251), 20)), at: Array("/f/4999".utf8)), true)
        XCTAssertEqual(allowlist.allows(AlgorithmDigest(.sha224, TestLogEncoder.fakeDigest(UInt8(4999 % 251), 20)), at: Array("/f/4999".utf8)), false)
        XCTAssertEqual(allowlist.digests(at: FilePath("/usr/bin/a")), [AlgorithmDigest(.sha256, digest)])
    }

    func testKeylimePolicyDigestsTakeTheirAlgorithmFromTheirLength() throws {
        let hex = { (length: Int) in Hex.encode(TestLogEncoder.fakeDigest(5, length)) }
        let policy = KeylimeRuntimePolicy(digests: [
            "/usr/bin/a": [hex(20)], "/usr/bin/b": [hex(28)], "/usr/bin/ok": [hex(32)], "/usr/bin/d": [hex(48)], "/usr/bin/e": [hex(64)],
        ], keyrings: [".ima": [hex(32)]], buffers: ["selinux-state": [hex(48)]])
        var reference = try policy.reference()
        let expected: [(String, HashAlgorithm)] = [("/usr/bin/a", .sha1), ("/usr/bin/b", .sha224), ("/usr/bin/ok", .sha256),
                                                   ("/usr/bin/d", .sha384), ("/usr/bin/e", .sha512)]
        for (path, algorithm) in expected {
            XCTAssertEqual(reference.digests.digests(at: FilePath(path)),
                           [AlgorithmDigest(algorithm, TestLogEncoder.fakeDigest(5, algorithm.digestLength))], path)
        }
        XCTAssertEqual(reference.keyrings.digests[".ima"], [AlgorithmDigest(.sha256, TestLogEncoder.fakeDigest(5, 32))])
        XCTAssertEqual(reference.buffers["selinux-state"], [AlgorithmDigest(.sha384, TestLogEncoder.fakeDigest(5, 48))])

        // 64 hex digits are SHA-256 only: sm3 (also 256-bit) never matches.
        reference.allowsSHA1 = true
        let log = TestLogEncoder.log([entry("sha256:", TestLogEncoder.fakeDigest(5, 32)), entry("sm3:", TestLogEncoder.fakeDigest(5, 32)),
                                      entry("sha1:", TestLogEncoder.fakeDigest(5, 20), path: "/usr/bin/a"),
                                      entry("sha512:", TestLogEncoder.fakeDigest(5, 64), path: "/usr/bin/e"),
                                      entry("sha384:", TestLogEncoder.fakeDigest(5, 48), path: "/usr/bin/e")])
        let outcome = checkEveryWay(log, reference: reference)
        XCTAssertEqual(codes(outcome), [1: .malformedEntry, 4: .digestMismatch], "\(outcome)")
        XCTAssertEqual(outcome.acceptances, [.manifest: 3])

        // A length no algorithm has is refused, naming the field.
        for length in [21, 33] {
            let odd = KeylimeRuntimePolicy(digests: ["/usr/bin/a": [hex(length)]])
            XCTAssertThrowsError(try odd.reference()) { error in
                let error = error as? ReferenceError
                XCTAssertEqual(error?.field, "digests./usr/bin/a[0]")
                XCTAssertTrue(error?.reason.contains("\(2 * length) hex digits") == true, "\(String(describing: error))")
            }
        }
    }

    func testVerifierRefusesAlgorithmConfusionWithTheCheckersFailures() {
        let node = NodeScenario()
        node.reference.add(NodeScenario.manifest(entries: [("/usr/bin/ok", Self.okDigest)]))
        node.append([entry("sm3:", Self.okDigest, template: "ima-sig"), entry("foo:", Self.okDigest),
                     entry("sha256:", Array(Self.okDigest.prefix(20))), .imaNG("/usr/bin/ok", digest: Self.okDigest)])
        let nonce = newNonce()
        for jobs in [1, 4] {
            let result = AttestationVerifier(reference: node.reference, jobs: jobs)
                .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil)
            XCTAssertEqual(result.verdict.entryFailures.map(\.entryIndex), [6, 7, 8], result.verdict.textReport())
            XCTAssertEqual(Set(result.verdict.entryFailures.map(\.code)), [.malformedEntry])
            XCTAssertEqual(result.verdict.log?.judgedEntries, 10)
            var context = JudgeContext()
            context.bootAggregates = [.sha256: node.tpm.bootAggregate()]
            context.kernelRelease = node.kernelRelease
            var checker = try! LogChecker(judge: EntryJudge(reference: node.reference), context: context, jobs: jobs)
            try? checker.append(node.logBytes)
            try? checker.finish()
            XCTAssertEqual(result.verdict.entryFailures, checker.summary.failures)
        }
    }
}
