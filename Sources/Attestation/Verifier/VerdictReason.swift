/// One reason a round failed, with where in the log it applies when it does.
public struct VerdictReason: Error, Sendable, Equatable {
    public let code: VerdictCode
    /// What was found and what was expected, for a person.
    public let message: String
    /// The log entry concerned (log errors), when known.
    public let entryIndex: Int?
    /// A byte offset, when known: in the binary log for log errors, in the
    /// structure `field` names (TPMS_ATTEST, TPMT_SIGNATURE) for quote errors.
    public let offset: Int?
    /// The field concerned (`template_data_len`, `TPMS_ATTEST.extraData`, …), when known.
    public let field: String?

    public init(code: VerdictCode, message: String, entryIndex: Int? = nil, offset: Int? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.entryIndex = entryIndex
        self.offset = offset
        self.field = field
    }
}
