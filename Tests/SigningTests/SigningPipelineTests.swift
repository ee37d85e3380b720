import XCTest
import Foundation
import IMAFormat
import SignetCrypto
@testable import Provenance
@testable import Signing
import SignetTestSupport

final class SigningPipelineTests: XCTestCase {
    var dir: TempDir!
    var keys: KeyFixture!

    override func setUpWithError() throws {
        dir = makeTempDir()
        keys = try KeyFixture(in: dir, algorithm: .rsa(bits: 2048))
    }

    func pipeline(_ configure: (inout SigningOptions) -> Void = { _ in }) throws -> SigningPipeline {
        var options = SigningOptions()
        options.jobs = 2
        configure(&options)
        return try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options)
    }

    func walk(_ root: String, _ selection: FileSelection = FileSelection()) -> WalkResult {
        TreeWalker(selection: selection).walk([FilePath(root)])
    }

    func appraise(_ root: String, trust: [Certificate]? = nil) -> [String: Appraisal.Status] {
        let w = walk(root)
        let appraiser = Appraiser(trust: TrustStore(trust ?? [keys.certificate]), jobs: 2)
        var out = [String: Appraisal.Status]()
        for a in appraiser.run(w.files).compactMap({ $0 }) {
            for p in a.file.imagePaths { out[p.description] = a.status }
        }
        return out
    }

    func testSignsATreeAndEverySignatureVerifies() throws {
        dir.write("tree/bin/tool", Array(repeating: 7, count: 100_000), mode: 0o755)
        dir.write("tree/etc/config", "key=value\n")
        dir.write("tree/empty", [])
        let results = try pipeline().run(walk(dir.url("tree")).files).compactMap { $0 }
        XCTAssertEqual(results.count, 3)
        XCTAssertTrue(results.allSatisfy { $0.outcome == .signed })
        let status = appraise(dir.url("tree"))
        XCTAssertEqual(status, ["/bin/tool": .ok, "/etc/config": .ok, "/empty": .ok])
        // The xattr is exactly a v2 signature with our keyid over sha256.
        let sig = try IMASignature(bytes: XCTUnwrap(Xattr.get(dir.url("tree/bin/tool"))))
        XCTAssertEqual(sig.keyID, keys.certificate.imaKeyID)
        XCTAssertEqual(sig.hashAlgorithm, .sha256)
    }

    func testWalkNeverFollowsSymlinksSignsHardLinksOnceAndReportsSpecialFiles() throws {
        let outside = dir.write("outside/secret", "not part of the image")
        dir.write("tree/a", "a")
        try FileManager.default.createSymbolicLink(atPath: dir.url("tree/link-out"), withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: dir.url("tree/dirlink"), withDestinationPath: dir.url("outside"))
        try FileManager.default.linkItem(atPath: dir.url("tree/a"), toPath: dir.url("tree/a-hardlink"))
        XCTAssertEqual(mkfifo(dir.url("tree/fifo"), 0o644), 0)
        XCTAssertEqual(mknod(dir.url("tree/null"), S_IFCHR | 0o644, dev_t((1 << 8) | 3)), 0, "needs root")
        let w = walk(dir.url("tree"))
        XCTAssertEqual(w.files.count, 1)
        XCTAssertEqual(w.files[0].imagePaths.map(\.description), ["/a", "/a-hardlink"])
        XCTAssertEqual(w.symlinks, 2)
        XCTAssertEqual(Set(w.skipped.map(\.reason)), [.fifo, .characterDevice])
        let results = try pipeline().run(w.files).compactMap { $0 }
        XCTAssertEqual(results.map(\.outcome), [.signed])
        XCTAssertNil(Xattr.get(outside), "a symlink target outside the tree must not be signed")
        XCTAssertNotNil(Xattr.get(dir.url("tree/a-hardlink")))
    }

    func testSelectCodeTakesELFExecBitsAndModulesOnly() throws {
        let elf = try Array(Data(contentsOf: URL(fileURLWithPath: "/bin/true")))
        dir.write("tree/lib/libx.so", elf, mode: 0o644)          // ELF, no exec bit
        dir.write("tree/bin/script", "#!/bin/sh\necho\n", mode: 0o755)  // exec bit
        dir.write("tree/lib/modules/x.ko.xz", "xz", mode: 0o644)  // module name
        dir.write("tree/share/doc.txt", "text", mode: 0o644)       // data
        dir.write("tree/share/fake-elf", [0x7f, 0x45, 0x4c, 0x46], mode: 0o644) // truncated ELF header
        let w = walk(dir.url("tree"))
        let results = try pipeline { $0.selection = .code }.run(w.files).compactMap { $0 }
        var outcome = [String: SignedFile.Outcome]()
        for r in results { outcome[r.file.imagePaths[0].description] = r.outcome }
        XCTAssertEqual(outcome["/lib/libx.so"], .signed)
        XCTAssertEqual(outcome["/bin/script"], .signed)
        XCTAssertEqual(outcome["/lib/modules/x.ko.xz"], .signed)
        XCTAssertEqual(outcome["/share/doc.txt"], .notSelected)
        XCTAssertEqual(outcome["/share/fake-elf"], .notSelected)
        XCTAssertNil(Xattr.get(dir.url("tree/share/doc.txt")))
    }

    func testIncludeExcludeGlobsAndPruning() {
        dir.write("tree/usr/bin/a", "a")
        dir.write("tree/usr/share/b", "b")
        dir.write("tree/var/cache/c", "c")
        dir.write("tree/x.pyc", "d")
        let w = walk(dir.url("tree"), FileSelection(includes: ["usr/*", "*.pyc"], excludes: ["usr/share", "var"]))
        XCTAssertEqual(w.files.map { $0.imagePaths[0].description }, ["/usr/bin/a", "/x.pyc"])
    }

    func testIncrementalRerunSkipsWhatIsAlreadySignedAndResignsChangedFiles() throws {
        _ = makeFiles(in: dir, prefix: "tree", count: 20, size: 4096)
        let p = try pipeline()
        XCTAssertTrue(p.run(walk(dir.url("tree")).files).allSatisfy { $0?.outcome == .signed })
        let again = p.run(walk(dir.url("tree")).files).compactMap { $0 }
        XCTAssertEqual(again.filter { $0.outcome == .alreadySigned }.count, 20)
        // Change one file: its old signature no longer verifies, so it is signed anew.
        let handle = FileHandle(forWritingAtPath: dir.url("tree/f3"))!
        handle.seekToEndOfFile(); handle.write(Data([1])); handle.closeFile()
        let third = p.run(walk(dir.url("tree")).files).compactMap { $0 }
        XCTAssertEqual(third.filter { $0.outcome == .signed }.map { $0.file.imagePaths[0].description }, ["/f3"])
        XCTAssertEqual(appraise(dir.url("tree"))["/f3"], .ok)
        // A file signed by another key is re-signed with ours.
        let other = try KeyFixture(in: dir, algorithm: .ecdsa(curve: .p256), name: "other")
        let otherPipeline = try SigningPipeline(key: other.key, certificate: other.certificate, options: SigningOptions())
        XCTAssertTrue(otherPipeline.run(walk(dir.url("tree")).files).allSatisfy { $0?.outcome == .signed })
        XCTAssertTrue(p.run(walk(dir.url("tree")).files).allSatisfy { $0?.outcome == .signed })
    }

    func testMalformedExistingXattrIsKeptUnlessForced() throws {
        let path = dir.write("tree/f", "content")
        Xattr.set(path, [0x03, 0x02, 0x04, 0, 0, 0, 1, 0x00, 0x10, 1, 2])  // sig_size 16, 2 bytes follow
        let first = try pipeline().run(walk(dir.url("tree")).files).compactMap { $0 }
        guard case .failed(.malformedExistingXattr(let why)) = first[0].outcome else {
            return XCTFail("expected malformed, got \(first[0].outcome)")
        }
        XCTAssertTrue(why.contains("sig_size"), why)
        XCTAssertEqual(Xattr.get(path), [0x03, 0x02, 0x04, 0, 0, 0, 1, 0x00, 0x10, 1, 2], "left untouched")
        let forced = try pipeline { $0.force = true }.run(walk(dir.url("tree")).files).compactMap { $0 }
        XCTAssertEqual(forced[0].outcome, .signed)
        XCTAssertEqual(appraise(dir.url("tree"))["/f"], .ok)
    }

    func testFilesThatVanishOrAreReplacedAfterTheWalkAreReported() throws {
        dir.write("tree/gone", "x")
        dir.write("tree/swapped", "y")
        dir.write("tree/stays", "z")
        let w = walk(dir.url("tree"))
        unlink(dir.url("tree/gone"))
        unlink(dir.url("tree/swapped"))
        dir.write("tree/swapped", "another inode")
        let results = try pipeline().run(w.files).compactMap { $0 }
        let byPath = Dictionary(uniqueKeysWithValues: results.map { ($0.file.imagePaths[0].description, $0.outcome) })
        XCTAssertEqual(byPath["/gone"], .failed(.vanished))
        guard case .failed(.replaced)? = byPath["/swapped"] else { return XCTFail("\(String(describing: byPath["/swapped"]))") }
        XCTAssertNil(Xattr.get(dir.url("tree/swapped")), "the new file was not the one walked; it must not be signed")
        XCTAssertEqual(byPath["/stays"], .signed)
    }

    func testAFileChangingWhileBeingReadIsNotSigned() throws {
        let path = dir.write("tree/growing", Array(repeating: 1, count: 10_000))
        var options = SigningOptions()
        options.afterHash = { p in
            let h = FileHandle(forWritingAtPath: p.description)!
            h.seekToEndOfFile(); h.write(Data([2])); h.closeFile()
        }
        let p = try SigningPipeline(key: keys.key, certificate: keys.certificate, options: options)
        let results = p.run(walk(dir.url("tree")).files).compactMap { $0 }
        XCTAssertEqual(results[0].outcome, .failed(.changedWhileReading))
        XCTAssertNil(Xattr.get(path))
    }

    func testFilesystemWithoutXattrSupportIsNamed() throws {
        // procfs stores no extended attributes.
        let results = try pipeline().run(TreeWalker(selection: .init()).walk([FilePath("/proc/version")]).files).compactMap { $0 }
        XCTAssertEqual(results[0].outcome, .failed(.xattrUnsupported))
        XCTAssertTrue(FileProblem.xattrUnsupported.description.contains("does not support extended attributes"))
    }

    func testDryRunAndDetachedWriteNothingToTheTree() throws {
        let path = dir.write("tree/f", "data")
        for configure in [{ (o: inout SigningOptions) in o.dryRun = true }, { (o: inout SigningOptions) in o.detached = true }] {
            let results = try pipeline(configure).run(walk(dir.url("tree")).files).compactMap { $0 }
            XCTAssertEqual(results[0].outcome, .signed)
            XCTAssertFalse(results[0].xattr.isEmpty)
            XCTAssertNil(Xattr.get(path))
        }
    }

    func testInterruptStopsBetweenFilesAndLeavesNoPartialSignature() throws {
        let paths = makeFiles(in: dir, prefix: "tree", count: 200, size: 2048)
        let flag = InterruptFlag()
        flag.raise()
        let none = try pipeline().run(walk(dir.url("tree")).files, interrupt: flag)
        XCTAssertTrue(none.allSatisfy { $0 == nil })
        XCTAssertTrue(paths.allSatisfy { Xattr.get($0) == nil })
    }

    func testEveryHashAlgorithmAndKeyType() throws {
        dir.write("tree/f", Array(repeating: 9, count: 3000))
        for algorithm in [KeyAlgorithm.ecdsa(curve: .p384), .rsa(bits: 2048)] {
            let k = try KeyFixture(in: dir, algorithm: algorithm, name: "alg")
            for hash in HashAlgorithm.allCases {
                var o = SigningOptions()
                o.hashAlgorithm = hash
                o.resignAll = true
                let p = try SigningPipeline(key: k.key, certificate: k.certificate, options: o)
                XCTAssertEqual(p.run(walk(dir.url("tree")).files).first??.outcome, .signed)
                let sig = try IMASignature(bytes: XCTUnwrap(Xattr.get(dir.url("tree/f"))))
                XCTAssertEqual(sig.hashAlgorithm, hash)
                XCTAssertEqual(appraise(dir.url("tree"), trust: [k.certificate])["/f"], .ok, "\(algorithm) \(hash)")
            }
        }
    }

    func testPipelineRefusesAMismatchedOrExpiredCertificate() throws {
        let other = try KeyFixture(in: dir, name: "other")
        XCTAssertThrowsError(try SigningPipeline(key: keys.key, certificate: other.certificate, options: SigningOptions())) {
            XCTAssertEqual(($0 as! CryptoError).code, .keyCertificateMismatch)
        }
        let old = try KeyFixture(in: dir, name: "old", validityDays: 1, notBefore: Int(time(nil)) - 5 * 86400)
        XCTAssertThrowsError(try SigningPipeline(key: old.key, certificate: old.certificate, options: SigningOptions())) {
            XCTAssertEqual(($0 as! CryptoError).code, .certificateExpired)
        }
        XCTAssertThrowsError(try SigningPipeline(key: keys.caKey, certificate: keys.ca, options: SigningOptions())) {
            XCTAssertEqual(($0 as! CryptoError).code, .notASigningCertificate)
        }
    }

    func testStaysOnOneFilesystemUnlessTold() throws {
        dir.write("tree/root-file", "on the tree's filesystem")
        dir.mkdir("tree/mnt")
        let mount = try runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "signet-test", dir.url("tree/mnt")])
        XCTAssertEqual(mount.status, 0, "mounting a tmpfs needs root: \(mount.output)")
        defer { _ = try? runProgram("/bin/umount", [dir.url("tree/mnt")]) }
        dir.write("tree/mnt/other-fs-file", "on another filesystem")
        let staying = walk(dir.url("tree"))
        XCTAssertEqual(staying.files.map { $0.imagePaths[0].description }, ["/root-file"])
        XCTAssertEqual(staying.skipped.map(\.reason), [.otherFilesystem])
        XCTAssertEqual(staying.skipped.first?.path.description, dir.url("tree/mnt"))
        let crossing = walk(dir.url("tree"), FileSelection(crossFilesystems: true))
        XCTAssertEqual(crossing.files.map { $0.imagePaths[0].description }, ["/mnt/other-fs-file", "/root-file"])
    }
}
