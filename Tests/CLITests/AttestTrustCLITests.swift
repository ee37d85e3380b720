import XCTest
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// Issue 13, findings 1, 2, 3 and 9 through `signet attest verify`, as a hostile node would try
/// them: real quotes from swtpm, evidence edited as JSON.
extension AttestCLITests {
    /// A node that booted and ran program a, its evidence for `nonce`, and the reference.
    private func honestRound(nonce: String) throws -> (agent: String, evidence: String, reference: [String], log: String) {
        let (keys, a, manifest, agent) = try signedTreeAndEnrolledAgent()
        let log = dir.url("binary_runtime_measurements")
        let bootAggregate = Digester.hash([UInt8](repeating: 0, count: 32 * 10), .sha256)
        try measure([entry(path: "boot_aggregate", digest: bootAggregate),
                     entry(path: "/usr/bin/a", digest: Digester.hash(try FileBytes.read(a), .sha256))], into: log)
        let evidence = dir.url("evidence.json")
        let q = try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agent, "--nonce", nonce, "--log", log, "--out", evidence])
        XCTAssertEqual(q.status, 0, q.output)
        return (agent, evidence, ["--cert", keys.certPath, "--manifest", manifest], log)
    }

    private func document(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try FileBytes.read(path))) as? [String: Any])
    }

    @discardableResult
    private func write(_ object: [String: Any], _ name: String) throws -> String {
        let path = dir.url(name)
        try FileBytes.writeAtomically(Array(try JSONSerialization.data(withJSONObject: object)), to: path, mode: 0o644)
        return path
    }

    private func fingerprint(pem path: String) throws -> String {
        "sha256:" + Hex.encode(Digester.hash(try PublicKey.decode(pem: try FileBytes.read(path)).spkiDER, .sha256))
    }

    /// Finding 1: a quote signed by a TPM key that is not restricted, sent with that key's own
    /// TPM2B_PUBLIC (restricted=0), passed with `--ak key.pem`. Now refused whatever form the AK
    /// is given in; a PEM AK needs the evidence's TPM2B_PUBLIC, and must be the same key.
    func testAnUnrestrictedTPMKeyIsRefusedAsAKGivenAsPEMOrPublicArea() throws {
        let nonce = "6e6f6e63652d6f6e65"
        let (agent, evidence, reference, _) = try honestRound(nonce: nonce)
        let honest = try signet(["attest", "verify", evidence, "--nonce", nonce, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(honest.status, 0, honest.output)

        // The hostile node makes an ordinary (unrestricted) signing key in its TPM and quotes with it.
        let k = dir.url("unrestricted")
        dir.mkdir("unrestricted")
        try swtpm.tool("tpm2_createprimary", ["-C", "o", "-g", "sha256", "-G", "rsa", "-c", "primary.ctx"], in: k)
        try swtpm.tool("tpm2_create", ["-C", "primary.ctx", "-G", "rsa2048:rsassa-sha256:null", "-a",
                                       "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign",
                                       "-u", "key.pub", "-r", "key.priv"], in: k)
        try swtpm.tool("tpm2_flushcontext", ["-t"])
        try swtpm.tool("tpm2_load", ["-C", "primary.ctx", "-u", "key.pub", "-r", "key.priv", "-c", "key.ctx"], in: k)
        try swtpm.tool("tpm2_flushcontext", ["-t"])
        try swtpm.tool("tpm2_quote", ["-c", "key.ctx", "-l", "sha256:0,1,2,3,4,5,6,7,8,9,10", "-q", nonce,
                                      "-m", "quote.msg", "-s", "quote.sig", "-g", "sha256"], in: k)
        try swtpm.tool("tpm2_readpublic", ["-c", "key.ctx", "-f", "pem", "-o", "key.pem"], in: k)
        try swtpm.tool("tpm2_flushcontext", ["-t"])

        var forged = try document(evidence)
        forged["quote"] = ["attest": Data(try FileBytes.read("\(k)/quote.msg")).base64EncodedString(),
                           "signature": Data(try FileBytes.read("\(k)/quote.sig")).base64EncodedString()]
        forged["ak"] = ["tpm2b_public": Data(try FileBytes.read("\(k)/key.pub")).base64EncodedString(),
                        "pem": String(decoding: try FileBytes.read("\(k)/key.pem"), as: UTF8.self)]
        let forgedPath = try write(forged, "forged.json")
        for ak in ["\(k)/key.pem", "\(k)/key.pub"] {
            let r = try signet(["attest", "verify", forgedPath, "--nonce", nonce, "--ak", ak] + reference)
            XCTAssertEqual(r.status, 1, "--ak \(ak): \(r.output)")
            XCTAssertTrue(r.stdout.contains("[ak-invalid]") && r.stdout.contains("restricted"), "--ak \(ak): \(r.stdout)")
        }

        // Without its TPM2B_PUBLIC, a PEM AK's attributes cannot be checked: refused.
        var pemOnly = forged
        pemOnly["ak"] = ["pem": String(decoding: try FileBytes.read("\(k)/key.pem"), as: UTF8.self)]
        let r = try signet(["attest", "verify", try write(pemOnly, "pem-only.json"), "--nonce", nonce, "--ak", "\(k)/key.pem"] + reference)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("[ak-public-area-missing]"), r.stdout)

        // The honest evidence with a different or a corrupted ak.pem next to its TPM2B_PUBLIC.
        let otherPEM = String(decoding: try FileBytes.read("\(k)/key.pem"), as: UTF8.self)
        let corruptPEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAbroken\n-----END PUBLIC KEY-----\n"
        for (name, pem) in [("other", otherPEM), ("corrupt", corruptPEM)] {
            var edited = try document(evidence)
            var ak = try XCTUnwrap(edited["ak"] as? [String: Any])
            XCTAssertNotNil(ak["tpm2b_public"])
            ak["pem"] = pem
            edited["ak"] = ak
            let path = try write(edited, "\(name)-pem.json")
            for given in ["\(agent)/ak.pem", "\(agent)/ak.pub"] {
                let v = try signet(["attest", "verify", path, "--nonce", nonce, "--ak", given] + reference)
                XCTAssertEqual(v.status, 1, "\(name) ak.pem, --ak \(given): \(v.output)")
                XCTAssertTrue(v.stdout.contains("[ak-mismatch]"), "\(name) ak.pem, --ak \(given): \(v.stdout)")
            }
        }
    }

    /// Finding 3: the evidence's nonce field must be the round's nonce, as the quote's extraData is.
    func testTheEvidencesNonceFieldMustMatchTheRound() throws {
        let nonce = "6e6f6e63652d74776f"
        let (agent, evidence, reference, _) = try honestRound(nonce: nonce)
        var edited = try document(evidence)
        edited["nonce"] = "00112233445566778899"
        let path = try write(edited, "other-nonce.json")
        let r = try signet(["attest", "verify", path, "--nonce", nonce, "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("[evidence-nonce-mismatch]") && r.stdout.contains("00112233445566778899"), r.stdout)
        // Verified against the evidence's own nonce: the quote's extraData says otherwise.
        let other = try signet(["attest", "verify", path, "--nonce", "00112233445566778899", "--ak", "\(agent)/ak.pem"] + reference)
        XCTAssertEqual(other.status, 1, other.output)
        XCTAssertTrue(other.stdout.contains("[nonce-mismatch]"), other.stdout)
    }

    /// Finding 9: another node's state file was replaced after a full replay. States are bound to
    /// the AK: a mismatch is refused naming both fingerprints, and the file is left alone.
    func testAStateFileIsBoundToTheNodesAK() throws {
        let nonce1 = "73746174652d6f6e65"
        let (agent, evidence, reference, log) = try honestRound(nonce: nonce1)
        let state = dir.url("node-a.state")
        let first = try signet(["attest", "verify", evidence, "--nonce", nonce1, "--ak", "\(agent)/ak.pem", "--state", state] + reference)
        XCTAssertEqual(first.status, 0, first.output)
        let stateA = try FileBytes.read(state)
        let fingerprintA = try fingerprint(pem: "\(agent)/ak.pem")
        XCTAssertEqual((try document(state))["attestationKeyFingerprint"] as? String, fingerprintA)

        // Node B (another AK) verified with node A's state: refused, both fingerprints named, A's state untouched.
        let agentB = dir.url("agent-b")
        XCTAssertEqual(try signet(["agent", "enroll", "--tcti", swtpm.tcti, "--out", agentB]).status, 0)
        let fingerprintB = try fingerprint(pem: "\(agentB)/ak.pem")
        XCTAssertNotEqual(fingerprintA, fingerprintB)
        let nonce2 = "73746174652d74776f"
        let evidenceB = dir.url("evidence-b.json")
        XCTAssertEqual(try signet(["agent", "quote", "--tcti", swtpm.tcti, "--ak", agentB, "--nonce", nonce2, "--log", log,
                                   "--out", evidenceB]).status, 0)
        let stateless = try signet(["attest", "verify", evidenceB, "--nonce", nonce2, "--ak", "\(agentB)/ak.pem"] + reference)
        XCTAssertEqual(stateless.status, 0, "node B's own round passes: \(stateless.output)")
        let foreign = try signet(["attest", "verify", evidenceB, "--nonce", nonce2, "--ak", "\(agentB)/ak.pem", "--state", state] + reference)
        XCTAssertEqual(foreign.status, 1, foreign.output)
        XCTAssertTrue(foreign.stdout.contains("[state-ak-mismatch]"), foreign.stdout)
        XCTAssertTrue(foreign.stdout.contains(fingerprintA) && foreign.stdout.contains(fingerprintB), foreign.stdout)
        XCTAssertEqual(try FileBytes.read(state), stateA, "the other node's state is not replaced")

        // A state file from before the binding (version 1, no fingerprint): refused, saying how to start over.
        var legacy = try document(state)
        legacy.removeValue(forKey: "attestationKeyFingerprint")
        legacy["version"] = 1
        let legacyPath = try write(legacy, "legacy.state")
        let old = try signet(["attest", "verify", evidence, "--nonce", nonce1, "--ak", "\(agent)/ak.pem", "--state", legacyPath] + reference)
        XCTAssertEqual(old.status, 1, old.output)
        XCTAssertTrue(old.stdout.contains("[state-ak-mismatch]") && old.stdout.contains("move the state file away"), old.stdout)
        unlink(legacyPath)
        let fresh = try signet(["attest", "verify", evidence, "--nonce", nonce1, "--ak", "\(agent)/ak.pem", "--state", legacyPath] + reference)
        XCTAssertEqual(fresh.status, 0, fresh.output)
        XCTAssertEqual((try document(legacyPath))["attestationKeyFingerprint"] as? String, fingerprintA)

        // A state file with a key twice: not a state (exit 2), naming the key.
        var text = String(decoding: stateA, as: UTF8.self)
        text.insert(contentsOf: "\"nextEntry\":0,", at: text.index(after: text.startIndex))
        let doubled = dir.write("doubled.state", text)
        let dup = try signet(["attest", "verify", evidence, "--nonce", nonce1, "--ak", "\(agent)/ak.pem", "--state", doubled] + reference)
        XCTAssertEqual(dup.status, 2, dup.output)
        XCTAssertTrue(dup.stderr.contains("duplicate key") && dup.stderr.contains("nextEntry"), dup.stderr)
    }

    /// Finding 2 and the format doc: evidence with a key twice, a byte order mark, `version: 1.0`,
    /// upper-case PCR hex or unpadded base64 is not evidence (exit 2, naming the field).
    func testEvidenceMustBeStrictJSONAsDocumented() throws {
        let nonce = "7374726963742d6f6e65"
        let (agent, evidence, reference, _) = try honestRound(nonce: nonce)
        let text = String(decoding: try FileBytes.read(evidence), as: UTF8.self)
        func verify(_ bytes: [UInt8], _ name: String) throws -> ProcessResult {
            let path = dir.url(name)
            try FileBytes.writeAtomically(bytes, to: path, mode: 0o644)
            return try signet(["attest", "verify", path, "--nonce", nonce, "--ak", "\(agent)/ak.pem"] + reference)
        }
        // A second ima_log in front with an empty log: Foundation read the first, Python the last.
        var doubled = text
        doubled.insert(contentsOf: "\"ima_log\":{\"data\":\"\"},", at: doubled.index(after: doubled.startIndex))
        let dup = try verify(Array(doubled.utf8), "doubled.json")
        XCTAssertEqual(dup.status, 2, dup.output)
        XCTAssertTrue(dup.stderr.contains("ima_log") && dup.stderr.contains("duplicate key"), dup.stderr)

        let bom = try verify([0xEF, 0xBB, 0xBF] + Array(text.utf8), "bom.json")
        XCTAssertEqual(bom.status, 2, bom.output)
        XCTAssertTrue(bom.stderr.contains("byte order mark"), bom.stderr)

        let version = try verify(Array(text.replacingOccurrences(of: "\"version\":1", with: "\"version\":1.0").utf8), "version.json")
        XCTAssertEqual(version.status, 2, version.output)
        XCTAssertTrue(version.stderr.contains("version"), version.stderr)

        var object = try document(evidence)
        var pcrs = try XCTUnwrap(object["pcrs"] as? [String: [String: String]])
        pcrs["sha256"] = pcrs["sha256"]!.mapValues { $0.uppercased() }
        object["pcrs"] = pcrs
        let upper = try verify(Array(try JSONSerialization.data(withJSONObject: object)), "upper.json")
        XCTAssertEqual(upper.status, 2, upper.output)
        XCTAssertTrue(upper.stderr.contains("pcrs.sha256.") && upper.stderr.contains("lower-case"), upper.stderr)

        object = try document(evidence)
        var quote = try XCTUnwrap(object["quote"] as? [String: Any])
        let signature = try XCTUnwrap(quote["signature"] as? String)
        // An RSA-2048 TPMT_SIGNATURE is 262 bytes: base64 ends in "==".
        XCTAssertTrue(signature.hasSuffix("="), signature)
        quote["signature"] = signature.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        object["quote"] = quote
        let unpadded = try verify(Array(try JSONSerialization.data(withJSONObject: object)), "unpadded.json")
        XCTAssertEqual(unpadded.status, 2, unpadded.output)
        XCTAssertTrue(unpadded.stderr.contains("quote.signature"), unpadded.stderr)
    }
}
