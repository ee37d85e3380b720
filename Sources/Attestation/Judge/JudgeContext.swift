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
    /// Whether a `boot_aggregate` whose bank has no value in `bootAggregates`
    /// fails (`boot-aggregate-unverifiable`, always with a quote) or is only
    /// counted as not checked (an offline check that was given no PCR 0-9 values).
    public var requiresBootAggregate: Bool

    public init(bootAggregates: [HashAlgorithm: [UInt8]] = [:], kernelRelease: String? = nil, imaPCR: UInt32 = 10,
                requiresBootAggregate: Bool = true) {
        self.bootAggregates = bootAggregates
        self.kernelRelease = kernelRelease
        self.imaPCR = imaPCR
        self.requiresBootAggregate = requiresBootAggregate
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
