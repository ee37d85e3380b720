#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import IMAFormat
import SignetCrypto
import StrictJSON
import TPM

/// What an agent ships to the verifier for one attestation round: a TPM
/// quote over the PCRs, the PCR values, the attestation key it was made
/// with, the IMA measurement log (whole or from an entry on), and who the
/// node claims to be.
///
/// Only the quote is trusted, and only after its signature verifies with the
/// AK the verifier enrolled; everything else is checked against it (the PCR
/// values against the signed pcrDigest, the log by replay against PCR 10,
/// the kernel release against the log's `kernel_version` entry).
///
/// ## Format `signet-evidence`, version 1 (JSON, UTF-8)
/// ```
/// {
///   "format": "signet-evidence",          required, exactly this
///   "version": 1,                         required; only 1 is defined
///   "created": "2026-11-26T23:00:00Z",    required, RFC 3339 UTC, the agent's clock (informational)
///   "nonce": "<hex>",                     required, 1-64 bytes: the verifier's challenge, echoed;
///                                         the quote's extraData must equal it
///   "node": {
///     "kernel_release": "6.12.9-amd64",   required, `uname -r`
///     "boot_id": "<uuid>",                required, /proc/sys/kernel/random/boot_id
///     "hostname": "web-1"                 optional
///   },
///   "quote": {
///     "attest": "<base64>",               required, TPMS_ATTEST as signed (`tpm2_quote -m`)
///     "signature": "<base64>"             required, TPMT_SIGNATURE (`tpm2_quote -s`)
///   },
///   "pcrs": {                             required, bank -> PCR index -> lower-case hex
///     "sha256": {"0": "<hex>", …, "10": "<hex>"},
///     "sha1": {"10": "<hex>"}             other banks optional
///   },
///   "ak": {                               required, at least one of:
///     "tpm2b_public": "<base64>",         TPM2B_PUBLIC of the AK (`tpm2_createak -u`)
///     "pem": "-----BEGIN PUBLIC KEY-----…" the AK as SubjectPublicKeyInfo PEM
///   },
///   "ima_log": {
///     "data": "<base64>",                 required, binary_runtime_measurements bytes
///     "encoding": "binary",               optional, only "binary"
///     "template_digest": "sha1",          optional (default sha1): the stored template
///                                         digest's algorithm (sha256 for _sha256 files)
///     "byte_order": "little-endian",      optional (default little-endian)
///     "log_from_entry": 0,                optional (default 0): index of the first entry in data
///     "log_from_offset": 0                optional (default 0): its byte offset in the full log
///   },
///   "boot_event_log": {                   optional: the firmware's TCG PC Client event log
///     "data": "<base64>"                  required in it, binary_bios_measurements bytes; the
///                                         verifier replays it to the quoted PCRs 0-9 and judges it
///                                         against the group's boot reference
///   }
/// }
/// ```
/// Unknown fields are ignored, so a later minor addition does not break
/// older verifiers; anything that changes the meaning of a field gets a new
/// `version`. `log_from_entry`/`log_from_offset` are both 0 or both positive:
/// an agent sends the log from the position the verifier's state asks for.
///
/// Decoding checks every field, names the one that fails (`EvidenceError`
/// with its JSON path), and enforces `EvidenceLimits`. The document must be
/// strict JSON (`StrictJSON`: no byte order mark, no key twice in an object,
/// UTF-8); `version` and the log positions are integers (`1`, not `1.0`);
/// hex is lower case and base64 padded, as above.
public struct Evidence: Sendable, Equatable {
    /// The `format` value.
    public static let formatName = "signet-evidence"
    /// The `version` this code writes and reads.
    public static let currentVersion = 1
    /// The longest nonce (TPMS_ATTEST.extraData holds at most 64 bytes of a digest).
    public static let maxNonceLength = 64

    /// RFC 3339 UTC time the agent assembled the evidence (not trusted).
    public var created: String
    /// The verifier's challenge as the agent echoes it.
    public var nonce: [UInt8]
    /// The node's claimed identity.
    public var node: NodeIdentity
    /// The quote bytes.
    public var quote: Quote
    /// PCR values, sorted by bank then index.
    public var pcrs: [PCRValue]
    /// The attestation key the agent says it quoted with.
    public var attestationKey: AttestationKey
    /// The IMA measurement log, or its tail.
    public var log: Log
    /// The firmware's TCG event log (`/sys/kernel/security/tpm0/binary_bios_measurements`),
    /// when the node has one: what PCRs 0-9 hold, for the boot judgement. Not trusted until its
    /// replay reaches the quoted PCRs.
    public var bootEventLog: [UInt8]?

    public init(created: String, nonce: [UInt8], node: NodeIdentity, quote: Quote, pcrs: [PCRValue],
                attestationKey: AttestationKey, log: Log, bootEventLog: [UInt8]? = nil) {
        self.created = created
        self.nonce = nonce
        self.node = node
        self.quote = quote
        self.pcrs = pcrs.sorted { ($0.bank.rawValue, $0.index) < ($1.bank.rawValue, $1.index) }
        self.attestationKey = attestationKey
        self.log = log
        self.bootEventLog = bootEventLog
    }

    /// The integer fields, checked as written (`1`, not `1.0` or `1e0`).
    static let integerFields: Set<[String]> = [["version"], ["ima_log", "log_from_entry"], ["ima_log", "log_from_offset"]]

    /// Decodes and validates an evidence document. Throws `EvidenceError`
    /// naming the field; never crashes on hostile input.
    public static func decode(_ bytes: [UInt8], limits: EvidenceLimits = EvidenceLimits()) throws(EvidenceError) -> Evidence {
        guard bytes.count <= limits.maxDocumentBytes else {
            throw EvidenceError.tooLarge("", size: bytes.count, limit: limits.maxDocumentBytes)
        }
        let located: [[String]: Range<Int>]
        do {
            located = try StrictJSON.validate(bytes, options: StrictJSON.Options(integerPaths: integerFields),
                                              capturing: [Self.logDataPath])
        } catch {
            throw EvidenceError(strict: error)
        }
        // The log is most of the document: when it is written without escapes, decode it straight
        // from the document's bytes and give the JSON decoder the rest (the same document with
        // an empty `ima_log.data`), instead of a decoder's string copy of it.
        var logData: [UInt8]?
        var rest = bytes
        if let range = located[Self.logDataPath] {
            let decoded = bytes.withUnsafeBufferPointer { all -> Result<[UInt8], EvidenceError> in
                do throws(EvidenceError) {
                    return .success(try Self.base64(UnsafeBufferPointer(rebasing: all[range]), "ima_log.data", limit: limits.maxLogBytes))
                } catch {
                    return .failure(error)
                }
            }
            logData = try decoded.get()
            rest = Array(bytes[..<range.lowerBound]) + bytes[range.upperBound...]
        }
        let document: EvidenceDocument
        do {
            document = try JSONDecoder().decode(EvidenceDocument.self, from: Data(rest))
        } catch let error as EvidenceError {
            throw error
        } catch let error as DecodingError {
            let (kind, field, reason) = JSONFieldPath.describe(error)
            switch kind {
            case .notJSON: throw EvidenceError(code: .invalidJSON, field: "", reason: reason)
            case .missing: throw EvidenceError.missing(field)
            case .invalid: throw EvidenceError.invalid(field, reason)
            }
        } catch {
            throw EvidenceError(code: .invalidJSON, field: "", reason: "\(error)")
        }
        return try Evidence(document: document, limits: limits, logData: logData)
    }

    /// Where the log's base64 text is in a document.
    static let logDataPath = ["ima_log", "data"]

    /// The JSON document: deterministic (sorted keys), what an agent sends.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers and dictionaries cannot fail.
        return Array(try! encoder.encode(EvidenceDocument(self)))
    }
}
