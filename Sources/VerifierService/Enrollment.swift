import Attestation
import IMAFormat
import SQLStore
import SignetCrypto
import TPM
import VerifierAPI

extension VerifierCore {
    /// Step 1 of enrolment: checks the AK is a restricted signing key of a TPM and the EK is
    /// admitted, then returns a MakeCredential challenge bound to the AK's name and encrypted
    /// to the EK. Only the TPM holding both keys can open it.
    public func enroll(_ request: EnrollmentRequest) throws -> EnrollmentChallenge {
        guard Identifier.isValid(request.nodeID) else {
            throw ServiceError.badRequest("bad-node-id", "node id must be 1-64 of A-Z a-z 0-9 . _ - (not starting with '.')", field: "node_id")
        }
        let ekBytes = try Base64.field(request.endorsementKey, "ek_public", limit: 4096)
        let akBytes = try Base64.field(request.attestationKey, "ak_public", limit: 4096)
        let ekCertificate = try request.endorsementCertificate.map {
            try Base64.field($0, "ek_certificate", limit: configuration.maxEKCertificateBytes)
        }
        if let ekCertificate, ekCertificate.count > configuration.maxEKCertificateBytes {
            throw ServiceError.badRequest("too-large", "ek_certificate is larger than \(configuration.maxEKCertificateBytes) bytes", field: "ek_certificate")
        }
        let ek: TPMPublic, ak: TPMPublic
        do { ek = try TPMPublic(tpm2bPublic: ekBytes) } catch {
            throw ServiceError.badRequest("bad-ek", "ek_public is not a TPM2B_PUBLIC: \(error)", field: "ek_public")
        }
        do { ak = try TPMPublic(tpm2bPublic: akBytes) } catch {
            throw ServiceError.badRequest("bad-ak", "ak_public is not a TPM2B_PUBLIC: \(error)", field: "ak_public")
        }
        do { try AttestationKeyRequirements.check(ak) } catch {
            throw ServiceError.badRequest("bad-ak", "ak_public is not an attestation key: \(error)", field: "ak_public")
        }
        try admit(ek: ek, certificate: ekCertificate)
        let akName: [UInt8]
        do { akName = try ak.name() } catch {
            throw ServiceError.badRequest("bad-ak", "ak_public has no TPM name: \(error)", field: "ak_public")
        }
        let credential = SecureRandom.bytes(32)
        let challenge: CredentialChallenge
        do { challenge = try MakeCredential.make(credential: credential, objectName: akName, endorsementKey: ek) } catch {
            throw ServiceError.badRequest("bad-ek", "cannot encrypt a credential to ek_public: \(error)", field: "ek_public")
        }
        let id = Hex.encode(SecureRandom.bytes(16))
        let created = now()
        let expires = created + configuration.enrollmentLifetimeMs
        try transaction { c in
            // One enrolment at a time decides on the caps (SQLite: BEGIN IMMEDIATE already serializes writers).
            if database.dialect == .postgres { try c.query("LOCK TABLE enrollments IN SHARE ROW EXCLUSIVE MODE", []) }
            // A node id already enrolled with another EK is a different machine claiming it.
            if let existing = try c.query("SELECT ek_public FROM nodes WHERE id = $1", [.text(request.nodeID)]).first,
               try existing.blob("ek_public") != ekBytes {
                throw ServiceError.conflict("node-id-taken", "node '\(request.nodeID)' is enrolled with another endorsement key")
            }
            try c.query("DELETE FROM enrollments WHERE expires_at < $1", [.integer(created)])
            // At most maxPendingEnrollmentsPerNode per node id (the newest replace the oldest), and at
            // most maxPendingEnrollments in all.
            let pending = try c.query("SELECT id FROM enrollments WHERE node_id = $1 ORDER BY created_at, id",
                                      [.text(request.nodeID)]).map { try $0.text("id") }
            let replaced = max(0, pending.count - configuration.maxPendingEnrollmentsPerNode + 1)
            for old in pending.prefix(replaced) { try c.query("DELETE FROM enrollments WHERE id = $1", [.text(old)]) }
            if replaced == 0, let row = try c.query("SELECT COUNT(*) AS n FROM enrollments", []).first,
               try row.integer("n") >= Int64(configuration.maxPendingEnrollments) {
                throw ServiceError(503, "enrollment-capacity",
                                   "\(configuration.maxPendingEnrollments) enrolments are pending, the most this verifier keeps; retry later",
                                   retryAfterSeconds: 30)
            }
            try c.query("""
                INSERT INTO enrollments (id, node_id, ek_public, ek_certificate, ak_public, credential_sha256, created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """, [.text(id), .text(request.nodeID), .blob(ekBytes), ekCertificate.map { .blob($0) } ?? .null, .blob(akBytes),
                      .blob(Digester.hash(credential, .sha256)), .integer(created), .integer(expires)])
        }
        return EnrollmentChallenge(enrollmentID: id, credentialBlob: Base64.encode(challenge.credentialBlob),
                                   encryptedSecret: Base64.encode(challenge.encryptedSecret), expiresAt: expires)
    }

    /// Step 2: the node sends the opened credential. A match enrols the node (or re-enrols it
    /// with a new AK); the credential becomes its bearer token. Single use.
    public func activate(enrollmentID: String, _ request: ActivationRequest) throws -> EnrollmentResult {
        let credential = try Base64.field(request.credential, "credential", limit: 64)
        let at = now()
        return try transaction { c in
            guard let row = try c.query("""
                SELECT node_id, ek_public, ek_certificate, ak_public, credential_sha256, expires_at FROM enrollments WHERE id = $1
                """, [.text(enrollmentID)]).first else {
                throw ServiceError.notFound("no enrolment '\(enrollmentID)' (expired, answered, or never started)")
            }
            guard try row.integer("expires_at") >= at else {
                try c.query("DELETE FROM enrollments WHERE id = $1", [.text(enrollmentID)])
                throw ServiceError.conflict("enrollment-expired", "the enrolment challenge expired; enrol again")
            }
            guard constantTimeEqual(Digester.hash(credential, .sha256), try row.blob("credential_sha256")) else {
                throw ServiceError(403, "wrong-credential", "the credential does not match the challenge: not the TPM holding this EK and AK")
            }
            let nodeID = try row.text("node_id")
            try c.query("DELETE FROM enrollments WHERE id = $1", [.text(enrollmentID)])
            let existing = try NodeRecord.load(nodeID, on: c)
            let group = existing?.group ?? "default"
            if existing != nil {
                // Re-enrolment (new AK, e.g. after the agent's state was lost): the log history stays,
                // the old token and any open nonces stop working.
                try c.query("UPDATE nodes SET ak_public = $2, token_sha256 = $3 WHERE id = $1",
                            [.text(nodeID), .blob(try row.blob("ak_public")), .blob(Digester.hash(credential, .sha256))])
                try c.query("DELETE FROM nonces WHERE node_id = $1", [.text(nodeID)])
            } else {
                try c.query("""
                    INSERT INTO nodes (id, group_name, ek_public, ek_certificate, ak_public, token_sha256, enrolled_at, round, status)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'enrolled')
                    """, [.text(nodeID), .text(group), .blob(try row.blob("ek_public")), row.value("ek_certificate"),
                          .blob(try row.blob("ak_public")), .blob(Digester.hash(credential, .sha256)), .integer(at)])
            }
            return EnrollmentResult(nodeID: nodeID, group: group)
        }
    }

    func ekPublicKey(_ ek: TPMPublic) throws -> PublicKey {
        do { return try ek.publicKey() } catch {
            throw ServiceError.badRequest("bad-ek", "ek_public holds no usable public key: \(error)", field: "ek_public")
        }
    }

    /// The enrolment policy: open, or an EK certificate chaining to a configured CA and naming this EK.
    func admit(ek: TPMPublic, certificate: [UInt8]?) throws {
        guard case .endorsementCA(let cas) = configuration.enrollment else { return }
        guard let certificate else {
            throw ServiceError(403, "ek-not-admitted", "this verifier admits only TPMs with an EK certificate from its EK CA; none was sent", field: "ek_certificate")
        }
        let leaf: Certificate
        do {
            guard let first = try Certificate.parseAll(certificate, source: "ek_certificate").first else {
                throw ServiceError.badRequest("bad-ek-certificate", "ek_certificate holds no certificate", field: "ek_certificate")
            }
            leaf = first
        } catch let error as ServiceError { throw error } catch {
            throw ServiceError.badRequest("bad-ek-certificate", "\(error)", field: "ek_certificate")
        }
        guard leaf.publicKey.isSameKey(as: try ekPublicKey(ek)) else {
            throw ServiceError(403, "ek-not-admitted", "the EK certificate is for another key than ek_public", field: "ek_certificate")
        }
        let anchors = cas.flatMap { (try? Certificate.parseAll($0, source: "EK CA")) ?? [] }
        do { try leaf.verifyChain(anchors: anchors) } catch {
            throw ServiceError(403, "ek-not-admitted", "the EK certificate \(error)", field: "ek_certificate")
        }
    }
}
