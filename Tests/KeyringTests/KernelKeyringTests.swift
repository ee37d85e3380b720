import XCTest
#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
@testable import Keyring
import CKeyutils
import SignetTestSupport

/// Against the real kernel keyring of this machine (libkeyutils), in a
/// keyring of the test's own that is unlinked at the end.
final class KernelKeyringTests: XCTestCase {
    func testLoadListAndRefusals() throws {
        let dir = TempDir()
        let rsa = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048), name: "rsa")
        let name = "_signet_test_\(getpid())"
        XCTAssertThrowsError(try KernelKeyring.userKeyring(named: name, create: false)) {
            XCTAssertEqual(($0 as! KeyringError).code, .notFound)
        }
        let ring = try KernelKeyring.userKeyring(named: name, create: true)
        defer { ring.unlinkFromUserKeyring() }
        // Found again, not replaced.
        XCTAssertEqual(try KernelKeyring.userKeyring(named: name, create: true).serial, ring.serial)

        let serial = try ring.add(rsa.certificate)
        XCTAssertGreaterThan(serial, 0)
        let entries = try ring.entries()
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0].type, "asymmetric")
        XCTAssertEqual(entries[0].imaKeyID, rsa.certificate.imaKeyID, entries[0].description)

        // A CA certificate cannot sign content: refused before the kernel sees it.
        XCTAssertThrowsError(try ring.add(rsa.ca)) { error in
            XCTAssertEqual((error as! KeyringError).code, .notASigningCertificate)
            XCTAssertTrue("\(error)".contains("not a signing certificate"), "\(error)")
        }
        XCTAssertEqual(try ring.entries().count, 1)

        // ECDSA: this kernel either takes it or says why it cannot.
        let ec = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "ec")
        do {
            try ring.add(ec.certificate)
            XCTAssertTrue(try ring.entries().contains { $0.imaKeyID == ec.certificate.imaKeyID })
        } catch let e as KeyringError {
            XCTAssertEqual(e.code, .unsupportedKeyType, e.description)
            XCTAssertTrue(e.description.contains("CONFIG_CRYPTO_ECDSA"), e.description)
        }
    }

    func testAKeyringTheKernelRefusesToWriteIsReportedAndNothingIsAdded() throws {
        let dir = TempDir()
        let rsa = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048), name: "rsa")
        let ring = try KernelKeyring.userKeyring(named: "_signet_ro_\(getpid())", create: true)
        defer { ring.unlinkFromUserKeyring() }
        // view|read|search for possessor and user, no write: the kernel refuses add_key.
        XCTAssertEqual(keyctl_setperm(ring.serial, 0x0b0b_0000), 0)
        XCTAssertThrowsError(try ring.add(rsa.certificate)) { error in
            let e = error as! KeyringError
            XCTAssertEqual(e.code, .permissionDenied)
            XCTAssertTrue(e.description.contains(ring.name) && e.description.contains("keyid"), e.description)
        }
        XCTAssertEqual(try ring.entries().count, 0)
    }
}
