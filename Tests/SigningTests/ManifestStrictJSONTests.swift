import XCTest
import IMAFormat
import SignetCrypto
import Provenance
import Signing
import SignetTestSupport

/// Issue 13, finding 2, for manifests: each line is strict JSON, so a line with a key twice
/// (which Foundation read first-wins and Python last-wins) or a byte order mark is refused,
/// naming the line and the key.
final class ManifestStrictJSONTests: XCTestCase {
    func testAKeyTwiceOrAByteOrderMarkIsRefusedNamingLineAndKey() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        dir.write("tree/usr/bin/tool", "tool", mode: 0o755)
        dir.write("tree/usr/bin/evil", "evil", mode: 0o755)
        let walk = TreeWalker(selection: .init()).walk([FilePath(dir.url("tree"))])
        let results = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: SigningOptions())
            .run(walk.files).compactMap { $0 }
        let header = Manifest.Header(buildID: "b", created: Manifest.timestamp(0), tool: "signet test",
                                     hashAlgorithm: .sha256, signer: .init(certificate: keys.certificate), detached: false)
        let good = String(decoding: Manifest(header: header, signed: results).encoded(), as: UTF8.self)
        XCTAssertNoThrow(try Manifest(parsing: Array(good.utf8)))
        var lines = good.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)

        func refused(_ text: String, line: Int, field: String?, file: StaticString = #filePath, lineNo: UInt = #line) {
            XCTAssertThrowsError(try Manifest(parsing: Array(text.utf8), source: "m.jsonl"), file: file, line: lineNo) { error in
                let e = error as! ManifestError
                XCTAssertEqual(e.line, line, "\(e)", file: file, line: lineNo)
                XCTAssertEqual(e.field, field, "\(e)", file: file, line: lineNo)
                XCTAssertTrue(e.description.contains("not strict JSON"), "\(e)", file: file, line: lineNo)
            }
        }
        // Entry 2 names the other file's digest first: a first-wins reader takes it, Python the second.
        let otherDigest = try XCTUnwrap(lines[1].range(of: "\"digest\":\"[^\"]*\"", options: .regularExpression)).lowerBound
        let digestMember = String(lines[1][otherDigest...].prefix { $0 != "," })
        lines[2].insert(contentsOf: digestMember + ",", at: lines[2].index(after: lines[2].startIndex))
        refused(lines.joined(separator: "\n"), line: 3, field: "digest")
        var header2 = good.split(separator: "\n").map(String.init)
        header2[0].insert(contentsOf: "\"format\":\"signet-manifest\",", at: header2[0].index(after: header2[0].startIndex))
        refused(header2.joined(separator: "\n"), line: 1, field: "format")
        refused("\u{FEFF}" + good, line: 1, field: nil)
    }
}
