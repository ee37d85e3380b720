import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import SignetTestSupport

/// `signet keyring list` from a process that does not possess the user keyring,
/// as inside a systemd service: the real kernel refuses the read (EACCES), and
/// the error must say why and how to fix it.
final class KeyringCLITests: XCTestCase {
    var dir: TempDir!

    override func setUp() { dir = makeTempDir("signet-keyring-cli") }

    func testListWithoutPossessingTheUserKeyringExplainsTheFix() throws {
        let keyctl = try requiredTool("keyctl", package: "keyutils")
        let keys = try KeyFixture(in: dir)
        let ring = "_signet_cli_session_\(getpid())"
        defer { _ = try? runProgram(keyctl, ["unlink", "%keyring:\(ring)", "@u"]) }
        let load = try runProgram(signetBinary, ["keyring", "load", "--keyring", ring, keys.certDERPath])
        XCTAssertEqual(load.status, 0, load.output)
        XCTAssertEqual(try runProgram(signetBinary, ["keyring", "list", "--keyring", ring]).status, 0)
        // A new anonymous session keyring: the user keyring is no longer possessed (a service's situation).
        let r = try runProgram(keyctl, ["session", "-", signetBinary, "keyring", "list", "--keyring", ring])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.stderr.contains("cannot read keyring '\(ring)': Permission denied; the service does not possess the user keyring: set KeyringMode=shared in the unit, or run from a login session"), r.stderr)
    }
}
