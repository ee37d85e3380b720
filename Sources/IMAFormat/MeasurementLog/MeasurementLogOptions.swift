/// How to read a measurement log, and the limits that keep a hostile log
/// from costing unbounded memory.
public struct MeasurementLogOptions: Sendable, Hashable {
    /// Byte order of the log's integers; little-endian unless the log comes
    /// from a big-endian host booted without `ima_canonical_fmt`.
    public var byteOrder: LogByteOrder
    /// The algorithm of the stored template digests: SHA-1 for
    /// `binary_runtime_measurements`, the bank's for
    /// `binary_runtime_measurements_<algo>` (Linux 6.10+). Sets the digest size.
    public var templateDigestAlgorithm: HashAlgorithm
    /// Largest `template_data_len` accepted. The default allows a 4 KiB path
    /// (PATH_MAX) plus 64 KiB of signatures and buffers.
    public var maxTemplateDataLength: Int
    /// Highest PCR index accepted (a TPM 2.0 has 24 PCRs).
    public var maxPCRIndex: UInt32
    /// Keep entries of unknown templates with their raw data instead of failing.
    public var keepsUnknownTemplates: Bool
    /// Longest ASCII line accepted, newline excluded.
    public var maxLineLength: Int

    public init(byteOrder: LogByteOrder = .littleEndian, templateDigestAlgorithm: HashAlgorithm = .sha1,
                maxTemplateDataLength: Int = 65536 + 4096, maxPCRIndex: UInt32 = 23,
                keepsUnknownTemplates: Bool = false, maxLineLength: Int? = nil) {
        self.byteOrder = byteOrder
        self.templateDigestAlgorithm = templateDigestAlgorithm
        self.maxTemplateDataLength = max(0, maxTemplateDataLength)
        self.maxPCRIndex = maxPCRIndex
        self.keepsUnknownTemplates = keepsUnknownTemplates
        // Hex doubles the data; allow the header words and separators on top.
        self.maxLineLength = maxLineLength ?? (2 * self.maxTemplateDataLength + 1024)
    }

    /// Longest template name accepted (`TCG_EVENT_NAME_LEN_MAX` in evmctl;
    /// a custom format of 15 fields fits).
    public static let maxTemplateNameLength = 255
    /// Longest name of the "ima" template's `n` field (`IMA_EVENT_NAME_LEN_MAX`).
    public static let maxLegacyEventNameLength = 255
    /// Size of the "ima" template's `d` field (`IMA_DIGEST_SIZE`, SHA-1).
    public static let legacyDigestLength = 20
}
