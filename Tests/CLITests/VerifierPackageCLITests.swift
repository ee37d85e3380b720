import XCTest
import Foundation
import SignetTestSupport

/// The split into two executables: `signet` (node) runs `signet-verifier` for `verifier` and
/// `fleet`, passing the arguments through; both say what they are.
final class VerifierPackageCLITests: XCTestCase {
    var dir: TempDir!
    override func setUp() { dir = makeTempDir("signet-split") }

    var verifierBinary: String { (signetBinary as NSString).deletingLastPathComponent + "/signet-verifier" }

    /// A copy of `signet` alone in a directory (hard link when possible): no signet-verifier next to it.
    func lonelySignet() throws -> String {
        let copy = dir.url("bin/signet")
        dir.mkdir("bin")
        if link(signetBinary, copy) != 0 { try FileManager.default.copyItem(atPath: signetBinary, toPath: copy) }
        return copy
    }

    func testHelpSaysWhichProgramIsWhich() throws {
        let top = try runProgram(signetBinary, ["--help"])
        XCTAssertEqual(top.status, 0, top.output)
        XCTAssertTrue(top.stdout.contains("node and image-builder"), top.stdout)
        XCTAssertTrue(top.stdout.contains("signet-verifier"), top.stdout)
        for command in ["verifier", "fleet"] {
            let help = try runProgram(signetBinary, [command, "--help"])
            XCTAssertEqual(help.status, 0, help.output)
            XCTAssertTrue(help.stdout.contains("signet-verifier package"), help.stdout)
            XCTAssertTrue(help.stdout.contains("'signet-verifier \(command) ARGS'"), help.stdout)
        }
        let verifier = try runProgram(verifierBinary, ["--help"])
        XCTAssertEqual(verifier.status, 0, verifier.output)
        XCTAssertTrue(verifier.stdout.contains("verifier service and fleet CLI"), verifier.stdout)
        for sub in ["serve", "fleet"] { XCTAssertTrue(verifier.stdout.contains("  \(sub) "), "\(sub) listed: \(verifier.stdout)") }
        for args in [["serve", "--help"], ["verifier", "serve", "--help"], ["fleet", "status", "--help"]] {
            let r = try runProgram(verifierBinary, args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.output)")
            XCTAssertTrue(r.stdout.contains("USAGE: signet-verifier \(args.dropLast().joined(separator: " "))"), "\(args): \(r.stdout)")
        }
        let version = try runProgram(verifierBinary, ["--version"])
        XCTAssertEqual(version.stdout, try runProgram(signetBinary, ["--version"]).stdout)
    }

    func testVerifierAndFleetRunSignetVerifierWithTheArgumentsUnchanged() throws {
        // A bad --listen with a space is reported by signet-verifier, quoted exactly as given.
        let serve = try runProgram(signetBinary, ["verifier", "serve", "--listen", "not a port", "--admin-token-file", dir.url("t")])
        XCTAssertEqual(serve.status, 2, serve.output)
        XCTAssertTrue(serve.stderr.contains("--listen must be host:port, not 'not a port'"), serve.stderr)
        XCTAssertEqual(serve.stderr, try runProgram(verifierBinary, ["serve", "--listen", "not a port", "--admin-token-file", dir.url("t")]).stderr)
        // Subcommand help comes from signet-verifier.
        let status = try runProgram(signetBinary, ["fleet", "status", "--help"])
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertTrue(status.stdout.contains("USAGE: signet-verifier fleet status"), status.stdout)
        XCTAssertTrue(status.stdout.contains("--admin-token-file"), status.stdout)
        // Option-like values pass through as well.
        let check = try runProgram(signetBinary, ["fleet", "check", "--verifier", "http://example.com", "--admin-token-file", dir.url("none")])
        XCTAssertEqual(check.status, 2, check.output)
        XCTAssertTrue(check.stderr.contains("--verifier 'http://example.com': plain http is allowed only to loopback"), check.stderr)
    }

    func testSignetVerifierIsFoundOnPathElseAClearError() throws {
        let signet = try lonelySignet()
        let buildDir = (verifierBinary as NSString).deletingLastPathComponent
        for command in [["verifier", "serve", "--admin-token-file", dir.url("t")], ["fleet", "status", "--verifier", "https://x:1"]] {
            let missing = try runProgram(signet, command, environment: ["PATH": dir.url("empty")])
            XCTAssertEqual(missing.status, 2, missing.output)
            XCTAssertTrue(missing.stderr.contains("signet verifier/fleet commands are in the signet-verifier package; install it or run signet-verifier"),
                          missing.stderr)
            XCTAssertEqual(missing.stdout, "")
        }
        let onPath = try runProgram(signet, ["fleet", "status", "--help"], environment: ["PATH": dir.url("empty") + ":" + buildDir])
        XCTAssertEqual(onPath.status, 0, onPath.output)
        XCTAssertTrue(onPath.stdout.contains("USAGE: signet-verifier fleet status"), onPath.stdout)
        // The node commands do not need signet-verifier.
        let keys = try runProgram(signet, ["keys", "ca", "--out", dir.url("k"), "--algorithm", "p256"], environment: ["PATH": dir.url("empty")])
        XCTAssertEqual(keys.status, 0, keys.output)
    }

    func testCompletionScriptsOfBothPrograms() throws {
        for (binary, name) in [(signetBinary, "signet"), (verifierBinary, "signet-verifier")] {
            for shell in ["bash", "zsh", "fish"] {
                let r = try runProgram(binary, ["--generate-completion-script", shell])
                XCTAssertEqual(r.status, 0, "\(name) \(shell): \(r.output)")
                XCTAssertTrue(r.stdout.contains(name), "\(name) \(shell)")
            }
        }
        let bash = try runProgram(verifierBinary, ["--generate-completion-script", "bash"])
        XCTAssertTrue(bash.stdout.contains("upload-reference"), String(bash.stdout.prefix(400)))
    }
}
