/// An event's data decoded by its type. Every case keeps enough to show the
/// event; the raw bytes stay in `TCGEvent.data`.
public enum TCGEventContent: Hashable, Sendable {
    /// EV_NO_ACTION, event 0 of a crypto-agile log.
    case specID(SpecIDEvent)
    /// EV_NO_ACTION "StartupLocality": the locality PCR 0 was reset from (its initial value ends in this byte).
    case startupLocality(UInt8)
    /// Another EV_NO_ACTION (SP800-155 Event, NvIndexInstance, …): the signature text if it has one.
    case noAction(signature: String?)
    /// EV_S_CRTM_VERSION: UTF-16LE text (often empty) or nil when the data is not UTF-16 (e.g. a GUID).
    case crtmVersion(String?)
    /// EV_POST_CODE / EV_POST_CODE2: a firmware blob or a text ("ACPI DATA", "SMM CODE", …).
    case postCode(PostCode)
    /// EV_EFI_PLATFORM_FIRMWARE_BLOB(2), EV_EFI_SPDM_* not included.
    case firmwareBlob(FirmwareBlob)
    /// EV_SEPARATOR: 0x00000000 normally, 0xFFFFFFFF for a firmware error.
    case separator(Separator)
    /// EV_ACTION, EV_EFI_ACTION, EV_OMIT_BOOT_DEVICE_EVENTS, EV_EFI_HCRTM_EVENT: ASCII text.
    case action(String)
    /// EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_BOOT(2), EV_EFI_VARIABLE_AUTHORITY.
    case variable(UEFIVariable)
    /// EV_EFI_BOOT_SERVICES_APPLICATION / _DRIVER, EV_EFI_RUNTIME_SERVICES_DRIVER.
    case imageLoad(UEFIImageLoad)
    /// EV_EFI_GPT_EVENT(2).
    case gpt(UEFIGPTData)
    /// EV_IPL: grub's commands, kernel command line and file paths, or other text.
    case ipl(IPLEvent)
    /// EV_EFI_HANDOFF_TABLES(2).
    case handoffTables(UEFIHandoffTables)
    /// EV_EVENT_TAG: TCG_PCClientTaggedEvent structures.
    case eventTags([TaggedEvent])
    /// EV_COMPACT_HASH: vendor bytes (kept in `TCGEvent.data`).
    case compactHash
    /// A type this code does not decode; the data stays in `TCGEvent.data`.
    case raw
    /// Data of a known type that does not have its type's layout. The event
    /// is still replayed; the error names the event, the offset and the field.
    case malformed(TCGEventLogError)

    /// Decodes `data` (found at log offset `base`) as an event of `type`.
    static func decode(type: TCGEventType, pcr: UInt32, data: [UInt8], base: Int, event: Int) throws(TCGEventLogError) -> TCGEventContent {
        var r = LittleEndianReader(data, base: base, event: event)
        switch type {
        case .noAction:
            let locality = Array("StartupLocality".utf8) + [0]
            if data.starts(with: locality) {
                guard data.count == locality.count + 1 else {
                    throw r.malformed("StartupLocality", "\(data.count) byte(s); expected the signature and one locality byte")
                }
                return .startupLocality(data[locality.count])
            }
            if let nul = data.prefix(32).firstIndex(of: 0), nul > 0, let text = decodeASCII(Array(data[..<nul])) {
                return .noAction(signature: text)
            }
            return .noAction(signature: nil)
        case .sCRTMVersion:
            return .crtmVersion(decodeUTF16LE(data))
        case .postCode, .postCode2:
            if data.count == 16, decodeASCII(data) == nil {
                return .postCode(.blob(try FirmwareBlob.decode(&r, withDescription: false)))
            }
            guard let text = decodeASCII(data) else {
                throw r.malformed("event", "neither a UEFI_PLATFORM_FIRMWARE_BLOB (16 bytes) nor ASCII text")
            }
            return .postCode(.text(text))
        case .efiPlatformFirmwareBlob:
            return .firmwareBlob(try FirmwareBlob.decode(&r, withDescription: false))
        case .efiPlatformFirmwareBlob2:
            return .firmwareBlob(try FirmwareBlob.decode(&r, withDescription: true))
        case .separator:
            guard data.count == 4 else { throw r.malformed("event", "\(data.count) byte(s); a separator has 4") }
            switch data {
            case [0, 0, 0, 0]: return .separator(.normal)
            case [0xff, 0xff, 0xff, 0xff]: return .separator(.error)
            default: return .separator(.other(UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24))
            }
        case .action, .efiAction, .omitBootDeviceEvents, .efiHCRTMEvent:
            guard let text = decodeASCII(data) else { throw r.malformed("event", "not ASCII text") }
            return .action(text)
        case .efiVariableDriverConfig, .efiVariableBoot, .efiVariableBoot2, .efiVariableAuthority:
            return .variable(try UEFIVariable.decode(&r, authority: type == .efiVariableAuthority))
        case .efiBootServicesApplication, .efiBootServicesDriver, .efiRuntimeServicesDriver:
            return .imageLoad(try UEFIImageLoad.decode(&r))
        case .efiGPTEvent, .efiGPTEvent2:
            return .gpt(try UEFIGPTData.decode(&r))
        case .ipl:
            return .ipl(IPLEvent(data: data, pcr: pcr))
        case .efiHandoffTables:
            return .handoffTables(try UEFIHandoffTables.decode(&r, withDescription: false))
        case .efiHandoffTables2:
            return .handoffTables(try UEFIHandoffTables.decode(&r, withDescription: true))
        case .eventTag:
            var tags = [TaggedEvent]()
            while !r.isAtEnd {
                let id = try r.u32("TCG_PCClientTaggedEvent.taggedEventID")
                let size = Int(try r.u32("TCG_PCClientTaggedEvent.taggedEventDataSize"))
                tags.append(TaggedEvent(id: id, data: try r.bytes(size, "TCG_PCClientTaggedEvent.taggedEventData")))
            }
            guard !tags.isEmpty else { throw r.malformed("event", "an EV_EVENT_TAG with no tagged event") }
            return .eventTags(tags)
        case .compactHash:
            return .compactHash
        default:
            return .raw
        }
    }
}

/// EV_SEPARATOR's value.
public enum Separator: Hashable, Sendable {
    /// 0x00000000: the normal end of a pre-OS phase.
    case normal
    /// 0xFFFFFFFF: firmware signals an error.
    case error
    /// Any other 4 bytes (little-endian).
    case other(UInt32)
}

/// UEFI_PLATFORM_FIRMWARE_BLOB(2): where a firmware volume was measured from.
public struct FirmwareBlob: Hashable, Sendable {
    /// BLOB2's description, nil for BLOB.
    public var description: String?
    public var base: UInt64
    public var length: UInt64

    public init(description: String? = nil, base: UInt64, length: UInt64) {
        self.description = description
        self.base = base
        self.length = length
    }

    static func decode(_ r: inout LittleEndianReader, withDescription: Bool) throws(TCGEventLogError) -> FirmwareBlob {
        var description: String?
        if withDescription {
            let size = Int(try r.u8("UEFI_PLATFORM_FIRMWARE_BLOB2.BlobDescriptionSize"))
            let at = r.offset
            let text = try r.bytes(size, "UEFI_PLATFORM_FIRMWARE_BLOB2.BlobDescription")
            guard let ascii = decodeASCII(text) else { throw r.malformed("UEFI_PLATFORM_FIRMWARE_BLOB2.BlobDescription", at: at, "not ASCII") }
            description = ascii
        }
        let s = withDescription ? "UEFI_PLATFORM_FIRMWARE_BLOB2." : "UEFI_PLATFORM_FIRMWARE_BLOB."
        let base = try r.u64(s + "BlobBase")
        let length = try r.u64(s + "BlobLength")
        try r.finish(String(s.dropLast()))
        return FirmwareBlob(description: description, base: base, length: length)
    }
}

/// EV_POST_CODE's data.
public enum PostCode: Hashable, Sendable {
    case blob(FirmwareBlob)
    case text(String)
}

/// One TCG_PCClientTaggedEvent.
public struct TaggedEvent: Hashable, Sendable {
    public var id: UInt32
    public var data: [UInt8]

    public init(id: UInt32, data: [UInt8]) {
        self.id = id
        self.data = data
    }
}

/// EV_IPL data. grub (PCR 8) logs `grub_cmd: …` and `kernel_cmdline: …`,
/// (PCR 9) the path of each file it reads; shim logs its own lines. Text is
/// ASCII with a trailing NUL, or UTF-16LE (systemd-boot); anything else is kept raw.
public struct IPLEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `grub_cmd: <command>`.
        case grubCommand(String)
        /// `kernel_cmdline: <command line>`.
        case kernelCommandLine(String)
        /// A file path (`/boot/vmlinuz-…`, `(hd0,gpt2)/boot/grub/grub.cfg`).
        case path(String)
        /// Other text.
        case text(String)
        /// Not text.
        case binary
    }

    public var kind: Kind

    public init(kind: Kind) { self.kind = kind }

    init(data: [UInt8], pcr: UInt32) {
        guard let text = decodeASCII(data) ?? (data.count >= 2 && data[1] == 0 ? decodeUTF16LE(data) : nil) else {
            kind = .binary
            return
        }
        if text.hasPrefix("grub_cmd: ") {
            kind = .grubCommand(String(text.dropFirst("grub_cmd: ".count)))
        } else if text.hasPrefix("kernel_cmdline: ") {
            kind = .kernelCommandLine(String(text.dropFirst("kernel_cmdline: ".count)))
        } else if text.hasPrefix("/") || text.hasPrefix("(") {
            kind = .path(text)
        } else {
            kind = .text(text)
        }
    }

    /// The text, whatever its kind; nil for binary data.
    public var text: String? {
        switch kind {
        case .grubCommand(let t): return "grub_cmd: " + t
        case .kernelCommandLine(let t): return "kernel_cmdline: " + t
        case .path(let t), .text(let t): return t
        case .binary: return nil
        }
    }
}

/// UEFI_HANDOFF_TABLE_POINTERS(2): the configuration tables (SMBIOS, ACPI) handed to the OS.
public struct UEFIHandoffTables: Hashable, Sendable {
    public var description: String?
    public var tables: [(guid: EFIGUID, address: UInt64)]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.description == rhs.description && lhs.tables.map(\.guid) == rhs.tables.map(\.guid)
            && lhs.tables.map(\.address) == rhs.tables.map(\.address)
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(tables.map(\.guid)) }

    static func decode(_ r: inout LittleEndianReader, withDescription: Bool) throws(TCGEventLogError) -> UEFIHandoffTables {
        let s = withDescription ? "UEFI_HANDOFF_TABLE_POINTERS2." : "UEFI_HANDOFF_TABLE_POINTERS."
        var description: String?
        if withDescription {
            let size = Int(try r.u8(s + "TableDescriptionSize"))
            let at = r.offset
            guard let text = decodeASCII(try r.bytes(size, s + "TableDescription")) else {
                throw r.malformed(s + "TableDescription", at: at, "not ASCII")
            }
            description = text
        }
        let count = try r.length64(s + "NumberOfTables", unit: 24)
        var tables = [(guid: EFIGUID, address: UInt64)]()
        for i in 0..<count {
            let guid = try r.guid(s + "TableEntry[\(i)].VendorGuid")
            tables.append((guid, try r.u64(s + "TableEntry[\(i)].VendorTable")))
        }
        try r.finish(String(s.dropLast()))
        return UEFIHandoffTables(description: description, tables: tables)
    }
}
