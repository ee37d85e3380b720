import Dispatch
import IMAFormat
import SignetCrypto
import Synchronization

/// Offline check of a binary IMA log without a quote: replays the IMA PCR in
/// every bank asked for (each entry's stored template digest checked) and
/// judges every entry with `EntryJudge`. Nothing in the log is authenticated
/// by a TPM here: compare `pcrValues` with trusted values (`matches`) to know
/// the log is the one a node's PCR 10 holds.
///
/// Feed bytes in chunks with `append(_:)` and call `finish()` at the end:
/// entries are parsed and processed in batches, so memory stays at about one
/// batch whatever the log's length. Template hashes and judgements of a batch
/// are computed on `jobs` threads; the PCR extends, which depend on the
/// previous value, run in log order (see `LogChecker+Fast.swift` for the
/// fast path the usual configuration takes: entries framed in place, one
/// chain per bank overlapping the next batch's hashing). `summary` and
/// `pcrValue(bank:)` are final after `finish()`.
///
/// A value holds buffers by reference: do not copy a checker in use.
public struct LogChecker {
    /// The outcome so far.
    public struct Summary: Sendable {
        public var entries = 0
        public var acceptances: [Acceptance: Int] = [:]
        /// The first `maxStoredFailures` failures (all are counted in `failureCount`).
        public var failures: [EntryFailure] = []
        public var failureCount = 0
        /// A parse or replay error that stopped the check.
        public var logProblem: MeasurementLogError?
    }

    public let judge: EntryJudge
    public let context: JudgeContext
    public let jobs: Int
    public let batchSize: Int
    public let maxStoredFailures: Int
    public internal(set) var summary = Summary()
    private var parser: BinaryMeasurementLogParser
    private var replay: PCRReplay
    private let workerHashing: [IMALogHashing]
    private let hashAlgorithms: [HashAlgorithm]
    private var pending: [MeasurementEntry] = []
    /// The judge behind one reference, so worker closures capture a pointer
    /// instead of copying (and retaining every field of) the judge per entry.
    final class JudgeBox: Sendable {
        let judge: EntryJudge
        let context: JudgeContext
        init(judge: EntryJudge, context: JudgeContext) { self.judge = judge; self.context = context }
    }
    let box: JudgeBox
    let options: MeasurementLogOptions
    /// The fast path's state, when the configuration allows it.
    var fast: FastPath?

    public init(judge: EntryJudge, context: JudgeContext = JudgeContext(), options: MeasurementLogOptions = MeasurementLogOptions(),
                banks: [HashAlgorithm] = [.sha1, .sha256], mode: PCRExtendMode = .perBankTemplateHash,
                jobs: Int = 1, batchSize: Int = 4096, maxStoredFailures: Int = 1000) {
        self.judge = judge
        self.context = context
        self.jobs = max(1, jobs)
        self.batchSize = max(1, batchSize)
        self.maxStoredFailures = maxStoredFailures
        box = JudgeBox(judge: judge, context: context)
        self.options = options
        // Only the framing is sequential: template fields are decoded on the worker threads.
        parser = BinaryMeasurementLogParser(options: options, decodesFields: false)
        replay = PCRReplay(banks: banks, mode: mode, storedDigestAlgorithm: options.templateDigestAlgorithm,
                           hashing: IMALogHashing())
        workerHashing = (0..<max(1, jobs)).map { _ in IMALogHashing() }
        hashAlgorithms = replay.templateHashAlgorithms
        let replayedBanks = replay.banks
        if options.byteOrder == .littleEndian, options.templateDigestAlgorithm == .sha1, mode == .perBankTemplateHash,
           options.maxPCRIndex < 1024, !replayedBanks.isEmpty, replayedBanks.allSatisfy({ $0 == .sha1 || $0 == .sha256 }) {
            fast = FastPath(batchSize: self.batchSize, banks: replayedBanks, maxPCRIndex: options.maxPCRIndex,
                            verifiers: judge.signingKeys.isEmpty ? nil : judge.makeFastVerifiers(), options: options)
        } else {
            pending.reserveCapacity(self.batchSize)
        }
    }

    /// The replayed value of the IMA PCR in a bank.
    public func pcrValue(bank: HashAlgorithm) -> [UInt8] {
        if let fast { return fast.value(ofPCR: context.imaPCR, bank: bank) }
        return replay.value(ofPCR: context.imaPCR, bank: bank)
    }

    /// The banks replayed.
    public var banks: [HashAlgorithm] { replay.banks }

    /// Whether the check stopped on a malformed log.
    public var stopped: Bool { summary.logProblem != nil }

    /// Adds log bytes and processes every complete batch.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard !stopped else { return }
        if fast != nil {
            let done: Void? = bytes.withContiguousStorageIfAvailable { appendFast(UnsafeRawBufferPointer($0)) }
            if done == nil { Array(bytes).withUnsafeBytes { appendFast($0) } }
            return
        }
        parser.append(bytes)
        pull()
    }

    /// Declares the end of the log and processes what is left.
    public mutating func finish() {
        if fast != nil {
            finishFast()
            return
        }
        guard !stopped else { return }
        pull()
        do {
            try parser.finish()
        } catch let error as MeasurementLogError {
            flush()
            if summary.logProblem == nil { summary.logProblem = error }
            return
        } catch {}
        flush()
    }

    private mutating func pull() {
        while true {
            let entry: MeasurementEntry?
            do {
                entry = try parser.next()
            } catch let error as MeasurementLogError {
                flush()
                if summary.logProblem == nil { summary.logProblem = error }
                return
            } catch {
                return
            }
            guard let entry else { return }
            pending.append(entry)
            if pending.count >= batchSize { flush() }
        }
    }

    /// Per entry of a batch: its template hashes (in `hashAlgorithms` order) and its judgement.
    private struct Worked {
        var hashes: [[UInt8]]
        var judgement: EntryJudgement?
        /// A malformed template field: the check stops at this entry.
        var problem: MeasurementLogError?
    }

    private mutating func flush() {
        guard !pending.isEmpty, !stopped else { pending.removeAll(keepingCapacity: true); return }
        let entries = pending
        let algorithms = hashAlgorithms
        let box = self.box
        let hashers = workerHashing
        let options = self.options
        let count = entries.count
        let slices = min(jobs, count)
        var results = [Worked?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            let work: @Sendable (Int) -> Void = { slice in
                let hashing = hashers[slice]
                let lower = count * slice / slices
                let upper = count * (slice + 1) / slices
                // One copy of the judge per slice: calling through `box.judge` copied
                // (retained and released every reference table of) the judge per entry.
                let judge = box.judge
                let context = box.context
                entries.withUnsafeBufferPointer { entries in
                    for i in lower..<upper {
                        var entry = entries[i]
                        do {
                            try entry.decodeFields(options: options)
                        } catch let error as MeasurementLogError {
                            out[i] = Worked(hashes: [], judgement: nil, problem: error)
                            continue
                        } catch {
                            out[i] = Worked(hashes: [], judgement: nil, problem: nil)
                            continue
                        }
                        let hashes = entry.isViolation ? [] : algorithms.map { entry.templateHash($0, using: hashing) }
                        out[i] = Worked(hashes: hashes, judgement: judge.judge(entry, context: context), problem: nil)
                    }
                }
            }
            if slices == 1 {
                work(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: slices, execute: work)
            }
        }
        let fallback = workerHashing[0]
        for i in 0..<count {
            let worked = results[i]!
            guard let judgement = worked.judgement else {
                if let problem = worked.problem { summary.logProblem = problem }
                break
            }
            do {
                try replay.extend(entries[i]) { algorithm in
                    if let k = algorithms.firstIndex(of: algorithm), k < worked.hashes.count { return worked.hashes[k] }
                    return entries[i].templateHash(algorithm, using: fallback)
                }
            } catch let error as MeasurementLogError {
                summary.logProblem = error
                break
            } catch {
                break
            }
            summary.entries += 1
            switch judgement {
            case .accepted(let acceptance): summary.acceptances[acceptance, default: 0] += 1
            case .rejected(let failure):
                summary.failureCount += 1
                if summary.failures.count < maxStoredFailures { summary.failures.append(failure) }
            }
        }
        pending.removeAll(keepingCapacity: true)
    }
}
