import BootReference
import IMAFormat
import SignetCrypto
import TCGEventLog
import TPM

/// The verifier engine: a pure function of (evidence, reference,
/// expectations, previous state) to (verdict, new state), shared by the CLI
/// and the verifier service. No I/O; safe to use from many tasks at once.
///
/// Checks, in order, stopping at the first that makes the rest meaningless:
/// 1. the quote (`QuoteVerifier`): signature with the enrolled AK, checked
///    with its public area (enrolled, or for an AK enrolled as a bare key the
///    evidence's `ak.tpm2b_public` holding that key) so its attributes are
///    always checked; TPM magic and quote type, extraData == nonce == the
///    evidence's `nonce`, the required PCRs covered, pcrDigest == H(supplied
///    PCR values); the evidence must name that AK; the previous state must be
///    bound to that AK;
/// 2. the TPM clock against the previous round (`resetCount`,
///    `restartCount`, `clock` never backwards; a reset means a reboot, and
///    then the log must start again at entry 0);
/// 3. the measured boot, when the reference has a `BootReference`: the
///    firmware event log must be in the evidence, its replay must reach the
///    quoted PCRs 0-9, and `BootJudge` must find an allowed boot (chain,
///    Secure Boot, command line); the IMA log is read only after that, since
///    the kernel that writes it is what the boot proves;
/// 4. the log position: from entry 0, or exactly where the previous round
///    stopped (then replay resumes from the saved PCR values);
/// 5. replay of the log in every quoted bank of the IMA PCR (SHA-256, and
///    SHA-1 or others when quoted), each entry's template digest checked,
///    until the PCR equals the quoted value; entries after that point were
///    logged after the quote and are left for the next round;
/// 6. every replayed entry judged by `EntryJudge` (`boot_aggregate` against
///    the quoted PCRs 0-9).
///
/// Failing entries are reported only when the replay reproduces the quote:
/// before that, nothing in the log is authenticated.
public struct AttestationVerifier: Sendable {
    public let judge: EntryJudge
    private let hashing: any IMAHashing
    /// Threads that hash and judge one log (the service runs many logs at once: 1).
    public let jobs: Int
    /// Entry failures kept in a verdict (all are counted).
    public let maxStoredFailures: Int

    /// A verifier for one reference. Share `cache` between verifiers of a
    /// fleet so each signature is checked once.
    public init(reference: Reference, cache: SignatureCache = SignatureCache(), hashing: any IMAHashing = IMALogHashing(),
                jobs: Int = 1, maxStoredFailures: Int = 10_000) {
        judge = EntryJudge(reference: reference, cache: cache)
        self.hashing = hashing
        self.jobs = max(1, jobs)
        self.maxStoredFailures = maxStoredFailures
    }

    public var reference: Reference { judge.reference }

    /// Verifies one round. Never throws: every problem is a reason in the verdict.
    public func verify(_ evidence: Evidence, expecting expectations: AttestationExpectations,
                       previous: AttestationState?) -> AttestationResult {
        var verdict = Verdict(node: evidence.node)
        func fail(_ reason: VerdictReason) -> AttestationResult {
            verdict.reasons.append(reason)
            return AttestationResult(verdict: verdict, state: previous)
        }

        // 1. The quote, always checked with a public area, so the AK's attributes (a restricted
        //    signing key of the TPM) are checked whatever form the AK was enrolled in; and the
        //    evidence's own nonce field must be this round's nonce.
        let akMismatch = Self.attestationKeyMismatch(evidence.attestationKey, expected: expectations.attestationKey)
        let nonceMismatch = Self.evidenceNonceMismatch(evidence.nonce, expected: expectations.nonce)
        let akArea: TPMPublic
        switch expectations.attestationKey {
        case .publicArea(let area):
            akArea = area
        case .publicKey:
            // The evidence's public area is used only once it is known to hold the enrolled key.
            if let akMismatch { return fail(akMismatch) }
            guard let area = evidence.attestationKey.publicArea else {
                return fail(VerdictReason(
                    code: .akPublicAreaMissing,
                    message: "the AK was given as a public key (PEM) and the evidence carries no ak.tpm2b_public: whether it is a restricted "
                        + "signing key of a TPM cannot be checked; give the AK as its TPM2B_PUBLIC (ak.pub), or have the agent send ak.tpm2b_public",
                    field: "ak.tpm2b_public"))
            }
            akArea = area
        }
        let quote: VerifiedQuote
        do {
            quote = try QuoteVerifier.verify(attest: evidence.quote.attest, signature: evidence.quote.signature, ak: akArea,
                                             nonce: expectations.nonce, pcrs: evidence.pcrs,
                                             requiredSelection: expectations.requiredSelection)
        } catch {
            if let akMismatch { verdict.reasons.append(akMismatch) }
            if let nonceMismatch { verdict.reasons.append(nonceMismatch) }
            return fail(VerdictReason(code: VerdictCode(error.code), message: error.reason,
                                      offset: error.structureError?.offset, field: error.structureError?.field))
        }
        if let akMismatch { return fail(akMismatch) }
        if let nonceMismatch { return fail(nonceMismatch) }

        // The previous state must be this AK's: another node's state would be resumed or replaced.
        let akFingerprint = (try? akArea.publicKey()).map(AttestationState.fingerprint(of:))
        if let previous, let reason = Self.stateBindingProblem(previous, fingerprint: akFingerprint) { return fail(reason) }

        let clockInfo = quote.attest.clockInfo
        var imaValues = [HashAlgorithm: [UInt8]]()
        for value in quote.pcrs where value.index == Int(expectations.imaPCR) {
            if let bank = value.bank.hashAlgorithm { imaValues[bank] = value.digest }
        }
        verdict.quote = Verdict.QuoteSummary(
            clock: clockInfo.clock, resetCount: clockInfo.resetCount, restartCount: clockInfo.restartCount,
            safe: clockInfo.safe, firmwareVersion: quote.attest.firmwareVersion, imaPCR: expectations.imaPCR,
            imaPCRValues: Dictionary(uniqueKeysWithValues: imaValues.map { ($0.key.name, $0.value) }))

        // 2. The clock.
        let transition: ClockCheck.Transition
        switch ClockCheck.check(previous: previous, now: clockInfo) {
        case .success(let t): transition = t
        case .failure(let reason): return fail(reason)
        }

        // 3. The measured boot, when the reference judges it.
        if let boot = reference.boot, let reason = judgeBoot(evidence, quoted: quote.pcrs, reference: boot, into: &verdict) {
            return fail(reason)
        }

        // The IMA PCR must be quoted in a bank the verifier can hash.
        guard !imaValues.isEmpty else {
            return fail(VerdictReason(code: .imaPCRNotQuoted,
                                      message: "the quote covers PCR \(expectations.imaPCR) in no bank this verifier can replay"))
        }

        // 4. Where the log starts.
        let log = evidence.log
        let banks = imaValues.keys.sorted { $0.rawValue < $1.rawValue }
        let start: ReplayStart
        switch Self.startReplay(log: log, transition: transition, previous: previous, expectations: expectations,
                                banks: banks, kernelRelease: evidence.node.kernelRelease) {
        case .success(let s): start = s
        case .failure(let reason): return fail(reason)
        }
        let target = PCRTarget(pcrIndex: expectations.imaPCR, values: imaValues)

        // 5 and 6. Replay and judge: the one engine of check-log and the service.
        let context = JudgeContext(bootAggregates: JudgeContext.bootAggregates(from: quote.pcrs, using: hashing),
                                   kernelRelease: evidence.node.kernelRelease, imaPCR: expectations.imaPCR)
        let firstEntry = start.checkpoint?.position.entryIndex ?? log.start.entryIndex
        let firstOffset = start.checkpoint?.position.byteOffset ?? log.start.byteOffset
        var summary = Verdict.LogSummary(firstEntry: firstEntry, judgedEntries: 0, verifiedThrough: nil,
                                         unjudgedTrailingBytes: 0, acceptances: [:])
        var checker: LogChecker
        do {
            checker = try LogChecker(judge: judge, context: context, options: log.options, banks: banks, mode: start.mode,
                                     resumingFrom: start.checkpoint, stopAt: target, jobs: jobs,
                                     maxStoredFailures: maxStoredFailures)
        } catch {
            return fail(VerdictReason(code: .stateMismatch, message: "\(error): send the log from entry 0"))
        }
        var logProblem: VerdictReason?
        do {
            try checker.append(log.data[(log.data.startIndex + start.skippedBytes)...])
            try checker.finish()
        } catch {
            logProblem = Self.reason(for: error)
        }
        summary.judgedEntries = checker.summary.entries
        summary.acceptances = checker.summary.acceptances
        verdict.log = summary
        if let logProblem { return fail(logProblem) }
        guard checker.reachedTarget else {
            let computed = banks.map { "\($0): \(Hex.encode(checker.pcrValue(bank: $0)))" }.joined(separator: ", ")
            let quoted = banks.map { "\($0): \(Hex.encode(imaValues[$0]!))" }.joined(separator: ", ")
            return fail(VerdictReason(
                code: .logDoesNotMatchQuote,
                message: "replaying the \(summary.judgedEntries) entries from entry \(firstEntry) never gives the quoted PCR \(target.pcrIndex) "
                    + "(\(quoted)); after the last entry it is \(computed): entries were edited, removed, reordered or forged",
                entryIndex: checker.replayedThrough.entryIndex))
        }

        summary.verifiedThrough = checker.replayedThrough.entryIndex
        summary.unjudgedTrailingBytes = max(0, log.data.count - (checker.replayedThrough.byteOffset - firstOffset) - start.skippedBytes)
        verdict.log = summary
        verdict.entryFailures = checker.summary.failures
        let failureCount = checker.summary.failureCount
        if failureCount > 0 {
            let listed = failureCount > checker.summary.failures.count ? " (the first \(checker.summary.failures.count) listed)" : ""
            return fail(VerdictReason(code: .entriesRejected,
                                      message: "\(failureCount) of \(summary.judgedEntries) measurement(s) rejected\(listed)"))
        }
        let state = AttestationState(clock: clockInfo, node: evidence.node, checkpoint: checker.checkpoint, log: log,
                                     extendMode: start.mode, attestationKeyFingerprint: akFingerprint)
        return AttestationResult(verdict: verdict, state: state)
    }

    // MARK: - Steps

    /// Judges the measured boot against `reference` with the quote's (verified) PCR values,
    /// recording the judgement in `verdict.boot`; the reason the round fails, or nil.
    private func judgeBoot(_ evidence: Evidence, quoted: [PCRValue], reference: BootReference,
                           into verdict: inout Verdict) -> VerdictReason? {
        guard let bytes = evidence.bootEventLog else {
            return VerdictReason(
                code: .bootEventLogMissing,
                message: "the reference judges the measured boot, but the evidence carries no firmware event log: the node booted "
                    + "without one (no UEFI firmware with a TPM, e.g. a direct kernel boot) or its agent did not send "
                    + "/sys/kernel/security/tpm0/binary_bios_measurements",
                field: "boot_event_log")
        }
        let log: TCGEventLog
        do { log = try TCGEventLog.parse(bytes) } catch {
            return VerdictReason(code: .bootEventLogMalformed, message: "the firmware event log does not parse: \(error)",
                                 entryIndex: error.eventIndex, offset: error.offset, field: "boot_event_log.data")
        }
        var values = [UInt32: [TCGAlgorithm: [UInt8]]]()
        for value in quoted where value.index >= 0 && BootJudge.judgedPCRs.contains(UInt32(value.index)) {
            values[UInt32(value.index), default: [:]][TCGAlgorithm(rawValue: value.bank.rawValue)] = value.digest
        }
        let judged = BootJudge.judge(log: log, quotedPCRs: values, reference: reference, hashing: TCGHashing(hashing))
        verdict.boot = Verdict.BootSummary(events: log.events.count, matchedChain: judged.matchedChain, secureBoot: judged.secureBoot,
                                           commandLines: judged.commandLines, failures: judged.failures)
        guard !judged.passed else { return nil }
        let first = judged.failures.first.map { "; the first: \($0)" } ?? ": no allowed chain matched"
        return VerdictReason(code: .bootRejected,
                             message: "the measured boot is not one the boot reference allows (\(judged.failures.count) failure(s)\(first)); "
                                + "the IMA log was not judged: it is only as trustworthy as the kernel that wrote it")
    }

    /// Where this round's replay starts: the extend mode, the checkpoint to
    /// resume from (nil: from zeros at entry 0), and how many bytes at the
    /// head of the sent log the previous round already verified.
    struct ReplayStart {
        var mode: PCRExtendMode
        var checkpoint: MeasurementLogCheckpoint?
        var skippedBytes = 0
    }

    /// Where this round's replay starts. A log from entry 0 after a reboot or
    /// without a previous round is replayed and judged whole. A log in the
    /// same boot as the previous round resumes from its checkpoint, whether
    /// the node sent only the new entries (from `nextEntry`) or the whole log
    /// again: then the head up to `nextOffset` is skipped, not re-judged. The
    /// skipped bytes need no check of their own: the replay from the
    /// checkpoint's PCR values (verified against the previous quote) must
    /// still reach this round's quote, so entries not bound to the same chain
    /// cannot pass.
    private static func startReplay(log: Evidence.Log, transition: ClockCheck.Transition, previous: AttestationState?,
                                     expectations: AttestationExpectations, banks: [HashAlgorithm], kernelRelease: String)
        -> Result<ReplayStart, VerdictReason> {
        let start = log.start
        let sameBoot = transition == .sameBoot || transition == .resumed
        if start.entryIndex == 0 && !(sameBoot && (previous?.nextEntry ?? 0) > 0) {
            return .success(ReplayStart(mode: expectations.extendMode ?? defaultExtendMode(kernelRelease: kernelRelease)))
        }
        guard let previous, sameBoot else {
            let why = transition == .reboot ? "the node rebooted (resetCount grew)" : "there is no previous round"
            return .failure(VerdictReason(code: .logNotFromStart,
                                          message: "the log starts at entry \(start.entryIndex), but \(why): send it from entry 0",
                                          entryIndex: start.entryIndex, offset: start.byteOffset))
        }
        var skipped = 0
        if start.entryIndex == 0 {
            guard log.data.count >= previous.nextOffset else {
                return .failure(VerdictReason(
                    code: .logGap,
                    message: "the log from entry 0 has \(log.data.count) bytes; the last round of this boot verified \(previous.nextOffset) bytes (up to entry \(previous.nextEntry)): a log never shrinks within a boot",
                    entryIndex: 0, offset: log.data.count))
            }
            skipped = previous.nextOffset
        } else {
            guard start.entryIndex == previous.nextEntry, start.byteOffset == previous.nextOffset else {
                return .failure(VerdictReason(
                    code: .logGap,
                    message: "the log starts at entry \(start.entryIndex) (byte \(start.byteOffset)); the last round verified up to entry \(previous.nextEntry) (byte \(previous.nextOffset))",
                    entryIndex: start.entryIndex, offset: start.byteOffset))
            }
        }
        let order = log.byteOrder == .littleEndian ? "little-endian" : "big-endian"
        guard previous.templateDigestAlgorithm == log.templateDigestAlgorithm.name, previous.byteOrder == order else {
            return .failure(VerdictReason(code: .stateMismatch,
                                          message: "the log is \(log.templateDigestAlgorithm.name)/\(order); the state was made for \(previous.templateDigestAlgorithm)/\(previous.byteOrder): send it from entry 0"))
        }
        guard let checkpoint = previous.checkpoint else {
            return .failure(VerdictReason(code: .stateMismatch, message: "the stored state's PCR values do not parse: send the log from entry 0"))
        }
        let missing = banks.filter { checkpoint.pcrValues[$0] == nil }
        guard missing.isEmpty else {
            return .failure(VerdictReason(code: .stateMismatch,
                                          message: "the state has no \(missing.map(\.name).joined(separator: ", ")) values to resume from: send the log from entry 0"))
        }
        let mode: PCRExtendMode = previous.extendMode == AttestationState.name(of: .paddedSHA1) ? .paddedSHA1 : .perBankTemplateHash
        return .success(ReplayStart(mode: mode, checkpoint: checkpoint, skippedBytes: skipped))
    }

    /// Linux 5.8 (commit 1ea973df6e21) extends each bank with its own template
    /// hash; earlier kernels extend padded SHA-1. An unparsable release is
    /// taken as recent. The choice only decides whether a replay can match the
    /// signed quote, so an untrusted release cannot make a bad log pass.
    public static func defaultExtendMode(kernelRelease: String) -> PCRExtendMode {
        guard let version = KernelVersion(kernelRelease), version < KernelVersion(5, 8) else { return .perBankTemplateHash }
        return .paddedSHA1
    }

    /// The verdict reason for what stopped the log check.
    private static func reason(for error: LogCheckError) -> VerdictReason {
        switch error {
        case .log(let error):
            let code: VerdictCode = error.code == .templateDigestMismatch ? .templateDigestMismatch : .logMalformed
            return VerdictReason(code: code, message: error.description, entryIndex: error.entryIndex, offset: error.offset,
                                 field: error.field)
        case .checkpoint:
            return VerdictReason(code: .stateMismatch, message: "\(error): send the log from entry 0")
        case .unjudgedEntry(let entry, let offset):
            return VerdictReason(code: .logMalformed, message: error.description, entryIndex: entry, offset: offset)
        }
    }

    /// A reason when the evidence names another AK than the enrolled one: its `ak.tpm2b_public`
    /// and its `ak.pem`, each when present, must hold the enrolled key (the same key as each
    /// other), and a public area must equal the enrolled one (attributes and scheme too).
    private static func attestationKeyMismatch(_ named: Evidence.AttestationKey,
                                               expected: AttestationExpectations.AttestationKey) -> VerdictReason? {
        let expectedKey: PublicKey
        do {
            switch expected {
            case .publicArea(let area): expectedKey = try area.publicKey()
            case .publicKey(let key): expectedKey = key
            }
        } catch {
            return nil  // QuoteVerifier reports an unusable enrolled AK
        }
        func mismatch(_ field: String, _ message: String) -> VerdictReason {
            VerdictReason(code: .akMismatch, message: message, field: field)
        }
        if let area = named.publicArea {
            let key: PublicKey
            do { key = try area.publicKey() } catch {
                return mismatch("ak.tpm2b_public", "the evidence's ak.tpm2b_public holds no usable key: \(error)")
            }
            guard key.isSameKey(as: expectedKey) else {
                return mismatch("ak.tpm2b_public", "the evidence names another attestation key (ak.tpm2b_public) than the one enrolled for this node")
            }
            if case .publicArea(let enrolled) = expected, enrolled.tpm2bMarshaled != area.tpm2bMarshaled {
                return mismatch("ak.tpm2b_public", "the evidence's ak.tpm2b_public has the enrolled key with other attributes or parameters "
                                    + "(\(area.attributes), enrolled \(enrolled.attributes))")
            }
        }
        if let pem = named.pem {
            let key: PublicKey
            do { key = try PublicKey.decode(pem: Array(pem.utf8), source: "evidence ak.pem") } catch {
                return mismatch("ak.pem", "the evidence's ak.pem cannot be read: \(error)")
            }
            guard key.isSameKey(as: expectedKey) else {
                let other = named.publicArea == nil ? "than the one enrolled for this node" : "than its ak.tpm2b_public and the enrolled one"
                return mismatch("ak.pem", "the evidence names another attestation key (ak.pem) \(other)")
            }
        }
        return nil
    }

    /// A reason when the evidence's `nonce` field is not this round's nonce. (The quote's
    /// extraData is checked against this round's nonce by `QuoteVerifier`.)
    private static func evidenceNonceMismatch(_ named: [UInt8], expected: [UInt8]) -> VerdictReason? {
        guard named != expected else { return nil }
        return VerdictReason(code: .evidenceNonceMismatch,
                             message: "the evidence's nonce field is \(Hex.encode(named)), not this round's nonce \(Hex.encode(expected))",
                             field: "nonce")
    }

    /// A reason when the previous state is not bound to this round's AK (`fingerprint`, nil
    /// when the AK holds no usable key): another node's state, or one that names no AK.
    private static func stateBindingProblem(_ previous: AttestationState, fingerprint: String?) -> VerdictReason? {
        guard let fingerprint, previous.attestationKeyFingerprint != fingerprint else { return nil }
        guard let stored = previous.attestationKeyFingerprint else {
            return VerdictReason(code: .stateAKMismatch,
                                 message: "the state (version \(previous.version)) was written before states were bound to the node's AK, "
                                    + "so it cannot be told from another node's; to start over, move the state file away: the next round "
                                    + "replays the log from entry 0 and writes a state bound to \(fingerprint)")
        }
        return VerdictReason(code: .stateAKMismatch,
                             message: "the state belongs to the attestation key \(stored), not to this node's AK \(fingerprint): "
                                + "it is another node's state (or the node has a new AK); use this node's own state, or move the file "
                                + "away to start over from entry 0")
    }
}
