#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Attestation
import IMAFormat
import SQLStore
import SignetCrypto
import StrictJSON
import Synchronization
import VerifierAPI

/// Built verifiers by group and reference version: a reference is parsed and its manifest
/// signatures checked once per process, not once per round. One signature cache is shared by
/// every group, since a file signed once is signed for all.
final class ReferenceCache: Sendable {
    private let built = Mutex<[String: (version: Int64, verifier: AttestationVerifier)]>([:])
    let signatures = SignatureCache()

    /// The verifier for reference `version` of `group` (the newest, as read with the node; an empty reference, which
    /// accepts only excluded or nothing, when the group has none yet).
    func verifier(forGroup group: String, version latest: Int64?, core: VerifierCore) throws -> (Int64?, AttestationVerifier) {
        guard let latest else { return (nil, AttestationVerifier(reference: Reference(), cache: signatures)) }
        if let hit = built.withLock({ $0[group] }), hit.version == latest { return (latest, hit.verifier) }
        let document: [UInt8] = try core.withConnection { c in
            guard let row = try c.query("SELECT document FROM reference_versions WHERE group_name = $1 AND version = $2",
                                        [.text(group), .integer(latest)]).first else {
                throw ServiceError(500, "reference-missing", "reference \(group) v\(latest) vanished")
            }
            return try row.blob("document")
        }
        let upload: ReferenceUpload
        do {
            try StrictJSON.validate(document)
            upload = try JSONDecoder().decode(ReferenceUpload.self, from: Data(document))
        } catch {
            throw ServiceError(500, "bad-stored-reference", "stored reference \(group) v\(latest) does not decode: \(error)")
        }
        let reference: Reference
        do { reference = try ReferenceCache.sources(upload).build() } catch let error as ServiceError { throw error } catch {
            throw ServiceError(500, "bad-stored-reference", "stored reference \(group) v\(latest): \(error)")
        }
        let verifier = AttestationVerifier(reference: reference, cache: signatures)
        built.withLock { cache in
            if (cache[group]?.version ?? -1) < latest { cache[group] = (latest, verifier) }
        }
        return (latest, verifier)
    }

    /// The upload's base64 fields decoded into reference sources; a 400 names the bad field.
    static func sources(_ upload: ReferenceUpload) throws -> ReferenceSources {
        var sources = ReferenceSources(excludes: upload.excludes, allowsSHA1: upload.allowSHA1)
        for (i, cert) in upload.certificates.enumerated() {
            sources.certificates.append(("certificates[\(i)]", try Base64.field(cert, "certificates[\(i)]", limit: 1 << 20)))
        }
        for (i, m) in upload.manifests.enumerated() {
            sources.manifests.append(.init(name: m.name.isEmpty ? "manifests[\(i)]" : m.name,
                                           data: try Base64.field(m.data, "manifests[\(i)].data", limit: 256 << 20),
                                           signature: try Base64.field(m.signature, "manifests[\(i)].signature", limit: 64 << 10)))
        }
        for (i, p) in upload.keylimePolicies.enumerated() {
            sources.keylimePolicies.append(("keylime_policies[\(i)]", try Base64.field(p, "keylime_policies[\(i)]", limit: 256 << 20)))
        }
        for (i, b) in upload.bootReferences.enumerated() {
            sources.bootReferences.append(("boot_references[\(i)]", try Base64.field(b, "boot_references[\(i)]", limit: 16 << 20)))
        }
        return sources
    }
}

extension VerifierCore {
    /// Stores a new reference version for `group` after checking all of it (certificates parse,
    /// every manifest's signature verifies with them, policies and globs parse).
    public func uploadReference(group: String, _ upload: ReferenceUpload) throws -> ReferenceVersion {
        guard Identifier.isValid(group) else {
            throw ServiceError.badRequest("bad-group", "group must be 1-64 of A-Z a-z 0-9 . _ -", field: "group")
        }
        do { _ = try ReferenceCache.sources(upload).build() } catch let error as ServiceError { throw error } catch {
            throw ServiceError(422, "bad-reference", "\(error)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let document = Array(try encoder.encode(upload))
        let sha = Hex.encode(Digester.hash(document, .sha256))
        let created = now()
        let version: Int64 = try transaction { c in
            let current = try c.query("SELECT MAX(version) AS v FROM reference_versions WHERE group_name = $1", [.text(group)])
                .first?.optionalInteger("v") ?? 0
            try c.query("INSERT INTO reference_versions (group_name, version, document, sha256, created_at) VALUES ($1, $2, $3, $4, $5)",
                        [.text(group), .integer(current + 1), .blob(document), .text(sha), .integer(created)])
            return current + 1
        }
        return ReferenceVersion(group: group, version: version, sha256: sha, createdAt: created)
    }

    /// Moves a node to a group; its next round is judged by that group's newest reference.
    public func assignGroup(node nodeID: String, _ assignment: GroupAssignment) throws {
        guard Identifier.isValid(assignment.group) else {
            throw ServiceError.badRequest("bad-group", "group must be 1-64 of A-Z a-z 0-9 . _ -", field: "group")
        }
        try withConnection { c in
            try c.query("UPDATE nodes SET group_name = $2 WHERE id = $1", [.text(nodeID), .text(assignment.group)])
            guard c.changes == 1 else { throw ServiceError.notFound("no enrolled node '\(nodeID)'") }
        }
    }
}
