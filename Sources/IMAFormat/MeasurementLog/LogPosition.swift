/// Where an entry starts in a measurement log: its index and its byte offset.
///
/// A verifier that has checked a log up to a position can later read only the
/// bytes after `byteOffset` and go on numbering entries from `entryIndex`.
public struct LogPosition: Hashable, Sendable, CustomStringConvertible {
    /// 0-based index of the entry.
    public var entryIndex: Int
    /// Offset of the entry's first byte (binary log) or of its line (ASCII log).
    public var byteOffset: Int

    public init(entryIndex: Int, byteOffset: Int) {
        self.entryIndex = entryIndex
        self.byteOffset = byteOffset
    }

    /// The beginning of a log.
    public static let start = LogPosition(entryIndex: 0, byteOffset: 0)

    public var description: String { "entry \(entryIndex) at byte \(byteOffset)" }
}
