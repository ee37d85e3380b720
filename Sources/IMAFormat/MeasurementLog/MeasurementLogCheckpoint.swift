/// Where a verifier stopped in a measurement log and the PCR values the
/// entries before that point produced. Restart with
/// `BinaryMeasurementLogParser(options:resumingAt: checkpoint.position)` fed
/// the bytes from `checkpoint.position.byteOffset` on, and
/// `PCRReplay(resumingFrom: checkpoint, …)`: the result equals a full replay.
public struct MeasurementLogCheckpoint: Hashable, Sendable {
    /// The next entry to read: its index and byte offset.
    public var position: LogPosition
    /// PCR values per bank, per PCR index, after the entries before `position`.
    /// PCRs never extended are absent (they are all zeros).
    public var pcrValues: [HashAlgorithm: [UInt32: [UInt8]]]

    public init(position: LogPosition, pcrValues: [HashAlgorithm: [UInt32: [UInt8]]]) {
        self.position = position
        self.pcrValues = pcrValues
    }
}
