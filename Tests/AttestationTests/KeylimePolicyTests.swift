import Foundation
import XCTest
import Attestation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Keylime runtime policies: import of a hand-written policy in Keylime's
/// documented format, export from a reference, round trip, and — when a
/// Python with the `keylime` package is available — Keylime's own validator
/// on the exported policy.
final class KeylimePolicyTests: XCTestCase {
    /// A policy as `keylime-policy create runtime` writes it (keylime/ima/types.py RuntimePolicyType).
    private func handWrittenPolicy(_ node: NodeScenario) -> String {
        let keyring = "{\"keyids\": [\(SharedKeys.ima.certificate.imaKeyID)], \"pubkeys\": [\"\(Data(SharedKeys.ima.certificate.publicKey.spkiDER).base64EncodedString())\"]}"
        let escaped = keyring.replacingOccurrences(of: "\"", with: "\\\"")
        return """
        {
          "meta": {"version": 1, "generator": 3, "timestamp": "2026-11-26 23:00:00.000000"},
          "release": 0,
          "digests": {
            "/usr/lib/libfoo.so": ["\(Hex.encode(node.libDigest))"],
            "/usr/sbin/tool": ["\(Hex.encode(TestLogEncoder.fakeDigest(9)))", "\(Hex.encode(node.toolDigest))"],
            "boot_aggregate": ["\(Hex.encode(node.tpm.bootAggregate()))"]
          },
          "excludes": ["/tmp/.*", "^/var/cache/"],
          "keyrings": {".ima": ["\(Hex.encode(Digester.hash(SharedKeys.ima.certificate.der, .sha256)))"]},
          "ima": {"ignored_keyrings": [".builtin_trusted_keys"], "log_hash_alg": "sha1", "dm_policy": null},
          "ima-buf": {"kernel_version": ["\(Hex.encode(Digester.hash(Array(node.kernelRelease.utf8), .sha256)))"]},
          "verification-keys": "\(escaped)"
        }
        """
    }

    func testHandWrittenPolicyImports() throws {
        let node = NodeScenario()
        let policy = try KeylimeRuntimePolicy(parsing: Array(handWrittenPolicy(node).utf8))
        XCTAssertEqual(policy.generator, 3)
        XCTAssertEqual(policy.digests["/usr/sbin/tool"]?.count, 2)
        XCTAssertEqual(policy.excludes, ["/tmp/.*", "^/var/cache/"])
        XCTAssertEqual(policy.ignoredKeyrings, [".builtin_trusted_keys"])
        XCTAssertEqual(policy.logHashAlgorithm, .sha1)

        let reference = try policy.reference()
        XCTAssertEqual(reference.trustStore.certificates.count, 0)
        XCTAssertEqual(reference.verificationKeys.map(\.keyID), [SharedKeys.ima.certificate.imaKeyID])
        XCTAssertEqual(reference.digests.digests(at: FilePath("/usr/sbin/tool"))?.count, 2)
        XCTAssertNil(reference.digests.digests(at: FilePath("boot_aggregate")))
        XCTAssertEqual(reference.bootAggregates, [node.tpm.bootAggregate()])
        XCTAssertTrue(reference.isExcluded(Array("/tmp/x".utf8)))
        XCTAssertTrue(reference.isExcluded(Array("/var/cache/y".utf8)))
        XCTAssertFalse(reference.isExcluded(Array("/usr/tmp/x".utf8)))

        // The node is judged by the imported policy: signatures through
        // verification-keys, files through digests, the key through keyrings.
        node.append([.imaNG("/usr/sbin/tool", digest: node.toolDigest), .imaNG("/tmp/scratch", digest: TestLogEncoder.fakeDigest(40)),
                     .imaBuf(".builtin_trusted_keys", buffer: SharedKeys.rogue.certificate.der)])
        let nonce = newNonce()
        var result = AttestationVerifier(reference: reference)
            .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil)
        XCTAssertPasses(result.verdict)
        XCTAssertEqual(result.verdict.log?.acceptances[.signature], 2)
        XCTAssertEqual(result.verdict.log?.acceptances[.ignoredKeyring], 1)

        node.append([.imaNG("/usr/bin/unknown", digest: TestLogEncoder.fakeDigest(41))])
        result = AttestationVerifier(reference: reference)
            .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil)
        XCTAssertEqual(result.verdict.entryFailures.map(\.displayPath), ["/usr/bin/unknown"])
    }

    func testInvalidPoliciesAreRefusedNamingTheField() {
        let node = NodeScenario()
        let good = handWrittenPolicy(node)
        func check(_ code: ReferenceError.Code, _ field: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try KeylimeRuntimePolicy(parsing: Array(text.utf8)), file: file, line: line) { error in
                let error = error as! ReferenceError
                XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
                XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
            }
        }
        check(.invalidField, "digests./usr/lib/libfoo.so[0]", good.replacingOccurrences(of: Hex.encode(node.libDigest), with: "ABCD"))
        check(.invalidField, "digests./usr/lib/libfoo.so", good.replacingOccurrences(of: "[\"\(Hex.encode(node.libDigest))\"]", with: "[]"))
        check(.invalidPattern, "excludes[1]", good.replacingOccurrences(of: "^/var/cache/", with: "(unclosed"))
        check(.invalidField, "ima.log_hash_alg", good.replacingOccurrences(of: "\"sha1\"", with: "\"md5\""))
        check(.invalidField, "ima.dm_policy", good.replacingOccurrences(of: "\"dm_policy\": null", with: "\"dm_policy\": {}"))
        check(.missingField, "ima.dm_policy", good.replacingOccurrences(of: ", \"dm_policy\": null", with: ""))
        check(.unsupportedVersion, "meta.version", good.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2"))
        check(.missingField, "verification-keys", good.replacingOccurrences(of: "\"verification-keys\"", with: "\"other\""))
        check(.invalidKey, "verification-keys.pubkeys[0]", good.replacingOccurrences(
            of: Data(SharedKeys.ima.certificate.publicKey.spkiDER).base64EncodedString(), with: "AAAA"))
        check(.invalidField, "keyrings", good.replacingOccurrences(of: "\"keyrings\": {", with: "\"keyrings\": [], \"x\": {"))
        // Several bad names: the error names the first in sorted order, whatever the hash order.
        let badDigests = (0..<200).map { "\"/bad/\(String(format: "%03d", $0))\": [\"xyz\"]" }.shuffled().joined(separator: ", ")
        check(.invalidField, "digests./bad/000[0]", good.replacingOccurrences(of: "\"digests\": {", with: "\"digests\": {\(badDigests), "))
        check(.invalidJSON, "", "{")
        check(.invalidField, "payload", "{\"payload\": \"e30=\", \"payloadType\": \"application/vnd.keylime+json\", \"signatures\": []}")
    }

    private func exportedReference(_ node: NodeScenario) throws -> Reference {
        var reference = node.reference
        reference.excludes = [try PathPattern.glob("/var/lib/app/*"), try PathPattern.regex("/opt/scratch/")]
        reference.kernelReleases = [node.kernelRelease]
        reference.keyrings.ignored = [".builtin_trusted_keys"]
        reference.bootAggregates = [node.tpm.bootAggregate()]
        return reference
    }

    func testExportRoundTrip() throws {
        let node = NodeScenario()
        let export = KeylimeRuntimePolicy.export(try exportedReference(node), timestamp: "2026-11-26T23:00:00Z")
        XCTAssertEqual(export.warnings, [])
        let policy = export.policy
        XCTAssertEqual(policy.generator, KeylimeRuntimePolicy.generatorLegacyAllowList)
        XCTAssertEqual(policy.digests["/usr/lib/libfoo.so"], [Hex.encode(node.libDigest)])
        XCTAssertEqual(policy.digests["boot_aggregate"], [Hex.encode(node.tpm.bootAggregate())])
        XCTAssertEqual(policy.keyrings[".ima"], [Hex.encode(SharedKeys.ima.certificate.fingerprintSHA256)])
        // Debian's kernels have no trusted integrity keyring: the certificate goes into _ima, and the log says so.
        XCTAssertEqual(policy.keyrings["_ima"], [Hex.encode(SharedKeys.ima.certificate.fingerprintSHA256)])
        XCTAssertEqual(policy.excludes, ["^/var/lib/app/.*\\Z", "/opt/scratch/"])

        let bytes = policy.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\"dm_policy\":null"), text)
        let reparsed = try KeylimeRuntimePolicy(parsing: bytes)
        XCTAssertEqual(reparsed, policy)

        // The imported export judges the node as the original reference does.
        let imported = try reparsed.reference()
        node.append([.imaNG("/var/lib/app/cache", digest: TestLogEncoder.fakeDigest(60)),
                     .imaNG("/usr/sbin/tool", digest: node.toolDigest)])
        let nonce = newNonce()
        for reference in [try exportedReference(node), imported] {
            XCTAssertPasses(AttestationVerifier(reference: reference)
                .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil).verdict)
        }

        // What Keylime cannot express is named.
        var reference = node.reference
        reference.digests.allow(AlgorithmDigest(.sha256, TestLogEncoder.fakeDigest(1)), at: FilePath(bytes: Array("/bin/\u{1}".utf8) + [0xff]))
        reference.manifestScope = .anyPath
        let warnings = KeylimeRuntimePolicy.export(reference).warnings
        XCTAssertEqual(warnings.count, 3, "\(warnings)")
    }

    func testExportFromManifests() throws {
        let node = NodeScenario()
        let manifest = NodeScenario.manifest(entries: [("/usr/bin/ls", node.lsDigest)])
        let export = KeylimeRuntimePolicy.export(manifests: [manifest], certificates: [SharedKeys.ima.certificate])
        XCTAssertEqual(export.policy.digests, ["/usr/bin/ls": [Hex.encode(node.lsDigest)]])
        let keys = try KeylimeVerificationKeys(parsing: export.policy.verificationKeys)
        XCTAssertEqual(keys.keys.map(\.keyID), [SharedKeys.ima.certificate.imaKeyID])
        XCTAssertTrue(keys.keys[0].publicKey.isSameKey(as: SharedKeys.ima.certificate.publicKey))
    }

    /// Keylime's own code accepts the exported policy: the JSON schema
    /// (`keylime.ima.ima.validate_runtime_policy`), the excludes
    /// (`keylime.common.validators.valid_exclude_list`), `verify_runtime_policy`
    /// and the verification keys (`ImaKeyring.from_string`).
    func testKeylimeValidatorAcceptsTheExport() throws {
        guard let python = Self.keylimePython() else {
            throw XCTSkip("no Python with the keylime package (set SIGNET_KEYLIME_PYTHON, or: python3 -m venv /tmp/kl && "
                          + "/tmp/kl/bin/pip install keylime jsonschema cryptography lark pyyaml packaging)")
        }
        let node = NodeScenario()
        let policy = KeylimeRuntimePolicy.export(try exportedReference(node)).policy
        let dir = TempDir("signet-keylime")
        let path = dir.write("policy.json", policy.encoded())
        let script = Self.gpgShim + """
        import json, sys
        from keylime.ima import ima, file_signatures
        from keylime.common import validators
        raw = open(sys.argv[1], "rb").read()
        policy = json.loads(raw)
        ima.validate_runtime_policy(policy)
        ima.verify_runtime_policy(raw, verify_sig=False)
        _, err = validators.valid_exclude_list(policy["excludes"])
        assert err is None, err
        ring = file_signatures.ImaKeyring.from_string(policy["verification-keys"])
        assert ring is not None
        print(json.dumps(sorted(ring.ringv2.keys())))
        """
        let result = try runProgram(python, ["-c", script, path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[\(SharedKeys.ima.certificate.imaKeyID)]")

        // And Keylime refuses what its schema forbids, as the importer does.
        var broken = policy
        broken.digests["/x"] = ["ABC"]
        let brokenPath = dir.write("broken.json", broken.encoded())
        XCTAssertNotEqual(try runProgram(python, ["-c", script, brokenPath]).status, 0)
        XCTAssertThrowsError(try KeylimeRuntimePolicy(parsing: broken.encoded()))
    }

    /// Keylime's own IMA log validation (`keylime.ima.ima.process_measurement_list`,
    /// with the verification keys as the tenant keyring, as its verifier sets
    /// them up) judges the scenario's log with the exported policy the way
    /// Signet does: the honest log passes, an unsigned unlisted file and a
    /// changed listed file fail, an excluded path passes.
    func testKeylimeJudgesTheExportedPolicyLikeSignet() throws {
        guard let python = Self.keylimePython() else {
            throw XCTSkip("no Python with the keylime package (see testKeylimeValidatorAcceptsTheExport)")
        }
        let node = NodeScenario()
        let policy = KeylimeRuntimePolicy.export(try exportedReference(node)).policy
        let dir = TempDir("signet-keylime")
        let policyPath = dir.write("policy.json", policy.encoded())
        let script = Self.processMeasurementList
        func keylimeEvents() throws -> [[Any]] {
            let logPath = dir.write("ascii_runtime_measurements", node.entries.map { TestLogEncoder.asciiLine($0) }.joined())
            let pcr = Hex.encode(node.tpm.pcrs[.sha1]![10]!)
            let result = try runProgram(python, ["-c", script, policyPath, logPath, pcr])
            XCTAssertEqual(result.status, 0, result.output)
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Any]] ?? []
        }
        func signetFailures() -> [String] {
            let nonce = newNonce()
            return AttestationVerifier(reference: try! exportedReference(node))
                .verify(node.evidence(nonce: nonce), expecting: node.expectations(nonce: nonce), previous: nil)
                .verdict.entryFailures.map(\.displayPath)
        }

        node.append([.imaNG("/var/lib/app/cache", digest: TestLogEncoder.fakeDigest(60))])
        XCTAssertEqual(try keylimeEvents().count, 0, "Keylime rejects the honest log")
        XCTAssertEqual(signetFailures(), [])

        node.append([.imaNG("/tmp/payload", digest: TestLogEncoder.fakeDigest(61)),
                     .imaNG("/usr/lib/libfoo.so", digest: TestLogEncoder.fakeDigest(62))])
        let events = try keylimeEvents()
        let ids = events.compactMap { $0.first as? String }
        XCTAssertEqual(ids, ["ima.validation.ima-ng.not_in_allowlist", "ima.validation.ima-ng.runtime_policy_hash"], "\(events)")
        XCTAssertTrue("\(events)".contains("/tmp/payload"))
        XCTAssertEqual(signetFailures(), ["/tmp/payload", "/usr/lib/libfoo.so"])
    }

    /// A boot as on Debian's kernels (the certificate loaded into `_ima` from userspace): Keylime
    /// accepts the key entry with the default export, and rejects it when the export names only `.ima`.
    func testKeylimeAcceptsTheUnderscoreImaKeyringOfKernelsWithoutATrustedKeyring() throws {
        guard let python = Self.keylimePython() else {
            throw XCTSkip("no Python with the keylime package (see testKeylimeValidatorAcceptsTheExport)")
        }
        let node = NodeScenario()
        node.tpm.reboot()
        node.entries = []
        node.append([.bootAggregate(node.tpm.bootAggregate()),
                     .imaBuf("kernel_version", buffer: Array(node.kernelRelease.utf8)),
                     .imaBuf("_ima", buffer: SharedKeys.ima.certificate.der),
                     node.signed("/usr/bin/ls", node.lsDigest)])
        let dir = TempDir("signet-keylime")
        let script = Self.processMeasurementList
        let logPath = dir.write("ascii_runtime_measurements", node.entries.map { TestLogEncoder.asciiLine($0) }.joined())
        func keylime(_ reference: Reference) throws -> String {
            let path = dir.write("policy.json", KeylimeRuntimePolicy.export(reference).policy.encoded())
            let result = try runProgram(python, ["-c", script, path, logPath, Hex.encode(node.tpm.pcrs[.sha1]![10]!)])
            XCTAssertEqual(result.status, 0, result.output)
            let events = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Any]] ?? []
            return "\(events.compactMap { $0.first as? String })"
        }
        var reference = try exportedReference(node)
        XCTAssertEqual(try keylime(reference), "[]")
        reference.keyrings.allowed = [".ima"]
        XCTAssertNotEqual(try keylime(reference), "[]", "a policy without _ima must not accept the _ima key entry")
        // Without boot_aggregate values Keylime rejects the boot_aggregate entry (the export warns).
        reference.keyrings.allowed = nil
        reference.bootAggregates = []
        XCTAssertTrue(KeylimeRuntimePolicy.export(reference).warnings.contains { $0.contains("boot_aggregate") })
        XCTAssertNotEqual(try keylime(reference), "[]")
    }

    /// Runs Keylime's `ima.process_measurement_list` (with the policy's verification keys as the
    /// tenant keyring, as its verifier sets them up) on argv: policy file, ASCII log, PCR 10 (sha1
    /// hex); prints the failure events as `[[event_id, context], …]`.
    static let processMeasurementList = gpgShim + """
    import json, sys
    from keylime.ima import ima, file_signatures
    from keylime.agentstates import AgentAttestState
    from keylime.common.algorithms import Hash
    policy = json.load(open(sys.argv[1]))
    lines = open(sys.argv[2]).read().split("\\n")
    state = AgentAttestState("node-1")
    keyrings = state.get_ima_keyrings()
    keyrings.set_tenant_keyring(file_signatures.ImaKeyring.from_string(policy["verification-keys"]))
    _, failure = ima.process_measurement_list(state, lines, policy, sys.argv[3], keyrings, None, Hash.SHA1)
    print(json.dumps([[e.event_id, json.loads(e.context)] for e in failure.events]))
    """

    /// keylime/signing.py imports `gpg` (python3-gpg, built against gpgme,
    /// not on PyPI) at module load, though only GPG-signed policies use it.
    /// When it is missing, an empty stand-in lets the schema code load; no
    /// GPG function is called by the checks below.
    static let gpgShim = """
    import sys, types
    try:
        import gpg
    except ImportError:
        sys.modules["gpg"] = types.ModuleType("gpg")

    """

    /// A Python interpreter that can import keylime, or nil.
    static func keylimePython() -> String? {
        var candidates = ["/tmp/kl/bin/python3"]
        if let configured = ProcessInfo.processInfo.environment["SIGNET_KEYLIME_PYTHON"] { candidates.insert(configured, at: 0) }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if let result = try? runProgram(candidate, ["-c", gpgShim + "import keylime.ima.ima"]), result.status == 0 {
                return candidate
            }
        }
        return nil
    }
}
