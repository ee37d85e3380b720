/// Upper bounds a verifier puts on evidence before decoding it, so a hostile
/// or broken agent cannot make it allocate without bound. Each refusal is an
/// `EvidenceError.tooLarge` naming the field and the limit.
public struct EvidenceLimits: Sendable, Hashable {
    /// The whole JSON document.
    public var maxDocumentBytes: Int
    /// The decoded IMA log (`ima_log.data`). A busy server's log after weeks
    /// of uptime is tens of MB; incremental rounds send far less.
    public var maxLogBytes: Int
    /// PCR values over all banks (4 banks of 24 PCRs by default).
    public var maxPCRValues: Int
    /// Free-text fields: `created`, `node.*`, `ak.pem`.
    public var maxTextLength: Int
    /// The decoded firmware event log (`boot_event_log.data`): tens of KB on real machines.
    public var maxBootEventLogBytes: Int

    public init(maxDocumentBytes: Int = 192 << 20, maxLogBytes: Int = 128 << 20, maxPCRValues: Int = 96,
                maxTextLength: Int = 8192, maxBootEventLogBytes: Int = 16 << 20) {
        self.maxDocumentBytes = maxDocumentBytes
        self.maxLogBytes = maxLogBytes
        self.maxPCRValues = maxPCRValues
        self.maxTextLength = maxTextLength
        self.maxBootEventLogBytes = maxBootEventLogBytes
    }
}
