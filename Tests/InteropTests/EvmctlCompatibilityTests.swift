import XCTest
import Foundation
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

/// Signet and evmctl (ima-evm-utils) must read each other's security.ima, for
/// every key type and digest the issue names, with the same keyid.
final class EvmctlCompatibilityTests: XCTestCase {
    static let algorithms: [KeyAlgorithm] = [.rsa(bits: 2048), .rsa(bits: 4096), .ecdsa(curve: .p256), .ecdsa(curve: .p384)]
    static let hashes: [HashAlgorithm] = [.sha256, .sha384, .sha512]

    var evmctl: String!

    override func setUpWithError() throws {
        evmctl = try requiredTool("evmctl", package: "ima-evm-utils")
    }

    func signetSign(_ keys: KeyFixture, _ hash: HashAlgorithm, _ paths: [String]) throws {
        var options = SigningOptions()
        options.hashAlgorithm = hash
        options.resignAll = true
        let files = TreeWalker(selection: .init()).walk(paths.map(FilePath.init)).files
        let results = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options).run(files)
        XCTAssertTrue(results.allSatisfy { $0?.outcome == .signed })
    }

    func signetAppraise(_ keys: KeyFixture, _ path: String) -> Appraisal? {
        Appraiser(trust: TrustStore([keys.certificate]), jobs: 1)
            .run(TreeWalker(selection: .init()).walk([FilePath(path)]).files).first ?? nil
    }

    func testBothWaysForEveryKeyTypeAndDigest() throws {
        let dir = TempDir()
        for algorithm in Self.algorithms {
            let keys = try KeyFixture(in: dir, algorithm: algorithm, name: "k")
            for hash in Self.hashes {
                let label = "\(algorithm) \(hash)"
                let ours = dir.write("ours", "signed by signet \(label)")
                let theirs = dir.write("theirs", "signed by evmctl \(label)")

                // Signet signs, evmctl verifies.
                try signetSign(keys, hash, [ours])
                let verify = try runProgram(evmctl, ["-v", "ima_verify", "--key", keys.certDERPath, ours])
                XCTAssertEqual(verify.status, 0, "\(label): \(verify.output)")
                XCTAssertTrue(verify.output.contains("verification is OK"), "\(label): \(verify.output)")

                // evmctl signs, Signet verifies; same keyid in the header.
                let sign = try runProgram(evmctl, ["ima_sign", "--key", keys.keyPath, "-a", hash.name, theirs])
                XCTAssertEqual(sign.status, 0, "\(label): \(sign.output)")
                let theirSig = try IMASignature(bytes: XCTUnwrap(Xattr.get(theirs)))
                XCTAssertEqual(theirSig.keyID, keys.certificate.imaKeyID, "\(label): keyid")
                XCTAssertEqual(theirSig.hashAlgorithm, hash)
                XCTAssertEqual(signetAppraise(keys, theirs)?.status, .ok, label)

                // RSA PKCS#1 v1.5 is deterministic: the xattrs must be byte-identical.
                if case .rsa = algorithm {
                    dir.write("same", "same content")
                    let same = dir.url("same")
                    XCTAssertEqual(try runProgram(evmctl, ["ima_sign", "--key", keys.keyPath, "-a", hash.name, same]).status, 0)
                    let evmctlBytes = Xattr.get(same)
                    try signetSign(keys, hash, [same])
                    XCTAssertEqual(Xattr.get(same), evmctlBytes, "\(label): bytes differ from evmctl's")
                }

                // Both refuse a tampered file.
                let h = FileHandle(forWritingAtPath: theirs)!
                h.seekToEndOfFile(); h.write(Data([0])); h.closeFile()
                XCTAssertEqual(signetAppraise(keys, theirs)?.status, .badSignature, label)
                try signetSign(keys, hash, [ours])
                let o = FileHandle(forWritingAtPath: ours)!
                o.seekToEndOfFile(); o.write(Data([0])); o.closeFile()
                let bad = try runProgram(evmctl, ["ima_verify", "--key", keys.certDERPath, ours])
                XCTAssertNotEqual(bad.status, 0, "\(label): evmctl accepted a tampered file")
                unlink(ours); unlink(theirs)
            }
        }
    }

    func testEvmctlRecursiveTreeVerifiesWithSignetAndViceVersa() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256))
        let theirs = makeFiles(in: dir, prefix: "evm-tree/sub", count: 25, size: 5000)
        let r = try runProgram(evmctl, ["ima_sign", "-r", "--key", keys.keyPath, dir.url("evm-tree")])
        XCTAssertEqual(r.status, 0, r.output)
        let walk = TreeWalker(selection: .init()).walk([FilePath(dir.url("evm-tree"))])
        let appraisals = Appraiser(trust: TrustStore([keys.certificate]), jobs: 2).run(walk.files).compactMap { $0 }
        XCTAssertEqual(appraisals.count, theirs.count)
        XCTAssertTrue(appraisals.allSatisfy { $0.status == .ok }, appraisals.map { "\($0.file.paths[0]) \($0.status)" }.joined(separator: "\n"))

        let ours = makeFiles(in: dir, prefix: "signet-tree/sub", count: 25, size: 5000)
        try signetSign(keys, .sha256, [dir.url("signet-tree")])
        for p in ours {
            let v = try runProgram(evmctl, ["ima_verify", "--key", keys.certDERPath, p])
            XCTAssertEqual(v.status, 0, "\(p): \(v.output)")
        }
    }

    func testKeysMadeByOpenSSLInEveryPEMFormLoad() throws {
        let dir = TempDir()
        let openssl = "/usr/bin/openssl"
        let forms: [(String, [String])] = [
            ("rsa-pkcs1.pem", ["genrsa", "-traditional", "-out", dir.url("rsa-pkcs1.pem"), "2048"]),
            ("rsa-pkcs8.pem", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", dir.url("rsa-pkcs8.pem")]),
            ("ec-sec1.pem", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", dir.url("ec-sec1.pem")]),
            ("ec-enc.pem", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-aes-256-cbc", "-pass", "pass:s3cret", "-out", dir.url("ec-enc.pem")]),
        ]
        for (name, args) in forms {
            let r = try runProgram(openssl, args)
            XCTAssertEqual(r.status, 0, r.output)
            let key = try PrivateKey.load(path: dir.url(name), passphrase: name == "ec-enc.pem" ? "s3cret" : nil)
            let digest = Digester.hash([1, 2, 3], .sha256)
            XCTAssertTrue(key.publicKey.verify(signature: try key.sign(digest: digest, algorithm: .sha256), digest: digest, algorithm: .sha256), name)
        }
        XCTAssertThrowsError(try PrivateKey.load(path: dir.url("ec-enc.pem"), passphrase: "nope")) {
            XCTAssertEqual(($0 as! CryptoError).code, .wrongPassphrase)
        }
    }
}

/// The certificate profiles shipped in keys/ are real: openssl issues with them and
/// Signet accepts the result with the same keyid evmctl computes.
final class KeyProfileTests: XCTestCase {
    func testOpenSSLIssuedCertificateFromShippedProfileIsAccepted() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = TempDir()
        let openssl = "/usr/bin/openssl"
        func ok(_ args: [String]) throws {
            let r = try runProgram(openssl, args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.output)")
        }
        try ok(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", dir.url("ca.key")])
        try ok(["req", "-x509", "-new", "-key", dir.url("ca.key"), "-subj", "/CN=Profile CA", "-days", "30",
                "-config", "\(repo)/keys/openssl-ca.cnf", "-extensions", "ima_ca", "-out", dir.url("ca.crt")])
        try ok(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", dir.url("ima.key")])
        try ok(["req", "-new", "-key", dir.url("ima.key"), "-subj", "/CN=Profile signer", "-out", dir.url("ima.csr")])
        try ok(["x509", "-req", "-in", dir.url("ima.csr"), "-CA", dir.url("ca.crt"), "-CAkey", dir.url("ca.key"),
                "-CAcreateserial", "-days", "30", "-extfile", "\(repo)/keys/openssl-ima-signing.cnf",
                "-extensions", "ima_signing", "-out", dir.url("ima.crt")])
        let ca = try Certificate.load(path: dir.url("ca.crt"))
        XCTAssertTrue(ca.isCA)
        XCTAssertEqual(ca.keyUsage?.contains(.keyCertSign), true)
        let cert = try Certificate.load(path: dir.url("ima.crt"))
        let key = try PrivateKey.load(path: dir.url("ima.key"), passphrase: nil)
        XCTAssertNoThrow(try cert.checkUsableForIMASigning())
        XCTAssertNoThrow(try SigningPipeline(key: key, certificate: cert, options: SigningOptions()))
        XCTAssertEqual(cert.subjectKeyIdentifier.map { Array($0.suffix(4)) }, withUnsafeBytes(of: cert.imaKeyID.bigEndian, Array.init))
        // evmctl's keyid for this key is the same.
        let f = dir.write("f", "x")
        XCTAssertEqual(try runProgram(which("evmctl") ?? "/usr/bin/evmctl", ["ima_sign", "--key", dir.url("ima.key"), f]).status, 0)
        XCTAssertEqual(try IMASignature(bytes: XCTUnwrap(Xattr.get(f))).keyID, cert.imaKeyID)
    }
}
