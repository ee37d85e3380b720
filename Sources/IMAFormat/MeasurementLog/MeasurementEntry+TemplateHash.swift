/// The template hash: what the kernel stores as the template digest and
/// extends into the PCR (`ima_calc_field_array_hash_tfm` in ima_crypto.c).
///
/// For every template but "ima" it is H(for each field: u32 len || bytes),
/// which is exactly H(template data) as the log stores it (same byte order
/// for the lengths). For "ima" no lengths are hashed and the name is
/// zero-padded to `IMA_EVENT_NAME_LEN_MAX + 1` = 256 bytes: H(d || n || zeros).
extension MeasurementEntry {
    /// Bytes of the "ima" template's name as hashed (name zero-padded to 256).
    public static let legacyHashedNameLength = 256

    /// The byte strings whose concatenation the kernel hashes for this entry.
    public var templateHashInput: [[UInt8]] {
        guard templateName == TemplateDescriptor.ima.name else { return [templateData] }
        let d = MeasurementLogOptions.legacyDigestLength
        let digest = Array(templateData.prefix(d))
        var name = templateData.count > d + 4 ? Array(templateData[(d + 4)...]) : []
        if name.count < Self.legacyHashedNameLength {
            name += [UInt8](repeating: 0, count: Self.legacyHashedNameLength - name.count)
        }
        return [digest, name]
    }

    /// The template hash with `algorithm` (the per-bank template digest).
    public func templateHash(_ algorithm: HashAlgorithm, using hashing: some IMAHashing) -> [UInt8] {
        hashing.hash(algorithm, templateHashInput)
    }

    /// Checks the stored template digest against the template data. Violations
    /// (zero digest) have nothing to check and pass.
    /// - Parameter algorithm: the algorithm of the stored digest (SHA-1 in the
    ///   classic file, the bank's in a per-bank file).
    public func verifyTemplateDigest(algorithm: HashAlgorithm = .sha1, using hashing: some IMAHashing) throws(MeasurementLogError) {
        if isViolation { return }
        let computed = templateHash(algorithm, using: hashing)
        guard computed == templateDigest else {
            throw MeasurementLogError.templateDigestMismatch(
                entry: position.entryIndex, offset: position.byteOffset, algorithm: algorithm,
                stored: templateDigest, computed: computed)
        }
    }
}
