import XCTest
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

final class ManifestTests: XCTestCase {
    func makeManifest(_ dir: TempDir, _ keys: KeyFixture) throws -> Manifest {
        dir.write("tree/usr/bin/tool", "tool", mode: 0o755)
        dir.write("tree/etc/x", "x")
        let odd: [UInt8] = Array("tree/odd-".utf8) + [0xff, 0x0a, 0x20]  // invalid UTF-8, newline, space
        let oddPath = FilePath(bytes: Array(dir.path.utf8) + [UInt8(ascii: "/")] + odd)
        let fd = oddPath.withCString { open($0, O_CREAT | O_WRONLY, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        let walk = TreeWalker(selection: .init()).walk([FilePath(dir.url("tree"))])
        let results = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: SigningOptions())
            .run(walk.files).compactMap { $0 }
        let header = Manifest.Header(buildID: "build-42", created: Manifest.timestamp(0), tool: "signet test",
                                     hashAlgorithm: .sha256, signer: .init(certificate: keys.certificate), detached: false)
        return Manifest(header: header, signed: results)
    }

    func testRoundTripIsExactAndDeterministic() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let m = try makeManifest(dir, keys)
        XCTAssertEqual(m.entries.count, 3)
        XCTAssertEqual(m.header.created, "1970-01-01T00:00:00Z")
        let bytes = m.encoded()
        let parsed = try Manifest(parsing: bytes)
        XCTAssertEqual(parsed, m)
        XCTAssertEqual(parsed.encoded(), bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\"path_hex\":"), "a non-UTF-8 path is stored as hex")
        XCTAssertTrue(text.contains("\"path\":\"/usr/bin/tool\""))
        XCTAssertTrue(text.contains("\"mode\":\"100755\""))
        XCTAssertEqual(text.split(separator: "\n").count, 4, "one line per entry plus the header; no raw newline in a path")
        let odd = try XCTUnwrap(parsed.entries.first { $0.path.utf8String == nil })
        XCTAssertEqual(odd.path.bytes.suffix(3), [0xff, 0x0a, 0x20])
        XCTAssertEqual(odd.path.description, "/odd-\\xff\\x0a ")
    }

    func testSignatureVerifiesAndDetectsTamperingAndUntrustedSigners() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256))
        let bytes = try makeManifest(dir, keys).encoded()
        let sig = try ManifestSignature.sign(bytes, with: keys.key)
        XCTAssertNoThrow(try ManifestSignature.verify(bytes, signature: sig, trusted: [keys.certificate], source: "m"))
        var tampered = bytes
        tampered[tampered.count - 10] ^= 0x01
        XCTAssertThrowsError(try ManifestSignature.verify(tampered, signature: sig, trusted: [keys.certificate], source: "m"))
        let other = try KeyFixture(in: dir, name: "other")
        XCTAssertThrowsError(try ManifestSignature.verify(bytes, signature: sig, trusted: [other.certificate], source: "m")) { error in
            XCTAssertTrue("\(error)".contains("not among the trusted certificates"), "\(error)")
        }
        // Interop: openssl verifies the same signature over the same bytes.
        let m = dir.write("m.jsonl", bytes)
        dir.write("m.jsonl.sig", sig)
        let pub = dir.url("pub.pem")
        XCTAssertEqual(try runProgram("/usr/bin/openssl", ["x509", "-in", keys.certPath, "-pubkey", "-noout", "-out", pub]).status, 0)
        let r = try runProgram("/usr/bin/openssl", ["dgst", "-sha256", "-verify", pub, "-signature", m + ".sig", m])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("Verified OK"))
    }

    func testMalformedManifestsNameLineAndField() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let good = String(decoding: try makeManifest(dir, keys).encoded(), as: UTF8.self)
        var lines = good.split(separator: "\n").map(String.init)
        func expect(_ text: String, line: Int, field: String?, _ fragment: String, file: StaticString = #filePath, lineNo: UInt = #line) {
            XCTAssertThrowsError(try Manifest(parsing: Array(text.utf8), source: "m.jsonl"), file: file, line: lineNo) { error in
                let e = error as! ManifestError
                XCTAssertEqual(e.line, line, "\(e)", file: file, line: lineNo)
                XCTAssertEqual(e.field, field, "\(e)", file: file, line: lineNo)
                XCTAssertTrue(e.description.contains(fragment), "\(e)", file: file, line: lineNo)
                XCTAssertTrue(e.description.hasPrefix("m.jsonl:\(line)"), "\(e)", file: file, line: lineNo)
            }
        }
        expect("", line: 1, field: nil, "empty")
        expect("not json\n", line: 1, field: nil, "not a Signet manifest header")
        expect(lines[0].replacingOccurrences(of: "\"version\":1", with: "\"version\":9") + "\n", line: 1, field: "version", "unsupported")
        expect(([lines[0], lines[1].replacingOccurrences(of: "\"size\"", with: "\"sighs\"")]).joined(separator: "\n"), line: 2, field: "size", "missing field 'size'")
        expect(([lines[0], lines[1].replacingOccurrences(of: "sha256:", with: "sha256:zz")]).joined(separator: "\n"), line: 2, field: "digest", "expected '<algorithm>:<hex digest>'")
        expect(([lines[0], lines[2], lines[1]]).joined(separator: "\n"), line: 3, field: "path", "not in path order")
        expect(([lines[0], lines[1], lines[1]]).joined(separator: "\n"), line: 3, field: "path", "duplicate path")
        expect(([lines[0], lines[1].replacingOccurrences(of: "\"ima\":\"03", with: "\"ima\":\"09")]).joined(separator: "\n"), line: 2, field: "ima", "not a valid security.ima")
        lines[1] = lines[1].replacingOccurrences(of: "\"mode\":\"", with: "\"mode\":\"9")
        expect(lines.joined(separator: "\n"), line: 2, field: "mode", "octal")
    }

    func testApplySetsDetachedSignaturesOnlyOnMatchingContent() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        dir.write("build/a", "alpha")
        dir.write("build/sub/b", "beta")
        var options = SigningOptions()
        options.detached = true
        let walk = TreeWalker(selection: .init()).walk([FilePath(dir.url("build"))])
        let results = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options).run(walk.files).compactMap { $0 }
        XCTAssertNil(Xattr.get(dir.url("build/a")))
        let header = Manifest.Header(buildID: "b", created: Manifest.timestamp(0), tool: "t", hashAlgorithm: .sha256,
                                     signer: .init(certificate: keys.certificate), detached: true)
        let manifest = Manifest(header: header, signed: results)

        // The image: a copy where one file differs from what was signed.
        dir.write("image/a", "alpha")
        dir.write("image/sub/b", "BETA (changed)")
        let applier = ManifestApplier(manifest: manifest, jobs: 2, trust: TrustStore([keys.certificate]))
        let outcomes = applier.apply(root: FilePath(dir.url("image"))).compactMap { $0 }
        XCTAssertEqual(outcomes.first { $0.0.path.description == "/a" }?.1, .applied)
        guard case .contentMismatch(let why)? = outcomes.first(where: { $0.0.path.description == "/sub/b" })?.1 else {
            return XCTFail("changed content must be refused")
        }
        XCTAssertTrue(why.contains("differs from the manifest"), why)
        XCTAssertNil(Xattr.get(dir.url("image/sub/b")))
        XCTAssertEqual(Xattr.get(dir.url("image/a")), manifest.entries.first { $0.path.description == "/a" }?.imaXattr)
        // Applying again changes nothing.
        XCTAssertEqual(applier.apply(root: FilePath(dir.url("image"))).compactMap { $0 }.first { $0.0.path.description == "/a" }?.1, .unchanged)
        // A missing file is reported.
        unlink(dir.url("image/a"))
        XCTAssertEqual(applier.apply(root: FilePath(dir.url("image"))).compactMap { $0 }.first { $0.0.path.description == "/a" }?.1, .failed(.vanished))
    }
}
