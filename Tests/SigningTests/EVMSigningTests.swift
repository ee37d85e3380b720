import XCTest
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

/// `sign --evm` and `verify --evm` on real files: security.evm written after
/// security.ima in one pass, every appraisal verdict, and the label rules.
final class EVMSigningTests: XCTestCase {
    func walk(_ path: String) -> [WalkedFile] { TreeWalker(selection: .init()).walk([FilePath(path)]).files }

    func sign(_ keys: KeyFixture, _ path: String, evm: EVMSigningOptions = .init(), resign: Bool = false) throws -> [SignedFile] {
        var options = SigningOptions()
        options.evm = evm
        options.resignAll = resign
        options.jobs = 2
        let pipeline = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options)
        let files = walk(path)
        try pipeline.checkEVMLabels(files)
        return pipeline.run(files).compactMap { $0 }
    }

    func appraise(_ keys: KeyFixture, _ path: String, evm: EVMSigningOptions = .init()) -> [String: EVMAppraisal] {
        var out = [String: EVMAppraisal]()
        for r in EVMAppraiser(trust: TrustStore([keys.certificate]), options: evm, jobs: 2).run(walk(path)).compactMap({ $0 }) {
            out[r.file.paths[0].description] = r
        }
        return out
    }

    func testSignedTreeVerifiesAndTheHashIsTheKernelInput() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let a = dir.write("tree/bin/a", "program a", mode: 0o755)
        dir.write("tree/lib/b.so", "library b", mode: 0o644)
        let results = try sign(keys, dir.url("tree"))
        XCTAssertEqual(results.count, 2)
        XCTAssertTrue(results.allSatisfy { $0.outcome == .signed && !$0.evm.isEmpty })
        // security.ima first, then security.evm over it.
        let ima = try XCTUnwrap(Xattr.get(a))
        let evmBytes = try XCTUnwrap(Xattr.get(a, "security.evm"))
        guard case .portableSignature(let sig) = try EVMXattr(bytes: evmBytes) else { return XCTFail("not type 0x05") }
        XCTAssertEqual(sig.keyID, keys.certificate.imaKeyID)
        var st = stat(); stat(a, &st)
        let misc = [UInt8](repeating: 0, count: 12) + le32(st.st_uid) + le32(st.st_gid) + [UInt8(st.st_mode & 0xff), UInt8(st.st_mode >> 8), 0, 0]
        let digest = Digester.hash(ima + misc, .sha256)
        XCTAssertTrue(keys.certificate.publicKey.verify(signature: sig.signature, digest: digest, algorithm: .sha256))
        XCTAssertTrue(appraise(keys, dir.url("tree")).values.allSatisfy { $0.status == .ok })

        // A rerun keeps both values (already signed, EVM still valid).
        let again = try sign(keys, dir.url("tree"))
        XCTAssertTrue(again.allSatisfy { $0.outcome == .alreadySigned })
        XCTAssertEqual(Xattr.get(a, "security.evm"), evmBytes)
    }

    func testEveryVerdict() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let stranger = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "stranger")
        for name in ["ok", "chmod", "chown", "setcap", "copied-ima", "copied-both", "no-evm", "malformed", "hmac", "foreign", "ima-removed"] {
            dir.write("tree/\(name)", "same content", mode: 0o755)
        }
        let t: (String) -> String = { dir.url("tree/\($0)") }
        for name in ["ok", "chmod", "chown", "setcap", "copied-both", "ima-removed"] { _ = try sign(keys, t(name)) }
        _ = try sign(stranger, t("foreign"))
        for name in ["no-evm", "malformed", "hmac"] { _ = try sign(keys, t(name)); Xattr.remove(t(name), "security.evm") }
        chmod(t("chmod"), 0o4755)
        chown(t("chown"), 1000, 1000)
        Xattr.set(t("setcap"), [1, 0, 0, 2, 0, 0x20, 0, 0] + [UInt8](repeating: 0, count: 12), "security.capability")
        Xattr.set(t("copied-ima"), try XCTUnwrap(Xattr.get(t("ok"))))                    // only security.ima moved
        Xattr.set(t("copied-both"), try XCTUnwrap(Xattr.get(t("ok"), "security.evm")), "security.evm")
        chmod(t("copied-both"), 0o700)                                                   // both moved onto other metadata
        Xattr.set(t("malformed"), [0x05, 0x02], "security.evm")
        Xattr.set(t("hmac"), [0x02] + [UInt8](repeating: 1, count: 20), "security.evm")
        Xattr.remove(t("ima-removed"))

        let r = appraise(keys, dir.url("tree"))
        XCTAssertEqual(r[t("ok")]?.status, .ok)
        for name in ["chmod", "chown", "setcap", "copied-both", "ima-removed"] {
            XCTAssertEqual(r[t(name)]?.status, .metadataChanged, "\(name): \(r[t(name)]?.detail ?? "-")")
        }
        XCTAssertTrue(r[t("chown")]!.detail.contains("uid 1000"))
        XCTAssertTrue(r[t("setcap")]!.detail.contains("security.capability"))
        XCTAssertEqual(r[t("copied-ima")]?.status, .missing)
        XCTAssertEqual(r[t("no-evm")]?.status, .missing)
        XCTAssertEqual(r[t("malformed")]?.status, .malformed)
        XCTAssertEqual(r[t("hmac")]?.status, .badSignature)
        XCTAssertEqual(r[t("foreign")]?.status, .unknownKey)

        // A signature whose length no key of that keyid can produce.
        var evm = try XCTUnwrap(Xattr.get(t("ok"), "security.evm"))
        evm.removeLast(); evm[7] = UInt8((evm.count - 9) >> 8); evm[8] = UInt8((evm.count - 9) & 0xff)
        Xattr.set(t("ok"), evm, "security.evm")
        XCTAssertEqual(appraise(keys, t("ok"))[t("ok")]?.status, .badSignature)
    }

    func testOwnerAsInTheImage() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let f = dir.write("tree/f", "built by an unprivileged user", mode: 0o755)
        chown(f, 1234, 1234)
        var image = EVMSigningOptions(); image.uid = 0; image.gid = 0
        _ = try sign(keys, dir.url("tree"), evm: image)
        // Here the file is 1234:1234, so the plain check fails; as in the image it passes.
        XCTAssertEqual(appraise(keys, f)[f]?.status, .metadataChanged)
        XCTAssertEqual(appraise(keys, f, evm: image)[f]?.status, .ok)
        chown(f, 0, 0)
        XCTAssertEqual(appraise(keys, f)[f]?.status, .ok)
    }

    func testLabelsGivenOrReadAndMixedTreesRefused() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let label = "system_u:object_r:bin_t:s0"
        let a = dir.write("tree/a", "a", mode: 0o755)
        let b = dir.write("tree/b", "b", mode: 0o755)

        // --evm-selinux on an unlabelled tree: the label is hashed, not written.
        var given = EVMSigningOptions(); given.selinuxLabel = label
        _ = try sign(keys, dir.url("tree"), evm: given)
        XCTAssertNil(Xattr.get(a, "security.selinux"))
        XCTAssertEqual(appraise(keys, a, evm: given)[a]?.status, .ok)
        XCTAssertEqual(appraise(keys, a)[a]?.status, .metadataChanged)
        Xattr.set(a, Array(label.utf8) + [0], "security.selinux")
        XCTAssertEqual(appraise(keys, a)[a]?.status, .ok, "the file now carries the label that was signed")

        // Only some files labelled: refused, naming a file.
        XCTAssertThrowsError(try sign(keys, dir.url("tree"), resign: true)) {
            let e = $0 as! EVMError
            XCTAssertEqual(e.code, .inconsistentLabels)
            XCTAssertTrue(e.description.contains(a) && e.description.contains(b), e.description)
        }
        // A label that contradicts the one given: refused, naming the file.
        var other = EVMSigningOptions(); other.selinuxLabel = "system_u:object_r:usr_t:s0"
        XCTAssertThrowsError(try sign(keys, dir.url("tree"), evm: other, resign: true)) {
            let e = $0 as! EVMError
            XCTAssertEqual(e.code, .labelConflict)
            XCTAssertEqual(e.path, a)
        }
        // Every file labelled: each file's own label is used.
        Xattr.set(b, Array("system_u:object_r:lib_t:s0".utf8) + [0], "security.selinux")
        let results = try sign(keys, dir.url("tree"), resign: true)
        XCTAssertTrue(results.allSatisfy { $0.outcome == .signed })
        XCTAssertTrue(appraise(keys, dir.url("tree")).values.allSatisfy { $0.status == .ok })
    }

    func testCapabilitiesGivenOrRead() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let f = dir.write("tree/ping", "ping", mode: 0o755)
        let netRaw: [UInt8] = [1, 0, 0, 2, 0, 0x20, 0, 0] + [UInt8](repeating: 0, count: 12)
        Xattr.set(f, netRaw, "security.capability")
        _ = try sign(keys, f)
        XCTAssertEqual(appraise(keys, f)[f]?.status, .ok)
        Xattr.remove(f, "security.capability")
        XCTAssertEqual(appraise(keys, f)[f]?.status, .metadataChanged)
        var given = EVMSigningOptions(); given.capability = netRaw
        XCTAssertEqual(appraise(keys, f, evm: given)[f]?.status, .ok)
    }

    func testDryRunWritesNothing() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let f = dir.write("tree/f", "f")
        var options = SigningOptions(); options.evm = .init(); options.dryRun = true
        let r = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options).run(walk(f))
        XCTAssertFalse(r[0]!.evm.isEmpty)
        XCTAssertNil(Xattr.get(f, "security.evm"))
        XCTAssertNil(Xattr.get(f))
    }

    private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
