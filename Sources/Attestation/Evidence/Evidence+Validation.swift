#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SignetCrypto
import TPM

extension Evidence {
    /// Checks every value of a decoded document: base64 and hex, digest
    /// lengths, PCR banks and indices, the AK's structure, log positions,
    /// and the limits. Errors name the JSON path.
    init(document d: EvidenceDocument, limits: EvidenceLimits, logData: [UInt8]? = nil) throws(EvidenceError) {
        func text(_ value: String, _ field: String, allowEmpty: Bool = false) throws(EvidenceError) -> String {
            guard value.utf8.count <= limits.maxTextLength else {
                throw EvidenceError.tooLarge(field, size: value.utf8.count, limit: limits.maxTextLength)
            }
            guard allowEmpty || !value.isEmpty else { throw EvidenceError.invalid(field, "is empty") }
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
                throw EvidenceError.invalid(field, "contains control characters")
            }
            return value
        }

        let created = try text(d.created, "created")
        guard created.utf8.count <= 64 else {
            throw EvidenceError.invalid("created", "is not an RFC 3339 time (\(created.utf8.count) characters)")
        }

        let nonce = try Self.lowerHex(d.nonce, "nonce")
        guard (1...Evidence.maxNonceLength).contains(nonce.count) else {
            throw EvidenceError.invalid("nonce", "has \(nonce.count) byte(s); expected 1 to \(Evidence.maxNonceLength)")
        }

        var hostname: String?
        if let h = d.node.hostname { hostname = try text(h, "node.hostname") }
        let node = NodeIdentity(kernelRelease: try text(d.node.kernelRelease, "node.kernel_release"),
                                bootID: try text(d.node.bootID, "node.boot_id"), hostname: hostname)

        let attest = try Self.base64(d.quote.attest, "quote.attest", limit: 4096)
        let signature = try Self.base64(d.quote.signature, "quote.signature", limit: 4096)
        guard !attest.isEmpty else { throw EvidenceError.invalid("quote.attest", "is empty") }
        guard !signature.isEmpty else { throw EvidenceError.invalid("quote.signature", "is empty") }

        let pcrs = try Self.pcrValues(d.pcrs, limits: limits)

        var publicArea: TPMPublic?
        if let encoded = d.ak.tpm2bPublic {
            let bytes = try Self.base64(encoded, "ak.tpm2b_public", limit: 4096)
            do {
                publicArea = try TPMPublic(tpm2bPublic: bytes)
            } catch {
                throw EvidenceError.invalid("ak.tpm2b_public", "not a TPM2B_PUBLIC: \(error)", offset: error.offset)
            }
        }
        var pem: String?
        if let value = d.ak.pem {
            pem = try text(value, "ak.pem")
            guard value.contains("-----BEGIN PUBLIC KEY-----") else {
                throw EvidenceError.invalid("ak.pem", "is not a PEM PUBLIC KEY block")
            }
        }
        guard publicArea != nil || pem != nil else {
            throw EvidenceError(code: .missingField, field: "ak", reason: "needs tpm2b_public or pem")
        }

        let log = try Self.log(d.imaLog, limits: limits, data: logData)
        var bootEventLog: [UInt8]?
        if let boot = d.bootEventLog {
            let bytes = try Self.base64(boot.data, "boot_event_log.data", limit: limits.maxBootEventLogBytes)
            guard !bytes.isEmpty else { throw EvidenceError.invalid("boot_event_log.data", "is empty (leave boot_event_log out when the node has no event log)") }
            bootEventLog = bytes
        }

        self.init(created: created, nonce: nonce, node: node, quote: Quote(attest: attest, signature: signature),
                  pcrs: pcrs, attestationKey: AttestationKey(publicArea: publicArea, pem: pem), log: log, bootEventLog: bootEventLog)
    }

    /// Lower-case hex of whole bytes, as the format defines; upper case is refused (one value,
    /// one spelling).
    static func lowerHex(_ text: String, _ field: String) throws(EvidenceError) -> [UInt8] {
        if let bad = text.utf8.firstIndex(where: { !((0x30...0x39).contains($0) || (0x61...0x66).contains($0)) }) {
            let position = text.utf8.distance(from: text.utf8.startIndex, to: bad)
            let c = text.utf8[bad]
            let upper = (0x41...0x46).contains(c)
            throw EvidenceError.invalid(field, upper ? "is not lower-case hex (upper-case digit at position \(position))"
                                                     : "is not hex (unexpected character at position \(position))")
        }
        guard text.utf8.count % 2 == 0, let bytes = Hex.decode(text) else {
            throw EvidenceError.invalid(field, "is not hex (odd number of digits)")
        }
        return bytes
    }

    /// Strict base64 (RFC 4648 section 4: no line breaks, padded to a multiple of 4, unused bits
    /// zero), with the size checked before decoding.
    static func base64(_ text: String, _ field: String, limit: Int) throws(EvidenceError) -> [UInt8] {
        var text = text
        let result = text.withUTF8 { utf8 -> Result<[UInt8], EvidenceError> in
            do throws(EvidenceError) { return .success(try base64(utf8, field, limit: limit)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The same on the text's UTF-8 bytes.
    static func base64(_ utf8: UnsafeBufferPointer<UInt8>, _ field: String, limit: Int) throws(EvidenceError) -> [UInt8] {
        let decodedUpperBound = utf8.count / 4 * 3
        guard decodedUpperBound <= limit + 2 else {
            throw EvidenceError.tooLarge(field, size: decodedUpperBound, limit: limit)
        }
        guard let data = Self.decodeCanonicalBase64(utf8) else {
            let problem = Self.strictBase64Problem(String(decoding: utf8, as: UTF8.self)) ?? "not canonical padded base64"
            throw EvidenceError.invalid(field, "not base64: \(problem)")
        }
        guard data.count <= limit else { throw EvidenceError.tooLarge(field, size: data.count, limit: limit) }
        return data
    }

    /// Each base64 character's 6-bit value; 0xFF for anything else.
    private static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(c)] = UInt8(value)
        }
        return table
    }()

    /// Decodes canonical padded base64 (what `strictBase64Problem` accepts) in
    /// one pass, or nil when it is not: an evidence's log is most of its bytes,
    /// and the verifier service decodes one per request.
    static func decodeCanonicalBase64(_ b: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard b.count % 4 == 0 else { return nil }
        guard !b.isEmpty else { return [] }
        let equals = UInt8(ascii: "=")
        let padding = b[b.count - 1] == equals ? (b[b.count - 2] == equals ? 2 : 1) : 0
        let fullQuads = padding == 0 ? b.count : b.count - 4
        var invalid: UInt8 = 0
        let out = base64Values.withUnsafeBufferPointer { t in
            [UInt8](unsafeUninitializedCapacity: b.count / 4 * 3) { out, initialized in
                var i = 0, o = 0
                while i < fullQuads {
                    let v0 = t[Int(b[i])], v1 = t[Int(b[i + 1])], v2 = t[Int(b[i + 2])], v3 = t[Int(b[i + 3])]
                    invalid |= v0 | v1 | v2 | v3
                    out[o] = v0 << 2 | v1 >> 4
                    out[o + 1] = v1 << 4 | v2 >> 2
                    out[o + 2] = v2 << 6 | v3
                    i += 4
                    o += 3
                }
                if padding > 0 {
                    let v0 = t[Int(b[i])], v1 = t[Int(b[i + 1])]
                    let v2 = padding == 1 ? t[Int(b[i + 2])] : 0
                    invalid |= v0 | v1 | v2
                    // The bits the padding drops must be zero: one spelling per byte string.
                    if padding == 2 && v1 & 0x0F != 0 || padding == 1 && v2 & 0x03 != 0 { invalid |= 0x80 }
                    out[o] = v0 << 2 | v1 >> 4
                    o += 1
                    if padding == 1 {
                        out[o] = v1 << 4 | v2 >> 2
                        o += 1
                    }
                }
                initialized = o
            }
        }
        return invalid & 0x80 == 0 ? out : nil
    }

    /// Why `text` is not canonical padded base64, or nil: length a multiple of 4, only the
    /// alphabet, `=` only as the last one or two characters, and the bits the padding drops zero
    /// (so each byte string has exactly one spelling).
    static func strictBase64Problem(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { b -> String? in
            guard b.count % 4 == 0 else { return "length \(b.count) is not a multiple of 4 (unpadded?)" }
            guard !b.isEmpty else { return nil }
            var padding = 0
            if b[b.count - 1] == UInt8(ascii: "=") { padding = b[b.count - 2] == UInt8(ascii: "=") ? 2 : 1 }
            let body = b.count - padding
            for k in 0..<body where !isBase64Alphabet(b[k]) {
                return b[k] == UInt8(ascii: "=") ? "padding '=' inside the text at position \(k)"
                                                 : "unexpected character at position \(k)"
            }
            let last = base64Value(b[body - 1])
            if padding == 2, last & 0x0F != 0 { return "non-zero bits before the padding at position \(body - 1)" }
            if padding == 1, last & 0x03 != 0 { return "non-zero bits before the padding at position \(body - 1)" }
            return nil
        }
    }

    private static func isBase64Alphabet(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    private static func base64Value(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        default: return 63
        }
    }

    private static func pcrValues(_ banks: [String: [String: String]], limits: EvidenceLimits) throws(EvidenceError) -> [PCRValue] {
        guard !banks.isEmpty else { throw EvidenceError.invalid("pcrs", "has no bank") }
        let total = banks.values.reduce(0) { $0 + $1.count }
        guard total <= limits.maxPCRValues else {
            throw EvidenceError(code: .tooLarge, field: "pcrs", reason: "\(total) PCR values, more than the limit of \(limits.maxPCRValues)")
        }
        var out = [PCRValue]()
        for (bankName, values) in banks.sorted(by: { $0.key < $1.key }) {
            let bankField = "pcrs.\(bankName)"
            guard let bank = TPMAlgorithm(name: bankName), let length = bank.digestLength else {
                throw EvidenceError.invalid(bankField, "unknown PCR bank (sha1, sha256, sha384, sha512, sm3_256)")
            }
            for (indexText, hex) in values.sorted(by: { $0.key < $1.key }) {
                let field = "\(bankField).\(indexText)"
                guard let index = Int(indexText), (0..<PCRSelection.standardPCRCount).contains(index),
                      indexText == String(index) else {
                    throw EvidenceError.invalid(field, "the PCR index must be a decimal number 0-23")
                }
                let digest = try lowerHex(hex, field)
                guard digest.count == length else {
                    throw EvidenceError.invalid(field, "has \(digest.count) byte(s); a \(bank) PCR has \(length)")
                }
                out.append(PCRValue(bank: bank, index: index, digest: digest))
            }
        }
        return out
    }

    private static func log(_ d: EvidenceDocument.Log, limits: EvidenceLimits, data decoded: [UInt8]?) throws(EvidenceError) -> Log {
        if let encoding = d.encoding, encoding != "binary" {
            throw EvidenceError.invalid("ima_log.encoding", "is \"\(encoding)\"; only \"binary\" is defined")
        }
        var algorithm = HashAlgorithm.sha1
        if let name = d.templateDigest {
            guard let a = HashAlgorithm(name: name) else {
                throw EvidenceError.invalid("ima_log.template_digest", "unknown hash algorithm \"\(name)\"")
            }
            algorithm = a
        }
        var order = LogByteOrder.littleEndian
        switch d.byteOrder {
        case nil, "little-endian": order = .littleEndian
        case "big-endian": order = .bigEndian
        case let other?:
            throw EvidenceError.invalid("ima_log.byte_order", "is \"\(other)\"; expected little-endian or big-endian")
        }
        let entry = d.logFromEntry ?? 0
        let offset = d.logFromOffset ?? 0
        guard entry >= 0 else { throw EvidenceError.invalid("ima_log.log_from_entry", "is negative") }
        guard offset >= 0 else { throw EvidenceError.invalid("ima_log.log_from_offset", "is negative") }
        guard (entry == 0) == (offset == 0) else {
            throw EvidenceError.invalid(offset == 0 ? "ima_log.log_from_offset" : "ima_log.log_from_entry",
                                        "log_from_entry \(entry) and log_from_offset \(offset): both are 0 or both positive")
        }
        let data: [UInt8]
        if let decoded { data = decoded } else { data = try base64(d.data, "ima_log.data", limit: limits.maxLogBytes) }
        return Log(data: data, start: LogPosition(entryIndex: entry, byteOffset: offset),
                   templateDigestAlgorithm: algorithm, byteOrder: order)
    }
}

extension Evidence: Codable {
    /// Decodes with the default `EvidenceLimits`; throws `EvidenceError`.
    public init(from decoder: any Decoder) throws {
        try self.init(document: EvidenceDocument(from: decoder), limits: EvidenceLimits())
    }

    public func encode(to encoder: any Encoder) throws {
        try EvidenceDocument(self).encode(to: encoder)
    }
}
