import XCTest
import Foundation
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

/// Differential check: random files signed by evmctl and by Signet, each
/// verified by the other tool; any disagreement is a bug. The number of cases
/// is SIGNET_DIFF_CASES (default 1,000), spread over every key type and digest.
final class DifferentialTests: XCTestCase {
    func testRandomFilesSignedByEitherToolVerifyWithTheOther() throws {
        guard let evmctl = which("evmctl") else { return XCTFail("evmctl not found: run tools/setup") }
        let cases = Int(ProcessInfo.processInfo.environment["SIGNET_DIFF_CASES"] ?? "") ?? 1000
        let dir = TempDir("signet-diff")
        let keys = try [KeyAlgorithm.rsa(bits: 2048), .ecdsa(curve: .p256), .ecdsa(curve: .p384), .rsa(bits: 3072)].enumerated().map {
            try KeyFixture(in: dir, algorithm: $0.element, name: "k\($0.offset)")
        }
        let hashes: [HashAlgorithm] = [.sha256, .sha384, .sha512, .sha1]
        var rng = SystemRandomNumberGenerator()
        // Sizes around the pipeline's read-buffer boundary and some small/empty files.
        let sizes = [0, 1, 63, 64, 4095, 4096, 4097, 131_071, 131_072, 131_073, 300_000]
        var disagreements = [String]()
        for i in 0..<cases {
            let k = keys[i % keys.count]
            let hash = hashes[(i / keys.count) % hashes.count]
            let size = i % 3 == 0 ? sizes[Int.random(in: 0..<sizes.count, using: &rng)] : Int.random(in: 0..<20_000, using: &rng)
            let content = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ours = dir.write("c\(i)/ours", content)
            let theirs = dir.write("c\(i)/theirs", content)

            var options = SigningOptions()
            options.hashAlgorithm = hash
            let files = TreeWalker(selection: .init()).walk([FilePath(ours)]).files
            let signed = try SigningPipeline(key: k.key, certificate: k.certificate, options: options).run(files)
            if signed.first??.outcome != .signed { disagreements.append("case \(i): signet could not sign") }
            let v = try runProgram(evmctl, ["ima_verify", "--key", k.certDERPath, ours])
            if v.status != 0 { disagreements.append("case \(i) (\(try k.key.algorithm()), \(hash), \(size) B): evmctl rejects signet's signature: \(v.output)") }

            let s = try runProgram(evmctl, ["ima_sign", "--key", k.keyPath, "-a", hash.name, theirs])
            if s.status != 0 { disagreements.append("case \(i): evmctl could not sign: \(s.output)"); continue }
            let appraisal = Appraiser(trust: TrustStore([k.certificate]), jobs: 1)
                .run(TreeWalker(selection: .init()).walk([FilePath(theirs)]).files).first ?? nil
            if appraisal?.status != .ok {
                disagreements.append("case \(i) (\(try k.key.algorithm()), \(hash), \(size) B): signet rejects evmctl's signature: \(appraisal?.detail ?? "-")")
            }
            // Both tools must also agree that a changed file is no longer signed.
            if i % 50 == 0 {
                let h = FileHandle(forWritingAtPath: theirs)!
                h.seekToEndOfFile(); h.write(Data([1])); h.closeFile()
                let bad = Appraiser(trust: TrustStore([k.certificate]), jobs: 1)
                    .run(TreeWalker(selection: .init()).walk([FilePath(theirs)]).files).first ?? nil
                let evmBad = try runProgram(evmctl, ["ima_verify", "--key", k.certDERPath, theirs])
                if bad?.status != .badSignature || evmBad.status == 0 {
                    disagreements.append("case \(i): after a change signet says \(bad?.status.rawValue ?? "-"), evmctl exit \(evmBad.status)")
                }
            }
            try? FileManager.default.removeItem(atPath: dir.url("c\(i)"))
        }
        XCTAssertEqual(disagreements, [], "\(disagreements.count) of \(cases) cases disagree")
    }
}
