import Foundation
import XCTest
import DebianPackage
import IMAFormat
import PackageBundles
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Bundles inside an apt repository: layout, the signed index, incremental updates, and refusals.
final class BundleRepositoryTests: BundleTestCase {
    func makeRepo() throws -> (repo: String, debs: [String]) {
        let repo = tempPath() + "/apt"
        let pool = repo + "/pool/main/s"
        try FileManager.default.createDirectory(atPath: pool, withIntermediateDirectories: true)
        let work = tempPath()
        var debs = [String]()
        for (package, compression) in [("signet-alpha", "xz"), ("signet-beta", "zstd"), ("signet-gamma", "gzip")] {
            let deb = try buildDeb(in: work, package: package, compression: compression)
            let dest = pool + "/\(package)_1.0-1_amd64.deb"
            try FileManager.default.copyItem(atPath: deb, toPath: dest)
            debs.append(dest)
        }
        return (repo, debs)
    }

    func testPublishIncrementallyAndVerify() throws {
        let keys = try makeKeys()
        let (root, debs) = try makeRepo()
        let repo = BundleRepository(root: root)
        let first = try repo.update(builder: try builder(keys))
        XCTAssertEqual(first.built.count, 3)
        XCTAssertTrue(first.failures.isEmpty)
        XCTAssertTrue(first.indexWritten)
        for name in ["signet-alpha_1.0-1_amd64.json", "signet-beta_1.0-1_amd64.json", "signet-gamma_1.0-1_amd64.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/signet/bundles/" + name))
            XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/signet/bundles/" + name + ".sig"))
        }
        let (index, _) = try repo.verifiedIndex(trust: BundleTrust(authorities: [keys.ca]))
        XCTAssertEqual(index.entries.map(\.deb), ["pool/main/s/signet-alpha_1.0-1_amd64.deb", "pool/main/s/signet-beta_1.0-1_amd64.deb",
                                                  "pool/main/s/signet-gamma_1.0-1_amd64.deb"])
        let sha = try DebScanner.sha256(of: debs[1])
        let entry = try XCTUnwrap(index.entries(forDebSHA256: Hex.encode(sha.digest)).first)
        XCTAssertEqual(entry.bundle, "signet/bundles/signet-beta_1.0-1_amd64.json")
        let verified = try repo.verifiedBundle(entry, trust: BundleTrust(certificates: [keys.certificate]))
        try BundleVerifier.check(verified.bundle, against: DebScanner(hashAlgorithm: .sha256).scan(debs[1]))

        // Nothing changed: nothing read again, nothing written.
        let indexBytes = bytes(of: root + "/signet/index.json")
        let second = try repo.update(builder: try builder(keys))
        XCTAssertEqual(second.built.count, 0)
        XCTAssertEqual(second.current.count, 3)
        XCTAssertFalse(second.indexWritten)
        XCTAssertEqual(bytes(of: root + "/signet/index.json"), indexBytes)

        // A new version replaces one package: one bundle made, the old one removed.
        let work = tempPath()
        let newer = try buildDeb(in: work, package: "signet-beta", version: "1.0-2", compression: "zstd")
        try FileManager.default.removeItem(atPath: debs[1])
        try FileManager.default.copyItem(atPath: newer, toPath: root + "/pool/main/s/signet-beta_1.0-2_amd64.deb")
        let third = try repo.update(builder: try builder(keys))
        XCTAssertEqual(third.built.map(\.bundle.label), ["signet-beta 1.0-2 amd64"])
        XCTAssertEqual(third.current.count, 2)
        XCTAssertEqual(Set(third.removed), ["signet/bundles/signet-beta_1.0-1_amd64.json", "signet/bundles/signet-beta_1.0-1_amd64.json.sig"])
        XCTAssertEqual(try repo.verifiedIndex(trust: BundleTrust(certificates: [keys.certificate])).index.entries.count, 3)

        // An altered bundle file is made again on the next run.
        let gamma = root + "/signet/bundles/signet-gamma_1.0-1_amd64.json"
        write(bytes(of: gamma) + [0x0a], to: gamma)
        let fourth = try repo.update(builder: try builder(keys))
        XCTAssertEqual(fourth.built.map(\.bundle.package), ["signet-gamma"])
    }

    func testIndexRefusals() throws {
        let keys = try makeKeys()
        let other = try makeKeys(name: "other")
        let (root, _) = try makeRepo()
        let repo = BundleRepository(root: root)
        _ = try repo.update(builder: try builder(keys))
        // An index signed by a key the node does not trust.
        XCTAssertNotNil(expectBundleError(.untrustedSigner) { try repo.verifiedIndex(trust: BundleTrust(certificates: [other.certificate])) })
        XCTAssertNotNil(expectBundleError(.untrustedSigner) { try repo.verifiedIndex(trust: BundleTrust(authorities: [other.ca])) })
        // Republished by the other key: the old key's trust refuses it, and publishing with the
        // other key made every bundle again (the old index was not its own).
        let republished = try repo.update(builder: try builder(other))
        XCTAssertEqual(republished.built.count, 3)
        XCTAssertNotNil(republished.note)
        XCTAssertNotNil(expectBundleError(.untrustedSigner) { try repo.verifiedIndex(trust: BundleTrust(certificates: [keys.certificate])) })
        _ = try repo.update(builder: try builder(keys))

        // The index altered, or a bundle swapped after the index was signed.
        let indexPath = root + "/signet/index.json"
        let good = bytes(of: indexPath)
        write(Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "signet-alpha_1.0-1_amd64.deb", with: "signet-alpha_1.0-1_amd64x.deb").utf8), to: indexPath)
        XCTAssertNotNil(expectBundleError(.badSignature) { try repo.verifiedIndex(trust: BundleTrust(certificates: [keys.certificate])) })
        write(good, to: indexPath)
        let (index, _) = try repo.verifiedIndex(trust: BundleTrust(certificates: [keys.certificate]))
        let alpha = root + "/signet/bundles/signet-alpha_1.0-1_amd64.json"
        let beta = root + "/signet/bundles/signet-beta_1.0-1_amd64.json"
        write(bytes(of: beta), to: alpha)
        write(bytes(of: beta + ".sig"), to: alpha + ".sig")
        XCTAssertEqual(expectBundleError(.indexMismatch) { try repo.verifiedBundle(index.entries[0], trust: BundleTrust(certificates: [keys.certificate])) }?.field,
                       "bundle_sha256")
    }

    /// Two different .debs of the same package version, or one unreadable .deb: nothing is written.
    func testNothingWrittenOnError() throws {
        let keys = try makeKeys()
        let (root, _) = try makeRepo()
        let work = tempPath()
        let twin = try buildDeb(in: work, package: "signet-alpha", compression: "xz", extra: " but different")
        try FileManager.default.createDirectory(atPath: root + "/pool/other", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: twin, toPath: root + "/pool/other/signet-alpha_1.0-1_amd64.deb")
        let repo = BundleRepository(root: root)
        let conflict = expectBundleError(.conflict) { try repo.update(builder: try builder(keys)) }
        XCTAssertTrue(conflict?.reason.contains("pool/main/s/signet-alpha_1.0-1_amd64.deb") == true, "\(String(describing: conflict))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/signet"), "nothing may be written")

        try FileManager.default.removeItem(atPath: root + "/pool/other/signet-alpha_1.0-1_amd64.deb")
        write(Array(bytes(of: twin).dropLast(1)), to: root + "/pool/other/broken_1.0_amd64.deb")
        let result = try repo.update(builder: try builder(keys))
        XCTAssertEqual(result.failures.count, 1)
        XCTAssertEqual(result.failures.first?.code, .badPackage)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/signet"), "nothing may be written")
    }
}
