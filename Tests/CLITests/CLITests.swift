import XCTest
import Foundation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// The `signet` binary as a user runs it: exit codes, messages, files written.
final class CLITests: XCTestCase {
    var dir: TempDir!
    var signet: String { signetBinary }

    override func setUp() { dir = makeTempDir("signet-cli") }

    func run(_ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
        try runProgram(signet, args, environment: env)
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// A CA and a signing cert made through the CLI.
    func makeKeys(_ algorithm: String = "rsa2048", encrypt: Bool = false) throws -> (key: String, cert: String) {
        var r = try run(["keys", "ca", "--out", dir.url("k"), "--algorithm", "p256"])
        XCTAssertEqual(r.status, 0, r.output)
        var args = ["keys", "issue", "--ca-key", dir.url("k/ca.key.pem"), "--ca-cert", dir.url("k/ca.crt.pem"),
                    "--out", dir.url("k"), "--algorithm", algorithm]
        if encrypt { args.append("--encrypt") }
        r = try run(args, env: encrypt ? ["SIGNET_KEY_PASSPHRASE": "pw-123"] : [:])
        XCTAssertEqual(r.status, 0, r.output)
        return (dir.url("k/ima.key.pem"), dir.url("k/ima.crt.pem"))
    }

    func testKeysCommandsWriteAUsableHierarchy() throws {
        let (key, cert) = try makeKeys("p384")
        var st = stat()
        XCTAssertEqual(stat(key, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "private keys are 0600")
        XCTAssertEqual(stat(dir.url("k/ca.key.pem"), &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let show = try run(["keys", "show", "--json", cert, dir.url("k/ca.crt.pem")])
        XCTAssertEqual(show.status, 0, show.output)
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.count, 2)
        let leaf = try Certificate.load(path: cert)
        XCTAssertEqual(list[0]["keyid"] as? String, KeyID.hex(leaf.imaKeyID))
        XCTAssertEqual(list[0]["algorithm"] as? String, "ECDSA P-384")
        XCTAssertEqual(list[0]["key_usage"] as? String, "digitalSignature")
        XCTAssertEqual(list[0]["ca"] as? Bool, false)
        XCTAssertEqual(list[1]["ca"] as? Bool, true)
        XCTAssertEqual(list[0]["status"] as? String, "valid")
        XCTAssertEqual((list[0]["skid"] as? String)?.hasSuffix(KeyID.hex(leaf.imaKeyID)), true)
        let text = try run(["keys", "show", cert])
        XCTAssertTrue(text.stdout.contains("keyid:       \(KeyID.hex(leaf.imaKeyID))"), text.stdout)
        // No clobbering without --force.
        let again = try run(["keys", "ca", "--out", dir.url("k")])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("exists; refusing to overwrite"), again.stderr)
        XCTAssertEqual(try run(["keys", "ca", "--out", dir.url("k"), "--force"]).status, 0)
        // --encrypt without a passphrase is refused before anything is written.
        let noPass = try run(["keys", "ca", "--out", dir.url("k2"), "--encrypt"])
        XCTAssertEqual(noPass.status, 2)
        XCTAssertTrue(noPass.stderr.contains("SIGNET_KEY_PASSPHRASE"), noPass.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("k2/ca.key.pem")))
    }

    func testSignVerifyManifestAndJSON() throws {
        let (key, cert) = try makeKeys()
        dir.write("tree/bin/a", "a", mode: 0o755)
        dir.write("tree/lib/b", "b")
        XCTAssertEqual(mkfifo(dir.url("tree/fifo"), 0o644), 0)
        let manifest = dir.url("m.jsonl")
        let r = try run(["sign", "--key", key, "--cert", cert, "--manifest", manifest, "--build-id", "ci-7", "--json", dir.url("tree")],
                        env: ["SOURCE_DATE_EPOCH": "1700000000"])
        XCTAssertEqual(r.status, 0, r.output)
        let out = try json(r.stdout)
        let summary = try XCTUnwrap(out["summary"] as? [String: Any])
        XCTAssertEqual(summary["signed"] as? Int, 2)
        XCTAssertEqual(summary["failed"] as? Int, 0)
        XCTAssertEqual(summary["skipped_special"] as? Int, 1)
        XCTAssertNotNil(summary["files_per_second"])
        XCTAssertEqual((out["skipped_special"] as? [[String: Any]])?.first?["reason"] as? String, "FIFO")
        let header = try json(String(decoding: try FileBytes.read(manifest), as: UTF8.self).split(separator: "\n")[0].description)
        XCTAssertEqual(header["build_id"] as? String, "ci-7")
        XCTAssertEqual(header["created"] as? String, "2023-11-14T22:13:20Z")

        // Again: nothing to sign. The rate counts signed files only; the checked ones have their own.
        let again = try run(["sign", "--key", key, "--cert", cert, "--json", dir.url("tree")])
        XCTAssertEqual(again.status, 0, again.output)
        let againSummary = try XCTUnwrap(try json(again.stdout)["summary"] as? [String: Any])
        XCTAssertEqual(againSummary["signed"] as? Int, 0)
        XCTAssertEqual(againSummary["already_signed"] as? Int, 2)
        XCTAssertEqual(againSummary["files_per_second"] as? Int, 0)
        XCTAssertGreaterThan(againSummary["files_checked_per_second"] as? Int ?? 0, 0)

        let mv = try run(["manifest", "verify", "--cert", cert, manifest])
        XCTAssertEqual(mv.status, 0, mv.output)
        XCTAssertTrue(mv.stdout.contains("manifest OK: 2 entries, build ci-7"), mv.stdout)

        let v = try run(["verify", "--cert", cert, "--json", dir.url("tree")])
        XCTAssertEqual(v.status, 0, v.output)
        XCTAssertEqual(try json(v.stdout)["verdict"] as? String, "pass")

        // An unsigned newcomer fails verification, named with its status.
        dir.write("tree/bin/intruder", "x", mode: 0o755)
        let bad = try run(["verify", "--cert", cert, dir.url("tree")])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("unsigned") && bad.stdout.contains("tree/bin/intruder"), bad.stdout)
        XCTAssertTrue(bad.stdout.contains("FAIL"), bad.stdout)

        // A tampered manifest fails its check.
        var bytes = try FileBytes.read(manifest)
        bytes[bytes.count - 5] ^= 1
        try FileBytes.writeAtomically(bytes, to: manifest, mode: 0o644)
        let mt = try run(["manifest", "verify", "--cert", cert, manifest])
        XCTAssertEqual(mt.status, 2)
        XCTAssertTrue(mt.stderr.contains("signet: error:"), mt.stderr)
    }

    func testBadKeysAndCertificatesAreRefusedWithClearMessages() throws {
        let (key, cert) = try makeKeys("rsa2048", encrypt: true)
        dir.write("tree/f", "f")
        let base = ["sign", "--key", key, "--cert", cert, dir.url("tree")]
        let wrong = try run(base, env: ["SIGNET_KEY_PASSPHRASE": "nope"])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("wrong passphrase"), wrong.stderr)
        XCTAssertFalse(wrong.output.contains("nope"), "the passphrase must never be echoed")
        XCTAssertNil(Xattr.get(dir.url("tree/f")))
        let missing = try run(base)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("encrypted"), missing.stderr)
        let passFile = dir.write("pass.txt", "pw-123\n", mode: 0o600)
        XCTAssertEqual(try run(base + ["--passphrase-file", passFile]).status, 0)

        // The CA certificate is not a signing certificate; its key does not match either.
        let ca = try run(["sign", "--key", dir.url("k/ca.key.pem"), "--cert", dir.url("k/ca.crt.pem"), dir.url("tree")])
        XCTAssertEqual(ca.status, 2)
        XCTAssertTrue(ca.stderr.contains("not a signing certificate"), ca.stderr)
        let mismatch = try run(["sign", "--key", dir.url("k/ca.key.pem"), "--cert", cert, dir.url("tree")])
        XCTAssertEqual(mismatch.status, 2)
        XCTAssertTrue(mismatch.stderr.contains("does not belong to the private key"), mismatch.stderr)

        // An expired certificate.
        let old = try KeyFixture(in: dir, name: "old", validityDays: 1, notBefore: Int(time(nil)) - 9 * 86400)
        let expired = try run(["sign", "--key", old.keyPath, "--cert", old.certPath, dir.url("tree")])
        XCTAssertEqual(expired.status, 2)
        XCTAssertTrue(expired.stderr.contains("expired on"), expired.stderr)

        // Detached needs a manifest.
        let detached = try run(["sign", "--key", old.keyPath, "--cert", old.certPath, "--detached", dir.url("tree")])
        XCTAssertNotEqual(detached.status, 0)
        XCTAssertTrue(detached.stderr.contains("--manifest"), detached.stderr)
    }

    func testFailuresGiveNonZeroExitAndNoManifest() throws {
        let (key, cert) = try makeKeys()
        dir.write("tree/good", "g")
        let bad = dir.write("tree/bad", "b")
        Xattr.set(bad, [0x03, 0x02])
        let manifest = dir.url("m.jsonl")
        let r = try run(["sign", "--key", key, "--cert", cert, "--manifest", manifest, dir.url("tree")])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stderr.contains("FAILED \(bad): existing security.ima is malformed"), r.stderr)
        XCTAssertTrue(r.stderr.contains("manifest not written"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: manifest))
        let forced = try run(["sign", "--key", key, "--cert", cert, "--manifest", manifest, "--force", dir.url("tree")])
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertTrue(forced.stdout.contains("skipped 1 already signed"), forced.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: manifest))
        XCTAssertTrue(FileManager.default.fileExists(atPath: manifest + ".sig"))
    }

    func testUnprivilegedUserGetsPermissionErrorsNamingThePath() throws {
        guard let setpriv = which("setpriv") else { return XCTFail("setpriv (util-linux) missing: run tools/setup") }
        let (key, cert) = try makeKeys()
        chmod(key, 0o644)  // readable by the unprivileged user for this test only
        chmod(dir.url("k"), 0o755)
        let secret = dir.write("tree/secret", "root only", mode: 0o000)
        let plain = dir.write("tree/plain", "readable")
        let r = try runProgram(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                         signet, "sign", "--key", key, "--cert", cert, dir.url("tree")])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stderr.contains("FAILED \(secret): unreadable: Permission denied"), r.stderr)
        XCTAssertTrue(r.stderr.contains("FAILED \(plain): not permitted to set security.ima"), r.stderr)
    }

    func testDetachedThenApply() throws {
        let (key, cert) = try makeKeys("p256")
        dir.write("build/usr/bin/app", "app", mode: 0o755)
        let manifest = dir.url("m.jsonl")
        let s = try run(["sign", "--key", key, "--cert", cert, "--detached", "--manifest", manifest, dir.url("build")])
        XCTAssertEqual(s.status, 0, s.output)
        XCTAssertNil(Xattr.get(dir.url("build/usr/bin/app")))
        dir.write("image/usr/bin/app", "app", mode: 0o755)
        let a = try run(["apply", "--cert", cert, manifest, dir.url("image")])
        XCTAssertEqual(a.status, 0, a.output)
        XCTAssertTrue(a.stdout.contains("applied 1"), a.stdout)
        let v = try run(["verify", "--cert", cert, dir.url("image")])
        XCTAssertEqual(v.status, 0, v.output)
        // Another tree whose content differs: refused, nothing set.
        dir.write("other/usr/bin/app", "evil", mode: 0o755)
        let b = try run(["apply", "--cert", cert, manifest, dir.url("other")])
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.stderr.contains("differs from the manifest"), b.stderr)
        XCTAssertNil(Xattr.get(dir.url("other/usr/bin/app")))
    }

    func testSIGINTLeavesEveryFileUntouchedOrCompletelySignedAndARerunFinishes() throws {
        let (key, cert) = try makeKeys("rsa4096")  // slow signatures: the run is interrupted midway
        let paths = makeFiles(in: dir, prefix: "tree/d", count: 1200, size: 16384)
        let manifest = dir.url("m.jsonl")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: signet)
        process.arguments = ["sign", "--key", key, "--cert", cert, "--jobs", "2", "--manifest", manifest, dir.url("tree")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until signing is under way, then interrupt.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && paths.prefix(50).allSatisfy({ Xattr.get($0) == nil }) { usleep(5000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, "an interrupted run exits 130")
        XCTAssertFalse(FileManager.default.fileExists(atPath: manifest), "no manifest from an interrupted run")

        let certificate = try Certificate.load(path: cert)
        var signed = 0
        for p in paths {
            guard let value = Xattr.get(p) else { continue }
            let sig = try IMASignature(bytes: value)  // never a partial value
            let content = try FileBytes.read(p)
            XCTAssertTrue(certificate.publicKey.verify(signature: sig.signature, digest: Digester.hash(content, .sha256), algorithm: .sha256), p)
            signed += 1
        }
        XCTAssertGreaterThan(signed, 0)
        XCTAssertLessThan(signed, paths.count, "the interrupt came too late to test anything")

        let rerun = try run(["sign", "--key", key, "--cert", cert, "--manifest", manifest, "--json", dir.url("tree")])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        let summary = try XCTUnwrap(try json(rerun.stdout)["summary"] as? [String: Any])
        XCTAssertEqual(summary["already_signed"] as? Int, signed)
        XCTAssertEqual(summary["signed"] as? Int, paths.count - signed)
        XCTAssertEqual(try run(["manifest", "verify", "--cert", cert, manifest]).status, 0)
    }

    func testHelpAndCompletions() throws {
        for sub in [["--help"], ["sign", "--help"], ["verify", "--help"], ["keys", "issue", "--help"], ["apply", "--help"], ["manifest", "verify", "--help"]] {
            let r = try run(sub)
            XCTAssertEqual(r.status, 0, "\(sub): \(r.output)")
            XCTAssertTrue(r.stdout.contains("USAGE"), "\(sub)")
        }
        // Help tells the truth: defaults as users type them, once; every listed value described;
        // an example for every subcommand.
        for sub in [["sign"], ["image", "prepare"], ["verify"], ["policy", "check"], ["apply"]] {
            let help = try run(sub + ["--help"]).stdout
            XCTAssertFalse(help.contains("(default: 4)"), "\(sub): \(help)")
            XCTAssertFalse(help.contains("(default: all cores). (default:"), "\(sub): \(help)")
            XCTAssertFalse(help.contains("default: lp64"), "\(sub): \(help)")
            XCTAssertNil(help.range(of: #" - *\n"#, options: .regularExpression), "\(sub): a value without a description: \(help)")
        }
        for sub in [["keys", "show"], ["manifest", "show"], ["keyring", "list"], ["reference", "import-keylime"], ["attest", "verify"],
                    ["attest", "check-log"], ["boot-reference", "create"], ["agent", "quote"]] {
            let help = try run(sub + ["--help"]).stdout
            XCTAssertTrue(help.contains("Example"), "\(sub) has no example: \(help)")
            XCTAssertNil(help.range(of: #" \\\n"#, options: .regularExpression), "\(sub): a stray backslash: \(help)")
        }
        let bash = try run(["--generate-completion-script", "bash"])
        XCTAssertEqual(bash.status, 0)
        XCTAssertTrue(bash.stdout.contains("_signet"), bash.stdout.prefix(200).description)
    }
}
