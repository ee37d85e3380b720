#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import IMAFormat
import SignetCrypto
import Synchronization

/// The in-place path of `LogChecker`, taken for little-endian logs with
/// SHA-1 template digests replayed per bank into sha1 and/or sha256 (the
/// kernel default):
///
/// - Framing works on byte ranges of the caller's chunk: `ima-ng` and
///   `ima-sig` entries are framed in place with the checks of
///   `BinaryMeasurementLogParser`; any other entry (other templates, anything
///   irregular, an entry cut by the chunk's end) goes to that parser, resumed
///   at the entry, so errors and their wording are the parser's.
/// - Workers hash the template data with OpenSSL's low-level SHA-1/SHA-256
///   (no EVP dispatch, no allocation), decode `d-ng|n-ng[|sig]` in place and
///   ask `EntryJudge.inPlaceVerdict` (the judge's one rule list,
///   `fileRuling`; then the manifest, a chunk's lookups at once); anything
///   not accepted there is decoded into a `MeasurementEntry` and judged by
///   `EntryJudge.judge`, so failures are the full judge's.
/// - Every item starts a batch `unjudged`; the ordered pass fails the check
///   on an item still `unjudged`, so no entry can be skipped silently.
/// - Without a target, the PCR extends of a batch run one chain per bank, as
///   tasks of the next batch's parallel work (or in `finish()`), so they
///   overlap its hashing. With a target, each entry is extended in the
///   ordered pass and the PCR compared, so the check stops at the first
///   entry that reproduces the quote. Template digests are checked, and
///   entries counted, in log order, so the entry a check stops at is the
///   same as a full replay's.
final class FastPath: @unchecked Sendable {
    enum Outcome {
        /// Not judged yet. Seen by the ordered pass, it fails the check.
        case unjudged
        case accepted(Acceptance)
        case judged(EntryJudgement)
        /// A malformed template field: the check stops here.
        case malformed(MeasurementLogError)
    }

    /// Where an item's bytes are: framed in place, or a `MeasurementEntry` from the parser.
    struct Item {
        var start: Int
        var length: Int
        var dataStart: Int
        var pcr: UInt32
        /// 0: ima-ng, 1: ima-sig, 2: slow (`slow[slowIndex]`).
        var kind: UInt8
        var slowIndex: Int32
        var entryIndex: Int
        var byteOffset: Int
    }

    static let hashStride = 52
    let batchSize: Int
    let banks: [HashAlgorithm]
    let hasSHA1Bank: Bool
    let hasSHA256Bank: Bool
    let maxEntryBytes: Int
    let maxPCRIndex: UInt32
    let maxTemplateDataLength: Int
    let hashing = IMALogHashing()

    // Per batch: the items, slow entries, outcomes, flags and hashes (current and pending).
    var items: [Item] = []
    var slow: [MeasurementEntry] = []
    let outcomes: UnsafeMutablePointer<Outcome>
    /// 0 ok, 1 template digest mismatch, 2 violation.
    let flags: UnsafeMutablePointer<UInt8>
    var hashes: UnsafeMutableRawPointer
    var pcrs: UnsafeMutablePointer<UInt32>
    var pendingHashes: UnsafeMutableRawPointer
    var pendingPCRs: UnsafeMutablePointer<UInt32>
    var pendingCount = 0
    let sha1State: UnsafeMutableRawPointer
    let sha256State: UnsafeMutableRawPointer
    /// Registers extended (or resumed) so far, for the checkpoint.
    var touched: [Bool]
    /// Bytes of an entry cut by the end of the last chunk.
    var carry: [UInt8] = []
    var position = LogPosition.start

    init(batchSize: Int, banks: [HashAlgorithm], maxPCRIndex: UInt32, start: MeasurementLogCheckpoint?,
         options: MeasurementLogOptions) {
        self.batchSize = batchSize
        self.banks = banks
        hasSHA1Bank = banks.contains(.sha1)
        hasSHA256Bank = banks.contains(.sha256)
        self.maxPCRIndex = maxPCRIndex
        maxTemplateDataLength = options.maxTemplateDataLength
        maxEntryBytes = 12 + options.templateDigestAlgorithm.digestLength + MeasurementLogOptions.maxTemplateNameLength
            + max(options.maxTemplateDataLength,
                  MeasurementLogOptions.legacyDigestLength + 4 + MeasurementLogOptions.maxLegacyEventNameLength)
        outcomes = .allocate(capacity: batchSize)
        outcomes.initialize(repeating: .unjudged, count: batchSize)
        flags = .allocate(capacity: batchSize)
        hashes = .allocate(byteCount: batchSize * Self.hashStride, alignment: 16)
        pendingHashes = .allocate(byteCount: batchSize * Self.hashStride, alignment: 16)
        pcrs = .allocate(capacity: batchSize)
        pendingPCRs = .allocate(capacity: batchSize)
        let registers = Int(maxPCRIndex) + 1
        sha1State = .allocate(byteCount: registers * 20, alignment: 16)
        sha1State.initializeMemory(as: UInt8.self, repeating: 0, count: registers * 20)
        sha256State = .allocate(byteCount: registers * 32, alignment: 16)
        sha256State.initializeMemory(as: UInt8.self, repeating: 0, count: registers * 32)
        touched = [Bool](repeating: false, count: registers)
        items.reserveCapacity(batchSize)
        if let start {
            position = start.position
            for (bank, values) in start.pcrValues {
                for (pcr, value) in values where Int(pcr) < registers {
                    let register = bank == .sha1 ? sha1State + Int(pcr) * 20 : sha256State + Int(pcr) * 32
                    value.withUnsafeBytes { register.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    touched[Int(pcr)] = true
                }
            }
        }
    }

    deinit {
        outcomes.deinitialize(count: batchSize)
        outcomes.deallocate()
        flags.deallocate()
        hashes.deallocate()
        pendingHashes.deallocate()
        pcrs.deallocate()
        pendingPCRs.deallocate()
        sha1State.deallocate()
        sha256State.deallocate()
    }

    // MARK: PCR state

    /// Extends one bank's chain with the pending batch.
    func extendPending(bank: HashAlgorithm) {
        let n = pendingCount
        if bank == .sha1 {
            for i in 0..<n { RawDigest.extendSHA1(sha1State + Int(pendingPCRs[i]) * 20, with: pendingHashes + i * Self.hashStride) }
        } else {
            for i in 0..<n {
                RawDigest.extendSHA256(sha256State + Int(pendingPCRs[i]) * 32, with: pendingHashes + i * Self.hashStride + 20)
            }
        }
    }

    /// Extends item `i` of the current batch now (the target mode's ordered pass).
    func extendNow(_ i: Int) {
        let h = hashes + i * Self.hashStride
        let pcr = Int(pcrs[i])
        if hasSHA1Bank { RawDigest.extendSHA1(sha1State + pcr * 20, with: h) }
        if hasSHA256Bank { RawDigest.extendSHA256(sha256State + pcr * 32, with: h + 20) }
    }

    /// Whether PCR `pcr`'s registers equal the given values now, compared in
    /// place (the target check after each entry; no extends are pending then).
    func registersEqual(pcr: UInt32, sha1: [UInt8]?, sha256: [UInt8]?) -> Bool {
        let p = Int(pcr)
        if let sha1, !sha1.withUnsafeBytes({ memcmp($0.baseAddress!, sha1State + p * 20, 20) == 0 }) { return false }
        if let sha256, !sha256.withUnsafeBytes({ memcmp($0.baseAddress!, sha256State + p * 32, 32) == 0 }) { return false }
        return true
    }

    /// The replayed registers at `position` (pending extends included).
    func checkpoint(at position: LogPosition) -> MeasurementLogCheckpoint {
        var values = [HashAlgorithm: [UInt32: [UInt8]]]()
        for bank in banks {
            var bankValues = [UInt32: [UInt8]]()
            for pcr in 0..<touched.count where touched[pcr] { bankValues[UInt32(pcr)] = value(ofPCR: UInt32(pcr), bank: bank) }
            values[bank] = bankValues
        }
        return MeasurementLogCheckpoint(position: position, pcrValues: values)
    }

    func drain() {
        guard pendingCount > 0 else { return }
        for bank in banks { extendPending(bank: bank) }
        pendingCount = 0
    }

    /// The value of a PCR, pending extends included.
    func value(ofPCR pcr: UInt32, bank: HashAlgorithm) -> [UInt8] {
        guard banks.contains(bank), pcr <= maxPCRIndex else { return [UInt8](repeating: 0, count: bank.digestLength) }
        let width = bank == .sha1 ? 20 : 32
        var value = [UInt8](UnsafeRawBufferPointer(start: (bank == .sha1 ? sha1State : sha256State) + Int(pcr) * width,
                                                   count: width))
        value.withUnsafeMutableBytes { v in
            for i in 0..<pendingCount where pendingPCRs[i] == pcr {
                if bank == .sha1 {
                    RawDigest.extendSHA1(v.baseAddress!, with: pendingHashes + i * Self.hashStride)
                } else {
                    RawDigest.extendSHA256(v.baseAddress!, with: pendingHashes + i * Self.hashStride + 20)
                }
            }
        }
        return value
    }

    // MARK: Framing

    /// Frames an `ima-ng`/`ima-sig` entry at `offset`, or nil (not one, irregular, or incomplete).
    @inline(__always)
    func frame(_ src: UnsafeRawBufferPointer, at offset: Int) -> Item? {
        let base = src.baseAddress! + offset
        let left = src.count - offset
        guard left >= 4 + 20 + 4 + 6 + 4 else { return nil }
        let pcr = UInt32(littleEndian: base.loadUnaligned(as: UInt32.self))
        guard pcr <= maxPCRIndex else { return nil }
        let nameLength = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        let kind: UInt8
        if nameLength == 6 && memcmp(base + 28, "ima-ng", 6) == 0 {
            kind = 0
        } else if nameLength == 7 && memcmp(base + 28, "ima-sig", 7) == 0 {
            kind = 1
        } else {
            return nil
        }
        let lengthAt = 28 + nameLength
        guard left >= lengthAt + 4 else { return nil }
        let dataLength = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: lengthAt, as: UInt32.self)))
        guard dataLength <= maxTemplateDataLength, left - (lengthAt + 4) >= dataLength else { return nil }
        return Item(start: offset, length: lengthAt + 4 + dataLength, dataStart: lengthAt + 4, pcr: pcr, kind: kind,
                    slowIndex: -1, entryIndex: 0, byteOffset: 0)
    }

    // MARK: Work on one item (worker threads)

    /// Hashes, decodes and judges items `lower..<upper`. The manifest
    /// lookups of the chunk are made together, so their cache misses overlap.
    func work(_ lower: Int, _ upper: Int, src: UnsafeRawPointer, judge: EntryJudge, context: JudgeContext,
              options: MeasurementLogOptions) {
        withUnsafeTemporaryAllocation(of: BytePairSet.Query.self, capacity: upper - lower) { queries in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: upper - lower) { owners in
                withUnsafeTemporaryAllocation(of: Bool.self, capacity: upper - lower) { found in
                    var q = 0
                    for i in lower..<upper {
                        switch prepare(i, src: src, judge: judge, context: context) {
                        case .accepted(let acceptance):
                            outcomes[i] = .accepted(acceptance)
                        case .lookup(let path, let digest, let algorithm):
                            queries[q] = BytePairSet.Query(path, digest, tag: algorithm.rawValue)
                            owners[q] = i
                            q += 1
                        case .full:
                            judgeFully(i, src: src, judge: judge, context: context, options: options)
                        }
                    }
                    guard q > 0 else { return }
                    judge.reference.digests.containsAll(UnsafeBufferPointer(rebasing: queries[0..<q]),
                                                        found: found.baseAddress!)
                    for k in 0..<q {
                        if found[k] {
                            outcomes[owners[k]] = .accepted(.manifest)
                        } else {
                            judgeFully(owners[k], src: src, judge: judge, context: context, options: options)
                        }
                    }
                }
            }
        }
    }

    enum Prepared {
        case accepted(Acceptance)
        /// Look up (path, digest) of this algorithm in the manifest.
        case lookup(UnsafeRawBufferPointer, UnsafeRawBufferPointer, HashAlgorithm)
        case full
    }

    /// Item `i`'s template hashes and digest check, then what the fast judge says.
    @inline(__always)
    private func prepare(_ i: Int, src: UnsafeRawPointer, judge: EntryJudge, context: JudgeContext) -> Prepared {
        let item = items[i]
        let h = hashes + i * Self.hashStride
        pcrs[i] = item.pcr
        if item.kind == 2 {
            let entry = slow[Int(item.slowIndex)]
            if entry.isViolation {
                h.initializeMemory(as: UInt8.self, repeating: 0xff, count: Self.hashStride)
                flags[i] = 2
            } else {
                let sha1 = entry.templateHash(.sha1, using: hashing)
                sha1.withUnsafeBytes { h.copyMemory(from: $0.baseAddress!, byteCount: 20) }
                if hasSHA256Bank {
                    entry.templateHash(.sha256, using: hashing).withUnsafeBytes {
                        (h + 20).copyMemory(from: $0.baseAddress!, byteCount: 32)
                    }
                }
                flags[i] = sha1 == entry.templateDigest ? 0 : 1
            }
            return .full
        }
        let entry = src + item.start
        let data = entry + item.dataStart
        let dataLength = item.length - item.dataStart
        var violation = true
        for k in 0..<20 where entry.load(fromByteOffset: 4 + k, as: UInt8.self) != 0 { violation = false; break }
        if violation {
            h.initializeMemory(as: UInt8.self, repeating: 0xff, count: Self.hashStride)
            flags[i] = 2
            return .full
        }
        RawDigest.sha1(data, dataLength, into: h)
        if hasSHA256Bank { RawDigest.sha256(data, dataLength, into: h + 20) }
        flags[i] = memcmp(h, entry + 4, 20) == 0 ? 0 : 1
        guard item.pcr == context.imaPCR else { return .full }
        return fastJudge(UnsafeRawBufferPointer(start: data, count: dataLength), signed: item.kind == 1, judge: judge)
    }

    /// Decodes item `i` into a `MeasurementEntry` and judges it with the full judge.
    private func judgeFully(_ i: Int, src: UnsafeRawPointer, judge: EntryJudge, context: JudgeContext,
                            options: MeasurementLogOptions) {
        var decoded = entry(i, src: src)
        judgeDecoded(i, &decoded, judge: judge, context: context, options: options)
    }

    /// Item `i` as the parser (made with `decodesFields: false`) gives it.
    func entry(_ i: Int, src: UnsafeRawPointer) -> MeasurementEntry {
        let item = items[i]
        if item.kind == 2 { return slow[Int(item.slowIndex)] }
        let entry = src + item.start
        return MeasurementEntry(
            position: LogPosition(entryIndex: item.entryIndex, byteOffset: item.byteOffset), encodedLength: item.length,
            pcrIndex: item.pcr, templateDigest: [UInt8](UnsafeRawBufferPointer(start: entry + 4, count: 20)),
            templateName: item.kind == 0 ? TemplateDescriptor.imaNG.name : TemplateDescriptor.imaSig.name,
            templateData: [UInt8](UnsafeRawBufferPointer(start: entry + item.dataStart, count: item.length - item.dataStart)),
            template: item.kind == 0 ? .imaNG : .imaSig, fields: [])
    }

    private func judgeDecoded(_ i: Int, _ entry: inout MeasurementEntry, judge: EntryJudge, context: JudgeContext,
                              options: MeasurementLogOptions) {
        do {
            try entry.decodeFields(options: options)
        } catch {
            outcomes[i] = .malformed(error)
            return
        }
        outcomes[i] = .judged(judge.judge(entry, context: context))
    }

    /// `d-ng|n-ng[|sig]` decoded in place (little-endian lengths, the checks of
    /// `TemplateDataParser` for a regular entry), then `EntryJudge.inPlaceVerdict`.
    /// Anything irregular goes to the full judge, which reports what
    /// `MeasurementEntry.malformation` says: an algorithm name that is not
    /// one `EntryJudge.knownAlgorithm` takes with its digest length, a name
    /// that is not exactly the path and one terminating NUL.
    @inline(__always)
    private func fastJudge(_ data: UnsafeRawBufferPointer, signed: Bool, judge: EntryJudge) -> Prepared {
        let base = data.baseAddress!
        let n = data.count
        var c = 0
        func field() -> UnsafeRawBufferPointer? {
            guard n - c >= 4 else { return nil }
            let length = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: c, as: UInt32.self)))
            c += 4
            guard length <= n - c else { return nil }
            defer { c += length }
            return UnsafeRawBufferPointer(start: base + c, count: length)
        }
        guard let digestField = field(), digestField.count > 0,
              let nameField = field(), nameField.count > 1 else { return .full }
        var signature = UnsafeRawBufferPointer(start: nil, count: 0)
        if signed {
            guard let sig = field() else { return .full }
            signature = sig
        }
        guard c == n else { return .full }
        // d-ng: "<algo>:" NUL digest
        guard let nul = memchr(digestField.baseAddress!, 0, digestField.count) else { return .full }
        let prefixLength = digestField.baseAddress!.distance(to: UnsafeRawPointer(nul))
        guard prefixLength >= 2, digestField[prefixLength - 1] == UInt8(ascii: ":") else { return .full }
        let digest = UnsafeRawBufferPointer(rebasing: digestField[(prefixLength + 1)...])
        let algorithmName = UnsafeRawBufferPointer(rebasing: digestField[0..<(prefixLength - 1)])
        // n-ng: the path and exactly one NUL, its last byte.
        let pathLength = nameField.count - 1
        guard nameField[pathLength] == 0, memchr(nameField.baseAddress!, 0, pathLength) == nil else { return .full }
        let path = UnsafeRawBufferPointer(start: nameField.baseAddress!, count: pathLength)
        switch judge.inPlaceVerdict(path: path, algorithmName: algorithmName, digest: digest, signature: signature) {
        case .accepted(let acceptance): return .accepted(acceptance)
        case .manifestLookup(let algorithm): return .lookup(path, digest, algorithm)
        case .full: return .full
        }
    }
}

/// Hands out task numbers to the threads of a batch.
private final class TaskCounter: Sendable {
    let next = Atomic<Int>(0)
}

extension LogChecker {
    mutating func appendFast(_ bytes: UnsafeRawBufferPointer) {
        guard let fast else { return }
        var input = bytes
        if !fast.carry.isEmpty {
            // Complete the entry cut by the last chunk: the carried bytes and at most one entry more.
            let carried = fast.carry.count
            var joined = fast.carry
            joined.append(contentsOf: UnsafeRawBufferPointer(rebasing: input.prefix(fast.maxEntryBytes)))
            fast.carry = []
            let used = joined.withUnsafeBytes { run($0, limit: carried) }
            if stopped { return }
            if used < carried {
                fast.carry = Array(joined[used...])
                input = UnsafeRawBufferPointer(rebasing: input[min(input.count, fast.maxEntryBytes)...])
                if !input.isEmpty { fast.carry.append(contentsOf: input) }
                return
            }
            input = UnsafeRawBufferPointer(rebasing: input[(used - carried)...])
        }
        let used = run(input, limit: input.count)
        if stopped { return }
        fast.carry = Array(input[used...])
    }

    /// The end of the log: entries left in the carried bytes are processed,
    /// and bytes that do not make a whole entry are the parser's truncation error.
    mutating func finishFast() {
        guard let fast else { return }
        defer { if target == nil { fast.drain() } }
        guard !stopped, !fast.carry.isEmpty else { return }
        let carry = fast.carry
        fast.carry = []
        let used = carry.withUnsafeBytes { run($0, limit: $0.count) }
        guard !stopped, used < carry.count else { return }
        var parser = BinaryMeasurementLogParser(options: options, resumingAt: fast.position, decodesFields: false)
        parser.append(carry[used...])
        do {
            _ = try parser.next()
            try parser.finish()
        } catch {
            stop(.log(error))
            return
        }
        // A whole entry the framing did not take: never drop it silently.
        stop(.unjudgedEntry(entryIndex: fast.position.entryIndex, offset: fast.position.byteOffset))
    }

    /// Frames and processes the entries of `src` that start before `limit`;
    /// returns the bytes consumed (up to the first incomplete entry).
    private mutating func run(_ src: UnsafeRawBufferPointer, limit: Int) -> Int {
        guard let fast, src.count > 0 else { return 0 }
        var offset = 0
        fast.items.removeAll(keepingCapacity: true)
        fast.slow.removeAll(keepingCapacity: true)
        while offset < limit && !stopped {
            if var item = fast.frame(src, at: offset) {
                item.entryIndex = fast.position.entryIndex
                item.byteOffset = fast.position.byteOffset
                fast.items.append(item)
                offset += item.length
                fast.position = LogPosition(entryIndex: fast.position.entryIndex + 1,
                                            byteOffset: fast.position.byteOffset + item.length)
            } else {
                // The parser copies what it is given: first a few KB (most entries), the longest entry only if needed.
                var entry: MeasurementEntry?
                do {
                    for bound in [4096, fast.maxEntryBytes] {
                        var parser = BinaryMeasurementLogParser(options: options, resumingAt: fast.position, decodesFields: false)
                        let end = min(src.count, offset + bound)
                        parser.append(UnsafeRawBufferPointer(rebasing: src[offset..<end]))
                        entry = try parser.next()
                        if entry != nil || end == src.count { break }
                    }
                } catch {
                    // The entries before it are judged first; the target may be reached among them.
                    runBatch(src)
                    stop(.log(error))
                    return offset
                }
                guard let entry else { break }
                fast.items.append(FastPath.Item(start: offset, length: entry.encodedLength, dataStart: 0, pcr: entry.pcrIndex,
                                                kind: 2, slowIndex: Int32(fast.slow.count),
                                                entryIndex: entry.position.entryIndex, byteOffset: entry.position.byteOffset))
                fast.slow.append(entry)
                offset += entry.encodedLength
                fast.position = LogPosition(entryIndex: fast.position.entryIndex + 1,
                                            byteOffset: fast.position.byteOffset + entry.encodedLength)
            }
            if fast.items.count >= batchSize { runBatch(src) }
        }
        runBatch(src)
        return offset
    }

    /// Processes the framed items in parallel (with the pending batch's
    /// extends as extra tasks when there is no target), then checks, counts
    /// and (with a target) extends them in log order.
    private mutating func runBatch(_ src: UnsafeRawBufferPointer) {
        guard let fast else { return }
        let count = fast.items.count
        defer {
            fast.items.removeAll(keepingCapacity: true)
            fast.slow.removeAll(keepingCapacity: true)
        }
        guard count > 0, !stopped else { return }
        // Every outcome is `.unjudged` here: set at allocation, and put back by the ordered pass
        // below as it takes each one (items after a stop are never read again).
        let deferred = target == nil
        let extendTasks = deferred && fast.pendingCount > 0 ? fast.banks : []
        let chunk = 64
        let chunks = (count + chunk - 1) / chunk
        let tasks = extendTasks.count + chunks
        let box = self.box
        let options = self.options
        nonisolated(unsafe) let base = src.baseAddress!
        let counter = TaskCounter()
        let threads = min(jobs, tasks)
        let worker: @Sendable (Int) -> Void = { _ in
            let judge = box.judge
            let context = box.context
            while true {
                let t = counter.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if t >= tasks { return }
                if t < extendTasks.count {
                    fast.extendPending(bank: extendTasks[t])
                    continue
                }
                let lower = (t - extendTasks.count) * chunk
                fast.work(lower, min(count, lower + chunk), src: base, judge: judge, context: context, options: options)
            }
        }
        if threads <= 1 {
            worker(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads, execute: worker)
        }
        if deferred {
            // The pending batch is extended: this batch's hashes become pending.
            swap(&fast.hashes, &fast.pendingHashes)
            swap(&fast.pcrs, &fast.pendingPCRs)
            fast.pendingCount = 0
        }
        // In log order: stop at the first malformed, unjudged or mismatching entry, or at the target.
        var valid = 0
        var accepted: [Acceptance: Int] = [:]
        var runLength = 0
        var lastAcceptance = Acceptance.manifest
        var problem: LogCheckError?
        var lastTouched = UInt32.max
        // The target as `matches` reads it (every bank of it replayed, with its length), for an
        // in-place comparison after each entry instead of a copy of the registers.
        var targetComparable = false
        if let target, target.pcrIndex <= fast.maxPCRIndex {
            targetComparable = !target.values.isEmpty && target.values.allSatisfy { bank, value in
                fast.banks.contains(bank) && (bank == .sha1 || bank == .sha256) && value.count == bank.digestLength
            }
        }
        let targetSHA1 = target?.values[.sha1], targetSHA256 = target?.values[.sha256]
        fast.items.withUnsafeBufferPointer { items in
            for i in 0..<count {
                let item = items[i]
                // Take the outcome, leaving `.unjudged` for the next batch.
                let outcome = (fast.outcomes + i).move()
                (fast.outcomes + i).initialize(to: .unjudged)
                switch outcome {
                case .unjudged:
                    problem = .unjudgedEntry(entryIndex: item.entryIndex, offset: item.byteOffset)
                case .malformed(let error):
                    problem = .log(error)
                case .accepted, .judged:
                    if fast.flags[i] == 1 {
                        // The error a full replay gives (`PCRReplay.extend`), from a decoded entry.
                        let entry = fast.entry(i, src: base)
                        do throws(MeasurementLogError) {
                            try entry.verifyTemplateDigest(algorithm: .sha1, using: fast.hashing)
                            problem = .unjudgedEntry(entryIndex: item.entryIndex, offset: item.byteOffset)
                        } catch {
                            problem = .log(error)
                        }
                    }
                }
                if problem != nil { break }
                switch outcome {
                case .accepted(let acceptance):
                    if acceptance == lastAcceptance {
                        runLength += 1
                    } else {
                        accepted[lastAcceptance, default: 0] += runLength
                        lastAcceptance = acceptance
                        runLength = 1
                    }
                case .judged(let judgement):
                    switch judgement {
                    case .accepted(let acceptance): accepted[acceptance, default: 0] += 1
                    case .rejected(let failure):
                        summary.failureCount += 1
                        if summary.failures.count < maxStoredFailures { summary.failures.append(failure) }
                    }
                case .unjudged, .malformed:
                    break
                }
                valid = i + 1
                if item.pcr != lastTouched {
                    fast.touched[Int(item.pcr)] = true
                    lastTouched = item.pcr
                }
                if let target {
                    fast.extendNow(i)
                    if item.pcr == target.pcrIndex && targetComparable
                        && fast.registersEqual(pcr: item.pcr, sha1: targetSHA1, sha256: targetSHA256) {
                        reachedTarget = true
                        break
                    }
                }
            }
            if valid > 0 {
                let last = items[valid - 1]
                replayedThrough = LogPosition(entryIndex: last.entryIndex + 1, byteOffset: last.byteOffset + last.length)
            }
        }
        accepted[lastAcceptance, default: 0] += runLength
        for (acceptance, n) in accepted where n > 0 { summary.acceptances[acceptance, default: 0] += n }
        summary.entries += valid
        if deferred { fast.pendingCount = valid }
        if let problem { stop(problem) }
    }
}
