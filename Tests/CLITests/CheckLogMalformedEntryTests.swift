import Foundation
import XCTest
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `signet attest check-log` on hostile entries (issue 13 findings 4 and 5):
/// a digest whose algorithm is unknown or whose length is not its
/// algorithm's, and a name with a NUL inside or without its terminating NUL,
/// are `malformed-entry` failures, never accepted through a manifest or
/// Keylime digest with the same bytes; the rest of the log is judged.
final class CheckLogMalformedEntryTests: XCTestCase {
    func testCheckLogRefusesAlgorithmConfusionAndHiddenNames() throws {
        let dir = TempDir("signet-check-log-malformed")
        let keys = try KeyFixture(in: dir)
        let a = dir.write("tree/usr/bin/a", "program a", mode: 0o755)
        let manifest = dir.url("m.jsonl")
        let signed = try runProgram(signetBinary, ["sign", "--key", keys.keyPath, "--cert", keys.certPath, "--manifest", manifest, dir.url("tree")])
        XCTAssertEqual(signed.status, 0, signed.output)
        let aDigest = Digester.hash(try FileBytes.read(a), .sha256)
        // A Keylime policy lists /usr/bin/old with a SHA-1 digest (40 hex digits).
        let oldDigest = TestLogEncoder.fakeDigest(7, 20)
        let policy = dir.write("policy.json", """
            {"meta": {"version": 1, "generator": 3, "timestamp": "2026-12-07 12:00:00.000000"}, "release": 0,
             "digests": {"/usr/bin/old": ["\(Hex.encode(oldDigest))"]}, "excludes": [], "keyrings": {},
             "ima": {"ignored_keyrings": [], "log_hash_alg": "sha1", "dm_policy": null}, "ima-buf": {}, "verification-keys": ""}
            """)

        func entry(_ prefix: String, _ digest: [UInt8], _ name: [UInt8]) -> TestLogEntry {
            TestLogEntry(templateName: "ima-ng", fields: [Array(prefix.utf8) + [0] + digest, name])
        }
        let log = dir.write("log.bin", TestLogEncoder.log([
            entry("sha256:", aDigest, TestLogEncoder.nng("/usr/bin/a")),
            entry("sm3:", aDigest, TestLogEncoder.nng("/usr/bin/a")),
            entry("foo:", aDigest, TestLogEncoder.nng("/usr/bin/a")),
            entry("foo:", oldDigest, TestLogEncoder.nng("/usr/bin/old")),
            entry("sha256:", Array(aDigest.prefix(20)), TestLogEncoder.nng("/usr/bin/a")),
            entry("sha256:", aDigest, Array("/usr/bin/a".utf8) + [0] + Array("/tmp/evil".utf8) + [0]),
            entry("sha256:", aDigest, Array("/usr/bin/a".utf8)),
            entry("sha1:", oldDigest, TestLogEncoder.nng("/usr/bin/old")),
        ]))
        let reference = ["--cert", keys.certPath, "--manifest", manifest, "--keylime-policy", policy]
        let malformed = Dictionary(uniqueKeysWithValues: (1...6).map { ($0, "malformed-entry") })

        for (extra, expected) in [([String](), malformed.merging([7: "sha1-not-allowed"]) { $1 }), (["--allow-sha1"], malformed)] {
            for jobs in ["1", "3"] {
                let r = try runProgram(signetBinary, ["attest", "check-log", log, "--json", "--jobs", jobs] + reference + extra)
                XCTAssertEqual(r.status, 1, r.output)
                let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.output)
                XCTAssertEqual(json["entries"] as? Int, 8, r.stdout)
                XCTAssertNil(json["log_problem"], "entry-level failures, not the end of the check: \(r.stdout)")
                let failures = try XCTUnwrap(json["failures"] as? [[String: Any]])
                var codes = [Int: String]()
                for failure in failures { codes[failure["entry"] as? Int ?? -1] = failure["code"] as? String }
                XCTAssertEqual(codes, expected, "\(extra) jobs \(jobs): \(r.stdout)")
            }
        }

        // The text report names the whole name, not its prefix, and what is wrong.
        let text = try runProgram(signetBinary, ["attest", "check-log", log] + reference)
        XCTAssertEqual(text.status, 1, text.output)
        XCTAssertTrue(text.stdout.contains("/tmp/evil") && text.stdout.contains("NUL at byte 10"), text.stdout)
        XCTAssertTrue(text.stdout.contains("algorithm \"sm3\"") && text.stdout.contains("algorithm \"foo\""), text.stdout)
        XCTAssertTrue(text.stdout.contains("sha256 digest of 20 byte(s)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("terminating NUL"), text.stdout)
    }
}
