/// Recomputes PCR values from measurement-log entries, per bank:
/// PCR = H_bank(PCR || extend value), starting from zeros.
///
/// Feed entries in log order with `extend(_:)` (each entry's template digest
/// is checked first), ask `value(ofPCR:bank:)` at any point, and compare with
/// a quote with `matches(_:)`. The kernel appends to the log before it
/// extends the PCR, and the log keeps growing after a quote, so a quote
/// usually matches some prefix of the log: `replay(_:until:)` finds it, and
/// the entries after it are normal, not an error. `checkpoint` saves the state
/// for an incremental verifier.
public struct PCRReplay: Sendable {
    /// The banks replayed.
    public let banks: [HashAlgorithm]
    /// What each bank is extended with.
    public let mode: PCRExtendMode
    /// The algorithm of the stored template digests (SHA-1 for the classic file).
    public let storedDigestAlgorithm: HashAlgorithm
    private let hashing: any IMAHashing
    /// Entries replayed so far (the index the next entry must have).
    public private(set) var entryCount: Int
    /// Byte offset just past the last replayed entry.
    public private(set) var nextByteOffset: Int
    private var pcrs: [HashAlgorithm: [UInt32: [UInt8]]]

    /// A replay from the start of a log.
    public init(banks: [HashAlgorithm] = [.sha1, .sha256], mode: PCRExtendMode = .perBankTemplateHash,
                storedDigestAlgorithm: HashAlgorithm = .sha1, hashing: any IMAHashing) {
        self.banks = Self.unique(banks)
        self.mode = mode
        self.storedDigestAlgorithm = storedDigestAlgorithm
        self.hashing = hashing
        self.entryCount = 0
        self.nextByteOffset = 0
        self.pcrs = [:]
    }

    /// A replay that continues from a checkpoint. The banks are the
    /// checkpoint's; every saved value must have its bank's digest length.
    public init(resumingFrom checkpoint: MeasurementLogCheckpoint, mode: PCRExtendMode = .perBankTemplateHash,
                storedDigestAlgorithm: HashAlgorithm = .sha1, hashing: any IMAHashing) throws(MeasurementLogError) {
        for (bank, values) in checkpoint.pcrValues {
            for (pcr, value) in values where value.count != bank.digestLength {
                throw MeasurementLogError.invalidPCRValue(
                    pcr: pcr, bank: bank, reason: "checkpoint value has \(value.count) byte(s), expected \(bank.digestLength)")
            }
        }
        self.banks = HashAlgorithm.allCases.filter { checkpoint.pcrValues.keys.contains($0) }
        self.mode = mode
        self.storedDigestAlgorithm = storedDigestAlgorithm
        self.hashing = hashing
        self.entryCount = checkpoint.position.entryIndex
        self.nextByteOffset = checkpoint.position.byteOffset
        self.pcrs = checkpoint.pcrValues
    }

    /// Checks the entry's template digest, then extends its PCR in every bank.
    /// Throws `outOfSequence` if the entry is not the next one, and
    /// `templateDigestMismatch` if its data does not hash to its stored digest.
    public mutating func extend(_ entry: MeasurementEntry) throws(MeasurementLogError) {
        // Each template hash is computed once, for the check and for the extends.
        var templateHashes = [HashAlgorithm: [UInt8]]()
        let hashing = self.hashing
        try extend(entry) { algorithm in
            if let known = templateHashes[algorithm] { return known }
            let computed = entry.templateHash(algorithm, using: hashing)
            templateHashes[algorithm] = computed
            return computed
        }
    }

    /// Same as `extend(_:)`, with the entry's template hashes supplied by the
    /// caller (computed ahead, e.g. in parallel): `templateHash(algorithm)`
    /// must return `entry.templateHash(algorithm, using:)`. The stored
    /// template digest is still checked against it.
    public mutating func extend(_ entry: MeasurementEntry, templateHash: (HashAlgorithm) -> [UInt8]) throws(MeasurementLogError) {
        guard entry.position.entryIndex == entryCount else {
            throw MeasurementLogError.outOfSequence(entry: entry.position.entryIndex, offset: entry.position.byteOffset,
                                                    expected: entryCount)
        }
        if !entry.isViolation {
            let computed = templateHash(storedDigestAlgorithm)
            guard computed == entry.templateDigest else {
                throw MeasurementLogError.templateDigestMismatch(
                    entry: entry.position.entryIndex, offset: entry.position.byteOffset,
                    algorithm: storedDigestAlgorithm, stored: entry.templateDigest, computed: computed)
            }
        }
        for bank in banks {
            let extendValue = mode.extendValue(for: entry, bank: bank, templateHash: templateHash)
            let old = value(ofPCR: entry.pcrIndex, bank: bank)
            pcrs[bank, default: [:]][entry.pcrIndex] = hashing.hash(bank, [old, extendValue])
        }
        entryCount += 1
        nextByteOffset = entry.position.byteOffset + entry.encodedLength
    }

    /// The template hashes `extend` needs for a (non-violation) entry: the
    /// stored digest's algorithm, and each bank's (per-bank mode) or SHA-1.
    public var templateHashAlgorithms: [HashAlgorithm] {
        var needed = [storedDigestAlgorithm]
        for bank in (mode == .perBankTemplateHash ? banks : [.sha1]) where !needed.contains(bank) { needed.append(bank) }
        return needed
    }

    /// The current value of a PCR in a bank (zeros if never extended).
    public func value(ofPCR pcr: UInt32, bank: HashAlgorithm) -> [UInt8] {
        pcrs[bank]?[pcr] ?? [UInt8](repeating: 0, count: bank.digestLength)
    }

    /// True when every bank in `target` is replayed and equals its target value.
    public func matches(_ target: PCRTarget) -> Bool {
        !target.values.isEmpty && target.values.allSatisfy { bank, expected in
            banks.contains(bank) && value(ofPCR: target.pcrIndex, bank: bank) == expected
        }
    }

    /// Extends entries until the PCR equals `target`, and returns how many
    /// entries (in total, from the start of the log) produce it; nil if no
    /// prefix of the entries does. Checks the state before the first entry
    /// too. Stops at the first match, so later entries stay unreplayed.
    public mutating func replay<S: Sequence>(_ entries: S, until target: PCRTarget) throws(MeasurementLogError) -> Int?
        where S.Element == MeasurementEntry
    {
        if matches(target) { return entryCount }
        for entry in entries {
            try extend(entry)
            if matches(target) { return entryCount }
        }
        return nil
    }

    /// The state to resume from after the entries replayed so far.
    public var checkpoint: MeasurementLogCheckpoint {
        var values = pcrs
        for bank in banks where values[bank] == nil { values[bank] = [:] }
        return MeasurementLogCheckpoint(
            position: LogPosition(entryIndex: entryCount, byteOffset: nextByteOffset), pcrValues: values)
    }

    private static func unique(_ banks: [HashAlgorithm]) -> [HashAlgorithm] {
        var seen = Set<HashAlgorithm>()
        return banks.filter { seen.insert($0).inserted }
    }
}
