/// The `boot_aggregate` entry's digest: the link between the firmware's
/// measured boot (PCRs 0-9) and the IMA log.
///
/// `ima_calc_boot_aggregate_tfm` (ima_crypto.c) hashes, with the bank's own
/// algorithm, the values of PCRs 0-7 and, for banks other than SHA-1, also
/// PCRs 8 and 9 (kernel command line and image under a typical allocation).
/// `ima_calc_boot_aggregate` picks the bank: the one matching the IMA hash
/// algorithm, else SHA-256, else SHA-1. The "ima" template only records a
/// SHA-1 aggregate (all zeros when the TPM has no SHA-1 bank), and a machine
/// without a TPM records zeros.
public enum BootAggregate {
    /// The event name of the entry.
    public static let eventName = "boot_aggregate"

    /// The PCRs the aggregate covers in `bank`.
    public static func pcrIndices(for bank: HashAlgorithm) -> ClosedRange<UInt32> {
        bank == .sha1 ? 0...7 : 0...9
    }

    /// The aggregate of `pcrValues` in `bank`. Every PCR of `pcrIndices(for:)`
    /// must be present with the bank's digest length.
    public static func compute(bank: HashAlgorithm, pcrValues: [UInt32: [UInt8]], using hashing: some IMAHashing) throws
        -> [UInt8]
    {
        var parts = [[UInt8]]()
        for pcr in pcrIndices(for: bank) {
            guard let value = pcrValues[pcr] else {
                throw MeasurementLogError.invalidPCRValue(pcr: pcr, bank: bank, reason: "missing; the boot aggregate needs it")
            }
            guard value.count == bank.digestLength else {
                throw MeasurementLogError.invalidPCRValue(
                    pcr: pcr, bank: bank, reason: "has \(value.count) byte(s), expected \(bank.digestLength)")
            }
            parts.append(value)
        }
        return hashing.hash(bank, parts)
    }

    /// The bank the kernel uses for the aggregate, given the IMA hash algorithm
    /// (`ima_hash=`) and the TPM's allocated banks in TPM order; nil if none fits.
    public static func kernelBank(imaHashAlgorithm: HashAlgorithm, allocatedBanks: [HashAlgorithm]) -> HashAlgorithm? {
        var choice: HashAlgorithm?
        for bank in allocatedBanks {
            if bank == imaHashAlgorithm { return bank }
            if bank == .sha256 { choice = bank }
            if choice == nil && bank == .sha1 { choice = bank }
        }
        return choice
    }
}
