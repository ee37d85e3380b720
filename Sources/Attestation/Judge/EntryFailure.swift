import IMAFormat
import Provenance

/// One rejected measurement: where it is in the log, what it measured, and why.
public struct EntryFailure: Sendable, Equatable {
    /// 0-based index of the entry in the node's log.
    public let entryIndex: Int
    /// Byte offset of the entry in the binary log.
    public let offset: Int
    /// The PCR the entry extended.
    public let pcr: UInt32
    /// The template name (`ima-ng`, `ima-sig`, `ima-buf`, …).
    public let template: String
    /// The event name as logged: the file path, or the buffer/keyring name. Bytes, not text.
    public let path: [UInt8]
    /// The measured digest as the ASCII log prints it (`sha256:<hex>`), when present.
    public let digest: String?
    public let code: EntryFailureCode
    /// What was found and what was expected, for a person.
    public let reason: String

    public init(entryIndex: Int, offset: Int, pcr: UInt32, template: String, path: [UInt8], digest: String?,
                code: EntryFailureCode, reason: String) {
        self.entryIndex = entryIndex
        self.offset = offset
        self.pcr = pcr
        self.template = template
        self.path = path
        self.digest = digest
        self.code = code
        self.reason = reason
    }

    /// A failure of `entry`.
    init(entry: MeasurementEntry, code: EntryFailureCode, reason: String) {
        self.init(entryIndex: entry.position.entryIndex, offset: entry.position.byteOffset, pcr: entry.pcrIndex,
                  template: entry.templateName, path: entry.eventName ?? [], digest: entry.eventDigest?.description,
                  code: code, reason: reason)
    }

    /// The path for display: printable UTF-8 as is, other bytes as `\xNN`.
    public var displayPath: String { FilePath(bytes: path).description }
}
