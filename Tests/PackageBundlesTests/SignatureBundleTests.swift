import Foundation
import XCTest
import DebianPackage
import IMAFormat
import PackageBundles
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Bundles against the reference tool: every `ima` value is what `evmctl ima_sign` writes on the
/// file `dpkg-deb -x` unpacks (RSA PKCS#1 v1.5 is deterministic: byte for byte), and verifies with
/// `evmctl ima_verify`; then every way a bundle must be refused.
final class SignatureBundleTests: BundleTestCase {
    /// Unpacks `deb` with dpkg-deb and returns the directory.
    func unpack(_ deb: String) throws -> String {
        let dir = tempPath() + "/x"
        try tool("dpkg-deb", ["-x", deb, dir], package: "dpkg")
        return dir
    }

    func testSignaturesAreTheBytesEvmctlWrites() throws {
        let evmctl = try requiredTool("evmctl", package: "ima-evm-utils")
        let dir = tempPath()
        let keys = try makeKeys(.rsa(bits: 2048))
        for compression in ["xz", "zstd", "gzip", "none"] {
            let deb = try buildDeb(in: dir, compression: compression)
            for hash in [HashAlgorithm.sha256, .sha512] {
                let built = try XCTUnwrap(try build([deb], keys, hash: hash).first)
                let root = try unpack(deb)
                XCTAssertEqual(built.bundle.files.count, 5, "4 files and a hard link")
                for f in built.bundle.files {
                    let path = root + f.path.description
                    let r = try runProgram(evmctl, ["ima_sign", "--key", keys.keyPath, "-a", hash.name, path])
                    XCTAssertEqual(r.status, 0, r.output)
                    XCTAssertEqual(Xattr.get(path), f.ima, "\(compression) \(hash) \(f.path): not evmctl's bytes")
                    XCTAssertEqual(f.digest, Digester.hash(bytes(of: path), hash), "\(f.path)")
                    var st = stat()
                    XCTAssertEqual(lstat(path, &st), 0)
                    XCTAssertEqual(f.mode, UInt32(st.st_mode), "\(f.path) mode")
                    XCTAssertEqual(f.size, Int64(st.st_size))
                }
            }
        }
    }

    /// ECDSA signatures differ every time: evmctl verifies them on the unpacked files instead.
    func testECDSASignaturesVerifyWithEvmctl() throws {
        let evmctl = try requiredTool("evmctl", package: "ima-evm-utils")
        let dir = tempPath()
        let keys = try makeKeys(.ecdsa(curve: .p256), name: "p256")
        let deb = try buildDeb(in: dir, compression: "zstd")
        let built = try XCTUnwrap(try build([deb], keys).first)
        let root = try unpack(deb)
        for f in built.bundle.files {
            let path = root + f.path.description
            Xattr.set(path, f.ima)
            let r = try runProgram(evmctl, ["-v", "ima_verify", "--key", keys.certDERPath, path])
            XCTAssertEqual(r.status, 0, "\(f.path): \(r.output)")
        }
    }

    /// Debian's own packages (skipped when tools/e2e-debian has not cached them): a bundle for
    /// each of a few, every file checked by evmctl on what dpkg-deb unpacks.
    func testRealDebianPackagesAgainstEvmctl() throws {
        let evmctl = try requiredTool("evmctl", package: "ima-evm-utils")
        let cache = "/var/cache/signet/debian/debs"
        let wanted = ["attr_", "cpio_", "libacl1_", "dbus-bin_", "kmod_", "sed_"]
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).filter { n in
            n.hasSuffix(".deb") && wanted.contains { n.hasPrefix($0) }
        }.sorted()
        guard !names.isEmpty else {
            throw XCTSkip("no Debian packages in \(cache) (tools/e2e-debian fetches them): skipped")
        }
        let keys = try makeKeys(.rsa(bits: 2048))
        let built = try build(names.map { cache + "/" + $0 }, keys)
        var checked = 0
        for b in built {
            let root = try unpack(b.scanned.source)
            for f in b.bundle.files {
                let path = root + f.path.description
                Xattr.set(path, f.ima)
                let r = try runProgram(evmctl, ["ima_verify", "--key", keys.certDERPath, path])
                XCTAssertEqual(r.status, 0, "\(b.bundle.label) \(f.path): \(r.output)")
                checked += 1
            }
            // What dpkg-deb unpacked is exactly what the bundle lists.
            let listed = Set(b.bundle.files.map(\.path.description))
            let unpacked = Set(FileManager.default.enumerator(atPath: root)!.compactMap { rel -> String? in
                var st = stat()
                let rel = rel as! String
                return lstat(root + "/" + rel, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? "/" + rel : nil
            })
            XCTAssertEqual(listed, unpacked, b.bundle.label)
            try BundleVerifier.check(b.bundle, against: DebScanner(hashAlgorithm: .sha256).scan(b.scanned.source))
        }
        XCTAssertGreaterThan(checked, 20)
    }

    func testDocumentRoundTripsAndIsDeterministic() throws {
        let dir = tempPath()
        let keys = try makeKeys()
        let deb = try buildDeb(in: dir)
        let a = try XCTUnwrap(try build([deb], keys).first)
        let b = try XCTUnwrap(try build([deb], keys).first)
        XCTAssertEqual(a.bytes, b.bytes, "same input, same key, same time: same bytes")
        XCTAssertEqual(try SignatureBundle(parsing: a.bytes), a.bundle)
        XCTAssertEqual(a.bundle.encoded(), a.bytes)
        XCTAssertEqual(a.bundle.fileName, "signet-hello_1.0-1_amd64.json")
        XCTAssertNotNil(a.bundle.file(at: FilePath("/usr/bin/signet-hello-link")))
        XCTAssertNil(a.bundle.file(at: FilePath("/usr/bin/signet-hello-sym")), "symlinks are not signed")
        XCTAssertEqual(a.bundle.file(at: FilePath("/usr/bin/signet-hello-link"))?.ima, a.bundle.file(at: FilePath("/usr/bin/signet-hello"))?.ima)
        // openssl checks the detached signature without Signet.
        let pub = dir + "/pub.pem"
        try tool("openssl", ["x509", "-in", keys.certPath, "-pubkey", "-noout", "-out", pub], package: "openssl")
        write(a.bytes, to: dir + "/b.json")
        write(a.signature, to: dir + "/b.json.sig")
        try tool("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", dir + "/b.json.sig", dir + "/b.json"], package: "openssl")
    }

    func testStrictParsing() throws {
        let dir = tempPath()
        let keys = try makeKeys()
        let good = try XCTUnwrap(try build([try buildDeb(in: dir)], keys).first).bytes
        let text = String(decoding: good, as: UTF8.self)
        func parse(_ s: String) throws -> SignatureBundle { try SignatureBundle(parsing: Array(s.utf8), source: "b.json") }
        XCTAssertNoThrow(try parse(text))
        // A key twice: strict JSON refuses it before any decoding.
        XCTAssertNotNil(expectBundleError(.malformed) { try parse(text.replacingOccurrences(of: "{\"architecture\"", with: "{\"package\":\"evil\",\"architecture\"")) })
        XCTAssertEqual(expectBundleError(.unsupportedFormat) { try parse(text.replacingOccurrences(of: "\"format_version\":1", with: "\"format_version\":2")) }?.field,
                       "format_version")
        XCTAssertEqual(expectBundleError(.malformed) { try parse(text.replacingOccurrences(of: "\"architecture\":\"amd64\"", with: "\"architecture\":\"../amd64\"")) }?.field,
                       "architecture")
        XCTAssertEqual(expectBundleError(.malformed) { try parse(text.replacingOccurrences(of: "\"path\":\"/usr/bin/signet-hello\"", with: "\"path\":\"/usr/bin/../../etc/passwd\"")) }?.field,
                       "files[0].path")
        // Files out of order, or twice.
        XCTAssertNotNil(expectBundleError(.malformed) { try parse(text.replacingOccurrences(of: "\"path\":\"/usr/bin/signet-hello-link\"", with: "\"path\":\"/a\"")) })
        XCTAssertNotNil(expectBundleError(.malformed) { try parse(text.replacingOccurrences(of: "\"path\":\"/usr/bin/signet-hello-link\"", with: "\"path\":\"/usr/bin/signet-hello-empty\"")) })
        // An ima value by another keyid than the signer's.
        let other = try makeKeys(name: "other")
        XCTAssertNotNil(expectBundleError(.malformed) {
            try parse(text.replacingOccurrences(of: "\"keyid\":\"\(KeyID.hex(keys.certificate.imaKeyID))\"",
                                                with: "\"keyid\":\"\(KeyID.hex(other.certificate.imaKeyID))\""))
        })
        XCTAssertNotNil(expectBundleError(.malformed) { try parse(text.replacingOccurrences(of: "\"mode\":\"100755\"", with: "\"mode\":\"120777\"")) })
        XCTAssertNotNil(expectBundleError(.malformed) { try parse("[]") })
    }

    // MARK: - Verification refusals

    func testVerifyAndRefusals() throws {
        let dir = tempPath()
        let keys = try makeKeys()
        let deb = try buildDeb(in: dir)
        let built = try XCTUnwrap(try build([deb], keys).first)
        let pinned = BundleTrust(certificates: [keys.certificate])
        let byCA = BundleTrust(authorities: [keys.ca])
        XCTAssertEqual(try BundleVerifier.verifyBundle(built.bytes, signature: built.signature, trust: pinned, source: "b").bundle, built.bundle)
        XCTAssertNoThrow(try BundleVerifier.verifyBundle(built.bytes, signature: built.signature, trust: byCA, source: "b"))
        let scanned = try DebScanner(hashAlgorithm: .sha256).scan(deb)
        XCTAssertNoThrow(try BundleVerifier.check(built.bundle, against: scanned))

        // Untrusted: another certificate, another CA.
        let other = try makeKeys(name: "other")
        let e = expectBundleError(.untrustedSigner) {
            try BundleVerifier.verifyBundle(built.bytes, signature: built.signature, trust: BundleTrust(certificates: [other.certificate]), source: "b")
        }
        XCTAssertTrue(e?.reason.contains(keys.certificate.subject) == true, "\(String(describing: e))")
        XCTAssertNotNil(expectBundleError(.untrustedSigner) {
            try BundleVerifier.verifyBundle(built.bytes, signature: built.signature, trust: BundleTrust(authorities: [other.ca]), source: "b")
        })
        // Altered: one byte of the document.
        let altered = Array(String(decoding: built.bytes, as: UTF8.self)
            .replacingOccurrences(of: "2026-12-01T00:00:00Z", with: "2026-12-02T00:00:00Z").utf8)
        XCTAssertNotEqual(altered, built.bytes)
        XCTAssertEqual(expectBundleError(.badSignature) {
            try BundleVerifier.verifyBundle(altered, signature: built.signature, trust: pinned, source: "b")
        }?.field, "signature")
        // A bundle whose digest was changed and re-signed as a document: the file's signature no longer verifies.
        var forged = built.bundle
        forged = SignatureBundle(control: forged.control, debSHA256: forged.debSHA256, debSize: forged.debSize, hashAlgorithm: .sha256,
                                 created: forged.created, tool: forged.tool, signer: forged.signer,
                                 files: forged.files.map { f in
                                     var f = f
                                     if f.path == FilePath("/usr/bin/signet-hello") { f.digest = Digester.hash(Array("evil".utf8), .sha256) }
                                     return f
                                 })
        let forgedBytes = forged.encoded()
        let forgedSig = try DetachedSignature.sign(forgedBytes, with: keys.key)
        XCTAssertEqual(expectBundleError(.badFileSignature) {
            try BundleVerifier.verifyBundle(forgedBytes, signature: forgedSig, trust: pinned, source: "b")
        }?.field, "files")
        // Signed consistently by the key but for other content: the .deb check catches it.
        let pipeline = try builder(keys).pipeline
        let lying = SignatureBundle(control: forged.control, debSHA256: forged.debSHA256, debSize: forged.debSize, hashAlgorithm: .sha256,
                                    created: forged.created, tool: forged.tool, signer: forged.signer,
                                    files: try forged.files.map { f in
                                        var f = f
                                        f.ima = try pipeline.imaXattr(forDigest: f.digest)
                                        return f
                                    })
        let lyingBytes = lying.encoded()
        let verified = try BundleVerifier.verifyBundle(lyingBytes, signature: try DetachedSignature.sign(lyingBytes, with: keys.key),
                                                       trust: pinned, source: "b")
        let mismatch = expectBundleError(.contentMismatch) { try BundleVerifier.check(verified.bundle, against: scanned) }
        XCTAssertTrue(mismatch?.reason.contains("/usr/bin/signet-hello:") == true, "\(String(describing: mismatch))")

        // Another architecture, another version, or a rebuilt .deb of the same version.
        let arm = try DebScanner(hashAlgorithm: .sha256).scan(try buildDeb(in: dir, architecture: "arm64"))
        XCTAssertEqual(expectBundleError(.packageMismatch) { try BundleVerifier.check(built.bundle, against: arm) }?.field, "architecture")
        let newer = try DebScanner(hashAlgorithm: .sha256).scan(try buildDeb(in: dir, version: "1.0-2"))
        XCTAssertEqual(expectBundleError(.packageMismatch) { try BundleVerifier.check(built.bundle, against: newer) }?.field, "version")
        let rebuilt = try DebScanner(hashAlgorithm: .sha256).scan(try buildDeb(in: dir, extra: " rebuilt"))
        let d = expectBundleError(.debMismatch) { try BundleVerifier.check(built.bundle, against: rebuilt) }
        XCTAssertTrue(d?.reason.contains(Hex.encode(rebuilt.sha256)) == true, "\(String(describing: d))")
    }

    /// A .deb that cannot be read fails alone, with the member and offset; the others still build.
    func testBadPackagesFailAlone() throws {
        let dir = tempPath()
        let keys = try makeKeys()
        let good = try buildDeb(in: dir)
        var truncated = bytes(of: good)
        truncated.removeLast(100)
        write(truncated, to: dir + "/truncated.deb")
        write(Array("not a deb".utf8), to: dir + "/text.deb")
        let results = try builder(keys).build([good, dir + "/truncated.deb", dir + "/text.deb", dir + "/missing.deb"])
        XCTAssertNoThrow(try results[0].get())
        for (r, needle) in zip(results.dropFirst(), ["data.tar.xz", "not an ar archive", "cannot open"]) {
            guard case .failure(let e) = r else { XCTFail("accepted"); continue }
            XCTAssertTrue(e.description.contains(needle), "\(e)")
        }
        guard case .failure(let e) = results[1] else { return }
        XCTAssertEqual(e.code, .badPackage)
        XCTAssertEqual(e.package?.code, .truncated)
    }
}
