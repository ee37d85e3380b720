/// What the kernel extends into each PCR bank for an entry.
public enum PCRExtendMode: Sendable, Hashable {
    /// Linux 5.8+ (commit 1ea973df6e21 "ima: Calculate and extend PCR with
    /// digests in ima_template_entry"): each bank gets the template hash
    /// computed with that bank's algorithm; a violation extends 0xFF × bank size.
    case perBankTemplateHash
    /// Before 5.8: every bank gets the SHA-1 template hash zero-padded to the
    /// bank size; a violation extends 20 × 0xFF, zero-padded. Also what 5.8+
    /// extends into banks whose algorithm the kernel crypto API lacks.
    case paddedSHA1

    /// The value extended into `bank` for `entry`.
    public func extendValue(for entry: MeasurementEntry, bank: HashAlgorithm, using hashing: some IMAHashing) -> [UInt8] {
        extendValue(for: entry, bank: bank) { entry.templateHash($0, using: hashing) }
    }

    /// Same, with the template hash supplied by the caller (so a replay can reuse one).
    func extendValue(for entry: MeasurementEntry, bank: HashAlgorithm,
                     templateHash: (HashAlgorithm) -> [UInt8]) -> [UInt8] {
        switch self {
        case .perBankTemplateHash:
            if entry.isViolation { return [UInt8](repeating: 0xff, count: bank.digestLength) }
            return templateHash(bank)
        case .paddedSHA1:
            let sha1 = entry.isViolation
                ? [UInt8](repeating: 0xff, count: HashAlgorithm.sha1.digestLength)
                : templateHash(.sha1)
            return Self.fit(sha1, to: bank.digestLength)
        }
    }

    /// Zero-pads (or cuts) to `length`, as the kernel copies into a zeroed digest buffer.
    static func fit(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.count >= length
            ? Array(bytes.prefix(length)) : bytes + [UInt8](repeating: 0, count: length - bytes.count)
    }
}
