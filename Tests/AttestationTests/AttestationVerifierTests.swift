import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport
import TPM

/// The verifier engine end to end with real cryptography: quotes signed with
/// an RSA AK, logs whose replay must reach the quoted PCR 10, IMA signatures
/// verified with the enterprise certificate.
final class AttestationVerifierTests: XCTestCase {
    private func verify(_ node: NodeScenario, _ evidence: Evidence, nonce: [UInt8], previous: AttestationState? = nil,
                        cache: SignatureCache = SignatureCache()) -> AttestationResult {
        AttestationVerifier(reference: node.reference, cache: cache)
            .verify(evidence, expecting: node.expectations(nonce: nonce), previous: previous)
    }

    func testHonestEvidencePasses() {
        let node = NodeScenario()
        let nonce = newNonce()
        let result = verify(node, node.evidence(nonce: nonce), nonce: nonce)
        XCTAssertPasses(result.verdict)
        let log = result.verdict.log!
        XCTAssertEqual(log.judgedEntries, 6)
        XCTAssertEqual(log.verifiedThrough, 6)
        XCTAssertEqual(log.acceptances[.signature], 2)
        XCTAssertEqual(log.acceptances[.manifest], 1)
        XCTAssertEqual(log.acceptances[.bootAggregate], 1)
        XCTAssertEqual(log.acceptances[.trustedKey], 1)
        XCTAssertEqual(log.acceptances[.kernelVersion], 1)
        XCTAssertEqual(result.state?.nextEntry, 6)
        XCTAssertEqual(result.state?.nextOffset, node.logBytes.count)
        XCTAssertEqual(result.state?.resetCount, node.tpm.resetCount)
        // The evidence survives its own JSON.
        let decoded = try? Evidence.decode(node.evidence(nonce: nonce).encoded())
        XCTAssertNotNil(decoded)
        XCTAssertPasses(verify(node, decoded!, nonce: nonce).verdict)
    }

    func testQuoteWithOnlyAPublicKeyAK() {
        let node = NodeScenario()
        let nonce = newNonce()
        let expectations = AttestationExpectations(nonce: nonce, attestationKey: .publicKey(SharedKeys.ak.publicKey))
        let result = AttestationVerifier(reference: node.reference).verify(node.evidence(nonce: nonce), expecting: expectations,
                                                                           previous: nil)
        XCTAssertPasses(result.verdict)
    }

    func testEditedEntryIsCaught() {
        let node = NodeScenario()
        let nonce = newNonce()
        // The path of entry 5 changed, stored template digest kept: the template digest no longer matches.
        var edited = node.entries
        edited[5].fields[1] = TestLogEncoder.nng("/usr/lib/libevil.so")
        edited[5].digestOverride = TestLogEncoder.templateHash(node.entries[5], .sha1)
        var result = verify(node, node.evidence(nonce: nonce, log: TestLogEncoder.log(edited)), nonce: nonce)
        XCTAssertFails(result.verdict, .templateDigestMismatch)
        XCTAssertEqual(result.verdict.reasons.first?.entryIndex, 5)
        XCTAssertNil(result.state)

        // Edited consistently (template digest recomputed): the replay no longer reaches the quote.
        edited[5].digestOverride = nil
        edited[5].fields[0] = TestLogEncoder.dng(.sha256, TestLogEncoder.fakeDigest(99))
        result = verify(node, node.evidence(nonce: nonce, log: TestLogEncoder.log(edited)), nonce: nonce)
        XCTAssertFails(result.verdict, .logDoesNotMatchQuote)
        XCTAssertTrue(result.verdict.entryFailures.isEmpty, "nothing of an unauthenticated log is judged")
    }

    func testRemovedAndReorderedEntriesAreCaught() {
        let node = NodeScenario()
        let nonce = newNonce()
        var removed = node.entries
        removed.remove(at: 3)
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, log: TestLogEncoder.log(removed)), nonce: nonce).verdict,
                       .logDoesNotMatchQuote)
        var reordered = node.entries
        reordered.swapAt(3, 4)
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, log: TestLogEncoder.log(reordered)), nonce: nonce).verdict,
                       .logDoesNotMatchQuote)
        // Hiding a malicious last entry: the PCR has it, the log does not.
        node.append([.imaNG("/tmp/evil", digest: TestLogEncoder.fakeDigest(66))])
        let hidden = TestLogEncoder.log(Array(node.entries.dropLast()))
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, log: hidden), nonce: nonce).verdict, .logDoesNotMatchQuote)
    }

    func testReplayedQuoteAndForeignAK() {
        let node = NodeScenario()
        let oldNonce = newNonce()
        let old = node.evidence(nonce: oldNonce)
        let nonce = newNonce()
        XCTAssertFails(verify(node, old, nonce: nonce).verdict, .nonceMismatch)

        // Signed by another key that claims to be the AK: the enrolled AK does not verify it.
        let forged = node.evidence(nonce: nonce, quoteKey: SharedKeys.otherAK)
        let verdict = verify(node, forged, nonce: nonce).verdict
        XCTAssertFails(verdict, .quoteSignatureInvalid)
        XCTAssertTrue(verdict.codes.contains(.akMismatch))
        // The same forgery naming the enrolled AK: still the signature.
        var renamed = forged
        renamed.attestationKey = .init(publicArea: node.tpm.akPublic)
        XCTAssertEqual(verify(node, renamed, nonce: nonce).verdict.codes, [.quoteSignatureInvalid])
        // A genuine quote whose evidence names another AK.
        var misnamed = node.evidence(nonce: nonce)
        misnamed.attestationKey = .init(pem: String(decoding: SharedKeys.otherAK.publicKey.spkiPEM, as: UTF8.self))
        XCTAssertEqual(verify(node, misnamed, nonce: nonce).verdict.codes, [.akMismatch])
    }

    func testChangedPCRValues() {
        let node = NodeScenario()
        let nonce = newNonce()
        for index in [10, 3] {
            var evidence = node.evidence(nonce: nonce)
            let i = evidence.pcrs.firstIndex { $0.bank == .sha256 && $0.index == index }!
            evidence.pcrs[i] = PCRValue(bank: .sha256, index: index, digest: [UInt8](repeating: 0xaa, count: 32))
            XCTAssertFails(verify(node, evidence, nonce: nonce).verdict, .pcrDigestMismatch)
        }
        var evidence = node.evidence(nonce: nonce)
        evidence.pcrs.removeAll { $0.index == 10 && $0.bank == .sha256 }
        XCTAssertFails(verify(node, evidence, nonce: nonce).verdict, .pcrValuesInvalid)
        // A quote that does not cover PCR 10.
        let (quote, pcrs) = node.tpm.quote(nonce: nonce, selection: PCRSelection(.sha256, 0...9))
        evidence.quote = quote
        evidence.pcrs = pcrs
        XCTAssertFails(verify(node, evidence, nonce: nonce).verdict, .pcrSelectionIncomplete)
    }

    func testUnsignedFileNotInManifestFailsNamingItsPath() throws {
        let node = NodeScenario()
        node.append([.imaNG("/tmp/payload", digest: TestLogEncoder.fakeDigest(50))])
        let nonce = newNonce()
        let result = verify(node, node.evidence(nonce: nonce), nonce: nonce)
        XCTAssertFails(result.verdict, .entriesRejected)
        let failure = try XCTUnwrap(result.verdict.entryFailures.first)
        XCTAssertEqual(result.verdict.entryFailures.count, 1)
        XCTAssertEqual(failure.code, .unsignedNotInManifest)
        XCTAssertEqual(failure.displayPath, "/tmp/payload")
        XCTAssertEqual(failure.entryIndex, 6)
        XCTAssertEqual(failure.pcr, 10)
        XCTAssertEqual(failure.template, "ima-ng")
        XCTAssertEqual(failure.offset, node.byteOffset(ofEntry: 6))
        XCTAssertEqual(failure.digest, "sha256:" + Hex.encode(TestLogEncoder.fakeDigest(50)))
        XCTAssertNil(result.state, "a failed round keeps the previous state")
        XCTAssertTrue(result.verdict.textReport().contains("/tmp/payload"))
    }

    func testManifestFileAndExcludedPathPass() throws {
        let node = NodeScenario()
        node.append([.imaNG("/usr/sbin/tool", digest: node.toolDigest),
                     .imaNG("/var/lib/app/cache.bin", digest: TestLogEncoder.fakeDigest(70)),
                     .imaNG("/opt/scratch/x", digest: TestLogEncoder.fakeDigest(71))])
        node.reference.excludes = [try PathPattern.glob("/var/lib/app/*"), try PathPattern.regex("/opt/scratch/")]
        let nonce = newNonce()
        let result = verify(node, node.evidence(nonce: nonce), nonce: nonce)
        XCTAssertPasses(result.verdict)
        XCTAssertEqual(result.verdict.log?.acceptances[.manifest], 2)
        XCTAssertEqual(result.verdict.log?.acceptances[.excluded], 2)
    }

    func testSignatureAndManifestFailures() {
        let node = NodeScenario()
        var badSignature = node.signed("/usr/bin/vi", TestLogEncoder.fakeDigest(80))
        badSignature.fields[2][badSignature.fields[2].count - 1] ^= 0x01
        node.append([
            badSignature,
            node.signed("/usr/bin/nc", TestLogEncoder.fakeDigest(81), by: SharedKeys.rogue.key, certificate: SharedKeys.rogue.certificate),
            .imaNG("/usr/lib/libfoo.so", digest: TestLogEncoder.fakeDigest(82)),      // listed with another digest
            .imaNG("/usr/bin/old", digest: TestLogEncoder.fakeDigest(83, 20), algorithm: .sha1),
            .violation("/var/log/app.log"),
            .imaBuf(".ima", buffer: SharedKeys.rogue.certificate.der),
            .imaNG("/usr/bin/elsewhere", digest: node.toolDigest),
        ])
        let nonce = newNonce()
        let verdict = verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict
        XCTAssertEqual(verdict.entryFailures.map(\.code),
                       [.badSignature, .unknownKey, .digestMismatch, .sha1NotAllowed, .violation, .unknownKeyringKey,
                        .unsignedNotInManifest])
        XCTAssertEqual(verdict.entryFailures.map(\.entryIndex), Array(6...12))
        XCTAssertTrue(verdict.entryFailures[5].reason.contains("CN=Test rogue"))

        // Loosened: SHA-1 and violations allowed, any-path digests, the rogue certificate expected in .ima.
        node.reference.allowsSHA1 = true
        node.reference.allowsViolations = true
        node.reference.manifestScope = .anyPath
        node.reference.keyrings.certificates = [SharedKeys.rogue.certificate]
        node.reference.digests.allow(AlgorithmDigest(.sha1, TestLogEncoder.fakeDigest(83, 20)), at: FilePath("/usr/bin/old"))
        let loosened = verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict
        XCTAssertEqual(loosened.entryFailures.map(\.code), [.badSignature, .unknownKey, .digestMismatch])
    }

    func testKeyringRules() {
        let node = NodeScenario()
        node.append([.imaBuf(".builtin_trusted_keys", buffer: SharedKeys.rogue.certificate.der)])
        let nonce = newNonce()
        XCTAssertEqual(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict.entryFailures.map(\.code), [.unknownKeyringKey])
        node.reference.keyrings.ignored = [".builtin_trusted_keys"]
        XCTAssertPasses(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict)
        node.reference.keyrings = KeyringReference(allowed: [".builtin_trusted_keys"])
        XCTAssertEqual(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict.entryFailures.map(\.code),
                       [.keyringNotAllowed, .unknownKeyringKey])
        // Known by digest, as Keylime's `keyrings` lists keys.
        node.reference.keyrings = KeyringReference(digests: [
            ".builtin_trusted_keys": [AlgorithmDigest(.sha256, Digester.hash(SharedKeys.rogue.certificate.der, .sha256))]])
        XCTAssertPasses(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict)
    }

    func testKernelReleaseAndPolicyAndBuffers() {
        let node = NodeScenario()
        let policy = Array("measure func=BPRM_CHECK\nappraise func=BPRM_CHECK appraise_type=imasig\n".utf8)
        node.append([.imaNG("/etc/ima/ima-policy", digest: Digester.hash(policy, .sha256)),
                     .imaBuf("selinux-state", buffer: Array("enforcing=1".utf8))])
        node.reference.imaPolicy = ExpectedIMAPolicy(policyFile: policy)
        node.reference.buffers["selinux-state"] = [AlgorithmDigest(.sha256, Digester.hash(Array("enforcing=1".utf8), .sha256))]
        node.reference.kernelReleases = [node.kernelRelease]
        let nonce = newNonce()
        XCTAssertPasses(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict)

        // The evidence lies about the kernel: the kernel's own measurement says otherwise.
        var lying = node.evidence(nonce: nonce)
        lying.node.kernelRelease = "6.13.0"
        XCTAssertEqual(verify(node, lying, nonce: nonce).verdict.entryFailures.map(\.code), [.kernelReleaseMismatch])
        node.reference.kernelReleases = ["6.1.0-13-amd64"]
        node.reference.imaPolicy = ExpectedIMAPolicy(policyFile: Array("measure func=BPRM_CHECK\n".utf8))
        node.reference.buffers = [:]
        XCTAssertEqual(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict.entryFailures.map(\.code),
                       [.kernelNotAllowed, .imaPolicyMismatch, .unknownBuffer])
    }

    func testBootAggregateMustMatchQuotedPCRs() {
        let node = NodeScenario()
        // The log of another boot (other firmware): its aggregate differs from the quoted PCRs 0-9.
        node.entries[0] = .bootAggregate(Digester.hash([9, 9, 9], .sha256))
        node.tpm.powerOn()
        node.tpm.measure(node.entries)
        let nonce = newNonce()
        let verdict = verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict
        XCTAssertEqual(verdict.entryFailures.map(\.code), [.bootAggregateMismatch])
        XCTAssertEqual(verdict.entryFailures.first?.entryIndex, 0)
    }

    func testTrailingEntriesAfterTheQuoteAreNotJudged() {
        let node = NodeScenario()
        let nonce = newNonce()
        // Logged after the quote, not yet extended: normal, left for the next round.
        node.appendUnextended([.imaNG("/tmp/late", digest: TestLogEncoder.fakeDigest(90))])
        let result = verify(node, node.evidence(nonce: nonce), nonce: nonce)
        XCTAssertPasses(result.verdict)
        XCTAssertEqual(result.verdict.log?.verifiedThrough, 6)
        XCTAssertEqual(result.verdict.log?.unjudgedTrailingBytes, TestLogEncoder.encode(node.entries[6]).count)
        XCTAssertEqual(result.state?.nextEntry, 6)
        XCTAssertEqual(result.state?.nextOffset, node.byteOffset(ofEntry: 6))
    }

    func testIncrementalRoundMatchesFullRun() {
        let node = NodeScenario()
        let cache = SignatureCache()
        var nonce = newNonce()
        let first = verify(node, node.evidence(nonce: nonce), nonce: nonce, cache: cache)
        XCTAssertPasses(first.verdict)
        let state = try! XCTUnwrap(first.state)
        // The state survives JSON storage.
        let stored = try! JSONDecoder().decode(AttestationState.self, from: JSONEncoder().encode(state))
        XCTAssertEqual(stored, state)

        node.append([node.signed("/usr/bin/grep", TestLogEncoder.fakeDigest(20)), .imaNG("/usr/sbin/tool", digest: node.toolDigest)])
        node.tpm.clock += 30_000
        nonce = newNonce()
        let incremental = verify(node, node.evidence(nonce: nonce, fromEntry: state.nextEntry), nonce: nonce, previous: stored,
                                 cache: cache)
        XCTAssertPasses(incremental.verdict)
        XCTAssertEqual(incremental.verdict.log?.firstEntry, 6)
        XCTAssertEqual(incremental.verdict.log?.judgedEntries, 2)
        // The whole log again in the same boot: the head the state covers is
        // skipped, only the new entries are judged (issue 13: --state is incremental).
        let full = verify(node, node.evidence(nonce: nonce), nonce: nonce, previous: stored, cache: cache)
        XCTAssertPasses(full.verdict)
        XCTAssertEqual(full.verdict.log?.firstEntry, 6)
        XCTAssertEqual(full.verdict.log?.judgedEntries, 2)
        XCTAssertEqual(incremental.state, full.state, "both rounds end in the same state")
        // Without the state the same evidence is judged from entry 0.
        let fresh = verify(node, node.evidence(nonce: nonce), nonce: nonce, cache: cache)
        XCTAssertPasses(fresh.verdict)
        XCTAssertEqual(fresh.verdict.log?.judgedEntries, 8)
        XCTAssertEqual(fresh.state, full.state)
        // A whole log shorter than what this boot already verified: truncated.
        let shortLog = node.evidence(nonce: nonce)
        var truncated = shortLog
        truncated.log.data = Array(shortLog.log.data.prefix(stored.nextOffset - 1))
        XCTAssertFails(verify(node, truncated, nonce: nonce, previous: stored).verdict, .logGap)

        // A bad entry appears: the incremental round reports exactly what a full run does.
        node.append([.imaNG("/dev/shm/x", digest: TestLogEncoder.fakeDigest(21))])
        node.tpm.clock += 30_000
        nonce = newNonce()
        let state2 = incremental.state!
        let badIncremental = verify(node, node.evidence(nonce: nonce, fromEntry: state2.nextEntry), nonce: nonce,
                                    previous: state2, cache: cache)
        let badFull = verify(node, node.evidence(nonce: nonce), nonce: nonce, previous: state2, cache: cache)
        XCTAssertFalse(badIncremental.verdict.passed)
        XCTAssertEqual(badIncremental.verdict.entryFailures, badFull.verdict.entryFailures)
        XCTAssertEqual(badIncremental.state, state2, "a failure keeps the last good state")

        // Signatures seen before were not verified again.
        XCTAssertGreaterThan(cache.statistics.hits, 0)
        XCTAssertEqual(cache.statistics.entries, 3)

        // A log that does not continue where the state stopped.
        let gap = verify(node, node.evidence(nonce: nonce, fromEntry: state2.nextEntry + 1), nonce: nonce, previous: state2)
        XCTAssertFails(gap.verdict, .logGap)
    }

    func testClockGoingBackwardsFails() {
        let node = NodeScenario()
        var nonce = newNonce()
        let state = verify(node, node.evidence(nonce: nonce), nonce: nonce).state!
        nonce = newNonce()
        node.tpm.clock -= 1
        XCTAssertFails(verify(node, node.evidence(nonce: nonce), nonce: nonce, previous: state).verdict, .clockBackwards)
        node.tpm.clock += 10
        node.tpm.resetCount -= 1
        XCTAssertFails(verify(node, node.evidence(nonce: nonce), nonce: nonce, previous: state).verdict, .clockBackwards)
        node.tpm.resetCount += 1
        var restarted = state
        restarted.restartCount = 2
        XCTAssertFails(verify(node, node.evidence(nonce: nonce), nonce: nonce, previous: restarted).verdict, .clockBackwards)
        // A resume (restartCount + 1) continues the same log.
        node.tpm.restartCount = 1
        XCTAssertPasses(verify(node, node.evidence(nonce: nonce, fromEntry: 6), nonce: nonce, previous: state).verdict)
    }

    func testRebootRestartsTheLog() {
        let node = NodeScenario()
        var nonce = newNonce()
        let state = verify(node, node.evidence(nonce: nonce), nonce: nonce).state!
        node.tpm.reboot()
        node.entries = []
        node.bootID = "9a7b0c3e-0000-4000-8000-000000000001"
        node.boot()
        nonce = newNonce()
        let rebooted = verify(node, node.evidence(nonce: nonce), nonce: nonce, previous: state)
        XCTAssertPasses(rebooted.verdict)
        XCTAssertEqual(rebooted.state?.resetCount, state.resetCount + 1)
        XCTAssertEqual(rebooted.state?.bootID, node.bootID)
        // After a reboot the log must start at 0, not where the old boot stopped.
        node.append([node.signed("/usr/bin/grep", TestLogEncoder.fakeDigest(20))])
        node.tpm.reboot()
        node.tpm.measure(node.entries)
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, fromEntry: 6), nonce: nonce, previous: rebooted.state).verdict,
                       .logNotFromStart)
        // A first round must start at 0 too.
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, fromEntry: 6), nonce: nonce).verdict, .logNotFromStart)
    }

    func testTruncatedAndHostileLogsNeverPass() {
        let node = NodeScenario()
        let nonce = newNonce()
        let log = node.logBytes
        // Cut inside the last entry the quote covers.
        let truncated = verify(node, node.evidence(nonce: nonce, log: Array(log.dropLast(5))), nonce: nonce).verdict
        XCTAssertFails(truncated, .logMalformed)
        XCTAssertEqual(truncated.reasons.first?.entryIndex, 5)
        XCTAssertEqual(truncated.reasons.first?.field, "template_data")
        // A 4 GB template_data_len in entry 1.
        var hostile = log
        let at = node.byteOffset(ofEntry: 1) + 4 + 20 + 4 + 7
        hostile.replaceSubrange(at..<(at + 4), with: [0xff, 0xff, 0xff, 0xff])
        let verdict = verify(node, node.evidence(nonce: nonce, log: hostile), nonce: nonce).verdict
        XCTAssertFails(verdict, .logMalformed)
        XCTAssertEqual(verdict.reasons.first?.offset, at)
        XCTAssertEqual(verdict.reasons.first?.field, "template_data_len")
        // No log at all.
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, log: []), nonce: nonce).verdict, .logDoesNotMatchQuote)
        // An entry for another PCR is not verifiable by the PCR-10 replay.
        node.append([.imaNG("/usr/bin/ls", digest: node.lsDigest, pcr: 11)])
        XCTAssertEqual(verify(node, node.evidence(nonce: nonce), nonce: nonce).verdict.log?.verifiedThrough, 6)
    }

    func testStateFromAnotherReplayCannotResume() {
        let node = NodeScenario()
        var nonce = newNonce()
        var state = verify(node, node.evidence(nonce: nonce), nonce: nonce).state!
        nonce = newNonce()
        state.pcrValues["sha256"]?["10"] = "zz"
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, fromEntry: 6), nonce: nonce, previous: state).verdict, .stateMismatch)
        state.pcrValues = [:]
        XCTAssertFails(verify(node, node.evidence(nonce: nonce, fromEntry: 6), nonce: nonce, previous: state).verdict, .stateMismatch)
    }

    func testDefaultExtendModeFollowsKernelRelease() {
        XCTAssertEqual(AttestationVerifier.defaultExtendMode(kernelRelease: "5.4.0-150-generic"), .paddedSHA1)
        XCTAssertEqual(AttestationVerifier.defaultExtendMode(kernelRelease: "5.8.0"), .perBankTemplateHash)
        XCTAssertEqual(AttestationVerifier.defaultExtendMode(kernelRelease: "weird"), .perBankTemplateHash)
    }
}
