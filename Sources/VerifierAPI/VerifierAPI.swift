#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The verifier service's JSON API (version 1), shared by the service, `signet agent run` and
// `signet fleet`. Binary values are base64; nonces are lower-case hex; times are milliseconds
// since the Unix epoch. Every error response is an `APIError` document.

/// URL paths of the API. Node calls carry `Authorization: Bearer <node token>`; admin calls
/// (references, groups, fleet) carry `Authorization: Bearer <admin token>`.
public enum APIPath {
    public static let enrollments = "/v1/enrollments"
    public static func activation(_ enrollmentID: String) -> String { "/v1/enrollments/\(enrollmentID)/activate" }
    public static func nonce(_ node: String) -> String { "/v1/nodes/\(node)/nonce" }
    public static func attestations(_ node: String) -> String { "/v1/nodes/\(node)/attestations" }
    public static func nodeGroup(_ node: String) -> String { "/v1/nodes/\(node)/group" }
    /// GET (admin): the node's stored verdicts, newest first.
    public static func history(_ node: String) -> String { "/v1/nodes/\(node)/history" }
    public static func references(_ group: String) -> String { "/v1/groups/\(group)/references" }
    public static let fleet = "/v1/fleet"
    public static let metrics = "/metrics"
    public static let health = "/healthz"
}

/// A node asks to enrol: its TPM's endorsement key (and certificate) and the attestation key it
/// will quote with. The verifier answers with a credential challenge only that TPM can open.
public struct EnrollmentRequest: Codable, Sendable {
    public var nodeID: String
    /// TPM2B_PUBLIC of the endorsement key, base64.
    public var endorsementKey: String
    /// The EK certificate (DER, base64), when the TPM has one.
    public var endorsementCertificate: String?
    /// TPM2B_PUBLIC of the attestation key, base64.
    public var attestationKey: String

    public init(nodeID: String, endorsementKey: String, endorsementCertificate: String?, attestationKey: String) {
        self.nodeID = nodeID; self.endorsementKey = endorsementKey
        self.endorsementCertificate = endorsementCertificate; self.attestationKey = attestationKey
    }
    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", endorsementKey = "ek_public", endorsementCertificate = "ek_certificate", attestationKey = "ak_public"
    }
}

/// The MakeCredential challenge: TPM2_ActivateCredential with the EK and the AK opens it.
public struct EnrollmentChallenge: Codable, Sendable {
    public var enrollmentID: String
    /// TPM2B_ID_OBJECT, base64.
    public var credentialBlob: String
    /// TPM2B_ENCRYPTED_SECRET, base64.
    public var encryptedSecret: String
    public var expiresAt: Int64

    public init(enrollmentID: String, credentialBlob: String, encryptedSecret: String, expiresAt: Int64) {
        self.enrollmentID = enrollmentID; self.credentialBlob = credentialBlob
        self.encryptedSecret = encryptedSecret; self.expiresAt = expiresAt
    }
    enum CodingKeys: String, CodingKey {
        case enrollmentID = "enrollment_id", credentialBlob = "credential_blob", encryptedSecret = "encrypted_secret", expiresAt = "expires_at"
    }
}

/// The node proves it opened the challenge by sending the credential back.
public struct ActivationRequest: Codable, Sendable {
    /// The credential ActivateCredential returned, base64.
    public var credential: String
    public init(credential: String) { self.credential = credential }
}

/// Enrolment done: from now on the node authenticates with the credential as its bearer token.
public struct EnrollmentResult: Codable, Sendable {
    public var nodeID: String
    public var group: String
    public init(nodeID: String, group: String) { self.nodeID = nodeID; self.group = group }
    enum CodingKeys: String, CodingKey { case nodeID = "node_id", group }
}

/// The agent asks for a nonce, telling the verifier which boot it is in.
public struct NonceRequest: Codable, Sendable {
    public var bootID: String
    public init(bootID: String) { self.bootID = bootID }
    enum CodingKeys: String, CodingKey { case bootID = "boot_id" }
}

/// A fresh single-use challenge, and where the verifier wants the log to start.
public struct NonceResponse: Codable, Sendable {
    public var nonce: String
    public var expiresAt: Int64
    /// Send the IMA log from this entry (and byte offset) on: the verifier has the entries before.
    public var fromEntry: Int
    public var fromOffset: Int
    public init(nonce: String, expiresAt: Int64, fromEntry: Int, fromOffset: Int) {
        self.nonce = nonce; self.expiresAt = expiresAt; self.fromEntry = fromEntry; self.fromOffset = fromOffset
    }
    enum CodingKeys: String, CodingKey { case nonce, expiresAt = "expires_at", fromEntry = "from_entry", fromOffset = "from_offset" }
}

/// The outcome of one attestation round (the body is the signet-evidence document).
public struct AttestationResponse: Codable, Sendable {
    public var nodeID: String
    public var round: Int64
    public var passed: Bool
    public var group: String
    /// The reference version the node was judged by (nil: the group has no reference yet).
    public var referenceVersion: Int64?
    /// The first failing entry or reason, for a person.
    public var firstFailure: String?
    /// Where the next round's log starts.
    public var nextEntry: Int
    public var nextOffset: Int
    /// The full verdict (Verdict.jsonReport()), as a JSON string.
    public var verdict: String

    public init(nodeID: String, round: Int64, passed: Bool, group: String, referenceVersion: Int64?, firstFailure: String?,
                nextEntry: Int, nextOffset: Int, verdict: String) {
        self.nodeID = nodeID; self.round = round; self.passed = passed; self.group = group
        self.referenceVersion = referenceVersion; self.firstFailure = firstFailure
        self.nextEntry = nextEntry; self.nextOffset = nextOffset; self.verdict = verdict
    }
    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", round, passed, group, referenceVersion = "reference_version", firstFailure = "first_failure"
        case nextEntry = "next_entry", nextOffset = "next_offset", verdict
    }
}

/// Moves a node to a group (admin).
public struct GroupAssignment: Codable, Sendable {
    public var group: String
    public init(group: String) { self.group = group }
}

/// A new reference version for a group (admin): certificates, signed manifests, Keylime
/// policies and excludes, checked by the verifier before it is stored.
public struct ReferenceUpload: Codable, Sendable {
    public struct SignedManifest: Codable, Sendable {
        /// Where it came from, for messages.
        public var name: String
        /// The manifest (JSON lines), base64.
        public var data: String
        /// Its detached signature (MANIFEST.sig), base64.
        public var signature: String
        public init(name: String, data: String, signature: String) { self.name = name; self.data = data; self.signature = signature }
    }
    /// Trusted IMA signing certificate files (PEM bundle or DER), base64.
    public var certificates: [String]
    public var manifests: [SignedManifest]
    /// Keylime runtime policies (JSON), base64.
    public var keylimePolicies: [String]
    /// Boot references (`signet boot-reference create`, JSON), base64: the measured boot is judged
    /// first; several allow the chains of all (a kernel rollout). Absent in documents stored before.
    public var bootReferences: [String]
    /// Paths not judged (globs).
    public var excludes: [String]
    public var allowSHA1: Bool

    public init(certificates: [String], manifests: [SignedManifest], keylimePolicies: [String] = [], bootReferences: [String] = [],
                excludes: [String] = [], allowSHA1: Bool = false) {
        self.certificates = certificates; self.manifests = manifests; self.keylimePolicies = keylimePolicies
        self.bootReferences = bootReferences; self.excludes = excludes; self.allowSHA1 = allowSHA1
    }
    enum CodingKeys: String, CodingKey {
        case certificates, manifests, keylimePolicies = "keylime_policies", bootReferences = "boot_references", excludes, allowSHA1 = "allow_sha1"
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        certificates = try c.decode([String].self, forKey: .certificates)
        manifests = try c.decode([SignedManifest].self, forKey: .manifests)
        keylimePolicies = try c.decode([String].self, forKey: .keylimePolicies)
        bootReferences = try c.decodeIfPresent([String].self, forKey: .bootReferences) ?? []
        excludes = try c.decode([String].self, forKey: .excludes)
        allowSHA1 = try c.decode(Bool.self, forKey: .allowSHA1)
    }
}

public struct ReferenceVersion: Codable, Sendable {
    public var group: String
    public var version: Int64
    /// SHA-256 of the stored reference document, hex.
    public var sha256: String
    public var createdAt: Int64
    public init(group: String, version: Int64, sha256: String, createdAt: Int64) {
        self.group = group; self.version = version; self.sha256 = sha256; self.createdAt = createdAt
    }
    enum CodingKeys: String, CodingKey { case group, version, sha256, createdAt = "created_at" }
}

/// One node in the fleet view.
public struct NodeStatus: Codable, Sendable, Equatable {
    public var nodeID: String
    public var group: String
    /// `enrolled` (never attested), `pass`, `fail`, or `stale` (no attestation within the threshold).
    public var status: String
    public var lastAttestationAt: Int64?
    public var round: Int64
    public var referenceVersion: Int64?
    public var firstFailure: String?
    public init(nodeID: String, group: String, status: String, lastAttestationAt: Int64?, round: Int64,
                referenceVersion: Int64?, firstFailure: String?) {
        self.nodeID = nodeID; self.group = group; self.status = status; self.lastAttestationAt = lastAttestationAt
        self.round = round; self.referenceVersion = referenceVersion; self.firstFailure = firstFailure
    }
    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", group, status, lastAttestationAt = "last_attestation_at", round
        case referenceVersion = "reference_version", firstFailure = "first_failure"
    }
}

/// One stored verdict (admin: a node's history).
public struct AttestationRecord: Codable, Sendable, Equatable {
    public var round: Int64
    public var passed: Bool
    public var verifiedAt: Int64
    public var group: String
    public var referenceVersion: Int64?
    public var firstEntry: Int64?
    public var judgedEntries: Int64?
    public var firstFailure: String?
    /// The verifier process that judged it.
    public var verifier: String
    public init(round: Int64, passed: Bool, verifiedAt: Int64, group: String, referenceVersion: Int64?, firstEntry: Int64?,
                judgedEntries: Int64?, firstFailure: String?, verifier: String) {
        self.round = round; self.passed = passed; self.verifiedAt = verifiedAt; self.group = group
        self.referenceVersion = referenceVersion; self.firstEntry = firstEntry; self.judgedEntries = judgedEntries
        self.firstFailure = firstFailure; self.verifier = verifier
    }
    enum CodingKeys: String, CodingKey {
        case round, passed, verifiedAt = "verified_at", group, referenceVersion = "reference_version", firstEntry = "first_entry"
        case judgedEntries = "judged_entries", firstFailure = "first_failure", verifier
    }
}

public struct NodeHistory: Codable, Sendable {
    public var nodeID: String
    public var attestations: [AttestationRecord]
    public init(nodeID: String, attestations: [AttestationRecord]) { self.nodeID = nodeID; self.attestations = attestations }
    enum CodingKeys: String, CodingKey { case nodeID = "node_id", attestations }
}

public struct FleetStatus: Codable, Sendable {
    /// The verifier's clock when it answered (ms), so clients judge staleness consistently.
    public var now: Int64
    public var nodes: [NodeStatus]
    public init(now: Int64, nodes: [NodeStatus]) { self.now = now; self.nodes = nodes }
}

/// Every error response: a stable machine code, a message for a person, and the field at fault.
public struct APIError: Codable, Sendable, Error, CustomStringConvertible {
    public var code: String
    public var message: String
    public var field: String?
    public init(code: String, message: String, field: String? = nil) { self.code = code; self.message = message; self.field = field }
    public var description: String { field.map { "\(code): \(message) (\($0))" } ?? "\(code): \(message)" }
}

/// The webhook payload sent when a node's status changes.
public struct NodeStatusEvent: Codable, Sendable {
    /// Unique per event, the same in every retry and at every endpoint (also sent as the
    /// `Signet-Event-Id` header; here it is covered by the signature): receivers drop an id they
    /// have seen. Set when the event is queued.
    public var eventID: String?
    public var event: String
    public var nodeID: String
    public var group: String
    public var previousStatus: String
    public var status: String
    public var at: Int64
    public var round: Int64?
    public var firstFailure: String?
    public init(nodeID: String, group: String, previousStatus: String, status: String, at: Int64, round: Int64?, firstFailure: String?) {
        self.event = "node-status-changed"; self.nodeID = nodeID; self.group = group; self.previousStatus = previousStatus
        self.status = status; self.at = at; self.round = round; self.firstFailure = firstFailure
    }
    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", event, nodeID = "node_id", group, previousStatus = "previous_status", status, at, round, firstFailure = "first_failure"
    }
}

/// Node ids and group names: 1-64 of `A-Z a-z 0-9 . _ -`, not starting with a dot (they appear in URLs).
public enum Identifier {
    public static func isValid(_ s: String) -> Bool {
        guard (1...64).contains(s.utf8.count), s.utf8.first != UInt8(ascii: ".") else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
    }
}

/// Bearer tokens on the wire: base64url without padding (RFC 4648 §5).
public enum TokenEncoding {
    public static func encode(_ bytes: [UInt8]) -> String {
        String(Data(bytes).base64EncodedString().compactMap { c -> Character? in
            switch c { case "+": return "-"; case "/": return "_"; case "=": return nil; default: return c }
        })
    }
    public static func decode(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var s = String(text.map { c -> Character in c == "-" ? "+" : c == "_" ? "/" : c })
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }
}
