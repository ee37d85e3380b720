import IMAFormat

/// The value of one PCR in one bank, as read from a TPM or claimed by evidence.
public struct PCRValue: Hashable, Sendable, CustomStringConvertible {
    public let bank: TPMAlgorithm
    public let index: Int
    public let digest: [UInt8]

    public init(bank: TPMAlgorithm, index: Int, digest: [UInt8]) {
        self.bank = bank
        self.index = index
        self.digest = digest
    }

    /// `sha256:10=…hex…`.
    public var description: String { "\(bank):\(index)=\(Hex.encode(digest))" }
}
