/// Limits that keep a hostile event log from costing unbounded memory or time,
/// and how strictly event contents are decoded.
public struct TCGEventLogOptions: Sendable, Hashable {
    /// Largest log accepted. Real logs are 5–100 KiB; the kernel's own copy
    /// is bounded by the firmware's event log area (often 64 KiB–1 MiB).
    public var maxLogLength: Int
    /// Largest `eventSize` accepted. A dbx update or a GPT of 128 entries is
    /// under 32 KiB; firmware blobs are never logged whole.
    public var maxEventDataLength: Int
    /// Highest PCR index accepted (a PC Client TPM has 24 PCRs).
    public var maxPCRIndex: UInt32
    /// Throw `malformedContent` when an event of a known type has data that
    /// is not its type's layout. When false (the default) the event is kept,
    /// replayable, with `content == .malformed(error)`.
    public var strictContent: Bool

    public init(maxLogLength: Int = TCGEventLogOptions.defaultMaxLogLength,
                maxEventDataLength: Int = TCGEventLogOptions.defaultMaxEventDataLength,
                maxPCRIndex: UInt32 = 23, strictContent: Bool = false) {
        self.maxLogLength = max(0, maxLogLength)
        self.maxEventDataLength = max(0, maxEventDataLength)
        self.maxPCRIndex = maxPCRIndex
        self.strictContent = strictContent
    }

    /// 16 MiB.
    public static let defaultMaxLogLength = 16 << 20
    /// 1 MiB.
    public static let defaultMaxEventDataLength = 1 << 20
    /// Size of a SHA-1 digest in the legacy (`TCG_PCClientPCREvent`) format.
    public static let legacyDigestLength = 20
}
