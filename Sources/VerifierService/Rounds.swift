#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Attestation
import IMAFormat
import SQLStore
import SignetCrypto
import TPM
import VerifierAPI

extension VerifierCore {
    /// A fresh single-use nonce for the node's next round, and where its log should start: the
    /// stored position, or entry 0 when the node booted again (another boot id) or never passed.
    public func issueNonce(node nodeID: String, token: [UInt8]?, _ request: NonceRequest) throws -> NonceResponse {
        guard !request.bootID.isEmpty, request.bootID.utf8.count <= 128 else {
            throw ServiceError.badRequest("bad-boot-id", "boot_id must be 1-128 characters", field: "boot_id")
        }
        let nonce = Hex.encode(SecureRandom.bytes(32))
        let issued = now()
        let expires = issued + configuration.nonceLifetimeMs
        return try withConnection { c in
            let node = try authenticatedNode(nodeID, token: token, on: c)
            var from = (entry: 0, offset: 0)
            if node.bootID == request.bootID, let state = Self.storedState(node) {
                from = (state.nextEntry, state.nextOffset)
            }
            try c.query("""
                INSERT INTO nonces (nonce, node_id, issued_at, expires_at, from_entry, from_offset, node_round)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """, [.text(nonce), .text(nodeID), .integer(issued), .integer(expires), .integer(Int64(from.entry)),
                      .integer(Int64(from.offset)), .integer(node.round)])
            return NonceResponse(nonce: nonce, expiresAt: expires, fromEntry: from.entry, fromOffset: from.offset)
        }
    }

    /// One attestation round: claims the evidence's nonce (single use, this node's, unexpired),
    /// verifies quote, log and entries against the node's group reference, then stores the
    /// verdict and the new state in one transaction guarded by the node's round number, so two
    /// verifiers never both record a round and no update is lost. A refused request stores nothing.
    public func attest(node nodeID: String, token: [UInt8]?, evidence bytes: [UInt8]) throws -> AttestationResponse {
        let started = monotonicNanos()
        let evidence = try Self.decodeEvidence(bytes)
        let nonceHex = Hex.encode(evidence.nonce)
        let claimedAt = now()

        // 1. Authenticate and claim the nonce: one statement each, no transaction (the claim is a
        //    single atomic UPDATE), so verifying holds no lock.
        let node: NodeRecord = try withConnection { c in
            let node = try authenticatedNode(nodeID, token: token, on: c, withReference: true)
            try c.query("""
                UPDATE nonces SET claimed_by = $3, claimed_at = $4
                WHERE nonce = $1 AND node_id = $2 AND claimed_at IS NULL AND expires_at >= $4
                """, [.text(nonceHex), .text(nodeID), .text(configuration.instanceID), .integer(claimedAt)])
            if c.changes == 1 { return node }
            throw try nonceRefusal(nonceHex, node: nodeID, at: claimedAt, on: c)
        }

        // 2. Verify (CPU only, no database).
        let previous = Self.storedState(node)
        let akArea: TPMPublic
        do { akArea = try TPMPublic(tpm2bPublic: node.attestationKey) } catch {
            throw ServiceError(500, "bad-stored-ak", "the stored AK of \(nodeID) does not parse: \(error)")
        }
        let (referenceVersion, verifier) = try references.verifier(forGroup: node.group, version: node.latestReferenceVersion, core: self)
        let result = verifier.verify(evidence, expecting: AttestationExpectations(nonce: evidence.nonce, attestationKey: .publicArea(akArea)),
                                     previous: previous)
        let verdict = result.verdict
        let passed = verdict.passed
        let newState: String? = passed ? Self.encodeState(result.state) : node.state
        let firstFailure = Self.firstFailure(verdict)
        let verdictJSON = verdict.jsonReport()
        let status = passed ? "pass" : "fail"
        let verifiedAt = now()
        let durationUs = Int64((monotonicNanos() - started) / 1000)
        let next = result.state.map { ($0.nextEntry, $0.nextOffset) } ?? previous.map { ($0.nextEntry, $0.nextOffset) } ?? (0, 0)

        configuration.beforeCommitForTesting?()

        // 3. Store verdict and state, only if no other round for this node committed meanwhile.
        let round: Int64 = try transaction { c in
            try c.query("""
                UPDATE nodes SET round = round + 1, status = $3, state = $4, boot_id = $5, last_attestation_at = $6,
                    reference_version = $7, first_failure = $8
                WHERE id = $1 AND round = $2
                """, [.text(nodeID), .integer(node.round), .text(status), newState.map { .text($0) } ?? .null,
                      .text(passed ? evidence.node.bootID : (node.bootID ?? evidence.node.bootID)), .integer(verifiedAt),
                      referenceVersion.map { .integer($0) } ?? .null, firstFailure.map { .text($0) } ?? .null])
            guard c.changes == 1 else {
                try c.query("DELETE FROM nonces WHERE nonce = $1", [.text(nonceHex)])
                throw ServiceError.conflict("concurrent-round", "another round for \(nodeID) was recorded meanwhile; ask for a new nonce")
            }
            let round = node.round + 1
            try c.query("""
                INSERT INTO attestations (node_id, round, nonce, verified_at, passed, group_name, reference_version, first_entry,
                    judged_entries, first_failure, verdict, verifier, duration_us)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                """, [.text(nodeID), .integer(round), .text(nonceHex), .integer(verifiedAt), .integer(passed ? 1 : 0), .text(node.group),
                      referenceVersion.map { .integer($0) } ?? .null, verdict.log.map { .integer(Int64($0.firstEntry)) } ?? .null,
                      verdict.log.map { .integer(Int64($0.judgedEntries)) } ?? .null, firstFailure.map { .text($0) } ?? .null,
                      .blob(verdictJSON), .text(configuration.instanceID), .integer(durationUs)])
            try c.query("DELETE FROM nonces WHERE nonce = $1", [.text(nonceHex)])
            if node.status != status {
                try enqueueStatusEvent(NodeStatusEvent(nodeID: nodeID, group: node.group, previousStatus: node.status, status: status,
                                                       at: verifiedAt, round: round, firstFailure: firstFailure), on: c)
            }
            return round
        }
        metrics.recordAttestation(passed: passed, seconds: Double(durationUs) / 1e6)
        return AttestationResponse(nodeID: nodeID, round: round, passed: passed, group: node.group, referenceVersion: referenceVersion,
                                   firstFailure: firstFailure, nextEntry: next.0, nextOffset: next.1,
                                   verdict: String(decoding: verdictJSON, as: UTF8.self))
    }

    /// Why a nonce could not be claimed, as the status a client should get.
    func nonceRefusal(_ nonce: String, node: String, at: Int64, on c: any SQLConnection) throws -> ServiceError {
        if try !c.query("SELECT 1 FROM attestations WHERE nonce = $1", [.text(nonce)]).isEmpty {
            return .conflict("evidence-replayed", "this nonce was already used for a verdict: evidence is single-use")
        }
        guard let row = try c.query("SELECT node_id, expires_at, claimed_at FROM nonces WHERE nonce = $1", [.text(nonce)]).first else {
            return .conflict("nonce-unknown", "the evidence's nonce was not issued by this verifier (or was withdrawn); ask for a new nonce")
        }
        if try row.text("node_id") != node {
            return ServiceError(403, "nonce-other-node", "the evidence's nonce was issued to another node")
        }
        if try row.optionalInteger("claimed_at") != nil {
            return .conflict("nonce-in-use", "this nonce is already being verified (a duplicate submission)")
        }
        return .conflict("nonce-expired", "the nonce expired at \(try row.integer("expires_at")) ms; ask for a new one")
    }

    /// The node's stored state, when it is usable: strict JSON, and bound to the node's enrolled
    /// AK. A state bound to another AK (the node re-enrolled with a new one) or to none (written
    /// before states were bound) is not used: the node is asked for its log from entry 0, and
    /// the full replay's state replaces it.
    static func storedState(_ node: NodeRecord) -> AttestationState? {
        guard let json = node.state, let state = try? AttestationState.decode(Array(json.utf8)),
              let ak = try? TPMPublic(tpm2bPublic: node.attestationKey).publicKey(), state.isBound(to: ak) else { return nil }
        return state
    }

    static func decodeEvidence(_ bytes: [UInt8]) throws -> Evidence {
        do { return try Evidence.decode(bytes) } catch {
            throw ServiceError.badRequest("bad-evidence", "\(error)")
        }
    }

    static func encodeState(_ state: AttestationState?) -> String? {
        guard let state else { return nil }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        guard let data = try? e.encode(state) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// One line for a person: the first failing entry, else the first reason.
    static func firstFailure(_ verdict: Verdict) -> String? {
        if let f = verdict.entryFailures.first {
            return "entry \(f.entryIndex) \(f.displayPath): \(f.code.rawValue)"
        }
        if let r = verdict.reasons.first { return "\(r.code.rawValue): \(r.message)" }
        return nil
    }
}
