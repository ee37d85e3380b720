#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import TPM

/// The wire form of `Evidence`: JSON types only (strings, integers,
/// objects). Decoding it checks JSON types; `Evidence(document:limits:)`
/// checks values.
struct EvidenceDocument: Codable {
    var format: String
    var version: Int
    var created: String
    var nonce: String
    var node: Node
    var quote: Quote
    var pcrs: [String: [String: String]]
    var ak: AK
    var imaLog: Log
    var bootEventLog: BootEventLog?

    struct Node: Codable {
        var kernelRelease: String
        var bootID: String
        var hostname: String?

        enum CodingKeys: String, CodingKey {
            case kernelRelease = "kernel_release"
            case bootID = "boot_id"
            case hostname
        }
    }

    struct Quote: Codable {
        var attest: String
        var signature: String
    }

    struct AK: Codable {
        var tpm2bPublic: String?
        var pem: String?

        enum CodingKeys: String, CodingKey {
            case tpm2bPublic = "tpm2b_public"
            case pem
        }
    }

    struct Log: Codable {
        var data: String
        var encoding: String?
        var templateDigest: String?
        var byteOrder: String?
        var logFromEntry: Int?
        var logFromOffset: Int?

        enum CodingKeys: String, CodingKey {
            case data, encoding
            case templateDigest = "template_digest"
            case byteOrder = "byte_order"
            case logFromEntry = "log_from_entry"
            case logFromOffset = "log_from_offset"
        }
    }

    struct BootEventLog: Codable {
        var data: String
    }

    enum CodingKeys: String, CodingKey {
        case format, version, created, nonce, node, quote, pcrs, ak
        case imaLog = "ima_log"
        case bootEventLog = "boot_event_log"
    }

    // `format` and `version` are read first, so a document of another kind
    // or version is named as such instead of failing on a field it lacks.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        guard format == Evidence.formatName else {
            throw EvidenceError(code: .unsupportedFormat, field: "format",
                                reason: "is \"\(format)\", expected \"\(Evidence.formatName)\"")
        }
        version = try c.decode(Int.self, forKey: .version)
        guard version == Evidence.currentVersion else {
            throw EvidenceError(code: .unsupportedVersion, field: "version",
                                reason: "is \(version); this verifier reads version \(Evidence.currentVersion)")
        }
        created = try c.decode(String.self, forKey: .created)
        nonce = try c.decode(String.self, forKey: .nonce)
        node = try c.decode(Node.self, forKey: .node)
        quote = try c.decode(Quote.self, forKey: .quote)
        pcrs = try c.decode([String: [String: String]].self, forKey: .pcrs)
        ak = try c.decode(AK.self, forKey: .ak)
        imaLog = try c.decode(Log.self, forKey: .imaLog)
        bootEventLog = try c.decodeIfPresent(BootEventLog.self, forKey: .bootEventLog)
    }

    init(_ evidence: Evidence) {
        format = Evidence.formatName
        version = Evidence.currentVersion
        created = evidence.created
        nonce = Hex.encode(evidence.nonce)
        node = Node(kernelRelease: evidence.node.kernelRelease, bootID: evidence.node.bootID,
                    hostname: evidence.node.hostname)
        quote = Quote(attest: Data(evidence.quote.attest).base64EncodedString(),
                      signature: Data(evidence.quote.signature).base64EncodedString())
        var pcrs = [String: [String: String]]()
        for value in evidence.pcrs {
            pcrs["\(value.bank)", default: [:]]["\(value.index)"] = Hex.encode(value.digest)
        }
        self.pcrs = pcrs
        ak = AK(tpm2bPublic: evidence.attestationKey.publicArea.map { Data($0.tpm2bMarshaled).base64EncodedString() },
                pem: evidence.attestationKey.pem)
        let log = evidence.log
        imaLog = Log(data: Data(log.data).base64EncodedString(), encoding: "binary",
                     templateDigest: log.templateDigestAlgorithm.name,
                     byteOrder: log.byteOrder == .littleEndian ? "little-endian" : "big-endian",
                     logFromEntry: log.start.entryIndex, logFromOffset: log.start.byteOffset)
        bootEventLog = evidence.bootEventLog.map { BootEventLog(data: Data($0).base64EncodedString()) }
    }
}
