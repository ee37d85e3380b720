import XCTest
import Foundation
import Synchronization
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetHTTPClient
import SignetTestSupport

/// Keys that never leave a PKCS#11 token: a real SoftHSM2 token made in a temp
/// dir, keys generated inside it, certificates from a Signet CA, signatures made
/// through OpenSSL's libp11 engine and checked by evmctl and Signet's Appraiser.
final class PKCS11Tests: XCTestCase {
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let pin = "pin-Zq7x4kW"
    static let token = "signet-test"
    /// A second token nobody logs into correctly (the engine keeps a login per slot).
    static let spareToken = "signet-spare"
    /// A token first given a wrong PIN, then the right one.
    static let retryToken = "signet-retry"

    struct Fixture {
        let dir: TempDir
        let config: String
        let ca: Certificate
        let caKey: PrivateKey
        /// label → (certificate, DER path, PEM path)
        var certs: [String: (cert: Certificate, der: String, pem: String)] = [:]
    }

    /// Made once per process: SoftHSM reads SOFTHSM2_CONF once, at C_Initialize.
    nonisolated(unsafe) static var fixture: Result<Fixture, Error>?

    static let keyLabels = ["ima-rsa": "rsa:2048", "ima-ec": "EC:prime256v1"]
    static let allKeyLabels = keyLabels.merging(["ima-p521": "EC:secp521r1"]) { a, _ in a }

    static func makeFixture() throws -> Fixture {
        // The test process also runs the HTTP client's tests: libcurl must initialise OpenSSL
        // before the PKCS#11 engine is loaded (see HTTPClient.initializeLibrary).
        HTTPClient.initializeLibrary()
        for tool in ["softhsm2-util", "pkcs11-tool", "evmctl"] where which(tool) == nil {
            throw CryptoError(.fileUnreadable, "\(tool) not found: run tools/setup (softhsm2, opensc, libengine-pkcs11-openssl, ima-evm-utils)")
        }
        guard FileManager.default.fileExists(atPath: module) else {
            throw CryptoError(.fileUnreadable, "\(module) missing: apt-get install softhsm2")
        }
        let dir = TempDir("signet-hsm")
        dir.mkdir("tokens")
        let config = dir.write("softhsm2.conf", "directories.tokendir = \(dir.url("tokens"))\nobjectstore.backend = file\nlog.level = ERROR\n")
        setenv("SOFTHSM2_CONF", config, 1)
        func run(_ tool: String, _ args: [String]) throws {
            let r = try runProgram(which(tool)!, args, environment: ["SOFTHSM2_CONF": config])
            guard r.status == 0 else { throw CryptoError(.operationFailed, "\(tool) \(args.joined(separator: " ")): \(r.output)") }
        }
        for label in [token, spareToken, retryToken] {
            try run("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", "so-\(pin)", "--pin", pin])
        }
        let caKey = try PrivateKey.generate(.ecdsa(curve: .p256))
        let ca = try CertificateAuthority.makeRoot(key: caKey, profile: .init(subject: "CN=HSM Test CA", validityDays: 365))
        var fixture = Fixture(dir: dir, config: config, ca: ca, caKey: caKey)
        for (i, (label, type)) in allKeyLabels.sorted(by: { $0.key < $1.key }).enumerated() {
            let id = String(format: "%02x", i + 1)
            for tokenLabel in [token, spareToken, retryToken] {
                try run("pkcs11-tool", ["--module", module, "--token-label", tokenLabel, "--login", "--pin", pin,
                                        "--keypairgen", "--key-type", type, "--label", label, "--id", id])
            }
            if label == "ima-p521" { continue } // no certificate: the kernel cannot verify P-521
            let spki = dir.url("\(label).spki.der")
            try run("pkcs11-tool", ["--module", module, "--token-label", token, "--read-object", "--type", "pubkey",
                                    "--label", label, "-o", spki])
            let pub = try PublicKey.decode(spkiDER: try FileBytes.read(spki))
            let cert = try CertificateAuthority.issueSigningCertificate(
                for: pub, profile: .init(subject: "CN=HSM \(label)", validityDays: 30), ca: ca, caKey: caKey)
            let der = dir.url("\(label).crt.der"), pem = dir.url("\(label).crt.pem")
            try FileBytes.writeAtomically(cert.der, to: der, mode: 0o644)
            try FileBytes.writeAtomically(cert.pem, to: pem, mode: 0o644)
            fixture.certs[label] = (cert, der, pem)
        }
        return fixture
    }

    var fx: Fixture!

    override func tearDown() {
        fx = nil
        super.tearDown()
    }

    /// Removes the token directory when the class is done.
    override class func tearDown() {
        if case .success(let f)? = fixture { f.dir.remove() }
        fixture = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        if Self.fixture == nil { Self.fixture = Result { try Self.makeFixture() } }
        switch Self.fixture! {
        case .success(let f): fx = f
        case .failure(let error):
            // Not skipped: tools/setup installs softhsm2, opensc and the engine; CI must run these.
            XCTFail("cannot make the SoftHSM2 token: \(error)")
            throw error
        }
    }

    func uri(_ object: String, token: String = PKCS11Tests.token) -> String { "pkcs11:token=\(token);object=\(object);type=private" }

    func sign(_ key: PrivateKey, _ cert: Certificate, _ paths: [String], jobs: Int = 2) throws -> [SignedFile?] {
        var options = SigningOptions()
        options.resignAll = true
        options.jobs = jobs
        let files = TreeWalker(selection: .init()).walk(paths.map(FilePath.init)).files
        return try SigningPipeline(key: key, certificate: cert, options: options).run(files)
    }

    func testSignTreeWithTokenKeysVerifiedByEvmctlAndAppraiser() throws {
        let evmctl = try XCTUnwrap(which("evmctl"))
        for label in Self.keyLabels.keys.sorted() {
            let (cert, der, _) = fx.certs[label]!
            let key = try PrivateKey.load(path: uri(label), passphrase: Self.pin)
            XCTAssertTrue(key.isHardwareBacked)
            XCTAssertFalse(key.source.contains(Self.pin))
            let dir = TempDir("signet-hsm-tree")
            let paths = makeFiles(in: dir, prefix: "tree/bin", count: 12, size: 3000)
                + makeFiles(in: dir, prefix: "tree/lib", count: 12, size: 100)
            let results = try sign(key, cert, [dir.url("tree")])
            XCTAssertEqual(results.count, paths.count, label)
            XCTAssertTrue(results.allSatisfy { $0?.outcome == .signed }, "\(label): \(results.map { "\($0?.outcome as Any)" })")
            for path in paths {
                let verify = try runProgram(evmctl, ["-v", "ima_verify", "--key", der, path])
                XCTAssertEqual(verify.status, 0, "\(label) \(path): \(verify.output)")
                XCTAssertTrue(verify.output.contains("verification is OK"), "\(label): \(verify.output)")
                let sig = try IMASignature(bytes: XCTUnwrap(Xattr.get(path)))
                XCTAssertEqual(sig.keyID, cert.imaKeyID, "\(label): keyid")
            }
            let appraisals = Appraiser(trust: TrustStore([cert]), jobs: 2)
                .run(TreeWalker(selection: .init()).walk([FilePath(dir.url("tree"))]).files)
            XCTAssertEqual(appraisals.count, paths.count)
            XCTAssertTrue(appraisals.allSatisfy { $0?.status == .ok }, "\(label): \(appraisals.map { "\($0?.status as Any)" })")
        }
    }

    func testWrongPINIsATypedError() throws {
        XCTAssertThrowsError(try PrivateKey.load(path: uri("ima-rsa", token: Self.spareToken), passphrase: "0000-wrong")) { error in
            let e = error as? CryptoError
            XCTAssertEqual(e?.code, .wrongPassphrase, "\(error)")
            XCTAssertTrue("\(error)".contains("wrong PIN"), "\(error)")
            XCTAssertFalse("\(error)".contains("0000-wrong"), "the PIN leaks: \(error)")
        }
    }

    func testUnknownObjectNamesTheObject() throws {
        XCTAssertThrowsError(try PrivateKey.load(path: uri("no-such-key"), passphrase: Self.pin)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .notAPrivateKey, "\(error)")
            XCTAssertTrue("\(error)".contains("object 'no-such-key'"), "\(error)")
            XCTAssertTrue("\(error)".contains("not found"), "\(error)")
        }
    }

    func testMissingTokenIsNamed() throws {
        XCTAssertThrowsError(try PrivateKey.load(path: uri("ima-rsa", token: "absent-token"), passphrase: Self.pin)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .notAPrivateKey, "\(error)")
            XCTAssertTrue("\(error)".contains("no token labelled 'absent-token'"), "\(error)")
        }
    }

    func testPINInURIAndMissingModuleAndMissingPINAreRefused() throws {
        XCTAssertThrowsError(try PrivateKey.load(path: "pkcs11:token=\(Self.token);object=ima-rsa?pin-value=1234", passphrase: nil)) { error in
            XCTAssertTrue("\(error)".contains("pin-value"), "\(error)")
            XCTAssertFalse("\(error)".contains("1234"), "\(error)")
        }
        XCTAssertThrowsError(try PrivateKey.load(path: "pkcs11:token=\(Self.token);object=ima-rsa;module-path=/nonexistent/libp11mod.so",
                                                 passphrase: Self.pin)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .fileUnreadable, "\(error)")
            XCTAssertTrue("\(error)".contains("/nonexistent/libp11mod.so"), "\(error)")
        }
        // A file that is not a PKCS#11 module.
        XCTAssertThrowsError(try PrivateKey.loadPKCS11(uri: uri("ima-rsa"), pin: Self.pin, modulePath: "/usr/lib/x86_64-linux-gnu/libc.so.6")) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .fileUnreadable, "\(error)")
            XCTAssertTrue("\(error)".contains("not a PKCS#11 module"), "\(error)")
        }
        if getenv(PrivateKey.pkcs11PINEnvironmentVariable) == nil {
            XCTAssertThrowsError(try PrivateKey.load(path: uri("ima-rsa"), passphrase: nil)) { error in
                XCTAssertEqual((error as? CryptoError)?.code, .passphraseRequired, "\(error)")
                XCTAssertTrue("\(error)".contains("SIGNET_PKCS11_PIN"), "\(error)")
            }
        }
    }

    func testKeyTypeTheKernelCannotVerifyIsRefused() throws {
        XCTAssertThrowsError(try PrivateKey.load(path: uri("ima-p521"), passphrase: Self.pin)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .unsupportedKey, "\(error)")
            XCTAssertTrue("\(error)".contains("IMA verifies RSA and ECDSA P-256/P-384 only"), "\(error)")
        }
    }

    /// After a wrong PIN, the right one still works (nothing is stuck in the
    /// engine); once logged in, a different PIN is still refused.
    func testRightPINAfterWrongPINAndWrongAfterRight() throws {
        XCTAssertThrowsError(try PrivateKey.load(path: uri("ima-ec", token: Self.retryToken), passphrase: "wrong-\(Self.pin)")) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .wrongPassphrase, "\(error)")
        }
        let key = try PrivateKey.load(path: uri("ima-ec", token: Self.retryToken), passphrase: Self.pin)
        XCTAssertThrowsError(try PrivateKey.load(path: uri("ima-rsa", token: Self.retryToken), passphrase: "wrong-\(Self.pin)")) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .wrongPassphrase, "\(error)")
            XCTAssertFalse("\(error)".contains(Self.pin), "\(error)")
        }
        let sig = try key.sign(digest: [UInt8](repeating: 7, count: 32), algorithm: .sha256)
        XCTAssertTrue(try PrivateKey.load(path: uri("ima-rsa", token: Self.retryToken), passphrase: Self.pin).isHardwareBacked)
        // The retry token's keys are its own: check the signature with its public half.
        XCTAssertTrue(key.publicKey.verify(signature: sig, digest: [UInt8](repeating: 7, count: 32), algorithm: .sha256))
    }

    func testURIParsing() throws {
        let u = try PKCS11URI("pkcs11:token=My%20HSM;object=ima;module-path=/opt/x.so?foo=bar")
        XCTAssertEqual(u.attributes["token"], "My HSM")
        XCTAssertEqual(u.attributes["module-path"], "/opt/x.so")
        XCTAssertEqual(u.engineURI, "pkcs11:token=My%20HSM;object=ima?foo=bar")
        XCTAssertTrue(PKCS11URI.isPKCS11("PKCS11:object=a"))
        XCTAssertFalse(PKCS11URI.isPKCS11("/etc/keys/pkcs11:x.pem"))
    }

    func testCLISignsWithTokenKeyWithoutShowingThePIN() throws {
        let evmctl = try XCTUnwrap(which("evmctl"))
        let (_, der, pem) = fx.certs["ima-ec"]!
        let dir = TempDir("signet-hsm-cli")
        let paths = makeFiles(in: dir, prefix: "root/usr/bin", count: 8, size: 2000)
        let r = try runProgram(signetBinary, ["sign", "--key", uri("ima-ec"), "--cert", pem, "--jobs", "2", "--no-progress", dir.url("root")],
                               environment: ["SIGNET_PKCS11_PIN": Self.pin, "SOFTHSM2_CONF": fx.config])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertFalse(r.output.contains(Self.pin), "the PIN appears in the output: \(r.output)")
        for path in paths {
            let verify = try runProgram(evmctl, ["ima_verify", "--key", der, path])
            XCTAssertEqual(verify.status, 0, "\(path): \(verify.output)")
        }
        // Wrong PIN through the CLI: exit 2, a clear message, no PIN.
        let bad = try runProgram(signetBinary, ["sign", "--key", uri("ima-ec", token: Self.spareToken), "--cert", pem, "--no-progress", dir.url("root")],
                                 environment: ["SIGNET_PKCS11_PIN": "bad-\(Self.pin)", "SOFTHSM2_CONF": fx.config])
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(bad.output.contains("wrong PIN"), bad.output)
        XCTAssertFalse(bad.output.contains(Self.pin), bad.output)
    }

    /// Many workers signing through one token key at once (one PKCS#11 session
    /// each from libp11's pool): every signature must still verify.
    func testParallelSigningThroughTheTokenVerifies() throws {
        let evmctl = try XCTUnwrap(which("evmctl"))
        for label in Self.keyLabels.keys.sorted() {
            let (cert, der, _) = fx.certs[label]!
            let key = try PrivateKey.load(path: uri(label), passphrase: Self.pin)
            let dir = TempDir("signet-hsm-parallel")
            let paths = makeFiles(in: dir, prefix: "p", count: 400, size: 512)
            let results = try sign(key, cert, [dir.url("p")], jobs: 8)
            XCTAssertEqual(results.count, paths.count, label)
            XCTAssertTrue(results.allSatisfy { $0?.outcome == .signed }, "\(label): \(results.map { "\($0?.outcome as Any)" })")
            let appraisals = Appraiser(trust: TrustStore([cert]), jobs: 2)
                .run(TreeWalker(selection: .init()).walk([FilePath(dir.url("p"))]).files)
            XCTAssertEqual(appraisals.count, paths.count)
            XCTAssertEqual(appraisals.filter { $0?.status != .ok }.count, 0, label)
            for path in paths.prefix(5) {
                let verify = try runProgram(evmctl, ["ima_verify", "--key", der, path])
                XCTAssertEqual(verify.status, 0, "\(label) \(path): \(verify.output)")
            }
        }
    }

    /// Raw signatures/s through one token key from 1 and 2 threads (no files,
    /// no xattrs): how far concurrent sessions scale; printed for the record.
    func testConcurrentSignatureScalingThroughTheToken() throws {
        let rsaPEM = try KeyFixture(in: TempDir("signet-hsm-scale"), algorithm: .rsa(bits: 2048), name: "pem-rsa")
        let cases = [("token ima-rsa", try PrivateKey.load(path: uri("ima-rsa"), passphrase: Self.pin), fx.certs["ima-rsa"]!.cert.publicKey),
                     ("PEM rsa2048", rsaPEM.key, rsaPEM.certificate.publicKey)]
        let digest = [UInt8](repeating: 0x5a, count: 32)
        for (label, key, publicKey) in cases {
            var rates = [Int: Double]()
            for threads in [1, 2] {
                let perThread = 600
                let failures = Mutex(0)
                let start = Date()
                DispatchQueue.concurrentPerform(iterations: threads) { _ in
                    for _ in 0..<perThread {
                        guard let sig = try? key.sign(digest: digest, algorithm: .sha256),
                              publicKey.verify(signature: sig, digest: digest, algorithm: .sha256) else {
                            failures.withLock { $0 += 1 }
                            continue
                        }
                    }
                }
                let seconds = Date().timeIntervalSince(start)
                XCTAssertEqual(failures.withLock { $0 }, 0, label)
                rates[threads] = Double(threads * perThread) / seconds
                print("signature rate \(label) \(threads) thread(s): \(Int(rates[threads]!)) signatures/s (+ verify)")
            }
            print("signature scaling \(label): 2 threads / 1 thread = \(String(format: "%.2f", rates[2]! / rates[1]!))x")
        }
    }

    /// Signing rate through the token (parallel sessions); printed for the record.
    func testSigningRateThroughTheToken() throws {
        let dir = TempDir("signet-hsm-rate")
        let paths = makeFiles(in: dir, prefix: "t", count: 1000, size: 4096)
        let rsaPEM = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048), name: "pem-rsa")
        let ecPEM = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "pem-ec")
        var cases = [(String, PrivateKey, Certificate)]()
        for label in Self.keyLabels.keys.sorted() {
            cases.append(("token \(label)", try PrivateKey.load(path: uri(label), passphrase: Self.pin), fx.certs[label]!.cert))
        }
        cases += [("PEM rsa2048", rsaPEM.key, rsaPEM.certificate), ("PEM p256", ecPEM.key, ecPEM.certificate)]
        for (label, key, cert) in cases {
            for jobs in label.hasPrefix("token") ? [1, 2, 8] : [1, 2] {
                let start = Date()
                let results = try sign(key, cert, paths, jobs: jobs)
                let seconds = Date().timeIntervalSince(start)
                XCTAssertTrue(results.allSatisfy { $0?.outcome == .signed }, label)
                print("signing rate \(label) jobs \(jobs): \(Int(Double(paths.count) / seconds)) files/s (\(paths.count) files of 4 KiB, \(String(format: "%.2f", seconds)) s)")
            }
        }
    }
}
