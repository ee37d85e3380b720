import IMAFormat
import TCGEventLog

/// Why a measured boot was rejected: a stable, machine-readable reason.
/// The raw value is what a JSON verdict carries.
public enum BootFailureCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// The log's replay does not reach a quoted PCR (the log does not explain the TPM).
    case replayMismatch = "boot-replay-mismatch"
    /// A PCR the judgement relies on (0–9, sha256) was not quoted.
    case pcrNotQuoted = "boot-pcr-not-quoted"
    /// The reference is not one this code reads (format, version).
    case invalidReference = "invalid-boot-reference"
    /// An event's content does not have its type's layout, or lacks the sha256 digest the judgement reads.
    case malformedEvent = "malformed-event"
    /// An event's digest is not the hash of the content it shows (content the PCR does not cover).
    case eventDigestMismatch = "event-digest-mismatch"
    /// An event of a type that has no place in its PCR.
    case unexpectedEvent = "unexpected-event"
    /// PCR 0–7 has no EV_SEPARATOR.
    case missingSeparator = "missing-separator"
    /// A separator that is not 0x00000000, or a second one in the same PCR.
    case separatorError = "separator-error"
    /// An event in PCR 0–7 after its separator that may not follow it.
    case eventAfterSeparator = "event-after-separator"
    /// The SecureBoot variable is absent or 0.
    case secureBootOff = "secure-boot-off"
    /// PK does not satisfy its rule.
    case pkNotAllowed = "pk-not-allowed"
    /// KEK does not satisfy its rule.
    case kekNotAllowed = "kek-not-allowed"
    /// db does not satisfy its rule.
    case dbNotAllowed = "db-not-allowed"
    /// dbx's data is not an allowed one.
    case dbxNotAllowed = "dbx-not-allowed"
    /// dbx lacks revocations the reference requires.
    case dbxOutdated = "dbx-outdated"
    /// A signature database or the SecureBoot variable the rules need was not measured.
    case variableNotMeasured = "variable-not-measured"
    /// An authority event the reference does not allow.
    case authorityNotAllowed = "authority-not-allowed"
    /// A PCR 4 application whose digest no allowed chain has at its place.
    case unknownBootApplication = "unknown-boot-application"
    /// An application a chain expects is not in the log.
    case missingBootApplication = "missing-boot-application"
    /// The kernel (the application in the chain's kernel place) is not allowed.
    case kernelNotAllowed = "kernel-not-allowed"
    /// An initrd whose digest is not allowed, or none where one is required.
    case initrdNotAllowed = "initrd-not-allowed"
    /// grub.cfg's digest is not allowed.
    case grubConfigNotAllowed = "grub-config-not-allowed"
    /// A PCR 9 event whose digest the matched chain does not list.
    case unknownBootFile = "unknown-boot-file"
    /// The kernel command line was not measured (no PCR 8 `kernel_cmdline:`).
    case commandLineNotMeasured = "cmdline-not-measured"
    /// A parameter (or value) the rules forbid.
    case commandLineForbiddenParameter = "cmdline-forbidden-parameter"
    /// A required parameter is absent.
    case commandLineMissingParameter = "cmdline-missing-parameter"
}

/// One reason a boot was rejected: the event (index, byte offset, PCR,
/// type) when one is to blame, what it measured and what was expected.
///
/// Encodable as the verdicts' JSON shows it: `code`, `event_index`, `offset`, `pcr`,
/// `event_type`, `measured`, `expected`, `reason` (absent keys: not known).
public struct BootFailure: Sendable, Hashable, CustomStringConvertible, Encodable {
    public let code: BootFailureCode
    /// 0-based index of the event in the log (the Spec ID event is 0).
    public let eventIndex: Int?
    /// Byte offset of the event in the log.
    public let offset: Int?
    public let pcr: UInt32?
    /// The event type's name (`EV_IPL`).
    public let eventType: String?
    /// What was measured (a digest, a parameter, a variable's value).
    public let measured: String?
    /// What the reference expected.
    public let expected: String?
    /// For a person.
    public let reason: String

    public init(code: BootFailureCode, eventIndex: Int? = nil, offset: Int? = nil, pcr: UInt32? = nil, eventType: String? = nil,
                measured: String? = nil, expected: String? = nil, reason: String) {
        self.code = code
        self.eventIndex = eventIndex
        self.offset = offset
        self.pcr = pcr
        self.eventType = eventType
        self.measured = measured
        self.expected = expected
        self.reason = reason
    }

    /// A failure of `event`.
    init(_ code: BootFailureCode, event: TCGEvent, measured: String?, expected: String?, reason: String) {
        self.init(code: code, eventIndex: event.index, offset: event.offset, pcr: event.pcrIndex,
                  eventType: event.eventType.description, measured: measured, expected: expected, reason: reason)
    }

    enum CodingKeys: String, CodingKey {
        case code, offset, pcr, measured, expected, reason
        case eventIndex = "event_index", eventType = "event_type"
    }

    /// Where in the log: `event 41 (byte 19310), PCR 8 EV_IPL`; empty when no event is to blame.
    public var location: String {
        var at = [String]()
        if let eventIndex { at.append("event \(eventIndex)" + (offset.map { " (byte \($0))" } ?? "")) }
        if let pcr { at.append("PCR \(pcr)" + (eventType.map { " \($0)" } ?? "")) }
        return at.joined(separator: ", ")
    }

    public var description: String {
        var parts = ["\(code.rawValue):"]
        if !location.isEmpty { parts.append(location + ":") }
        parts.append(reason)
        if let measured { parts.append("; measured \(measured)") }
        if let expected { parts.append("; expected \(expected)") }
        return parts.joined(separator: " ")
    }
}

/// The judgement of a measured boot.
public struct BootVerdict: Sendable, Hashable {
    /// Every failure, in log order after the replay check; empty when the boot is trusted.
    public let failures: [BootFailure]
    /// The allowed chain the boot matched (its applications and files); nil when none matched.
    public let matchedChain: String?
    /// The SecureBoot variable as measured (nil: absent or unreadable).
    public let secureBoot: Bool?
    /// The kernel command line(s) grub measured, as logged.
    public let commandLines: [String]
    /// The PCR 4 application digests (sha256), in order.
    public let applications: [BootDigest]

    /// True when there is no failure and a chain matched.
    public var passed: Bool { failures.isEmpty && matchedChain != nil }

    /// The failure codes, in order.
    public var codes: [BootFailureCode] { failures.map(\.code) }
}
