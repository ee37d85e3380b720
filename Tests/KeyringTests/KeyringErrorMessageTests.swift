import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import Keyring

/// The messages a refused keyring operation gives: EACCES says why (a systemd
/// service does not possess the user keyring) and how to fix it.
final class KeyringErrorMessageTests: XCTestCase {
    func testPermissionDeniedNamesTheCauseAndTheFix() {
        let e = KeyringError.refused("read keyring '_ima'", errno: EACCES)
        XCTAssertEqual(e.code, .permissionDenied)
        XCTAssertEqual(e.description, "cannot read keyring '_ima': Permission denied; the service does not possess the user keyring: set KeyringMode=shared in the unit, or run from a login session")
    }

    func testOtherErrorsKeepTheirOwnText() {
        let eperm = KeyringError.refused("add x to keyring '_ima'", errno: EPERM)
        XCTAssertEqual(eperm.code, .permissionDenied)
        XCTAssertFalse(eperm.description.contains("KeyringMode"), eperm.description)
        let other = KeyringError.refused("create keyring '_ima'", errno: EDQUOT)
        XCTAssertEqual(other.code, .failed)
        XCTAssertTrue(other.description.hasPrefix("cannot create keyring '_ima': "), other.description)
        XCTAssertFalse(other.description.contains("KeyringMode"), other.description)
    }
}
