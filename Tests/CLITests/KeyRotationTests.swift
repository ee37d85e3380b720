import XCTest
import Foundation
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Key rotation through the CLI: trees signed by two keys verify with both
/// certificates; `signet sign --resign-from OLD` moves only OLD's files to a
/// new key and leaves every other file byte-for-byte alone; evmctl agrees.
final class KeyRotationTests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-rotation") }

    func run(_ args: [String]) throws -> ProcessResult { try runProgram(signetBinary, args) }

    struct Key { let key: String; let cert: String; let der: String; let keyID: UInt32 }

    /// One CA, three signing keys A (RSA-2048), B (P-256), C (RSA-2048), made by the CLI.
    func makeKeys() throws -> [String: Key] {
        let ca = try run(["keys", "ca", "--out", dir.url("ca"), "--algorithm", "p256"])
        XCTAssertEqual(ca.status, 0, ca.output)
        var keys = [String: Key]()
        for (name, algorithm) in [("A", "rsa2048"), ("B", "p256"), ("C", "rsa2048")] {
            let r = try run(["keys", "issue", "--ca-key", dir.url("ca/ca.key.pem"), "--ca-cert", dir.url("ca/ca.crt.pem"),
                             "--out", dir.url(name), "--algorithm", algorithm, "--subject", "CN=rotation \(name)"])
            XCTAssertEqual(r.status, 0, r.output)
            let cert = try Certificate.load(path: dir.url("\(name)/ima.crt.pem"))
            let der = dir.write("\(name).crt.der", cert.der)
            keys[name] = Key(key: dir.url("\(name)/ima.key.pem"), cert: dir.url("\(name)/ima.crt.pem"), der: der, keyID: cert.imaKeyID)
        }
        return keys
    }

    /// path → status from `signet verify --all --json`.
    func verify(_ certs: [String], _ tree: String) throws -> (status: Int32, files: [String: String], keyIDs: [String: String]) {
        let r = try run(["verify", "--all", "--json", "--no-progress"] + certs.flatMap { ["--cert", $0] } + [tree])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.output)
        var files = [String: String](), keyIDs = [String: String]()
        for f in try XCTUnwrap(object["files"] as? [[String: Any]]) {
            let path = try XCTUnwrap(f["path"] as? String)
            files[path] = f["status"] as? String
            keyIDs[path] = f["keyid"] as? String
        }
        return (r.status, files, keyIDs)
    }

    func testResignFromMovesOnlyTheOldKeysFiles() throws {
        let keys = try makeKeys()
        let (a, b, c) = (keys["A"]!, keys["B"]!, keys["C"]!)
        let tree = dir.url("root")
        var aFiles = [String](), bFiles = [String]()
        for i in 0..<6 {
            aFiles.append(dir.write("root/a/f\(i)", "content of a\(i)\n", mode: 0o755))
            bFiles.append(dir.write("root/b/f\(i)", "content of b\(i)\n"))
        }
        let unsigned = dir.write("root/b/unsigned", "never signed\n")
        var r = try run(["sign", "--key", a.key, "--cert", a.cert, "--no-progress", dir.url("root/a")])
        XCTAssertEqual(r.status, 0, r.output)
        r = try run(["sign", "--key", b.key, "--cert", b.cert, "--no-progress", "--exclude", "unsigned", dir.url("root/b")])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertNil(Xattr.get(unsigned))

        // Rotation: two certificates, files signed by either verify (signet and evmctl).
        let both = try verify([a.cert, b.cert], tree)
        XCTAssertEqual(both.status, 1, "the unsigned file fails") // only 'unsigned' is not ok
        for p in aFiles + bFiles { XCTAssertEqual(both.files[p], "ok", p) }
        XCTAssertEqual(both.files[unsigned], "unsigned")
        let evmctl = which("evmctl")
        if let evmctl {
            for p in [aFiles[0], bFiles[0]] {
                let v = try runProgram(evmctl, ["ima_verify", "--key", "\(a.der),\(b.der)", p])
                XCTAssertEqual(v.status, 0, "\(p): \(v.output)")
            }
        }

        let bBefore = bFiles.map { Xattr.get($0) }
        // --resign-from A with key C: A's files move to C, B's and the unsigned file are untouched.
        for keyID in ["0x" + KeyID.hex(a.keyID).uppercased()] {
            r = try run(["sign", "--key", c.key, "--cert", c.cert, "--resign-from", keyID, "--no-progress", "--json", tree])
            XCTAssertEqual(r.status, 0, r.output)
            let summary = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["summary"] as? [String: Any])
            XCTAssertEqual(summary["signed"] as? Int, aFiles.count, r.stdout)
            XCTAssertEqual(summary["not_by_old_key"] as? Int, bFiles.count + 1, r.stdout)
            XCTAssertEqual(summary["failed"] as? Int, 0, r.stdout)
        }
        XCTAssertEqual(bFiles.map { Xattr.get($0) }, bBefore, "B's signatures must stay byte-for-byte")
        XCTAssertNil(Xattr.get(unsigned), "an unsigned file is not signed by --resign-from")
        for p in aFiles {
            let sig = try IMASignature(bytes: XCTUnwrap(Xattr.get(p)))
            XCTAssertEqual(sig.keyID, c.keyID, p)
        }
        // Rerun (e.g. after an interruption): nothing left to re-sign; text summary names the skipped.
        r = try run(["sign", "--key", c.key, "--cert", c.cert, "--resign-from", KeyID.hex(a.keyID), "--no-progress", tree])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("signed 0 files") && r.stdout.contains("\(aFiles.count + bFiles.count + 1) not signed by the old key"), r.stdout)
        XCTAssertEqual(bFiles.map { Xattr.get($0) }, bBefore)

        // B + C: all signed files ok.  A only: the re-signed files are unknown-key.
        let bc = try verify([b.cert, c.cert], tree)
        for p in aFiles + bFiles { XCTAssertEqual(bc.files[p], "ok", p) }
        let onlyA = try verify([a.cert], tree)
        XCTAssertEqual(onlyA.status, 1)
        for p in aFiles {
            XCTAssertEqual(onlyA.files[p], "unknown-key", p)
            XCTAssertEqual(onlyA.keyIDs[p], KeyID.hex(c.keyID), p)
        }
        if let evmctl {
            let v = try runProgram(evmctl, ["ima_verify", "--key", c.der, aFiles[0]])
            XCTAssertEqual(v.status, 0, v.output)
            let old = try runProgram(evmctl, ["ima_verify", "--key", a.der, aFiles[0]])
            XCTAssertNotEqual(old.status, 0, "the old key must no longer verify: \(old.output)")
            let keptB = try runProgram(evmctl, ["ima_verify", "--key", b.der, bFiles[0]])
            XCTAssertEqual(keptB.status, 0, keptB.output)
        }
    }

    /// The pipeline rule: only a signature v2 by the old keyid is replaced (even one that no
    /// longer verifies); hashes, malformed values and unsigned files are skipped, not failed.
    func testResignFromPipelineTouchesOnlyOldKeyIDSignatures() throws {
        let newKey = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "new")
        let old: UInt32 = 0x0badcafe
        let byOld = dir.write("p/by-old", "old\n")
        let byOldBroken = dir.write("p/by-old-broken", "broken\n")
        let hashed = dir.write("p/hashed", "hash\n")
        let malformed = dir.write("p/malformed", "bad\n")
        let otherKey = dir.write("p/other", "other\n")
        let unsigned = dir.write("p/unsigned", "none\n")
        let oldKey = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048), name: "old")
        var options = SigningOptions()
        options.jobs = 2
        options.resignAll = true
        _ = try SigningPipeline(key: oldKey.key, certificate: oldKey.certificate, options: options)
            .run(TreeWalker(selection: .init()).walk([FilePath(byOld)]).files)
        let oldID = oldKey.certificate.imaKeyID
        Xattr.set(byOldBroken, IMASignature(hashAlgorithm: .sha256, keyID: oldID, signature: [UInt8](repeating: 7, count: 256)).encoded())
        Xattr.set(hashed, [0x04, 0x04] + [UInt8](repeating: 1, count: 32))
        Xattr.set(malformed, [0x03, 0x02, 0x04])
        Xattr.set(otherKey, IMASignature(hashAlgorithm: .sha256, keyID: old, signature: [UInt8](repeating: 9, count: 64)).encoded())
        let before = [hashed, malformed, otherKey].map { Xattr.get($0) }
        for dryRun in [true, false] {
            var o = SigningOptions()
            o.jobs = 2
            o.resignFrom = oldID
            o.dryRun = dryRun
            let oldBytes = Xattr.get(byOld)
            let results = try SigningPipeline(key: newKey.key, certificate: newKey.certificate, options: o)
                .run(TreeWalker(selection: .init()).walk([FilePath(dir.url("p"))]).files).compactMap { $0 }
            var outcome = [String: SignedFile.Outcome]()
            for r in results { outcome[r.file.paths[0].utf8String!] = r.outcome }
            XCTAssertEqual(outcome[byOld], .signed)
            XCTAssertEqual(outcome[byOldBroken], .signed)
            for p in [hashed, malformed, otherKey, unsigned] { XCTAssertEqual(outcome[p], .otherKey, p) }
            XCTAssertEqual([hashed, malformed, otherKey].map { Xattr.get($0) }, before)
            XCTAssertNil(Xattr.get(unsigned))
            if dryRun { XCTAssertEqual(Xattr.get(byOld), oldBytes, "a dry run changes nothing") }
        }
        for p in [byOld, byOldBroken] {
            XCTAssertEqual(try IMASignature(bytes: XCTUnwrap(Xattr.get(p))).keyID, newKey.certificate.imaKeyID, p)
        }
    }

    func testBadResignFromKeyIDIsAClearError() throws {
        let keys = try makeKeys()
        dir.write("t/x", "x")
        for bad in ["xyz", "1234567", "0x123456789", "ghijklmn", ""] {
            let r = try run(["sign", "--key", keys["C"]!.key, "--cert", keys["C"]!.cert, "--resign-from", bad, dir.url("t")])
            XCTAssertNotEqual(r.status, 0, bad)
            XCTAssertTrue(r.stderr.contains("is not a keyid") && r.stderr.contains("8 hex digits"), "\(bad): \(r.stderr)")
        }
        XCTAssertNil(Xattr.get(dir.url("t/x")), "nothing is signed after a refused command line")
        let both = try run(["sign", "--key", keys["C"]!.key, "--cert", keys["C"]!.cert, "--resign", "--resign-from",
                            KeyID.hex(keys["A"]!.keyID), dir.url("t")])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--resign-from"), both.stderr)
    }
}
