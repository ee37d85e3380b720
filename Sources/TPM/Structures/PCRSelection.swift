import IMAFormat

/// Which PCRs of which banks a quote or PCR read covers: TPML_PCR_SELECTION
/// (TPM 2.0 Part 2, 10.9.7), a list of TPMS_PCR_SELECTION (hash algorithm and
/// PCR bitmap). The order of banks, then ascending PCR index within a bank,
/// is the order PCR values are concatenated for a quote's pcrDigest.
///
/// Text form as tpm2-tools writes it, with ranges: `sha256:0-10`,
/// `sha256:0,1,2+sha1:10`, `sha384:all` (PCRs 0-23).
public struct PCRSelection: Hashable, Sendable, CustomStringConvertible {
    /// One TPMS_PCR_SELECTION: a bank and its selected PCR indices.
    public struct Bank: Hashable, Sendable {
        public let algorithm: TPMAlgorithm
        /// Selected PCR indices, ascending and unique, each 0...31.
        public let pcrs: [Int]

        /// A bank selection; `pcrs` must be in 0...31 (duplicates are merged).
        public init(_ algorithm: TPMAlgorithm, pcrs: some Sequence<Int>) {
            let sorted = Array(Set(pcrs)).sorted()
            precondition(sorted.allSatisfy { (0...PCRSelection.maxPCRIndex).contains($0) }, "PCR index out of 0...31")
            self.algorithm = algorithm
            self.pcrs = sorted
        }
    }

    public let banks: [Bank]

    /// At most 16 banks in one TPML_PCR_SELECTION (TPM2_NUM_PCR_BANKS).
    public static let maxBanks = 16
    /// The largest index a 4-byte bitmap can name (TPM2_MAX_PCRS - 1).
    public static let maxPCRIndex = 31
    /// PCRs 0-23: what a PC-client TPM implements (3 bitmap bytes).
    public static let standardPCRCount = 24
    /// Largest sizeofSelect accepted (TPM2_PCR_SELECT_MAX).
    static let maxSelectBytes = 4

    /// `sha256:0-10`, the selection Signet quotes by default (firmware, boot and IMA PCRs).
    public static let `default` = PCRSelection(.sha256, 0...10)

    public init(_ banks: [Bank]) { self.banks = banks }

    /// One bank of the kernel's numbering; SHA-224 has no TPM bank and traps.
    public init(_ hash: HashAlgorithm, _ pcrs: some Sequence<Int>) {
        guard let algorithm = TPMAlgorithm(hash) else { preconditionFailure("no TPM bank for \(hash)") }
        self.init([Bank(algorithm, pcrs: pcrs)])
    }

    /// Every selected PCR, in selection order (bank order, then ascending index).
    public var selected: [(bank: TPMAlgorithm, index: Int)] {
        banks.flatMap { bank in bank.pcrs.map { (bank: bank.algorithm, index: $0) } }
    }

    /// Number of selected PCRs over all banks.
    public var count: Int { banks.reduce(0) { $0 + $1.pcrs.count } }

    /// True when no PCR is selected.
    public var isEmpty: Bool { count == 0 }

    /// This selection without the PCRs `other` selects (banks left empty are dropped).
    public func subtracting(_ other: PCRSelection) -> PCRSelection {
        let done = Set(other.selected.map { "\($0.bank.rawValue):\($0.index)" })
        let left = banks.map { bank in
            Bank(bank.algorithm, pcrs: bank.pcrs.filter { !done.contains("\(bank.algorithm.rawValue):\($0)") })
        }
        return PCRSelection(left.filter { !$0.pcrs.isEmpty })
    }
}

// MARK: - Wire format

extension PCRSelection {
    /// Parses a marshaled TPML_PCR_SELECTION that fills `marshaled` exactly.
    /// PCRs above 23 (bits in a fourth bitmap byte) are refused unless
    /// `allowPCRsAbove23`; a bitmap longer than 4 bytes is always refused.
    public init(marshaled: [UInt8], allowPCRsAbove23: Bool = false) throws(TPMStructureError) {
        var r = TPMReader(marshaled)
        self = try PCRSelection.read(&r, field: "TPML_PCR_SELECTION", allowPCRsAbove23: allowPCRsAbove23)
        try r.finish("TPML_PCR_SELECTION")
    }

    static func read(_ r: inout TPMReader, field: String, allowPCRsAbove23: Bool) throws(TPMStructureError) -> PCRSelection {
        let countAt = r.offset
        let count = Int(try r.u32("\(field).count"))
        guard count <= maxBanks else {
            throw .sizeTooLarge("\(field).count", offset: countAt, size: count, max: maxBanks)
        }
        var banks = [Bank]()
        for i in 0..<count {
            let entry = "\(field).pcrSelections[\(i)]"
            let hashAt = r.offset
            let hash = try r.algorithm("\(entry).hash")
            guard hash.isHash else {
                throw .unsupportedAlgorithm("\(entry).hash", offset: hashAt, found: hash.rawValue, expected: "a hash algorithm")
            }
            let sizeAt = r.offset
            let sizeofSelect = Int(try r.u8("\(entry).sizeofSelect"))
            guard sizeofSelect <= maxSelectBytes else {
                throw .sizeTooLarge("\(entry).sizeofSelect", offset: sizeAt, size: sizeofSelect, max: maxSelectBytes)
            }
            let bitmapAt = r.offset
            let bitmap = try r.bytes(sizeofSelect, "\(entry).pcrSelect")
            var pcrs = [Int]()
            for (byteIndex, byte) in bitmap.enumerated() {
                if byte != 0 && byteIndex * 8 >= standardPCRCount && !allowPCRsAbove23 {
                    throw .invalidPCRSelection("\(entry).pcrSelect", offset: bitmapAt + byteIndex,
                                               "selects PCR(s) above 23 (byte \(byteIndex) is 0x\(hex(byte, width: 2)))")
                }
                for bit in 0..<8 where byte & (1 << bit) != 0 { pcrs.append(byteIndex * 8 + bit) }
            }
            banks.append(Bank(hash, pcrs: pcrs))
        }
        return PCRSelection(banks)
    }

    /// The marshaled TPML_PCR_SELECTION; each bitmap is at least 3 bytes
    /// (PCR_SELECT_MIN), 4 when a PCR above 23 is selected.
    public var marshaled: [UInt8] {
        var w = TPMWriter()
        write(&w)
        return w.bytes
    }

    func write(_ w: inout TPMWriter) {
        precondition(banks.count <= Self.maxBanks, "more than 16 PCR banks")
        w.u32(UInt32(banks.count))
        for bank in banks {
            w.algorithm(bank.algorithm)
            let size = max(3, ((bank.pcrs.last ?? 0) / 8) + 1)
            var bitmap = [UInt8](repeating: 0, count: size)
            for pcr in bank.pcrs { bitmap[pcr / 8] |= UInt8(1 << (pcr % 8)) }
            w.u8(UInt8(size))
            w.raw(bitmap)
        }
    }
}

// MARK: - Text form

extension PCRSelection {
    /// Parses `sha256:0-10`, `sha256:0,1,2+sha1:10`, `sha256:all`. Errors
    /// carry the character offset and code `.invalidPCRSelection`.
    public init(parsing text: String) throws(TPMStructureError) {
        let field = "PCR selection"
        var banks = [Bank]()
        var position = 0
        func fail(_ at: Int, _ reason: String) -> TPMStructureError {
            .invalidPCRSelection(field, offset: at, "\"\(text)\": \(reason)")
        }
        for part in text.split(separator: "+", omittingEmptySubsequences: false) {
            let partAt = position
            position += part.count + 1
            let pieces = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard pieces.count == 2 else { throw fail(partAt, "expected BANK:PCRS such as sha256:0-10") }
            let name = String(pieces[0]).trimmingSpaces
            guard let algorithm = TPMAlgorithm(name: name), algorithm.isHash else {
                throw fail(partAt, "unknown PCR bank \"\(name)\" (sha1, sha256, sha384, sha512, sm3_256)")
            }
            guard !banks.contains(where: { $0.algorithm == algorithm }) else {
                throw fail(partAt, "bank \(name) is listed twice")
            }
            var pcrs = [Int]()
            var itemAt = partAt + pieces[0].count + 1
            for item in pieces[1].split(separator: ",", omittingEmptySubsequences: false) {
                defer { itemAt += item.count + 1 }
                let spec = String(item).trimmingSpaces
                if spec == "all" { pcrs += 0..<Self.standardPCRCount; continue }
                let bounds = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                guard let low = Self.pcrIndex(bounds[0]), let high = Self.pcrIndex(bounds.count == 2 ? bounds[1] : bounds[0]) else {
                    throw fail(itemAt, "\"\(spec)\" is not a PCR index 0-31 or a range such as 0-10")
                }
                guard low <= high else { throw fail(itemAt, "range \(spec) is backwards") }
                pcrs += low...high
            }
            banks.append(Bank(algorithm, pcrs: pcrs))
        }
        self.init(banks)
    }

    private static func pcrIndex(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 2, text.allSatisfy(\.isASCIIDigit), let v = Int(text), v <= maxPCRIndex else {
            return nil
        }
        return v
    }

    /// tpm2-tools syntax, ranges folded: `sha256:0-10+sha1:10`.
    public var description: String {
        banks.map { bank in
            var runs = [String]()
            var i = 0
            while i < bank.pcrs.count {
                var j = i
                while j + 1 < bank.pcrs.count && bank.pcrs[j + 1] == bank.pcrs[j] + 1 { j += 1 }
                runs.append(i == j ? "\(bank.pcrs[i])" : "\(bank.pcrs[i])-\(bank.pcrs[j])")
                i = j + 1
            }
            return "\(bank.algorithm):\(runs.joined(separator: ","))"
        }.joined(separator: "+")
    }

    /// tpm2-tools `-l` syntax, which has no ranges: `sha256:0,1,2,3`.
    public var tpm2ToolsArgument: String {
        banks.map { "\($0.algorithm):\($0.pcrs.map(String.init).joined(separator: ","))" }.joined(separator: "+")
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

private extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
