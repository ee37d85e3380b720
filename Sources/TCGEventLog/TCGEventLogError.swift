/// Why a TCG PC Client event log (`binary_bios_measurements`) could not be
/// read, decoded or replayed. Carries the event index and the byte offset in
/// the log, so a user can find the problem with `xxd -s OFFSET`, and the field
/// as the TCG PC Client Platform Firmware Profile names it.
///
/// Equatable on `code` only: tests and callers compare the kind of failure,
/// never the wording.
public struct TCGEventLogError: Error, Hashable, CustomStringConvertible, Sendable {
    /// What kind of failure.
    public enum Code: Hashable, Sendable {
        /// The log is empty.
        case emptyLog
        /// The log is larger than `TCGEventLogOptions.maxLogLength`.
        case logTooLarge
        /// The input ended inside an event (or inside a structure of an event's data).
        case truncated
        /// `eventSize` is above `TCGEventLogOptions.maxEventDataLength`.
        case eventDataTooLong
        /// The PCR index is above `TCGEventLogOptions.maxPCRIndex`.
        case pcrOutOfRange
        /// The Spec ID event's fields are not what the profile allows.
        case invalidSpecID
        /// The Spec ID event gives a known algorithm a digest size that is not the algorithm's.
        case digestSizeMismatch
        /// A Spec ID event appears after the first event.
        case specIDNotFirst
        /// An event's digest names an algorithm the Spec ID event does not list.
        case unknownAlgorithm
        /// An event's digest count is above the number of algorithms the Spec ID event lists.
        case tooManyDigests
        /// An event carries two digests of the same algorithm.
        case duplicateDigest
        /// An event of a known type has data that does not have the layout of its type.
        case malformedContent
        /// A PCR value has the wrong length for its bank.
        case invalidPCRValue
    }

    /// The kind of failure; the only part `==` compares.
    public let code: Code
    /// Index of the event (0-based; the Spec ID event is event 0), when known.
    public let eventIndex: Int?
    /// Byte offset in the log, when known.
    public let offset: Int?
    /// The field (`eventSize`, `digests.count`, `UEFI_VARIABLE_DATA.VariableDataLength`, …).
    public let field: String
    /// What was expected and what was found.
    public let reason: String

    public init(code: Code, eventIndex: Int?, offset: Int?, field: String, reason: String) {
        self.code = code
        self.eventIndex = eventIndex
        self.offset = offset
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var location = [String]()
        if let eventIndex { location.append("event \(eventIndex)") }
        if let offset { location.append("byte \(offset)") }
        let prefix = location.isEmpty ? "" : location.joined(separator: ", ") + ": "
        return "\(prefix)\(field): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    static func truncated(event: Int, offset: Int, field: String, need: Int, have: Int) -> Self {
        .init(code: .truncated, eventIndex: event, offset: offset, field: field,
              reason: "data ends inside \(field): it needs \(need) byte(s), only \(have) present")
    }

    static func malformed(event: Int, offset: Int, field: String, reason: String) -> Self {
        .init(code: .malformedContent, eventIndex: event, offset: offset, field: field, reason: reason)
    }
}
