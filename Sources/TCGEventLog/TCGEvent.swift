/// One event of a TCG PC Client event log: where it is, the PCR it extends,
/// its type, its digests (one per bank listed by the Spec ID event, or one
/// SHA-1 in a legacy log), its raw data and the data decoded by type.
///
/// The digests are what the replay extends; the content is for display and
/// policy. Malformed content never stops a replay: `content` is then
/// `.malformed(error)` (the error names the event, offset and field) and
/// `data` keeps the bytes.
public struct TCGEvent: Hashable, Sendable {
    /// 0-based index; the Spec ID event of a crypto-agile log is event 0.
    public let index: Int
    /// Offset of the event's first byte in the log.
    public let offset: Int
    /// The event's length in the log, header included.
    public let encodedLength: Int
    public let pcrIndex: UInt32
    public let eventType: TCGEventType
    /// The digests in log order.
    public let digests: [TCGDigest]
    /// The event data (`eventSize` bytes).
    public let data: [UInt8]
    /// Offset of `data` in the log.
    public let dataOffset: Int
    /// The data decoded by type.
    public let content: TCGEventContent

    public init(index: Int, offset: Int, encodedLength: Int, pcrIndex: UInt32, eventType: TCGEventType,
                digests: [TCGDigest], data: [UInt8], dataOffset: Int, content: TCGEventContent) {
        self.index = index
        self.offset = offset
        self.encodedLength = encodedLength
        self.pcrIndex = pcrIndex
        self.eventType = eventType
        self.digests = digests
        self.data = data
        self.dataOffset = dataOffset
        self.content = content
    }

    /// The digest of one algorithm, nil if the event carries none.
    public func digest(_ algorithm: TCGAlgorithm) -> [UInt8]? {
        digests.first(where: { $0.algorithm == algorithm })?.bytes
    }

    /// EV_NO_ACTION events are logged but never extended.
    public var extendsPCR: Bool { eventType != .noAction }

    /// The content, or the error that made it malformed: strict decoding of one event.
    public func strictContent() throws(TCGEventLogError) -> TCGEventContent {
        if case .malformed(let error) = content { throw error }
        return content
    }

    /// The content error, if the content is malformed.
    public var contentError: TCGEventLogError? {
        if case .malformed(let error) = content { return error }
        return nil
    }
}

/// A parsed TCG PC Client event log (`/sys/kernel/security/tpm0/binary_bios_measurements`).
public struct TCGEventLog: Hashable, Sendable {
    public enum Format: Hashable, Sendable {
        /// The first event carries a Spec ID event; later events are TCG_PCR_EVENT2.
        case cryptoAgile
        /// Every event is TCG_PCClientPCREvent with one SHA-1 digest (TPM 1.2 firmware).
        case sha1
    }

    public let format: Format
    /// The Spec ID event of a crypto-agile log.
    public let specID: SpecIDEvent?
    /// Every event, the Spec ID event included (event 0).
    public let events: [TCGEvent]
    /// Length of the log in bytes.
    public let length: Int

    public init(format: Format, specID: SpecIDEvent?, events: [TCGEvent], length: Int) {
        self.format = format
        self.specID = specID
        self.events = events
        self.length = length
    }

    /// The banks the log carries digests for: the Spec ID event's algorithms, or SHA-1.
    public var algorithms: [TCGAlgorithm] { specID?.algorithms.map(\.algorithm) ?? [.sha1] }

    /// The errors of events whose content is malformed, in log order.
    public var contentErrors: [TCGEventLogError] { events.compactMap(\.contentError) }

    /// Parses a whole log. Throws on anything that makes the digests or the
    /// framing untrustworthy (truncation, a lying size, an unlisted
    /// algorithm, a limit exceeded); malformed content of a known type
    /// throws only with `options.strictContent`.
    public static func parse(_ bytes: [UInt8], options: TCGEventLogOptions = TCGEventLogOptions()) throws(TCGEventLogError) -> TCGEventLog {
        guard !bytes.isEmpty else {
            throw TCGEventLogError(code: .emptyLog, eventIndex: nil, offset: 0, field: "log", reason: "the event log is empty")
        }
        guard bytes.count <= options.maxLogLength else {
            throw TCGEventLogError(code: .logTooLarge, eventIndex: nil, offset: 0, field: "log",
                                   reason: "\(bytes.count) byte(s); the bound is \(options.maxLogLength) (TCGEventLogOptions.maxLogLength)")
        }
        var r = LittleEndianReader(bytes, event: 0)
        // Event 0 is always in the legacy format.
        let first = try readLegacyEvent(&r, index: 0, options: options)
        var specID: SpecIDEvent?
        var events = [TCGEvent]()
        if first.type == .noAction, first.data.starts(with: SpecIDEvent.signature03) {
            guard first.pcr == 0, first.digest.allSatisfy({ $0 == 0 }) else {
                throw TCGEventLogError(code: .invalidSpecID, eventIndex: 0, offset: 0, field: "TCG_PCClientPCREvent.pcrIndex",
                                       reason: "the Spec ID event must be logged to PCR 0 with a zero digest")
            }
            let spec = try SpecIDEvent.decode(first.data, base: first.dataOffset, event: 0)
            specID = spec
            events.append(TCGEvent(index: 0, offset: 0, encodedLength: r.index, pcrIndex: 0, eventType: .noAction,
                                   digests: [TCGDigest(.sha1, first.digest)], data: first.data, dataOffset: first.dataOffset,
                                   content: .specID(spec)))
        } else {
            events.append(try makeEvent(first, index: 0, digests: [TCGDigest(.sha1, first.digest)], end: r.index, options: options))
        }

        while !r.isAtEnd {
            let index = events.count
            r = LittleEndianReader(bytes, start: r.index, event: index)
            if let specID {
                let raw = try readEvent2(&r, index: index, specID: specID, options: options)
                events.append(try makeEvent(raw.header, index: index, digests: raw.digests, end: r.index, options: options))
            } else {
                let raw = try readLegacyEvent(&r, index: index, options: options)
                events.append(try makeEvent(raw, index: index, digests: [TCGDigest(.sha1, raw.digest)], end: r.index,
                                            options: options))
            }
        }
        return TCGEventLog(format: specID == nil ? .sha1 : .cryptoAgile, specID: specID, events: events, length: bytes.count)
    }

    struct RawEvent {
        var offset: Int
        var pcr: UInt32
        var type: TCGEventType
        var digest: [UInt8]
        var data: [UInt8]
        var dataOffset: Int
    }

    private static func readPCRIndex(_ r: inout LittleEndianReader, field: String, index: Int,
                                     options: TCGEventLogOptions) throws(TCGEventLogError) -> UInt32 {
        let at = r.offset
        let pcr = try r.u32(field)
        guard pcr <= options.maxPCRIndex else {
            throw TCGEventLogError(code: .pcrOutOfRange, eventIndex: index, offset: at, field: field,
                                   reason: "PCR \(pcr) is out of range (expected 0-\(options.maxPCRIndex))")
        }
        return pcr
    }

    private static func readEventData(_ r: inout LittleEndianReader, structure: String, index: Int,
                                      options: TCGEventLogOptions) throws(TCGEventLogError) -> (data: [UInt8], offset: Int) {
        let sizeAt = r.offset
        let size = try r.u32(structure + "eventSize")
        guard UInt64(size) <= UInt64(options.maxEventDataLength) else {
            throw TCGEventLogError(code: .eventDataTooLong, eventIndex: index, offset: sizeAt, field: structure + "eventSize",
                                   reason: "declares \(size) byte(s); the bound is \(options.maxEventDataLength) "
                                       + "(TCGEventLogOptions.maxEventDataLength)")
        }
        guard Int(size) <= r.remaining else {
            throw TCGEventLogError(code: .truncated, eventIndex: index, offset: sizeAt, field: structure + "eventSize",
                                   reason: "declares \(size) byte(s) of event data but only \(r.remaining) remain in the log")
        }
        let dataAt = r.offset
        return (try r.bytes(Int(size), structure + "event"), dataAt)
    }

    /// TCG_PCClientPCREvent: u32 pcrIndex | u32 eventType | digest[20] | u32 eventSize | event.
    private static func readLegacyEvent(_ r: inout LittleEndianReader, index: Int,
                                        options: TCGEventLogOptions) throws(TCGEventLogError) -> RawEvent {
        let s = "TCG_PCClientPCREvent."
        let start = r.offset
        let pcr = try readPCRIndex(&r, field: s + "pcrIndex", index: index, options: options)
        let type = TCGEventType(rawValue: try r.u32(s + "eventType"))
        let digest = try r.bytes(TCGEventLogOptions.legacyDigestLength, s + "digest")
        let (data, dataAt) = try readEventData(&r, structure: s, index: index, options: options)
        return RawEvent(offset: start, pcr: pcr, type: type, digest: digest, data: data, dataOffset: dataAt)
    }

    /// TCG_PCR_EVENT2: u32 pcrIndex | u32 eventType | u32 count | count × (u16 algId | digest) | u32 eventSize | event.
    private static func readEvent2(_ r: inout LittleEndianReader, index: Int, specID: SpecIDEvent,
                                   options: TCGEventLogOptions) throws(TCGEventLogError) -> (header: RawEvent, digests: [TCGDigest]) {
        let s = "TCG_PCR_EVENT2."
        let start = r.offset
        let pcr = try readPCRIndex(&r, field: s + "pcrIndex", index: index, options: options)
        let type = TCGEventType(rawValue: try r.u32(s + "eventType"))
        let countAt = r.offset
        let count = try r.u32(s + "digests.count")
        guard count <= UInt32(specID.algorithms.count) else {
            throw TCGEventLogError(code: .tooManyDigests, eventIndex: index, offset: countAt, field: s + "digests.count",
                                   reason: "\(count) digest(s) but the Spec ID event lists \(specID.algorithms.count) algorithm(s)")
        }
        var digests = [TCGDigest]()
        for i in 0..<Int(count) {
            let field = s + "digests[\(i)].hashAlg"
            let at = r.offset
            let algorithm = TCGAlgorithm(rawValue: try r.u16(field))
            guard let size = specID.digestSize(of: algorithm) else {
                throw TCGEventLogError(code: .unknownAlgorithm, eventIndex: index, offset: at, field: field,
                                       reason: "algorithm \(algorithm.name) is not listed by the Spec ID event ("
                                           + specID.algorithms.map(\.algorithm.name).joined(separator: ", ") + ")")
            }
            guard !digests.contains(where: { $0.algorithm == algorithm }) else {
                throw TCGEventLogError(code: .duplicateDigest, eventIndex: index, offset: at, field: field,
                                       reason: "a second \(algorithm.name) digest in one event")
            }
            digests.append(TCGDigest(algorithm, try r.bytes(size, s + "digests[\(i)].digest")))
        }
        let (data, dataAt) = try readEventData(&r, structure: s, index: index, options: options)
        return (RawEvent(offset: start, pcr: pcr, type: type, digest: [], data: data, dataOffset: dataAt), digests)
    }

    private static func makeEvent(_ raw: RawEvent, index: Int, digests: [TCGDigest], end: Int,
                                  options: TCGEventLogOptions) throws(TCGEventLogError) -> TCGEvent {
        if index > 0, raw.type == .noAction, raw.data.starts(with: Array("Spec ID Event".utf8)) {
            throw TCGEventLogError(code: .specIDNotFirst, eventIndex: index, offset: raw.dataOffset, field: "event",
                                   reason: "a Spec ID event may only be event 0")
        }
        let content: TCGEventContent
        do {
            content = try TCGEventContent.decode(type: raw.type, pcr: raw.pcr, data: raw.data, base: raw.dataOffset, event: index)
        } catch {
            if options.strictContent { throw error }
            content = .malformed(error)
        }
        return TCGEvent(index: index, offset: raw.offset, encodedLength: end - raw.offset, pcrIndex: raw.pcr,
                        eventType: raw.type, digests: digests, data: raw.data, dataOffset: raw.dataOffset, content: content)
    }
}
