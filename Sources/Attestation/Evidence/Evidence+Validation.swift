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
    init(document d: EvidenceDocument, limits: EvidenceLimits) throws(EvidenceError) {
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

        guard let nonce = Hex.decode(d.nonce) else {
            throw EvidenceError.invalid("nonce", "is not hex")
        }
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

        let log = try Self.log(d.imaLog, limits: limits)

        self.init(created: created, nonce: nonce, node: node, quote: Quote(attest: attest, signature: signature),
                  pcrs: pcrs, attestationKey: AttestationKey(publicArea: publicArea, pem: pem), log: log)
    }

    /// Strict base64 (no line breaks), with the size checked before decoding.
    static func base64(_ text: String, _ field: String, limit: Int) throws(EvidenceError) -> [UInt8] {
        let decodedUpperBound = text.utf8.count / 4 * 3
        guard decodedUpperBound <= limit + 2 else {
            throw EvidenceError.tooLarge(field, size: decodedUpperBound, limit: limit)
        }
        guard let data = Data(base64Encoded: text) else {
            let bad = text.utf8.firstIndex { !Self.isBase64Character($0) }
                .map { text.utf8.distance(from: text.utf8.startIndex, to: $0) }
            throw EvidenceError.invalid(field, bad.map { "not base64: unexpected character at position \($0)" }
                                            ?? "not base64 (length \(text.utf8.count) is not a multiple of 4, or bad padding)")
        }
        guard data.count <= limit else { throw EvidenceError.tooLarge(field, size: data.count, limit: limit) }
        return [UInt8](data)
    }

    private static func isBase64Character(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            return true
        default:
            return false
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
                guard let digest = Hex.decode(hex) else { throw EvidenceError.invalid(field, "is not hex") }
                guard digest.count == length else {
                    throw EvidenceError.invalid(field, "has \(digest.count) byte(s); a \(bank) PCR has \(length)")
                }
                out.append(PCRValue(bank: bank, index: index, digest: digest))
            }
        }
        return out
    }

    private static func log(_ d: EvidenceDocument.Log, limits: EvidenceLimits) throws(EvidenceError) -> Log {
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
        let data = try base64(d.data, "ima_log.data", limit: limits.maxLogBytes)
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
