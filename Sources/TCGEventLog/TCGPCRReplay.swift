import IMAFormat

/// The hash functions a replay needs, per TPM algorithm; nil when the
/// implementation has none for that algorithm (its bank is then not replayed).
/// Kept behind a protocol so TCGEventLog stays pure: SignetCrypto's
/// `IMALogHashing` (OpenSSL) is adapted with `TCGHashing(_:)`.
public protocol TCGEventLogHashing: Sendable {
    func hash(_ algorithm: TCGAlgorithm, _ parts: [[UInt8]]) -> [UInt8]?
}

/// SHA-1/256/384/512 from an `IMAHashing` (the verifier's OpenSSL hashing); no SM3 or SHA-3.
public struct TCGHashing: TCGEventLogHashing {
    private let base: any IMAHashing
    public init(_ base: any IMAHashing) { self.base = base }
    public func hash(_ algorithm: TCGAlgorithm, _ parts: [[UInt8]]) -> [UInt8]? {
        algorithm.hashAlgorithm.map { base.hash($0, parts) }
    }
}

/// PCR values by bank and index.
public typealias TCGPCRValues = [TCGAlgorithm: [UInt32: [UInt8]]]

/// The PCR values an event log produces, per bank: each PCR starts from its
/// reset value (zeros; PCR 0 from the locality of a StartupLocality event;
/// PCRs 17–22 from all ones) and is extended, in log order, with each event's
/// digest of the bank: PCR = H(PCR || digest). EV_NO_ACTION events are not extended.
public struct TCGPCRReplay: Hashable, Sendable {
    /// The values of every PCR that has extended events, per replayed bank.
    public let values: TCGPCRValues
    /// The locality PCR 0 started from (0 without a StartupLocality event).
    public let startupLocality: UInt8
    /// Banks the log lists that could not be replayed, and why (no hash
    /// function, or an event with no digest of the bank).
    public let unreplayedBanks: [TCGAlgorithm: String]

    /// Replays every event of `log` in every bank it lists.
    public init(_ log: TCGEventLog, hashing: any TCGEventLogHashing) {
        var values = TCGPCRValues()
        var unreplayed = [TCGAlgorithm: String]()
        var locality: UInt8 = 0
        var pcr0Extended = false
        for event in log.events where event.pcrIndex == 0 {
            if event.extendsPCR { pcr0Extended = true; continue }
            // The locality counts only if logged before PCR 0's first extend (it sets PCR 0's reset value).
            if case .startupLocality(let l) = event.content, !pcr0Extended { locality = l; break }
        }
        for bank in log.algorithms {
            guard let size = log.specID?.digestSize(of: bank) ?? (bank == .sha1 ? 20 : nil),
                  hashing.hash(bank, [[]])?.count == size else {
                unreplayed[bank] = "no \(bank.name) hash function"
                continue
            }
            var pcrs = [UInt32: [UInt8]]()
            var complete = true
            for event in log.events where event.extendsPCR {
                guard let digest = event.digest(bank) else {
                    unreplayed[bank] = "event \(event.index) (\(event.eventType)) has no \(bank.name) digest"
                    complete = false
                    break
                }
                let old = pcrs[event.pcrIndex] ?? Self.resetValue(pcr: event.pcrIndex, size: size, locality: locality)
                pcrs[event.pcrIndex] = hashing.hash(bank, [old, digest]) ?? old
            }
            if complete { values[bank] = pcrs }
        }
        self.values = values
        self.startupLocality = locality
        self.unreplayedBanks = unreplayed
    }

    /// A PCR's value after reset: zeros, PCR 0 ends in the startup locality, PCRs 17–22 are all ones.
    public static func resetValue(pcr: UInt32, size: Int, locality: UInt8 = 0) -> [UInt8] {
        if (17...22).contains(pcr) { return [UInt8](repeating: 0xff, count: size) }
        var value = [UInt8](repeating: 0, count: size)
        if pcr == 0, size > 0 { value[size - 1] = locality }
        return value
    }

    /// The replayed value of a PCR in a bank (its reset value if no event extends it); nil for a bank not replayed.
    public func value(pcr: UInt32, bank: TCGAlgorithm) -> [UInt8]? {
        guard let pcrs = values[bank] else { return nil }
        if let v = pcrs[pcr] { return v }
        guard let size = bank.digestSize ?? pcrs.values.first?.count else { return nil }
        return Self.resetValue(pcr: pcr, size: size, locality: startupLocality)
    }

    /// The first PCR (by index, then bank in `banks` order, sorted if nil) whose
    /// given value differs from the replay's, or that cannot be compared
    /// (bank not replayed, value of the wrong length); nil when all agree.
    /// An empty `expected` is a mismatch: comparing nothing proves nothing.
    public func firstMismatch(against expected: TCGPCRValues) -> TCGPCRMismatch? {
        let banks = expected.keys.sorted()
        let pcrs = Set(expected.values.flatMap(\.keys)).sorted()
        if pcrs.isEmpty {
            return TCGPCRMismatch(pcr: nil, bank: nil, expected: nil, replayed: nil, reason: "no PCR values to compare with")
        }
        for pcr in pcrs {
            for bank in banks {
                guard let want = expected[bank]?[pcr] else { continue }
                guard let got = value(pcr: pcr, bank: bank) else {
                    return TCGPCRMismatch(pcr: pcr, bank: bank, expected: want, replayed: nil,
                                          reason: unreplayedBanks[bank] ?? "the log has no \(bank.name) bank")
                }
                if got != want {
                    return TCGPCRMismatch(pcr: pcr, bank: bank, expected: want, replayed: got,
                                          reason: want.count == got.count ? "values differ"
                                              : "expected value has \(want.count) byte(s), the bank \(got.count)")
                }
            }
        }
        return nil
    }
}

/// A PCR whose value the event log does not explain.
public struct TCGPCRMismatch: Hashable, Sendable, CustomStringConvertible {
    public let pcr: UInt32?
    public let bank: TCGAlgorithm?
    public let expected: [UInt8]?
    public let replayed: [UInt8]?
    public let reason: String

    public var description: String {
        guard let pcr, let bank else { return reason }
        var text = "PCR \(pcr) (\(bank.name)): \(reason)"
        if let expected { text += "; expected \(Hex.encode(expected))" }
        if let replayed { text += ", the log replays to \(Hex.encode(replayed))" }
        return text
    }
}
