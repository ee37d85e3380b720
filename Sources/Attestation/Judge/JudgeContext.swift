import IMAFormat
import TPM

/// What the judge needs to know about the round beyond the reference: the
/// values a `boot_aggregate` must have (from the verified quote's PCRs 0-9)
/// and what the node claims about itself.
public struct JudgeContext: Sendable {
    /// The boot aggregate per bank, computed from quoted PCR values.
    public var bootAggregates: [HashAlgorithm: [UInt8]]
    /// The kernel release the evidence claims, compared with `kernel_version`.
    public var kernelRelease: String?
    /// The PCR IMA extends and the verifier replays (10).
    public var imaPCR: UInt32

    public init(bootAggregates: [HashAlgorithm: [UInt8]] = [:], kernelRelease: String? = nil, imaPCR: UInt32 = 10) {
        self.bootAggregates = bootAggregates
        self.kernelRelease = kernelRelease
        self.imaPCR = imaPCR
    }

    /// The boot aggregate of every bank for which `pcrs` holds all the PCRs
    /// the kernel aggregates (0-7 for SHA-1, 0-9 otherwise).
    public static func bootAggregates(from pcrs: [PCRValue], using hashing: some IMAHashing) -> [HashAlgorithm: [UInt8]] {
        var byBank = [HashAlgorithm: [UInt32: [UInt8]]]()
        for value in pcrs {
            guard let bank = value.bank.hashAlgorithm, value.index >= 0 else { continue }
            byBank[bank, default: [:]][UInt32(value.index)] = value.digest
        }
        var out = [HashAlgorithm: [UInt8]]()
        for (bank, values) in byBank {
            if let aggregate = try? BootAggregate.compute(bank: bank, pcrValues: values, using: hashing) {
                out[bank] = aggregate
            }
        }
        return out
    }
}
