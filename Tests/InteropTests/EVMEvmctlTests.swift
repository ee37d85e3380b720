import XCTest
import Foundation
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

/// Portable EVM signatures against evmctl (ima-evm-utils) both ways, for RSA
/// and EC keys: `evmctl sign --portable` → `signet verify --evm` ok; ours →
/// `evmctl verify` OK; RSA values byte-identical, EC hashed inputs identical;
/// both tools refuse changed metadata and a moved security.ima.
final class EVMEvmctlTests: XCTestCase {
    static let algorithms: [KeyAlgorithm] = [.rsa(bits: 2048), .rsa(bits: 4096), .ecdsa(curve: .p256), .ecdsa(curve: .p384)]
    var evmctl: String!

    override func setUpWithError() throws {
        evmctl = try requiredTool("evmctl", package: "ima-evm-utils")
    }

    func signetSign(_ keys: KeyFixture, _ hash: HashAlgorithm, _ path: String, evm: EVMSigningOptions = .init()) throws {
        var options = SigningOptions()
        options.hashAlgorithm = hash
        options.resignAll = true
        options.evm = evm
        let files = TreeWalker(selection: .init()).walk([FilePath(path)]).files
        let results = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options).run(files)
        XCTAssertTrue(results.allSatisfy { $0?.outcome == .signed }, "\(results.map { $0?.outcome as Any })")
    }

    func signetEVM(_ keys: KeyFixture, _ path: String, evm: EVMSigningOptions = .init()) -> EVMAppraisal.Status? {
        EVMAppraiser(trust: TrustStore([keys.certificate]), options: evm, jobs: 1)
            .run(TreeWalker(selection: .init()).walk([FilePath(path)]).files).first??.status
    }

    /// The EVM digest evmctl -v prints: the `hash(ALGO):` line after `hmac_misc`.
    func evmctlEVMHash(_ output: String) -> String? {
        guard let misc = output.range(of: "hmac_misc") else { return nil }
        let rest = output[misc.upperBound...]
        guard let h = rest.range(of: "hash(") else { return nil }
        let line = rest[h.lowerBound...].prefix { $0 != "\n" }
        return line.split(separator: " ").last.map(String.init)
    }

    func evmctlVerify(_ keys: KeyFixture, _ path: String) throws -> ProcessResult {
        try runProgram(evmctl, ["-v", "verify", "--key", keys.certDERPath, path])
    }

    func testBothWaysForRSAAndEC() throws {
        let dir = TempDir()
        for algorithm in Self.algorithms {
            let keys = try KeyFixture(in: dir, algorithm: algorithm, name: "k")
            for hash in [HashAlgorithm.sha256, .sha512] {
                let label = "\(algorithm) \(hash)"
                // evmctl signs (security.ima, then --portable security.evm); signet verifies.
                let theirs = dir.write("theirs", "evmctl \(label)", mode: 0o755)
                XCTAssertEqual(try runProgram(evmctl, ["ima_sign", "--key", keys.keyPath, "-a", hash.name, theirs]).status, 0)
                let s = try runProgram(evmctl, ["-v", "sign", "--portable", "--key", keys.keyPath, "-a", hash.name, theirs])
                XCTAssertEqual(s.status, 0, "\(label): \(s.output)")
                XCTAssertEqual(Xattr.get(theirs, "security.evm")?.first, 0x05, label)
                XCTAssertEqual(signetEVM(keys, theirs), .ok, label)

                // signet signs; evmctl verifies.
                let ours = dir.write("ours", "signet \(label)", mode: 0o755)
                try signetSign(keys, hash, ours)
                let v = try evmctlVerify(keys, ours)
                XCTAssertEqual(v.status, 0, "\(label): \(v.output)")
                XCTAssertTrue(v.output.contains("verification is OK"), "\(label): \(v.output)")

                // Same input hashed by both (and, for RSA PKCS#1 v1.5, the same bytes).
                let same = dir.write("same", "same \(label)", mode: 0o750)
                try signetSign(keys, hash, same)
                let oursEVM = try XCTUnwrap(Xattr.get(same, "security.evm"))
                let e = try runProgram(evmctl, ["-v", "sign", "--portable", "--key", keys.keyPath, "-a", hash.name, same])
                XCTAssertEqual(e.status, 0, e.output)
                let input = try EVMPortableInput(values: [.ima: XCTUnwrap(Xattr.get(same))], uid: getuid(), gid: getgid(), mode: 0o100750)
                XCTAssertEqual(evmctlEVMHash(e.output), Hex.encode(Digester.hash(input.hashedBytes(), hash)), "\(label): hashed input differs")
                if case .rsa = algorithm {
                    XCTAssertEqual(Xattr.get(same, "security.evm"), oursEVM, "\(label): security.evm differs from evmctl's")
                }

                // chmod / chown after signing: both refuse.
                chmod(ours, 0o4755)
                XCTAssertNotEqual(try evmctlVerify(keys, ours).status, 0, "\(label): evmctl accepted a chmod")
                XCTAssertEqual(signetEVM(keys, ours), .metadataChanged, label)
                chown(theirs, 4242, 4242)
                XCTAssertNotEqual(try evmctlVerify(keys, theirs).status, 0, "\(label): evmctl accepted a chown")
                XCTAssertEqual(signetEVM(keys, theirs), .metadataChanged, label)
                for p in [ours, theirs, same] { unlink(p) }
            }
        }
    }

    func testMovedSecurityIMAIsRefusedByBoth() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256))
        let good = dir.write("good", "identical content", mode: 0o755)
        let other = dir.write("other", "identical content", mode: 0o755)
        try signetSign(keys, .sha256, good)
        // Only security.ima moved: no security.evm → both refuse (the kernel: missing-HMAC).
        Xattr.set(other, try XCTUnwrap(Xattr.get(good)))
        XCTAssertEqual(signetEVM(keys, other), .missing)
        XCTAssertNotEqual(try evmctlVerify(keys, other).status, 0)
        // security.ima and security.evm moved to a file with other metadata: both refuse.
        Xattr.set(other, try XCTUnwrap(Xattr.get(good, "security.evm")), "security.evm")
        chmod(other, 0o700)
        XCTAssertEqual(signetEVM(keys, other), .metadataChanged)
        XCTAssertNotEqual(try evmctlVerify(keys, other).status, 0)
    }

    func testUidGidAndSELinuxOverridesMatchEvmctl() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048))
        let label = "system_u:object_r:bin_t:s0"
        let f = dir.write("f", "built as 1000", mode: 0o755)
        chown(f, 1000, 1000)
        var image = EVMSigningOptions(); image.uid = 0; image.gid = 0; image.selinuxLabel = label
        try signetSign(keys, .sha256, f, evm: image)
        let ours = Xattr.get(f, "security.evm")
        let e = try runProgram(evmctl, ["sign", "--portable", "--key", keys.keyPath, "-a", "sha256",
                                        "--uid", "0", "--gid", "0", "--selinux", label, f])
        XCTAssertEqual(e.status, 0, e.output)
        XCTAssertEqual(Xattr.get(f, "security.evm"), ours, "security.evm with --uid/--gid/--selinux differs from evmctl's")
        XCTAssertEqual(signetEVM(keys, f, evm: image), .ok)
    }
}
