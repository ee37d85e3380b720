import XCTest
import Foundation
import SignetCLI
import VerifierConnection
import SignetTestSupport

/// Issue 13, finding 8: `--verifier` was a string-prefix test, so `http://127.evil.example`,
/// `http://localhost.evil.example` and `http://127.0.0.1@evil.example` counted as loopback and the
/// agent sent its token over plain HTTP to another host. The host is now parsed.
final class VerifierURLCheckTests: XCTestCase {
    func testPlainHTTPToAnotherHostThatLooksLikeLoopbackIsRefused() {
        for url in ["http://127.evil.example", "http://127.evil.example:8080/", "http://localhost.evil.example",
                    "http://localhost.evil.example:80/v1", "http://127.0.0.1@evil.example", "http://127.0.0.1:80@evil.example/",
                    "http://127.0.0.1.evil.example", "http://[::1].evil.example", "http://[::1]@evil.example",
                    "http://127.0.0.1\\@evil.example", "http://127.0.0.1%2f@evil.example", "http://0177.0.0.1",
                    "http://128.0.0.1", "http://10.0.0.1:8443", "http://127.0.0", "http://127.0.0.256",
                    "http://127.0.0.1:", "http://127.0.0.1:99999", "http://127.0.0.1:80x", "http://[::2]", "http://evil.example"] {
            XCTAssertNotNil(VerifierURLCheck.refusal(url), url)
        }
    }

    func testLoopbackOverHTTPAndAnyHostOverHTTPSAreAllowed() {
        for url in ["http://127.0.0.1", "http://127.0.0.1:8443", "http://127.0.0.1:8443/", "http://127.1.2.3:1/base",
                    "http://localhost", "http://LOCALHOST:8443", "http://[::1]", "http://[::1]:8443/",
                    "https://verifier.example", "https://verifier.example:8443/", "HTTPS://10.0.0.1:8443", "https://[2001:db8::1]:443"] {
            XCTAssertNil(VerifierURLCheck.refusal(url), url)
        }
    }

    func testUserInfoAndOtherSchemesAreRefusedEvenOverHTTPS() {
        XCTAssertEqual(VerifierURLCheck.refusal("https://user:pw@verifier.example")?.contains("user information"), true)
        XCTAssertEqual(VerifierURLCheck.refusal("ftp://127.0.0.1")?.contains("unsupported scheme"), true)
        XCTAssertEqual(VerifierURLCheck.refusal("127.0.0.1:8443")?.contains("not a URL"), true)
        XCTAssertEqual(VerifierURLCheck.refusal("http:///path")?.contains("no host"), true)
    }

    /// The binary refuses before it connects anywhere: exit 2 and the reason, for both the agent
    /// and the fleet CLI (one check, in SignetCLI).
    func testTheCommandsRefuseSuchAURLBeforeConnecting() throws {
        let dir = TempDir("signet-url-check")
        defer { _ = dir }
        dir.write("admin.token", "x")
        let fleet = try runProgram((signetBinary as NSString).deletingLastPathComponent + "/signet-verifier",
                                   ["fleet", "status", "--verifier", "http://127.0.0.1@evil.example", "--admin-token-file", dir.url("admin.token")])
        XCTAssertEqual(fleet.status, 2, fleet.output)
        XCTAssertTrue(fleet.stderr.contains("user information"), fleet.stderr)
        let agent = try runProgram(signetBinary, ["agent", "run", "--verifier", "http://localhost.evil.example", "--state", dir.url("state"), "--once"])
        XCTAssertEqual(agent.status, 2, agent.output)
        XCTAssertTrue(agent.stderr.contains("plain http is allowed only to loopback"), agent.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.url("state")), "nothing written before the URL is checked")
    }
}
