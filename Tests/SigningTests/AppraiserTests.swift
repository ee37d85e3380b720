import XCTest
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

final class AppraiserTests: XCTestCase {
    func testEveryVerdict() throws {
        let dir = TempDir()
        let keys = try KeyFixture(in: dir)
        let stranger = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "stranger")
        for name in ["ok", "tampered", "unknown", "digest", "wrongdigest", "malformed", "unsigned"] {
            dir.write("tree/\(name)", "content of \(name)")
        }
        let walk = { TreeWalker(selection: .init()).walk([FilePath(dir.url("tree"))]) }
        let sign = { (k: KeyFixture, names: [String]) in
            let files = walk().files.filter { names.contains(String($0.imagePaths[0].description.dropFirst())) }
            _ = try SigningPipeline(key: k.key, certificate: k.certificate, options: SigningOptions()).run(files)
        }
        try sign(keys, ["ok", "tampered"])
        try sign(stranger, ["unknown"])
        let h = FileHandle(forWritingAtPath: dir.url("tree/tampered"))!
        h.seekToEndOfFile(); h.write(Data("!".utf8)); h.closeFile()
        Xattr.set(dir.url("tree/digest"), [0x04, 4] + Digester.hash(Array("content of digest".utf8), .sha256))
        Xattr.set(dir.url("tree/wrongdigest"), [0x04, 4] + [UInt8](repeating: 0, count: 32))
        Xattr.set(dir.url("tree/malformed"), [0x03, 0x02])

        let results = Appraiser(trust: TrustStore([keys.certificate]), jobs: 2).run(walk().files).compactMap { $0 }
        var status = [String: Appraisal]()
        for r in results { status[r.file.imagePaths[0].description] = r }
        XCTAssertEqual(status["/ok"]?.status, .ok)
        XCTAssertEqual(status["/tampered"]?.status, .badSignature)
        XCTAssertEqual(status["/unknown"]?.status, .unknownKey)
        XCTAssertTrue(status["/unknown"]!.detail.contains(KeyID.hex(stranger.certificate.imaKeyID)))
        XCTAssertEqual(status["/digest"]?.status, .digestOnly)
        XCTAssertTrue(status["/digest"]!.detail.contains("matches"))
        XCTAssertEqual(status["/wrongdigest"]?.status, .digestOnly)
        XCTAssertTrue(status["/wrongdigest"]!.detail.contains("does not match"))
        XCTAssertEqual(status["/malformed"]?.status, .malformed)
        XCTAssertEqual(status["/unsigned"]?.status, .unsigned)

        // appraise_algos-like restriction.
        let strict = Appraiser(trust: TrustStore([keys.certificate]), jobs: 1, allowedAlgorithms: [.sha512])
        let okFile = walk().files.filter { $0.imagePaths[0].description == "/ok" }
        XCTAssertEqual(strict.run(okFile).first??.status, .badSignature)
    }
}
