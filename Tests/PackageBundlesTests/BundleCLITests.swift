import Foundation
import XCTest
import PackageBundles
import SignetTestSupport

/// `signet bundle` as users run it: outputs, exit codes (0 ok, 1 refused, 2 bad input), messages.
final class BundleCLITests: BundleTestCase {
    func signet(_ args: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProgram(signetBinary, ["bundle"] + args, environment: environment)
    }

    func testCreateVerifyShow() throws {
        let keys = try makeKeys()
        let dir = tempPath()
        let deb = try buildDeb(in: dir, version: "2:1.0-1")
        let out = dir + "/bundles"
        let create = try signet(["create", "--key", keys.keyPath, "--cert", keys.certPath, "--out", out, deb],
                                environment: ["SOURCE_DATE_EPOCH": "1780000000"])
        XCTAssertEqual(create.status, 0, create.output)
        XCTAssertTrue(create.stdout.contains("signet-hello 2:1.0-1 amd64: 5 files → \(out)/signet-hello_2%3a1.0-1_amd64.json"), create.stdout)
        XCTAssertTrue(create.stdout.contains("bundled 1 package(s), 5 files"), create.stdout)
        let bundle = out + "/signet-hello_2%3a1.0-1_amd64.json"
        XCTAssertTrue(String(decoding: bytes(of: bundle), as: UTF8.self).contains("\"created\":\"2026-05-28T20:26:40Z\""))

        let verify = try signet(["verify", "--cert", keys.certPath, bundle, "--deb", deb])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertTrue(verify.stdout.contains("bundle OK: signet-hello 2:1.0-1 amd64, 5 files"), verify.stdout)
        XCTAssertTrue(verify.stdout.contains("deb OK:"), verify.stdout)
        XCTAssertEqual(try signet(["verify", "--ca", keys.caCertPath, bundle]).status, 0)

        let show = try signet(["show", bundle])
        XCTAssertEqual(show.status, 0, show.output)
        XCTAssertTrue(show.stdout.contains("100755"), show.stdout)
        XCTAssertTrue(show.stdout.contains("/usr/bin/signet-hello-link"), show.stdout)
        let json = try signet(["show", "--json", bundle])
        XCTAssertEqual(json.stdout.split(separator: "\n").count, 5)
        XCTAssertTrue(json.stdout.contains("\"ima\":\"030204"), json.stdout)

        let help = try runProgram(signetBinary, ["bundle", "create", "--help"])
        XCTAssertTrue(help.stdout.contains("Examples:"), help.stdout)
    }

    func testRefusalsExitOneWithTheReason() throws {
        let keys = try makeKeys()
        let other = try makeKeys(name: "other")
        let dir = tempPath()
        let deb = try buildDeb(in: dir)
        let arm = try buildDeb(in: dir, architecture: "arm64")
        let rebuilt = try buildDeb(in: dir, extra: " rebuilt")
        let out = dir + "/bundles"
        XCTAssertEqual(try signet(["create", "--key", keys.keyPath, "--cert", keys.certPath, "--out", out, deb]).status, 0)
        let bundle = out + "/signet-hello_1.0-1_amd64.json"

        let wrongArch = try signet(["verify", "--cert", keys.certPath, bundle, "--deb", arm])
        XCTAssertEqual(wrongArch.status, 1, wrongArch.output)
        XCTAssertTrue(wrongArch.stderr.contains("the bundle is for signet-hello 1.0-1 amd64, but this .deb is signet-hello 1.0-1 arm64 (architecture differs)"),
                      wrongArch.stderr)
        let wrongDeb = try signet(["verify", "--cert", keys.certPath, bundle, "--deb", rebuilt])
        XCTAssertEqual(wrongDeb.status, 1, wrongDeb.output)
        XCTAssertTrue(wrongDeb.stderr.contains("was made for the .deb with SHA-256"), wrongDeb.stderr)
        let untrusted = try signet(["verify", "--cert", other.certPath, bundle])
        XCTAssertEqual(untrusted.status, 1, untrusted.output)
        XCTAssertTrue(untrusted.stderr.contains("which is not trusted"), untrusted.stderr)
        write(Array("tampered".utf8), to: bundle + ".sig")
        let badSig = try signet(["verify", "--cert", keys.certPath, bundle])
        XCTAssertEqual(badSig.status, 1, badSig.output)
        XCTAssertTrue(badSig.stderr.contains("the signature does not verify"), badSig.stderr)
        let noTrust = try signet(["verify", bundle])
        XCTAssertNotEqual(noTrust.status, 0)
        XCTAssertTrue(noTrust.stderr.contains("--cert FILE or its CA with --ca FILE"), noTrust.stderr)
    }

    /// A truncated .deb among good ones: exit 2 naming the member and offset, and nothing written.
    func testCreateWritesNothingWhenOneDebFails() throws {
        let keys = try makeKeys()
        let dir = tempPath()
        let good = try buildDeb(in: dir)
        var cut = bytes(of: good)
        cut.removeLast(200)
        write(cut, to: dir + "/cut.deb")
        let out = dir + "/bundles"
        let r = try signet(["create", "--key", keys.keyPath, "--cert", keys.certPath, "--out", out, good, dir + "/cut.deb"])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("cut.deb: not a valid Debian package: byte"), r.stderr)
        XCTAssertTrue(r.stderr.contains("ar member 'data.tar.xz'"), r.stderr)
        XCTAssertTrue(r.stderr.contains("no bundle written: 1 of 2"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testRepoCommand() throws {
        let keys = try makeKeys()
        let other = try makeKeys(name: "other")
        let repo = tempPath() + "/apt"
        try FileManager.default.createDirectory(atPath: repo + "/pool", withIntermediateDirectories: true)
        let work = tempPath()
        for p in ["signet-one", "signet-two"] {
            try FileManager.default.copyItem(atPath: try buildDeb(in: work, package: p), toPath: repo + "/pool/\(p)_1.0-1_amd64.deb")
        }
        let first = try signet(["repo", repo, "--key", keys.keyPath, "--cert", keys.certPath, "--jobs", "2"])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.stdout.contains("2 .deb(s); 2 bundle(s) made, 0 current"), first.stdout)
        let second = try signet(["repo", repo, "--key", keys.keyPath, "--cert", keys.certPath, "--json"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.stdout.contains("\"current\":2"), second.stdout)
        XCTAssertTrue(second.stdout.contains("\"index_written\":false"), second.stdout)

        let verify = try signet(["verify", "--ca", keys.caCertPath, repo, "--deb", repo + "/pool/signet-two_1.0-1_amd64.deb"])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertTrue(verify.stdout.contains("repository OK: index of 2 bundle(s)"), verify.stdout)
        XCTAssertTrue(verify.stdout.contains("deb OK:"), verify.stdout)
        // An index signed by a key the node does not trust.
        let untrusted = try signet(["verify", "--ca", other.caCertPath, repo])
        XCTAssertEqual(untrusted.status, 1, untrusted.output)
        XCTAssertTrue(untrusted.stderr.contains("index.json (signer)"), untrusted.stderr)
        // A .deb the repository has no bundle for.
        let stranger = try buildDeb(in: work, package: "signet-stranger")
        let missing = try signet(["verify", "--ca", keys.caCertPath, repo, "--deb", stranger])
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.stderr.contains("no bundle in the index for signet-stranger 1.0-1 amd64"), missing.stderr)
        let index = try signet(["show", repo])
        XCTAssertTrue(index.stdout.contains("bundle index: 2 bundle(s)"), index.stdout)
    }
}
