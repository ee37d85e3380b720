/// The judgement of one measurement.
public enum EntryJudgement: Sendable, Equatable {
    case accepted(Acceptance)
    case rejected(EntryFailure)

    /// The failure, when rejected.
    public var failure: EntryFailure? {
        if case .rejected(let failure) = self { return failure }
        return nil
    }
}
