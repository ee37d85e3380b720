#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BootReference
import IMAFormat

extension Verdict {
    /// The verdict as JSON for machines (sorted keys, one object):
    /// ```
    /// {"passed": false,
    ///  "node": {"kernel_release": "…", "boot_id": "…", "hostname": "…"},
    ///  "quote": {"clock": 123456, "reset_count": 3, "restart_count": 0, "safe": true,
    ///            "firmware_version": 0, "ima_pcr": 10, "ima_pcr_values": {"sha256": "<hex>"}},
    ///  "boot": {"passed": true, "events": 58, "matched_chain": "…", "secure_boot": true, "command_lines": ["…"],
    ///           "failures": [{"code": "cmdline-forbidden-parameter", "event_index": 40, "offset": 12345, "pcr": 8,
    ///                         "event_type": "EV_IPL", "measured": "…", "expected": "…", "reason": "…"}]}
    ///           (only when the reference judges the boot),
    ///  "log": {"first_entry": 0, "judged_entries": 1204, "verified_through": 1204,
    ///          "unjudged_trailing_bytes": 0, "acceptances": {"signature": 1190, …}},
    ///  "reasons": [{"code": "entries-rejected", "message": "…", "entry": 57, "offset": 9000, "field": "…"}],
    ///  "entry_failures": [{"entry": 57, "offset": 9000, "pcr": 10, "template": "ima-ng",
    ///                      "path": "/tmp/payload", "path_hex": "…" (only when not UTF-8),
    ///                      "digest": "sha256:…", "code": "unsigned-not-in-manifest", "reason": "…"}]}
    /// ```
    public func jsonReport() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and booleans only: encoding cannot fail.
        return Array(try! encoder.encode(VerdictDocument(self)))
    }
}

/// The JSON shape of a verdict.
private struct VerdictDocument: Encodable {
    struct Node: Encodable {
        let kernel_release: String
        let boot_id: String
        let hostname: String?
    }
    struct Quote: Encodable {
        let clock: UInt64
        let reset_count: UInt32
        let restart_count: UInt32
        let safe: Bool
        let firmware_version: UInt64
        let ima_pcr: UInt32
        let ima_pcr_values: [String: String]
    }
    struct Boot: Encodable {
        let passed: Bool
        let events: Int
        let matched_chain: String?
        let secure_boot: Bool?
        let command_lines: [String]
        let failures: [BootFailure]
    }
    struct Log: Encodable {
        let first_entry: Int
        let judged_entries: Int
        let verified_through: Int?
        let unjudged_trailing_bytes: Int
        let acceptances: [String: Int]
    }
    struct Reason: Encodable {
        let code: String
        let message: String
        let entry: Int?
        let offset: Int?
        let field: String?
    }
    struct Failure: Encodable {
        let entry: Int
        let offset: Int
        let pcr: UInt32
        let template: String
        let path: String
        let path_hex: String?
        let digest: String?
        let code: String
        let reason: String
    }

    let passed: Bool
    let node: Node?
    let quote: Quote?
    let boot: Boot?
    let log: Log?
    let reasons: [Reason]
    let entry_failures: [Failure]

    init(_ v: Verdict) {
        passed = v.passed
        node = v.node.map { Node(kernel_release: $0.kernelRelease, boot_id: $0.bootID, hostname: $0.hostname) }
        quote = v.quote.map {
            Quote(clock: $0.clock, reset_count: $0.resetCount, restart_count: $0.restartCount, safe: $0.safe,
                  firmware_version: $0.firmwareVersion, ima_pcr: $0.imaPCR,
                  ima_pcr_values: $0.imaPCRValues.mapValues { Hex.encode($0) })
        }
        boot = v.boot.map { b in
            Boot(passed: b.passed, events: b.events, matched_chain: b.matchedChain, secure_boot: b.secureBoot, command_lines: b.commandLines,
                 failures: b.failures)
        }
        log = v.log.map {
            Log(first_entry: $0.firstEntry, judged_entries: $0.judgedEntries, verified_through: $0.verifiedThrough,
                unjudged_trailing_bytes: $0.unjudgedTrailingBytes,
                acceptances: Dictionary(uniqueKeysWithValues: $0.acceptances.map { ($0.key.rawValue, $0.value) }))
        }
        reasons = v.reasons.map {
            Reason(code: $0.code.rawValue, message: $0.message, entry: $0.entryIndex, offset: $0.offset, field: $0.field)
        }
        entry_failures = v.entryFailures.map {
            let utf8 = String(validating: $0.path, as: UTF8.self)
            return Failure(entry: $0.entryIndex, offset: $0.offset, pcr: $0.pcr, template: $0.template,
                           path: $0.displayPath, path_hex: utf8 == nil ? Hex.encode($0.path) : nil, digest: $0.digest,
                           code: $0.code.rawValue, reason: $0.reason)
        }
    }
}
