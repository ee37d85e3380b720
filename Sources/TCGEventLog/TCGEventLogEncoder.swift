/// Writes TCG PC Client event logs: a crypto-agile log (the Spec ID event,
/// then TCG_PCR_EVENT2s) or a legacy SHA-1 log. For tests, fuzz seeds and
/// verifier fixtures: it writes exactly what it is given, so it can also
/// write logs firmware never would (wrong digests, any event data).
public struct TCGEventLogEncoder: Sendable {
    /// nil for a legacy SHA-1 log.
    public let specID: SpecIDEvent?
    /// The log so far.
    public private(set) var bytes: [UInt8] = []
    /// Events written so far, the Spec ID event included.
    public private(set) var eventCount = 0

    /// A crypto-agile log whose Spec ID event lists `specID.algorithms`.
    public init(specID: SpecIDEvent) {
        self.specID = specID
        appendLegacy(pcr: 0, type: .noAction, digest: [UInt8](repeating: 0, count: 20), data: specID.encoded())
    }

    /// A crypto-agile log for these banks, their standard sizes.
    public init(banks: [TCGAlgorithm]) {
        self.init(specID: SpecIDEvent(algorithms: banks.map { ($0, $0.digestSize ?? 32) }))
    }

    /// A legacy log: every event TCG_PCClientPCREvent with a SHA-1 digest.
    public init(legacySHA1: Void) {
        self.specID = nil
    }

    /// Appends an event with the given digests (TCG_PCR_EVENT2; in a legacy
    /// log the SHA-1 digest, zeros if none is given).
    public mutating func append(pcr: UInt32, type: TCGEventType, digests: [TCGDigest], data: [UInt8]) {
        guard specID != nil else {
            let sha1 = digests.first(where: { $0.algorithm == .sha1 })?.bytes ?? [UInt8](repeating: 0, count: 20)
            appendLegacy(pcr: pcr, type: type, digest: sha1, data: data)
            return
        }
        var out = pcr.littleEndianBytes + type.rawValue.littleEndianBytes
        out += UInt32(digests.count).littleEndianBytes
        for d in digests { out += d.algorithm.rawValue.littleEndianBytes + d.bytes }
        out += UInt32(data.count).littleEndianBytes + data
        bytes += out
        eventCount += 1
    }

    /// Appends an event whose digests are the hashes of `measured` (the data
    /// itself by default) in every bank; EV_NO_ACTION events get zero digests.
    public mutating func append(pcr: UInt32, type: TCGEventType, data: [UInt8], measured: [UInt8]? = nil,
                                hashing: any TCGEventLogHashing) {
        let banks = specID?.algorithms ?? [(TCGAlgorithm.sha1, 20)]
        let digests = banks.map { bank, size in
            TCGDigest(bank, type == .noAction ? [UInt8](repeating: 0, count: size)
                : hashing.hash(bank, [measured ?? data]) ?? [UInt8](repeating: 0, count: size))
        }
        append(pcr: pcr, type: type, digests: digests, data: data)
    }

    /// Appends bytes as they are (a malformed tail, another log's events).
    public mutating func appendRaw(_ raw: [UInt8]) { bytes += raw }

    private mutating func appendLegacy(pcr: UInt32, type: TCGEventType, digest: [UInt8], data: [UInt8]) {
        bytes += pcr.littleEndianBytes + type.rawValue.littleEndianBytes + digest
        bytes += UInt32(data.count).littleEndianBytes + data
        eventCount += 1
    }
}

/// Event data of the types firmware, shim and grub write, for the encoder.
public enum TCGEventData {
    /// EV_NO_ACTION "StartupLocality".
    public static func startupLocality(_ locality: UInt8) -> [UInt8] { Array("StartupLocality".utf8) + [0, locality] }
    /// EV_SEPARATOR.
    public static func separator(error: Bool = false) -> [UInt8] { error ? [0xff, 0xff, 0xff, 0xff] : [0, 0, 0, 0] }
    /// EV_EFI_ACTION / EV_ACTION: ASCII, no NUL.
    public static func action(_ text: String) -> [UInt8] { Array(text.utf8) }
    /// EV_IPL as grub writes it: ASCII and a NUL.
    public static func ipl(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
    /// EV_S_CRTM_VERSION: UTF-16LE and a NUL.
    public static func crtmVersion(_ text: String) -> [UInt8] { encodeUTF16LE(text, nulTerminated: true) }
    /// UEFI_PLATFORM_FIRMWARE_BLOB.
    public static func firmwareBlob(base: UInt64, length: UInt64) -> [UInt8] { base.littleEndianBytes + length.littleEndianBytes }
    /// UEFI_VARIABLE_DATA.
    public static func variable(vendor: EFIGUID, name: String, data: [UInt8]) -> [UInt8] {
        UEFIVariable.encode(vendor: vendor, name: name, data: data)
    }
    /// EFI_SIGNATURE_LISTs, concatenated (a PK/KEK/db/dbx variable's data).
    public static func signatureLists(_ lists: [EFISignatureList]) -> [UInt8] { lists.flatMap { $0.encoded() } }
    /// UEFI_IMAGE_LOAD_EVENT.
    public static func imageLoad(_ image: UEFIImageLoad) -> [UInt8] { image.encoded() }
    /// EV_EVENT_TAG: one TCG_PCClientTaggedEvent.
    public static func eventTag(id: UInt32, data: [UInt8]) -> [UInt8] {
        id.littleEndianBytes + UInt32(data.count).littleEndianBytes + data
    }
    /// UEFI_HANDOFF_TABLE_POINTERS.
    public static func handoffTables(_ tables: [(EFIGUID, UInt64)]) -> [UInt8] {
        UInt64(tables.count).littleEndianBytes + tables.flatMap { $0.0.bytes + $0.1.littleEndianBytes }
    }
    /// UEFI_GPT_DATA with a minimal header (signature, revision 1.0, header size 92, the disk GUID, 128-byte entries).
    public static func gpt(disk: EFIGUID, partitions: [(type: EFIGUID, unique: EFIGUID, first: UInt64, last: UInt64, name: String)]) -> [UInt8] {
        var header = Array("EFI PART".utf8) + UInt32(0x0001_0000).littleEndianBytes + UInt32(92).littleEndianBytes
        header += [UInt8](repeating: 0, count: 8)  // HeaderCRC32, Reserved
        header += UInt64(1).littleEndianBytes + UInt64(0).littleEndianBytes + UInt64(34).littleEndianBytes + UInt64(0).littleEndianBytes
        header += disk.bytes + UInt64(2).littleEndianBytes + UInt32(partitions.count).littleEndianBytes
        header += UInt32(128).littleEndianBytes + UInt32(0).littleEndianBytes
        var out = header + UInt64(partitions.count).littleEndianBytes
        for p in partitions {
            var name = encodeUTF16LE(p.name, nulTerminated: false)
            name += [UInt8](repeating: 0, count: max(0, 72 - name.count))
            out += p.type.bytes + p.unique.bytes + p.first.littleEndianBytes + p.last.littleEndianBytes
            out += UInt64(0).littleEndianBytes + name.prefix(72)
        }
        return out
    }
}
