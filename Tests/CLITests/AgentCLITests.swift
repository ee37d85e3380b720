import XCTest
import Foundation
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `signet agent …` against a real swtpm started (and stopped) by the test.
final class AgentCLITests: SwtpmCLITestCase {

    func testEnrollCreatesAKOnceAndItSurvivesATPMRestart() throws {
        let out = dir.url("agent")
        let first = try runProgram(signetBinary, ["agent", "enroll", "--tcti", swtpm.tcti, "--out", out])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.stdout.hasPrefix("created AK "), first.stdout)
        XCTAssertFalse(first.stderr.contains("ERROR:esys"), "tpm2-tss noise must not reach the user: \(first.stderr)")
        for f in ["ak.pub", "ak.priv", "ak.name", "ak.pem", "ek.pem"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), f)
        }
        var st = stat()
        XCTAssertEqual(stat("\(out)/ak.priv", &st), 0)
        XCTAssertEqual(st.st_mode & 0o077, 0, "the AK's private blob is not readable by others")
        let name = try FileBytes.read("\(out)/ak.name")
        XCTAssertTrue(first.stdout.contains(Hex.encode(name)), first.stdout)
        // The AK public key is a key openssl reads.
        let pem = try runProgram("/usr/bin/openssl", ["pkey", "-pubin", "-in", "\(out)/ak.pem", "-noout", "-text"])
        XCTAssertEqual(pem.status, 0, pem.output)

        try swtpm.restart()
        let again = try runProgram(signetBinary, ["agent", "enroll", "--tcti", swtpm.tcti, "--out", out])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.stdout.hasPrefix("loaded AK \(Hex.encode(name))"), again.stdout)
        XCTAssertEqual(try FileBytes.read("\(out)/ak.name"), name)
    }

    func testAnUnreachableTPMIsNamed() throws {
        let port = try Swtpm.freePort()
        let r = try runProgram(signetBinary, ["agent", "enroll", "--tcti", "swtpm:host=127.0.0.1,port=\(port)", "--out", dir.url("x")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("signet: error:") && r.stderr.contains("port=\(port)"), r.stderr)
        let bad = try runProgram(signetBinary, ["agent", "enroll", "--tcti", "nonsense-tcti", "--out", dir.url("y")])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("nonsense-tcti"), bad.stderr)
    }
}

/// A test with its own swtpm (started on free loopback ports, stopped by PID)
/// and a temp dir: the base of the CLI tests that need a TPM.
class SwtpmCLITestCase: XCTestCase {
    var dir: TempDir!
    var swtpm: Swtpm!

    override func setUpWithError() throws {
        try Swtpm.requireTools()
        dir = TempDir("signet-tpm-cli")
        dir.mkdir("state")
        swtpm = Swtpm(stateDir: dir.url("state"))
        try swtpm.start()
    }

    override func tearDown() {
        swtpm?.stop()
        swtpm = nil
        dir?.remove()
        dir = nil
        super.tearDown()
    }
}
