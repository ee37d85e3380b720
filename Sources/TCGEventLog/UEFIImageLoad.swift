/// UEFI_IMAGE_LOAD_EVENT: an EFI image (shim, grub, a kernel's EFI stub, a
/// driver) measured before it ran; its digest is the Authenticode hash.
/// ```
/// u64 ImageLocationInMemory | u64 ImageLengthInMemory | u64 ImageLinkTimeAddress
/// | u64 LengthOfDevicePath | EFI_DEVICE_PATH DevicePath[LengthOfDevicePath]
/// ```
public struct UEFIImageLoad: Hashable, Sendable {
    public var location: UInt64
    public var length: UInt64
    public var linkTimeAddress: UInt64
    public var devicePath: EFIDevicePath

    public init(location: UInt64, length: UInt64, linkTimeAddress: UInt64, devicePath: EFIDevicePath) {
        self.location = location
        self.length = length
        self.linkTimeAddress = linkTimeAddress
        self.devicePath = devicePath
    }

    static func decode(_ r: inout LittleEndianReader) throws(TCGEventLogError) -> UEFIImageLoad {
        let s = "UEFI_IMAGE_LOAD_EVENT."
        let location = try r.u64(s + "ImageLocationInMemory")
        let length = try r.u64(s + "ImageLengthInMemory")
        let link = try r.u64(s + "ImageLinkTimeAddress")
        let pathLengthAt = r.offset
        let pathLength = try r.u64(s + "LengthOfDevicePath")
        guard pathLength == UInt64(r.remaining) else {
            throw r.malformed(s + "LengthOfDevicePath", at: pathLengthAt,
                              "declares \(pathLength) byte(s) but \(r.remaining) follow")
        }
        let path = try r.bytes(Int(pathLength), s + "DevicePath")
        return UEFIImageLoad(location: location, length: length, linkTimeAddress: link, devicePath: EFIDevicePath(path))
    }

    /// The event data.
    public func encoded() -> [UInt8] {
        location.littleEndianBytes + length.littleEndianBytes + linkTimeAddress.littleEndianBytes
            + UInt64(devicePath.bytes.count).littleEndianBytes + devicePath.bytes
    }
}

/// An EFI device path, kept raw, with a best-effort reading of its nodes.
public struct EFIDevicePath: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// One node: type, subtype, data (the 4-byte header excluded).
    public struct Node: Hashable, Sendable {
        public var type: UInt8
        public var subtype: UInt8
        public var data: [UInt8]
    }

    /// The nodes up to the end node; nil when a node's length is below 4 or runs past the end.
    public var nodes: [Node]? {
        var out = [Node]()
        var i = 0
        while i + 4 <= bytes.count {
            let type = bytes[i], subtype = bytes[i + 1]
            let length = Int(bytes[i + 2]) | Int(bytes[i + 3]) << 8
            guard length >= 4, i + length <= bytes.count else { return nil }
            if type == 0x7f && subtype == 0xff { return out }
            out.append(Node(type: type, subtype: subtype, data: Array(bytes[(i + 4)..<(i + length)])))
            i += length
        }
        return i == bytes.count ? out : nil
    }

    /// The file path nodes joined (`\EFI\BOOT\BOOTX64.EFI`); nil if there are none.
    public var filePath: String? {
        guard let nodes else { return nil }
        let parts = nodes.filter { $0.type == 4 && $0.subtype == 4 }.compactMap { decodeUTF16LE($0.data) }
        return parts.isEmpty ? nil : parts.joined()
    }

    /// Best-effort text in the UEFI spec's notation for the nodes firmware
    /// logs (PciRoot, Pci, HD, FvVol, FvFile, file paths); others as `Path(type,subtype)`.
    public var description: String {
        guard let nodes else { return "<malformed device path: \(bytes.count) byte(s)>" }
        return nodes.map { node -> String in
            let d = node.data
            func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(d[at + $1]) << (8 * $1) } }
            func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[at + $1]) << (8 * $1) } }
            switch (node.type, node.subtype) {
            case (2, 1) where d.count >= 8 && (u32(0) == 0x0a03_41d0 || u32(0) == 0x0a08_41d0):
                return "PciRoot(0x\(String(u32(4), radix: 16)))"
            case (1, 1) where d.count == 2:
                return "Pci(0x\(String(d[1], radix: 16)),0x\(String(d[0], radix: 16)))"
            case (4, 1) where d.count >= 38:
                return "HD(\(u32(0)),\(d[37] == 2 ? "GPT" : "MBR"),\(d[37] == 2 ? EFIGUID(bytes: Array(d[20..<36]))!.description : "-"),0x\(String(u64(4), radix: 16)),0x\(String(u64(12), radix: 16)))"
            case (4, 4):
                return decodeUTF16LE(d) ?? "File(?)"
            case (4, 6) where d.count == 16:
                return "FvFile(\(EFIGUID(bytes: d)!))"
            case (4, 7) where d.count == 16:
                return "Fv(\(EFIGUID(bytes: d)!))"
            case (4, 8) where d.count >= 16:
                return "Offset(0x\(String(u64(0), radix: 16)),0x\(String(u64(8), radix: 16)))"
            default:
                return "Path(\(node.type),\(node.subtype))"
            }
        }.joined(separator: "/")
    }

    /// A device path of file path nodes and the end node.
    public static func file(_ path: String) -> EFIDevicePath {
        let name = encodeUTF16LE(path, nulTerminated: true)
        let length = UInt16(4 + name.count)
        return EFIDevicePath([4, 4] + length.littleEndianBytes + name + [0x7f, 0xff, 4, 0])
    }
}
