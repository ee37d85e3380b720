import XCTest
import IMAFormat
@testable import SignetCrypto
import SignetTestSupport

final class KeysAndCertificatesTests: XCTestCase {
    static let algorithms: [KeyAlgorithm] = [.rsa(bits: 2048), .ecdsa(curve: .p256), .ecdsa(curve: .p384)]

    func testSignVerifyAndKeyIDForEveryAlgorithm() throws {
        let dir = TempDir()
        for algorithm in Self.algorithms {
            let f = try KeyFixture(in: dir, algorithm: algorithm, name: "k\(algorithm)".filter { $0.isLetter || $0.isNumber })
            XCTAssertEqual(try f.key.algorithm(), algorithm)
            XCTAssertEqual(f.certificate.keyAlgorithm, algorithm)
            // The kernel finds keys by SKID; ours must end in the IMA keyid.
            let skid = try XCTUnwrap(f.certificate.subjectKeyIdentifier)
            XCTAssertEqual(Array(skid.suffix(4)), withUnsafeBytes(of: f.certificate.imaKeyID.bigEndian, Array.init))
            XCTAssertEqual(f.certificate.imaKeyID, f.key.publicKey.imaKeyID)
            for hash in [HashAlgorithm.sha256, .sha384, .sha512] {
                let digest = Digester.hash(Array("content".utf8), hash)
                let sig = try f.key.sign(digest: digest, algorithm: hash)
                XCTAssertTrue(f.certificate.publicKey.verify(signature: sig, digest: digest, algorithm: hash))
                var flipped = digest
                flipped[0] ^= 1
                XCTAssertFalse(f.certificate.publicKey.verify(signature: sig, digest: flipped, algorithm: hash))
            }
            XCTAssertNoThrow(try f.certificate.checkUsableForIMASigning())
            XCTAssertNoThrow(try f.certificate.checkMatches(f.key))
            XCTAssertTrue(f.ca.isCA)
            XCTAssertFalse(f.certificate.isCA)
            XCTAssertEqual(f.certificate.keyUsage, .digitalSignature)
        }
    }

    func testDigestsMatchKnownVectors() {
        XCTAssertEqual(Hex.encode(Digester.hash(Array("abc".utf8), .sha256)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Hex.encode(Digester.hash(Array("abc".utf8), .sha1)), "a9993e364706816aba3e25717850c26c9cd0d89d")
        let d = Digester(.sha512)
        d.update(Array("a".utf8)); d.update(Array("bc".utf8))
        XCTAssertEqual(d.finalize(), Digester.hash(Array("abc".utf8), .sha512))
        XCTAssertEqual(d.finalize(), Digester.hash([], .sha512), "finalize resets the digester")
    }

    func testEncryptedKeyNeedsTheRightPassphrase() throws {
        let key = try PrivateKey.generate(.ecdsa(curve: .p256))
        let pem = try key.pemEncoded(passphrase: "correct horse")
        XCTAssertTrue(String(decoding: pem, as: UTF8.self).contains("ENCRYPTED PRIVATE KEY"))
        let loaded = try PrivateKey(pem: pem, passphrase: "correct horse", source: "k.pem")
        XCTAssertTrue(key.publicKey.isSameKey(as: loaded.publicKey))
        XCTAssertThrowsError(try PrivateKey(pem: pem, passphrase: "wrong", source: "k.pem")) { error in
            let e = error as! CryptoError
            XCTAssertEqual(e.code, .wrongPassphrase)
            XCTAssertEqual(e.path, "k.pem")
        }
        XCTAssertThrowsError(try PrivateKey(pem: pem, passphrase: nil, source: "k.pem")) { error in
            let e = error as! CryptoError
            XCTAssertEqual(e.code, .passphraseRequired)
            XCTAssertTrue(e.description.contains("SIGNET_KEY_PASSPHRASE"), e.description)
        }
    }

    func testNotAKeyAndNotACertificate() throws {
        let dir = TempDir()
        let junk = dir.write("junk.pem", "hello\n")
        XCTAssertThrowsError(try PrivateKey.load(path: junk, passphrase: nil)) {
            XCTAssertEqual(($0 as! CryptoError).code, .notAPrivateKey)
        }
        XCTAssertThrowsError(try Certificate.load(path: junk)) {
            XCTAssertEqual(($0 as! CryptoError).code, .notACertificate)
        }
        XCTAssertThrowsError(try Certificate.load(path: dir.url("missing.pem"))) { error in
            let e = error as! CryptoError
            XCTAssertEqual(e.code, .fileUnreadable)
            XCTAssertTrue(e.description.contains("missing.pem"))
        }
        // A PEM block that is damaged inside.
        let broken = dir.write("broken.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        XCTAssertThrowsError(try PrivateKey.load(path: broken, passphrase: nil)) {
            XCTAssertEqual(($0 as! CryptoError).code, .notAPrivateKey)
        }
    }

    func testCertificateChecksRefuseExpiredFutureNonSigningAndMismatched() throws {
        let dir = TempDir()
        let now = Int(time(nil))
        let expired = try KeyFixture(in: dir, name: "old", validityDays: 1, notBefore: now - 10 * 86400)
        XCTAssertThrowsError(try expired.certificate.checkUsableForIMASigning()) { error in
            let e = error as! CryptoError
            XCTAssertEqual(e.code, .certificateExpired)
            XCTAssertTrue(e.description.contains("expired on"), e.description)
        }
        let future = try KeyFixture(in: dir, name: "future", notBefore: now + 86400)
        XCTAssertThrowsError(try future.certificate.checkUsableForIMASigning()) {
            XCTAssertEqual(($0 as! CryptoError).code, .certificateNotYetValid)
        }
        let good = try KeyFixture(in: dir, name: "good")
        // The CA certificate has keyCertSign only: not for signing files.
        XCTAssertThrowsError(try good.ca.checkUsableForIMASigning()) {
            XCTAssertEqual(($0 as! CryptoError).code, .notASigningCertificate)
        }
        XCTAssertThrowsError(try good.certificate.checkMatches(expired.key)) { error in
            let e = error as! CryptoError
            XCTAssertEqual(e.code, .keyCertificateMismatch)
            XCTAssertTrue(e.description.contains(KeyID.hex(good.certificate.imaKeyID)))
        }
        // A leaf cannot issue certificates.
        XCTAssertThrowsError(try CertificateAuthority.issueSigningCertificate(
            for: expired.key.publicKey, profile: .init(subject: "CN=x", validityDays: 1),
            ca: good.certificate, caKey: good.key)) {
            XCTAssertEqual(($0 as! CryptoError).code, .notASigningCertificate)
        }
    }

    func testSubjectParsingAndBundles() throws {
        let key = try PrivateKey.generate(.ecdsa(curve: .p256))
        let a = try CertificateAuthority.makeRoot(key: key, profile: .init(subject: "CN=Example CA,O=Example Corp", validityDays: 10))
        XCTAssertEqual(a.subject, "CN=Example CA,O=Example Corp")
        let b = try CertificateAuthority.makeRoot(key: key, profile: .init(subject: "/CN=Slash/O=Style", validityDays: 10))
        XCTAssertTrue(b.subject.contains("CN=Slash"))
        XCTAssertThrowsError(try CertificateAuthority.makeRoot(key: key, profile: .init(subject: "no equals", validityDays: 10))) {
            XCTAssertEqual(($0 as! CryptoError).code, .invalidSubject)
        }
        XCTAssertThrowsError(try CertificateAuthority.makeRoot(key: key, profile: .init(subject: "XX=bogus", validityDays: 10))) {
            XCTAssertEqual(($0 as! CryptoError).code, .invalidSubject)
        }
        let bundle = try Certificate.parseAll(a.pem + b.pem, source: "bundle.pem")
        XCTAssertEqual(bundle.count, 2)
        let der = try Certificate.parseAll(a.der, source: "a.der")
        XCTAssertEqual(der.first?.fingerprintSHA256, a.fingerprintSHA256)
    }

    func testKeyIDAgreesWithOpenSSLCommandLine() throws {
        // Independent computation: SHA-1 over the subjectPublicKey BIT STRING as openssl prints it.
        let dir = TempDir()
        let f = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048))
        let r = try runProgram("/usr/bin/openssl", ["x509", "-in", f.certPath, "-noout", "-ext", "subjectKeyIdentifier"])
        XCTAssertEqual(r.status, 0, r.output)
        let skid = r.stdout.split(separator: "\n").last!.filter { $0.isHexDigit }.lowercased()
        XCTAssertTrue(skid.hasSuffix(KeyID.hex(f.certificate.imaKeyID)), "\(skid) vs \(KeyID.hex(f.certificate.imaKeyID))")
    }
}
