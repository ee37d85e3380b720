import IMAFormat
import SignetCrypto

/// The plainest replay-and-judge loop there is: parse one entry, check its
/// template digest and extend it (`PCRReplay`), judge it (`EntryJudge.judge`),
/// stop at the first error or when the PCR reaches the target. One thread,
/// no batches, no in-place decoding.
///
/// No command runs it. It is the oracle `LogChecker` (and so `attest verify`,
/// `attest check-log` and the verifier service) must agree with, entry for
/// entry, in the differential test and the `FuzzLogEngines` fuzz target: any
/// difference in verdicts, failures or PCR values is a defect of the engine.
public enum SequentialLogCheck {
    /// What a check found; comparable with a `LogChecker`'s state after it.
    public struct Outcome: Sendable, Equatable {
        public var entries = 0
        public var acceptances: [Acceptance: Int] = [:]
        public var failures: [EntryFailure] = []
        public var problem: LogCheckError?
        public var reachedTarget = false
        /// Position and PCR values after the last entry replayed.
        public var checkpoint: MeasurementLogCheckpoint

        public init(entries: Int = 0, acceptances: [Acceptance: Int] = [:], failures: [EntryFailure] = [],
                    problem: LogCheckError? = nil, reachedTarget: Bool = false, checkpoint: MeasurementLogCheckpoint) {
            self.entries = entries
            self.acceptances = acceptances
            self.failures = failures
            self.problem = problem
            self.reachedTarget = reachedTarget
            self.checkpoint = checkpoint
        }

        /// The same facts read from a checker that has been fed a log.
        public init(_ checker: LogChecker) {
            self.init(entries: checker.summary.entries, acceptances: checker.summary.acceptances,
                      failures: checker.summary.failures, problem: checker.summary.problem,
                      reachedTarget: checker.reachedTarget, checkpoint: checker.checkpoint)
        }
    }

    /// Checks `log` (whole, in memory) from the start or from `checkpoint`.
    public static func check(_ log: [UInt8], judge: EntryJudge, context: JudgeContext = JudgeContext(),
                             options: MeasurementLogOptions = MeasurementLogOptions(),
                             banks: [HashAlgorithm] = [.sha1, .sha256], mode: PCRExtendMode = .perBankTemplateHash,
                             resumingFrom checkpoint: MeasurementLogCheckpoint? = nil,
                             stopAt target: PCRTarget? = nil) -> Outcome {
        var replay: PCRReplay
        if let checkpoint {
            let kept = checkpoint.pcrValues.filter { banks.contains($0.key) }
            do {
                replay = try PCRReplay(resumingFrom: MeasurementLogCheckpoint(position: checkpoint.position, pcrValues: kept),
                                       mode: mode, storedDigestAlgorithm: options.templateDigestAlgorithm, hashing: IMALogHashing())
            } catch {
                return Outcome(problem: .checkpoint(error.description), checkpoint: checkpoint)
            }
        } else {
            replay = PCRReplay(banks: banks, mode: mode, storedDigestAlgorithm: options.templateDigestAlgorithm,
                               hashing: IMALogHashing())
        }
        var outcome = Outcome(checkpoint: replay.checkpoint)
        if let target, replay.matches(target) {
            outcome.reachedTarget = true
            return outcome
        }
        var parser = BinaryMeasurementLogParser(options: options, resumingAt: checkpoint?.position ?? .start)
        parser.append(log)
        do throws(MeasurementLogError) {
            while let entry = try parser.next() {
                try replay.extend(entry)
                switch judge.judge(entry, context: context) {
                case .accepted(let acceptance): outcome.acceptances[acceptance, default: 0] += 1
                case .rejected(let failure): outcome.failures.append(failure)
                }
                outcome.entries += 1
                if let target, replay.matches(target) {
                    outcome.reachedTarget = true
                    break
                }
            }
            if !outcome.reachedTarget { try parser.finish() }
        } catch {
            outcome.problem = .log(error)
        }
        outcome.checkpoint = replay.checkpoint
        return outcome
    }
}
