/// The PCR file of tpm2-tools (`tpm2_quote -o`, `tpm2_pcrread -o -F
/// serialized`, read by `tpm2_checkquote -f`): the in-memory C structs of
/// tpm2-tss written out in little-endian order, not TPM wire format:
///
///     TPML_PCR_SELECTION  132 bytes: u32 count, 16 × {u16 hash, u8 sizeofSelect, u8 pcrSelect[4], pad}
///     u32                 number of TPML_DIGEST that follow
///     TPML_DIGEST × n     532 bytes each: u32 count, 8 × {u16 size, u8 buffer[64]}
///
/// The digests are the selected PCR values in selection order, 8 per TPML_DIGEST
/// (TPM2_PCR_Read returns at most 8 at a time).
public enum TPM2ToolsPCRFile {
    static let selectionSize = 4 + PCRSelection.maxBanks * 8
    static let digestListSize = 4 + 8 * (2 + 64)
    /// More TPML_DIGEST than 32 PCRs × 16 banks need is hostile.
    static let maxDigestLists = 64

    /// The file for `values`, which must be in selection order (one per selected PCR).
    public static func encode(selection: PCRSelection, values: [PCRValue]) -> [UInt8] {
        precondition(selection.banks.count <= PCRSelection.maxBanks, "more than 16 PCR banks")
        var out = [UInt8]()
        le32(UInt32(selection.banks.count), &out)
        for i in 0..<PCRSelection.maxBanks {
            guard i < selection.banks.count else { out += [UInt8](repeating: 0, count: 8); continue }
            let bank = selection.banks[i]
            var bitmap = [UInt8](repeating: 0, count: 4)
            for pcr in bank.pcrs { bitmap[pcr / 8] |= UInt8(1 << (pcr % 8)) }
            le16(bank.algorithm.rawValue, &out)
            out.append(UInt8(max(3, ((bank.pcrs.last ?? 0) / 8) + 1)))
            out += bitmap
            out.append(0)
        }
        let chunks = stride(from: 0, to: values.count, by: 8).map { Array(values[$0..<min($0 + 8, values.count)]) }
        le32(UInt32(chunks.count), &out)
        for chunk in chunks {
            le32(UInt32(chunk.count), &out)
            for j in 0..<8 {
                let digest = j < chunk.count ? chunk[j].digest : []
                precondition(digest.count <= 64, "PCR digest longer than 64 bytes")
                le16(UInt16(digest.count), &out)
                out += digest + [UInt8](repeating: 0, count: 64 - digest.count)
            }
        }
        return out
    }

    /// Reads a PCR file into its selection and the values in selection order.
    /// Every selected PCR must have exactly one value of its bank's digest size.
    public static func decode(_ bytes: [UInt8]) throws(TPMStructureError) -> (selection: PCRSelection, values: [PCRValue]) {
        var at = 0
        func need(_ n: Int, _ field: String) throws(TPMStructureError) {
            guard bytes.count - at >= n else { throw .truncated(field, offset: at, need: n, have: bytes.count - at) }
        }
        func u16(_ field: String) throws(TPMStructureError) -> Int {
            try need(2, field); defer { at += 2 }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ field: String) throws(TPMStructureError) -> Int {
            try need(4, field); defer { at += 4 }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        let countAt = at
        let bankCount = try u32("pcrs.selection.count")
        guard bankCount <= PCRSelection.maxBanks else {
            throw .sizeTooLarge("pcrs.selection.count", offset: countAt, size: bankCount, max: PCRSelection.maxBanks)
        }
        var banks = [PCRSelection.Bank]()
        for i in 0..<PCRSelection.maxBanks {
            let field = "pcrs.selection.pcrSelections[\(i)]"
            let hashAt = at
            let hash = TPMAlgorithm(rawValue: UInt16(try u16("\(field).hash")))
            try need(6, field)
            let size = Int(bytes[at])
            let bitmap = Array(bytes[at + 1..<at + 5])
            at += 6
            guard i < bankCount else { continue }
            guard hash.isHash else {
                throw .unsupportedAlgorithm("\(field).hash", offset: hashAt, found: hash.rawValue, expected: "a hash algorithm")
            }
            guard size <= 4 else { throw .sizeTooLarge("\(field).sizeofSelect", offset: hashAt + 2, size: size, max: 4) }
            var pcrs = [Int]()
            for (byteIndex, byte) in bitmap.prefix(size).enumerated() {
                for bit in 0..<8 where byte & (1 << bit) != 0 { pcrs.append(byteIndex * 8 + bit) }
            }
            banks.append(PCRSelection.Bank(hash, pcrs: pcrs))
        }
        let selection = PCRSelection(banks)
        let listsAt = at
        let lists = try u32("pcrs.count")
        guard lists <= maxDigestLists else {
            throw .sizeTooLarge("pcrs.count", offset: listsAt, size: lists, max: maxDigestLists)
        }
        var digests = [[UInt8]]()
        for l in 0..<lists {
            let field = "pcrs.pcr_values[\(l)]"
            let digestCountAt = at
            let count = try u32("\(field).count")
            guard count <= 8 else { throw .sizeTooLarge("\(field).count", offset: digestCountAt, size: count, max: 8) }
            for d in 0..<8 {
                let sizeAt = at
                let size = try u16("\(field).digests[\(d)].size")
                try need(64, "\(field).digests[\(d)].buffer")
                guard size <= 64 else { throw .sizeTooLarge("\(field).digests[\(d)].size", offset: sizeAt, size: size, max: 64) }
                if d < count { digests.append(Array(bytes[at..<at + size])) }
                at += 64
            }
        }
        guard at == bytes.count else { throw .trailingBytes("pcrs", offset: at, count: bytes.count - at) }
        let selected = selection.selected
        guard digests.count == selected.count else {
            throw .invalidValue("pcrs.pcr_values", offset: listsAt,
                                "\(digests.count) PCR value(s) for \(selected.count) selected PCR(s)")
        }
        var values = [PCRValue]()
        for (i, pcr) in selected.enumerated() {
            guard digests[i].count == pcr.bank.digestLength else {
                throw .invalidValue("pcrs.pcr_values", offset: listsAt,
                                    "\(pcr.bank) PCR \(pcr.index) has \(digests[i].count) byte(s), expected \(pcr.bank.digestLength ?? 0)")
            }
            values.append(PCRValue(bank: pcr.bank, index: pcr.index, digest: digests[i]))
        }
        return (selection, values)
    }

    private static func le16(_ v: UInt16, _ out: inout [UInt8]) { out += [UInt8(v & 0xff), UInt8(v >> 8)] }
    private static func le32(_ v: UInt32, _ out: inout [UInt8]) {
        out += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }
}
