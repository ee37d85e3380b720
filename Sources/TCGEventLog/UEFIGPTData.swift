/// UEFI_GPT_DATA: the GPT header and the partitions of the boot disk (PCR 5).
/// ```
/// EFI_PARTITION_TABLE_HEADER (92 bytes) | u64 NumberOfPartitions
/// | NumberOfPartitions × EFI_PARTITION_ENTRY (SizeOfPartitionEntry bytes each)
/// ```
public struct UEFIGPTData: Hashable, Sendable {
    public var diskGUID: EFIGUID
    public var sizeOfPartitionEntry: UInt32
    public var partitions: [Partition]
    /// The 92 header bytes.
    public var header: [UInt8]

    public struct Partition: Hashable, Sendable {
        public var typeGUID: EFIGUID
        public var uniqueGUID: EFIGUID
        public var startingLBA: UInt64
        public var endingLBA: UInt64
        public var attributes: UInt64
        public var name: String?
    }

    static let headerSize = 92
    static let signature: [UInt8] = Array("EFI PART".utf8)

    static func decode(_ r: inout LittleEndianReader) throws(TCGEventLogError) -> UEFIGPTData {
        let s = "UEFI_GPT_DATA."
        let headerAt = r.offset
        let header = try r.bytes(headerSize, s + "UEFIPartitionHeader")
        guard Array(header[0..<8]) == signature else {
            throw r.malformed(s + "UEFIPartitionHeader.Signature", at: headerAt, "expected \"EFI PART\"")
        }
        var h = LittleEndianReader(header, base: headerAt, event: r.event, structure: s + "UEFIPartitionHeader.")
        try h.skip(56, "Signature..LastUsableLBA")
        let disk = try h.guid("DiskGUID")
        try h.skip(12, "PartitionEntryLBA..NumberOfPartitionEntries")
        let entrySizeAt = h.offset
        let entrySize = try h.u32("SizeOfPartitionEntry")
        guard entrySize >= 128, entrySize <= 4096, entrySize % 8 == 0 else {
            throw r.malformed(s + "UEFIPartitionHeader.SizeOfPartitionEntry", at: entrySizeAt,
                              "\(entrySize); expected a multiple of 8 from 128 to 4096")
        }
        let count = try r.length64(s + "NumberOfPartitions", unit: Int(entrySize))
        var partitions = [Partition]()
        for i in 0..<count {
            let p = "\(s)Partitions[\(i)]."
            let entryStart = r.index
            let type = try r.guid(p + "PartitionTypeGUID")
            let unique = try r.guid(p + "UniquePartitionGUID")
            let start = try r.u64(p + "StartingLBA")
            let end = try r.u64(p + "EndingLBA")
            let attributes = try r.u64(p + "Attributes")
            let name = try r.bytes(72, p + "PartitionName")
            try r.skip(Int(entrySize) - (r.index - entryStart), p + "Reserved")
            partitions.append(Partition(typeGUID: type, uniqueGUID: unique, startingLBA: start, endingLBA: end,
                                        attributes: attributes, name: decodeUTF16LE(name)))
        }
        try r.finish("UEFI_GPT_DATA")
        return UEFIGPTData(diskGUID: disk, sizeOfPartitionEntry: entrySize, partitions: partitions, header: header)
    }
}
