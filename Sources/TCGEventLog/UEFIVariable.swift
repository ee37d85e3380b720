/// UEFI_VARIABLE_DATA: a measured UEFI variable (Secure Boot state and
/// databases in PCR 7, boot options in PCR 1, shim's MOK variables in PCR 14,
/// and in authority events the signature that allowed an image).
/// ```
/// EFI_GUID VariableName | u64 UnicodeNameLength (chars) | u64 VariableDataLength
/// | CHAR16 UnicodeName[UnicodeNameLength] | u8 VariableData[VariableDataLength]
/// ```
public struct UEFIVariable: Hashable, Sendable {
    public var vendor: EFIGUID
    public var name: String
    public var data: [UInt8]
    /// The data decoded by variable.
    public var value: Value

    public enum Value: Hashable, Sendable {
        /// SecureBoot, SetupMode, AuditMode, DeployedMode: one byte (nil when the variable was absent: no data).
        case boolean(Bool?)
        /// PK, KEK, db, dbx, dbt, dbr, MokList(X): EFI_SIGNATURE_LISTs.
        case signatureLists([EFISignatureList])
        /// An authority event's EFI_SIGNATURE_DATA (db's certificate that allowed an image).
        case signature(EFISignatureData)
        /// BootOrder: boot option numbers.
        case bootOrder([UInt16])
        /// Boot####: an EFI_LOAD_OPTION.
        case loadOption(EFILoadOption)
        /// SbatLevel and other text variables.
        case text(String)
        /// Anything else (kept in `data`).
        case raw
    }

    static let booleans: Set<String> = ["SecureBoot", "SetupMode", "AuditMode", "DeployedMode"]
    static let signatureDatabases: Set<String> = ["PK", "KEK", "db", "dbx", "dbt", "dbr", "MokList", "MokListX", "MokListTrusted"]

    static func decode(_ r: inout LittleEndianReader, authority: Bool) throws(TCGEventLogError) -> UEFIVariable {
        let s = "UEFI_VARIABLE_DATA."
        let vendor = try r.guid(s + "VariableName")
        let nameLengthAt = r.offset
        let nameLength = try r.u64(s + "UnicodeNameLength")
        let dataLengthAt = r.offset
        let dataLength = try r.u64(s + "VariableDataLength")
        guard nameLength <= UInt64(r.remaining / 2) else {
            throw r.malformed(s + "UnicodeNameLength", at: nameLengthAt,
                              "declares \(nameLength) character(s) but only \(r.remaining) byte(s) remain")
        }
        let nameAt = r.offset
        let nameBytes = try r.bytes(Int(nameLength) * 2, s + "UnicodeName")
        guard dataLength == UInt64(r.remaining) else {
            throw r.malformed(s + "VariableDataLength", at: dataLengthAt,
                              "declares \(dataLength) byte(s) but \(r.remaining) follow the name")
        }
        guard let name = decodeUTF16LE(nameBytes) else {
            throw r.malformed(s + "UnicodeName", at: nameAt, "not UTF-16LE")
        }
        let dataAt = r.offset
        let data = try r.bytes(Int(dataLength), s + "VariableData")
        var d = LittleEndianReader(data, base: dataAt, event: r.event)
        let value: Value
        if authority {
            if (vendor == .imageSecurityDatabase && (name == "db" || name == "dbx")) || name == "MokList" {
                value = .signature(try EFISignatureData.decode(&d, size: data.count, field: "EFI_SIGNATURE_DATA"))
            } else if let text = decodeASCII(data), !data.isEmpty {
                value = .text(text)
            } else {
                value = .raw
            }
        } else if booleans.contains(name) && vendor == .globalVariable {
            guard data.count <= 1 else { throw d.malformed(name, "\(data.count) byte(s); \(name) has one") }
            value = .boolean(data.first.map { $0 != 0 })
        } else if signatureDatabases.contains(name) {
            value = .signatureLists(try EFISignatureList.decodeAll(&d))
        } else if name == "BootOrder" && vendor == .globalVariable {
            guard data.count % 2 == 0 else { throw d.malformed("BootOrder", "\(data.count) byte(s): not a list of UINT16") }
            var order = [UInt16]()
            while !d.isAtEnd { order.append(try d.u16("BootOrder")) }
            value = .bootOrder(order)
        } else if vendor == .globalVariable, name.count == 8, name.hasPrefix("Boot"),
                  name.dropFirst(4).allSatisfy({ $0.isHexDigit }) {
            value = .loadOption(try EFILoadOption.decode(&d))
        } else if name == "SbatLevel", let text = decodeASCII(data) {
            value = .text(text)
        } else {
            value = .raw
        }
        return UEFIVariable(vendor: vendor, name: name, data: data, value: value)
    }

    /// The event data for a variable event.
    public static func encode(vendor: EFIGUID, name: String, data: [UInt8]) -> [UInt8] {
        var out = vendor.bytes
        out += UInt64(name.utf16.count).littleEndianBytes
        out += UInt64(data.count).littleEndianBytes
        out += encodeUTF16LE(name, nulTerminated: false)
        return out + data
    }
}

/// EFI_SIGNATURE_LIST: a signature type and signatures of one size.
public struct EFISignatureList: Hashable, Sendable {
    public var signatureType: EFIGUID
    public var header: [UInt8]
    public var signatures: [EFISignatureData]

    public init(signatureType: EFIGUID, header: [UInt8] = [], signatures: [EFISignatureData]) {
        self.signatureType = signatureType
        self.header = header
        self.signatures = signatures
    }

    /// X.509 (a DER certificate per signature).
    public var isX509: Bool { signatureType == .certX509 }
    /// SHA-256 (an image digest per signature).
    public var isSHA256: Bool { signatureType == .certSHA256 }

    static func decodeAll(_ r: inout LittleEndianReader) throws(TCGEventLogError) -> [EFISignatureList] {
        var lists = [EFISignatureList]()
        while !r.isAtEnd {
            let s = "EFI_SIGNATURE_LIST[\(lists.count)]."
            let start = r.offset
            let type = try r.guid(s + "SignatureType")
            let listSizeAt = r.offset
            let listSize = try r.u32(s + "SignatureListSize")
            let headerSize = try r.u32(s + "SignatureHeaderSize")
            let sigSizeAt = r.offset
            let signatureSize = try r.u32(s + "SignatureSize")
            let consumed = r.offset - start
            guard UInt64(listSize) >= UInt64(consumed) + UInt64(headerSize),
                  UInt64(listSize) - UInt64(consumed) <= UInt64(r.remaining) else {
                throw r.malformed(s + "SignatureListSize", at: listSizeAt,
                                  "\(listSize) byte(s) does not hold the header (\(consumed) + \(headerSize)) within the \(r.remaining + consumed) byte(s) left")
            }
            let body = Int(listSize) - consumed - Int(headerSize)
            guard signatureSize >= 16, body % Int(signatureSize) == 0 else {
                throw r.malformed(s + "SignatureSize", at: sigSizeAt,
                                  "\(signatureSize) byte(s) does not divide the \(body) byte(s) of signatures (at least 16 each)")
            }
            let header = try r.bytes(Int(headerSize), s + "SignatureHeader")
            var signatures = [EFISignatureData]()
            for i in 0..<(body / Int(signatureSize)) {
                signatures.append(try EFISignatureData.decode(&r, size: Int(signatureSize), field: s + "Signatures[\(i)]"))
            }
            lists.append(EFISignatureList(signatureType: type, header: header, signatures: signatures))
        }
        return lists
    }

    /// The bytes of one list.
    public func encoded() -> [UInt8] {
        let size = signatures.first.map { 16 + $0.data.count } ?? 16
        var out = signatureType.bytes
        out += UInt32(28 + header.count + size * signatures.count).littleEndianBytes
        out += UInt32(header.count).littleEndianBytes
        out += UInt32(size).littleEndianBytes
        out += header
        for s in signatures { out += s.owner.bytes + s.data }
        return out
    }
}

/// EFI_SIGNATURE_DATA: the owner's GUID and a certificate or digest.
public struct EFISignatureData: Hashable, Sendable {
    public var owner: EFIGUID
    public var data: [UInt8]

    public init(owner: EFIGUID, data: [UInt8]) {
        self.owner = owner
        self.data = data
    }

    static func decode(_ r: inout LittleEndianReader, size: Int, field: String) throws(TCGEventLogError) -> EFISignatureData {
        guard size >= 16 else { throw r.malformed(field, "\(size) byte(s); an EFI_SIGNATURE_DATA has at least a 16-byte owner") }
        let owner = try r.guid(field + ".SignatureOwner")
        return EFISignatureData(owner: owner, data: try r.bytes(size - 16, field + ".SignatureData"))
    }
}

/// EFI_LOAD_OPTION (Boot####): attributes, description, device path.
public struct EFILoadOption: Hashable, Sendable {
    public var attributes: UInt32
    public var description: String
    public var devicePath: EFIDevicePath
    public var optionalData: [UInt8]

    static func decode(_ r: inout LittleEndianReader) throws(TCGEventLogError) -> EFILoadOption {
        let s = "EFI_LOAD_OPTION."
        let attributes = try r.u32(s + "Attributes")
        let pathLength = Int(try r.u16(s + "FilePathListLength"))
        var units = [UInt8]()
        let descriptionAt = r.offset
        while true {
            let pair = try r.bytes(2, s + "Description")
            if pair == [0, 0] { break }
            units += pair
        }
        guard let description = decodeUTF16LE(units) else { throw r.malformed(s + "Description", at: descriptionAt, "not UTF-16LE") }
        let path = try r.bytes(pathLength, s + "FilePathList")
        let optional = try r.bytes(r.remaining, s + "OptionalData")
        return EFILoadOption(attributes: attributes, description: description, devicePath: EFIDevicePath(path), optionalData: optional)
    }
}
