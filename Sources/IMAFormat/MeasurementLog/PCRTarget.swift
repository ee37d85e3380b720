/// Expected values of one PCR, per bank, typically from a verified TPM quote.
public struct PCRTarget: Hashable, Sendable {
    /// The PCR quoted (10 for IMA's default).
    public var pcrIndex: UInt32
    /// The quoted value of `pcrIndex` in each bank to match. All must match.
    public var values: [HashAlgorithm: [UInt8]]

    public init(pcrIndex: UInt32 = 10, values: [HashAlgorithm: [UInt8]]) {
        self.pcrIndex = pcrIndex
        self.values = values
    }
}
