import Dispatch
import IMAFormat
import SignetCrypto
import Synchronization

/// Why a log check stopped before the end of the log. Every entry a check
/// reads is either judged and replayed, or the check ends with one of these:
/// there is no third outcome.
public enum LogCheckError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The log is malformed at this entry, or its stored template digest is
    /// not the hash of its data (`MeasurementLogError` names entry and offset).
    case log(MeasurementLogError)
    /// The checkpoint to resume from cannot be used.
    case checkpoint(String)
    /// An entry was read but neither judged nor refused: a defect in Signet.
    /// The check fails closed instead of dropping the entry.
    case unjudgedEntry(entryIndex: Int, offset: Int)

    public var description: String {
        switch self {
        case .log(let error): return error.description
        case .checkpoint(let reason): return "the checkpoint cannot be resumed: \(reason)"
        case .unjudgedEntry(let entry, let offset):
            return "entry \(entry) (byte \(offset)) was read but not judged (an internal error); the check fails"
        }
    }

    /// The entry the check stopped at, when known.
    public var entryIndex: Int? {
        switch self {
        case .log(let error): return error.entryIndex
        case .checkpoint: return nil
        case .unjudgedEntry(let entry, _): return entry
        }
    }

    /// The byte offset the check stopped at, when known.
    public var offset: Int? {
        switch self {
        case .log(let error): return error.offset
        case .checkpoint: return nil
        case .unjudgedEntry(_, let offset): return offset
        }
    }
}

/// The one replay-and-judge engine: `signet attest verify`, `attest
/// check-log` and the verifier service all run their logs through it.
///
/// Replays the IMA PCR in every bank asked for (each entry's stored template
/// digest checked) and judges every entry with `EntryJudge`, from the start
/// of the log or from a checkpoint. With a target (the quoted PCR values) it
/// stops at the first entry after which the PCR equals the target: entries
/// after it were logged after the quote and are neither judged nor replayed
/// (`reachedTarget`). Without one it checks the whole log; compare
/// `pcrValue(bank:)` with trusted values to know the log is a node's.
///
/// Fail-closed by construction: `append(_:)` and `finish()` throw a typed
/// `LogCheckError` for the first entry that is malformed, has a bad template
/// digest, or (a defect) was read but not judged, and every later call
/// rethrows it. Entries before it are judged and counted in `summary`.
///
/// Feed bytes in chunks with `append(_:)` and call `finish()` at the end:
/// entries are processed in batches, so memory stays at about one batch
/// whatever the log's length. Template hashes and judgements of a batch are
/// computed on `jobs` threads; the PCR extends, which depend on the previous
/// value, run in log order. Little-endian logs with SHA-1 template digests
/// replayed per bank into sha1 and/or sha256 (the kernel default) take the
/// in-place path (`LogChecker+InPlace.swift`); other logs go through
/// `BinaryMeasurementLogParser` and `PCRReplay`. Both paths judge with the
/// same rules (`EntryJudge.fileRuling`) and give the same results.
///
/// A value holds buffers by reference: do not copy a checker in use.
public struct LogChecker {
    /// The outcome so far.
    public struct Summary: Sendable {
        /// Entries judged and replayed.
        public var entries = 0
        public var acceptances: [Acceptance: Int] = [:]
        /// The first `maxStoredFailures` failures (all are counted in `failureCount`).
        public var failures: [EntryFailure] = []
        public var failureCount = 0
        /// What stopped the check, if anything (also thrown).
        public var problem: LogCheckError?
    }

    public let judge: EntryJudge
    public let context: JudgeContext
    public let jobs: Int
    public let batchSize: Int
    public let maxStoredFailures: Int
    /// The PCR values to stop at, if any.
    public let target: PCRTarget?
    /// The banks replayed.
    public let banks: [HashAlgorithm]
    public let mode: PCRExtendMode
    public internal(set) var summary = Summary()
    /// Whether the replay reached `target` (true at once when the starting values equal it).
    public internal(set) var reachedTarget = false
    /// The position just after the last entry judged and replayed.
    public internal(set) var replayedThrough: LogPosition

    /// The judge behind one reference, so worker closures capture a pointer
    /// instead of copying (and retaining every field of) the judge per entry.
    final class JudgeBox: Sendable {
        let judge: EntryJudge
        let context: JudgeContext
        init(judge: EntryJudge, context: JudgeContext) { self.judge = judge; self.context = context }
    }
    let box: JudgeBox
    let options: MeasurementLogOptions
    /// The in-place path's state, when the configuration allows it.
    var fast: FastPath?
    /// The general path's state otherwise.
    private var general: GeneralPath?

    /// A checker from the start of a log, or from `checkpoint` (whose values
    /// must cover every bank in `banks`), stopping at `target` when given.
    public init(judge: EntryJudge, context: JudgeContext = JudgeContext(), options: MeasurementLogOptions = MeasurementLogOptions(),
                banks: [HashAlgorithm] = [.sha1, .sha256], mode: PCRExtendMode = .perBankTemplateHash,
                resumingFrom checkpoint: MeasurementLogCheckpoint? = nil, stopAt target: PCRTarget? = nil,
                jobs: Int = 1, batchSize: Int = 4096, maxStoredFailures: Int = 1000) throws(LogCheckError) {
        try self.init(judge: judge, context: context, options: options, banks: banks, mode: mode, resumingFrom: checkpoint,
                      stopAt: target, jobs: jobs, batchSize: batchSize, maxStoredFailures: maxStoredFailures, allowingInPlace: true)
    }

    /// The same, and with `allowingInPlace: false` the general path even
    /// where the in-place path could run: for the differential test and the
    /// `FuzzLogEngines` target, which hold both paths to `SequentialLogCheck`.
    public init(judge: EntryJudge, context: JudgeContext, options: MeasurementLogOptions, banks: [HashAlgorithm], mode: PCRExtendMode,
         resumingFrom checkpoint: MeasurementLogCheckpoint?, stopAt target: PCRTarget?, jobs: Int, batchSize: Int,
         maxStoredFailures: Int, allowingInPlace: Bool) throws(LogCheckError) {
        self.judge = judge
        self.context = context
        self.jobs = max(1, jobs)
        self.batchSize = max(1, batchSize)
        self.maxStoredFailures = maxStoredFailures
        self.target = target
        self.mode = mode
        var seen = Set<HashAlgorithm>()
        let banks = banks.filter { seen.insert($0).inserted }
        self.banks = banks
        box = JudgeBox(judge: judge, context: context)
        self.options = options
        replayedThrough = checkpoint?.position ?? .start

        var start: MeasurementLogCheckpoint?
        if let checkpoint {
            var values = [HashAlgorithm: [UInt32: [UInt8]]]()
            for bank in banks {
                guard let saved = checkpoint.pcrValues[bank] else {
                    throw .checkpoint("it has no \(bank.name) values to resume from")
                }
                for (pcr, value) in saved where value.count != bank.digestLength || pcr > options.maxPCRIndex {
                    throw .checkpoint("its \(bank.name) value of PCR \(pcr) has \(value.count) byte(s), expected \(bank.digestLength)")
                }
                values[bank] = saved
            }
            start = MeasurementLogCheckpoint(position: checkpoint.position, pcrValues: values)
        }
        if allowingInPlace, options.byteOrder == .littleEndian, options.templateDigestAlgorithm == .sha1, mode == .perBankTemplateHash,
           options.maxPCRIndex < 1024, !banks.isEmpty, banks.allSatisfy({ $0 == .sha1 || $0 == .sha256 }) {
            fast = FastPath(batchSize: self.batchSize, banks: banks, maxPCRIndex: options.maxPCRIndex, start: start,
                            options: options)
        } else {
            do {
                general = try GeneralPath(options: options, banks: banks, mode: mode, start: start, jobs: self.jobs,
                                          batchSize: self.batchSize)
            } catch {
                throw .checkpoint(error.description)
            }
        }
        if let target, matches(target) { reachedTarget = true }
    }

    /// The replayed value of the IMA PCR in a bank.
    public func pcrValue(bank: HashAlgorithm) -> [UInt8] {
        value(ofPCR: context.imaPCR, bank: bank)
    }

    /// The replayed value of any PCR in a bank (zeros if never extended).
    public func value(ofPCR pcr: UInt32, bank: HashAlgorithm) -> [UInt8] {
        if let fast { return fast.value(ofPCR: pcr, bank: bank) }
        return general!.replay.value(ofPCR: pcr, bank: bank)
    }

    /// The state to resume from: the position and PCR values after the last
    /// entry judged and replayed.
    public var checkpoint: MeasurementLogCheckpoint {
        if let fast { return fast.checkpoint(at: replayedThrough) }
        return general!.replay.checkpoint
    }

    /// Whether this checker runs the in-place path (else the general one).
    public var isInPlace: Bool { fast != nil }

    /// Whether the check is over: stopped on a problem, or at the target.
    public var stopped: Bool { summary.problem != nil || reachedTarget }

    func matches(_ target: PCRTarget) -> Bool {
        !target.values.isEmpty && target.values.allSatisfy { bank, expected in
            banks.contains(bank) && value(ofPCR: target.pcrIndex, bank: bank) == expected
        }
    }

    /// Adds log bytes and processes every complete batch. Throws the
    /// problem that stopped the check (again on every later call). Bytes
    /// after the target is reached are ignored.
    public mutating func append<C: Collection>(_ bytes: C) throws(LogCheckError) where C.Element == UInt8 {
        if let problem = summary.problem { throw problem }
        guard !reachedTarget else { return }
        if fast != nil {
            let done: Void? = bytes.withContiguousStorageIfAvailable { appendFast(UnsafeRawBufferPointer($0)) }
            if done == nil { Array(bytes).withUnsafeBytes { appendFast($0) } }
        } else {
            general!.parser.append(bytes)
            pull()
        }
        if let problem = summary.problem { throw problem }
    }

    /// Declares the end of the log and processes what is left; throws when
    /// the log stops inside an entry or anything earlier stopped the check.
    public mutating func finish() throws(LogCheckError) {
        if let problem = summary.problem { throw problem }
        guard !reachedTarget else { return }
        if fast != nil {
            finishFast()
        } else {
            pull()
            if !stopped {
                do {
                    try general!.parser.finish()
                    flush()
                } catch {
                    flush()
                    stop(.log(error))
                }
            }
        }
        if let problem = summary.problem { throw problem }
    }

    /// Records the first problem (unless the target was reached first).
    mutating func stop(_ problem: LogCheckError) {
        guard summary.problem == nil, !reachedTarget else { return }
        summary.problem = problem
    }

    mutating func tally(_ judgement: EntryJudgement) {
        switch judgement {
        case .accepted(let acceptance): summary.acceptances[acceptance, default: 0] += 1
        case .rejected(let failure):
            summary.failureCount += 1
            if summary.failures.count < maxStoredFailures { summary.failures.append(failure) }
        }
    }

    // MARK: - The general path

    /// Parser, replay and batch of the general path.
    private struct GeneralPath {
        var parser: BinaryMeasurementLogParser
        var replay: PCRReplay
        let workerHashing: [IMALogHashing]
        let hashAlgorithms: [HashAlgorithm]
        var pending: [MeasurementEntry] = []

        init(options: MeasurementLogOptions, banks: [HashAlgorithm], mode: PCRExtendMode, start: MeasurementLogCheckpoint?,
             jobs: Int, batchSize: Int) throws(MeasurementLogError) {
            // Only the framing is sequential: template fields are decoded on the worker threads.
            parser = BinaryMeasurementLogParser(options: options, resumingAt: start?.position ?? .start, decodesFields: false)
            if let start {
                replay = try PCRReplay(resumingFrom: start, mode: mode, storedDigestAlgorithm: options.templateDigestAlgorithm,
                                       hashing: IMALogHashing())
            } else {
                replay = PCRReplay(banks: banks, mode: mode, storedDigestAlgorithm: options.templateDigestAlgorithm,
                                   hashing: IMALogHashing())
            }
            workerHashing = (0..<jobs).map { _ in IMALogHashing() }
            hashAlgorithms = replay.templateHashAlgorithms
            pending.reserveCapacity(batchSize)
        }
    }

    private mutating func pull() {
        while !stopped {
            let entry: MeasurementEntry?
            do {
                entry = try general!.parser.next()
            } catch {
                flush()
                stop(.log(error))
                return
            }
            guard let entry else { return }
            general!.pending.append(entry)
            if general!.pending.count >= batchSize { flush() }
        }
    }

    /// Per entry of a batch: its template hashes (in `hashAlgorithms` order)
    /// and judgement, or why it has none.
    private enum Worked {
        case unjudged
        case judged(hashes: [[UInt8]], judgement: EntryJudgement)
        case malformed(MeasurementLogError)
    }

    private mutating func flush() {
        guard var path = general else { return }
        general = nil  // owned here while the batch runs
        defer { path.pending.removeAll(keepingCapacity: true); general = path }
        guard !path.pending.isEmpty, !stopped else { return }
        let entries = path.pending
        let algorithms = path.hashAlgorithms
        let box = self.box
        let hashers = path.workerHashing
        let options = self.options
        let count = entries.count
        let slices = min(jobs, count)
        var results = [Worked](repeating: .unjudged, count: count)
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
                        do throws(MeasurementLogError) {
                            try entry.decodeFields(options: options)
                        } catch {
                            out[i] = .malformed(error)
                            continue
                        }
                        let hashes = entry.isViolation ? [] : algorithms.map { entry.templateHash($0, using: hashing) }
                        out[i] = .judged(hashes: hashes, judgement: judge.judge(entry, context: context))
                    }
                }
            }
            if slices == 1 {
                work(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: slices, execute: work)
            }
        }
        let fallback = path.workerHashing[0]
        for i in 0..<count {
            let entry = entries[i]
            switch results[i] {
            case .unjudged:
                stop(.unjudgedEntry(entryIndex: entry.position.entryIndex, offset: entry.position.byteOffset))
                return
            case .malformed(let error):
                stop(.log(error))
                return
            case .judged(let hashes, let judgement):
                do {
                    try path.replay.extend(entry) { algorithm in
                        if let k = algorithms.firstIndex(of: algorithm), k < hashes.count { return hashes[k] }
                        return entry.templateHash(algorithm, using: fallback)
                    }
                } catch {
                    stop(.log(error))
                    return
                }
                summary.entries += 1
                tally(judgement)
                replayedThrough = LogPosition(entryIndex: path.replay.entryCount, byteOffset: path.replay.nextByteOffset)
                if let target, path.replay.matches(target) {
                    reachedTarget = true
                    return
                }
            }
        }
    }
}
